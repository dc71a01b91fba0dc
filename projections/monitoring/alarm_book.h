// The alarm book: the monitoring rules that watch the meter side's events
// (reading batches, link changes, control outcomes) and raise and clear
// alarms for the facilities office. projections/monitoring/README.md lists
// every kind: when it is raised, when it clears, its severity.
//
// An inline projection that derives events: each raise is an AlarmRaised and
// each clear an AlarmCleared, signed by the ledger key and committed right
// after the event that caused it. One alarm is open per id "<kind>/<subject>";
// raising an open alarm or clearing a closed one derives nothing. Derived
// events are records: applying them changes nothing. No clock, I/O or
// randomness: times come from the events, so replay rebuilds the same alarms.
// The Domain applies it last, so the campus, control book and device status
// already reflect the event. Check and Apply run on the ledger's writer
// thread; Open and History are safe from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "ledger/inline_projection.h"
#include "projections/campus.h"
#include "projections/control/control_book.h"
#include "projections/monitoring/device_status.h"
#include "projections/texts.h"

namespace wattledger::projections {

// Alarm kinds (AlarmRaised.kind; the id is "<kind>/<subject>").
inline constexpr absl::string_view kAlarmControlFailure = "controlFailure";              // major
inline constexpr absl::string_view kAlarmMeterOffline = "meterOffline";                  // warning
inline constexpr absl::string_view kAlarmCommError = "commError";                        // warning
inline constexpr absl::string_view kAlarmGatewayOffline = "gatewayOffline";              // major
inline constexpr absl::string_view kAlarmTheftEnergyWhileOpen = "theftEnergyWhileOpen";  // critical
inline constexpr absl::string_view kAlarmTheftBackwards = "theftBackwards";              // critical
inline constexpr absl::string_view kAlarmTheftMasterMeter = "theftMasterMeter";          // critical
inline constexpr absl::string_view kAlarmVoltage = "voltage";                            // warning
inline constexpr absl::string_view kAlarmSupplyLost = "supplyLost";                      // warning
inline constexpr absl::string_view kAlarmClockDrift = "clockDrift";                      // warning

// Thresholds of the rules.
// A reading with the relay open (and open at the previous reading too) that
// shows more power than this, or any rise of the register, is energy flowing
// past an open relay.
inline constexpr int32_t kOpenRelayPowerWMax = 5;
// Voltage is out of range beyond nominal ±10% (in 0.1% units of nominal), and
// back in range again within ±9%: the 1% between keeps a supply that hovers
// at the bound from raising and clearing every sweep.
inline constexpr int32_t kVoltageRaisePermille = 100;
inline constexpr int32_t kVoltageClearPermille = 90;
static_assert(kVoltageClearPermille < kVoltageRaisePermille);
// The nominal voltage of a meter installed without one (0.1 V).
inline constexpr int32_t kDefaultNominalVoltageDv = 2200;
// A reading read more than this before or after its sweep started: a
// collector's (or meter's) clock is off.
inline constexpr int64_t kClockDriftMaxUs = 5 * 60'000'000LL;
// A building's master meter is the meter of the room "<building>-MASTER".
inline constexpr absl::string_view kMasterRoomSuffix = "-MASTER";
// Over one campus day of master readings, the master's energy may exceed the
// sum of its rooms' by this much (in 0.1% of the rooms' sum) before it is a
// theft sign, and the difference must be at least kMasterLossMinWh.
inline constexpr int64_t kMasterLossPermille = 100;
inline constexpr int64_t kMasterLossMinWh = 1000;
// Cleared alarms kept (in memory and as rows) for History.
inline constexpr size_t kAlarmHistoryMax = 1000;
// The stream of the derived alarm events.
inline constexpr absl::string_view kAlarmStream = "alarms";

// One alarm, open or cleared.
struct Alarm {
  std::string id;       // "<kind>/<subject>"
  std::string kind;     // one of the kinds above
  std::string subject;  // "meter:<address>[/<circuit>]", "gateway:<id>", "building:<id>"
  schema::AlarmSeverity severity = schema::AlarmSeverity::INFO;
  std::string text;
  uint64_t raised_seq = 0;  // the event that raised it (AlarmRaised.evidenceSeq)
  int64_t raised_at_us = 0;
  uint64_t cleared_seq = 0;  // the event that cleared it; 0 while open
  int64_t cleared_at_us = 0;
  std::string clear_text;

  bool open() const { return cleared_seq == 0; }
  bool operator==(const Alarm&) const = default;
};

absl::string_view AlarmSeverityName(schema::AlarmSeverity severity);  // "info" ... "critical"

class AlarmBook final : public ledger::InlineProjection {
 public:
  // The parts are read, never changed; they must be applied before this one.
  AlarmBook(const Campus& campus, const ControlBook& control, const DeviceStatus& devices)
      : campus_(campus), control_(control), devices_(devices) {}
  AlarmBook(const AlarmBook&) = delete;
  AlarmBook& operator=(const AlarmBook&) = delete;

  absl::Status Load(const ledger::EventStore& store) override;
  // Refuses AlarmRaised and AlarmCleared that this book did not derive
  // (kFailedPrecondition).
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override;
  void Flush(ledger::StateWriter& writer) override;

  // The open alarms, most severe first, then oldest first.
  std::vector<Alarm> Open() const;
  // Open and recently cleared alarms (the last kAlarmHistoryMax cleared),
  // newest event first, at most `limit`.
  std::vector<Alarm> History(size_t limit) const;

 private:
  // A building's master-meter window (AlarmBuildingRecord): what its master
  // meter and its room meters counted since the master's reading that opened
  // it; it closes at the master's first reading of a later campus day.
  struct BuildingWindow {
    std::string building_id;
    int64_t window_start_us = 0;  // 0: not opened yet
    int64_t master_wh = 0;
    int64_t rooms_wh = 0;
    bool dirty = false;
    // In memory only: the master's reading that opens or closes the window
    // arrived in this batch (which takes effect once the whole batch is
    // counted), and its time: the next window's start.
    bool due = false;
    int64_t next_start_us = 0;
    std::string master_address;  // for texts
  };
  // What the rules remember of one meter circuit.
  struct Circuit {
    std::string address;
    uint8_t circuit = 1;
    std::string subject;  // "meter:<address>" or "meter:<address>/<circuit>"
    // Persisted (AlarmCircuitRecord).
    int64_t last_wh = 0;
    int64_t last_read_at_us = 0;
    bool relay_open = false;
    int64_t backwards_from_wh = 0;
    // In memory only: which of its reading alarms are open (kFlag*), derived
    // from the open alarms at Load; changed since the last Flush.
    uint8_t open_flags = 0;
    bool dirty = false;
    // In memory only: the registry facts the rules need, from the campus,
    // refreshed when the registry changed (registry_version_).
    uint64_t info_version = 0;
    bool retired = false;
    std::string room_id;
    int64_t rated_current_ma = 0;
    int32_t nominal_voltage_dv = kDefaultNominalVoltageDv;
    bool master = false;
    BuildingWindow* building = nullptr;  // its building's window; null: none
  };
  // The alarms one event raises and clears, in order; each becomes a derived
  // event (or, under kStateOnly, is only counted).
  struct Derivation;

  void ApplyReadings(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `circuit`: the reading's circuit (the campus records readings of
  // meters that are not installed).
  void ApplyReading(const ledger::PendingEvent& event, schema::Reading::Reader reading,
                    Circuit& circuit, Derivation& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckTheft(const ledger::PendingEvent& event, Circuit& circuit,
                  schema::Reading::Reader reading, int64_t from_wh, int64_t rise_wh, bool backwards,
                  Derivation& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckVoltage(const ledger::PendingEvent& event, Circuit& circuit,
                    schema::Reading::Reader reading, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Judges a window the batch closed (raise or clear theftMasterMeter) and
  // opens the next one.
  void CloseMasterWindow(const ledger::PendingEvent& event, BuildingWindow& building,
                         Derivation& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void JudgeMasterWindow(const ledger::PendingEvent& event, const BuildingWindow& building,
                         Derivation& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckClockDrift(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyMeterStatus(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyGatewayStatus(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyControlOutcome(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyRegistry(const ledger::PendingEvent& event, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The circuit's memory, or null for a meter the campus does not know.
  Circuit* FindCircuit(absl::string_view address, uint8_t circuit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts (or restarts) a circuit's memory at the campus's baseline.
  void SeedCircuit(const std::string& address, uint8_t circuit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshInfo(Circuit& circuit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  BuildingWindow& BuildingOf(const std::string& building_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDirty(Circuit& circuit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDirty(BuildingWindow& building) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Opens alarm `<kind>/<subject>` unless it is open; returns whether it did.
  bool Raise(const ledger::PendingEvent& event, absl::string_view kind, const std::string& subject,
             schema::AlarmSeverity severity, std::string text, Derivation& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Clears it if open; returns whether it did.
  bool Clear(const ledger::PendingEvent& event, absl::string_view kind, const std::string& subject,
             std::string text, Derivation& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsOpen(absl::string_view kind, const std::string& subject) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Sets or resets the circuit flag of a reading alarm kind (none for others).
  void SetFlag(absl::string_view kind, const std::string& subject, bool open)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Campus& campus_;
  const ControlBook& control_;
  [[maybe_unused]] const DeviceStatus& devices_;

  mutable absl::Mutex mu_;
  std::map<std::string, Alarm> open_ ABSL_GUARDED_BY(mu_);  // by id
  std::deque<Alarm> history_ ABSL_GUARDED_BY(mu_);          // cleared, oldest first
  uint64_t cleared_total_ ABSL_GUARDED_BY(mu_) = 0;         // the last history row's n
  // By "<address>/<circuit>"; pointers stay valid (nothing is erased).
  absl::flat_hash_map<std::string, std::unique_ptr<Circuit>> circuits_ ABSL_GUARDED_BY(mu_);
  // Per gateway, the circuit each position of its last batch named (circuits_
  // never erases, so the pointers stay valid).
  absl::flat_hash_map<std::string, std::vector<Circuit*>> batch_circuits_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<BuildingWindow>> buildings_ ABSL_GUARDED_BY(mu_);
  uint64_t registry_version_ ABSL_GUARDED_BY(mu_) = 1;
  std::string key_ ABSL_GUARDED_BY(mu_);  // reused lookup buffer
  // Derived events Apply announced and the log must hold next.
  uint32_t derived_expected_ ABSL_GUARDED_BY(mu_) = 0;

  // Rows changed since the last Flush.
  std::set<std::string> dirty_open_ ABSL_GUARDED_BY(mu_);       // alarm ids
  uint64_t history_flushed_ ABSL_GUARDED_BY(mu_) = 0;           // rows up to this n are written
  std::vector<uint64_t> history_evicted_ ABSL_GUARDED_BY(mu_);  // written rows to delete
  std::vector<Circuit*> dirty_circuits_ ABSL_GUARDED_BY(mu_);
  std::vector<BuildingWindow*> dirty_buildings_ ABSL_GUARDED_BY(mu_);
};

// Rows ("state" family): keys and encodings (tools read them).
inline constexpr absl::string_view kAlarmOpenPrefix = "alarms/open/";
inline constexpr absl::string_view kAlarmClearedPrefix = "alarms/cleared/";
inline constexpr absl::string_view kAlarmMeterPrefix = "alarms/meter/";
inline constexpr absl::string_view kAlarmBuildingPrefix = "alarms/building/";
std::string EncodeAlarm(const Alarm& alarm);
absl::StatusOr<Alarm> DecodeAlarm(absl::string_view bytes);

}  // namespace wattledger::projections
