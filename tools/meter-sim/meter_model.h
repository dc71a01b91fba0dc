// One metering circuit of a dormitory meter: its energy register, its relay,
// its clock and the autonomy the product brief gives it — load limit,
// malicious (resistive) load detection, the daily on/off/night schedule,
// automatic recovery after a self-trip, keep-power, and supply failures.
// Pure: no I/O, no wall clock. Time is simulated Unix time in microseconds
// passed to Advance(); the bus (bus.h) owns the models and turns DL/T 645
// requests into calls here.
//
// Determinism: the state at time t is a function of the configuration, the
// commands given and the times they were given at — not of how often
// Advance() ran in between. The model advances event by event: minute
// boundaries (new load from the profile, the schedule, planned supply
// failures) and its own timers (load-limit hold, recovery, the user closing
// the relay after a close-permit). Energy is integrated exactly in W·µs.
//
// Rules (documented in README.md, asserted in meter_model_test.cc):
//  - The relay is closed unless one of these holds it open: a remote trip
//    (1A), a close-permit not yet acted on by the user (1B), a self-trip, or
//    the schedule's "off" action (ignored under keep-power).
//  - Energy accumulates only while the supply is up and the relay closed.
//  - Load limit: metered active power above the limit (or above the night
//    limit in a "night" period) for kLoadLimitHoldUs trips the relay.
//  - Malicious load: a step up in metered load whose own power factor is at
//    least the set threshold and whose active power exceeds the set power
//    trips the relay at once.
//  - Recovery: a self-trip closes again after the recovery delay (1..255
//    min); 0 means it stays open until a close command (1B/1C). A night-limit
//    trip also ends when the night period does.
//  - Keep-power (3A) refuses remote trips and overrides the schedule; the
//    safety trips (load limit, malicious load) still act.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"
#include "tools/meter-sim/load_profile.h"

namespace wattledger::meter_sim {

namespace dlt645 = ::wattledger::ingest::dlt645;

// 999 999.99 kWh + 10 Wh reads 0: the register counts modulo 10^9 Wh.
inline constexpr int64_t kRegisterModulusWh = 1'000'000'000;
inline constexpr int64_t kWattMicrosecondsPerWh = 3'600'000'000;
// How long power must stay above the load limit before the relay trips.
inline constexpr int64_t kLoadLimitHoldUs = 10'000'000;
inline constexpr int32_t kDefaultMaliciousPowerFactorMilli = 950;
inline constexpr int32_t kRecoveryDelayMinutesMax = 255;
// Self-trips kept per circuit for the truth file (the count is kept in full).
inline constexpr size_t kTripsKept = 32;
// Events queued before the owner drains them; older ones are dropped beyond this.
inline constexpr size_t kEventsQueuedMax = 1024;
inline constexpr int64_t kUsPerDay = 86'400'000'000;

enum class TripReason : uint8_t {
  kLoadLimit = 1,
  kMaliciousLoad = 2,
  kSchedule = 3,    // the schedule's "off" action
  kNightLimit = 4,  // above night_power_w in a "night" period
};
std::string_view TripReasonName(TripReason reason);  // "load_limit", "malicious_load", ...

// What the meter did by itself, for logs and the truth file.
struct MeterEvent {
  enum class Kind : uint8_t {
    kSelfTrip = 1,
    kSelfRecovery = 2,
    kPowerLost = 3,
    kPowerRestored = 4
  };
  Kind kind = Kind::kSelfTrip;
  TripReason reason = TripReason::kLoadLimit;  // for kSelfTrip and kSelfRecovery
  int64_t at_us = 0;                           // simulated Unix time
  int64_t meter_local_s = 0;                   // the meter's own clock then (local seconds)
  int32_t power_w = 0;                         // load seen at that instant (before a trip)
  // Self-trips: the evidence the meter keeps (its record 04C200cc). Malicious
  // load: the metered load just before the step; load and night limit: the
  // metered load just before it went above the limit; schedule: power_w.
  // Other events: power_w.
  int32_t power_before_w = 0;
  // Self-trips: of the step for a malicious load, of the load otherwise.
  int32_t power_factor_milli = 1000;
};
std::string_view EventKindName(MeterEvent::Kind kind);  // "self_trip", "self_recovery", ...

// The settings the master writes (parameters.h names their DIs).
struct MeterParameters {
  int32_t load_limit_w = 0;       // 0 = no limit
  int32_t malicious_power_w = 0;  // 0 = detection off
  int32_t malicious_power_factor_milli = kDefaultMaliciousPowerFactorMilli;
  int32_t recovery_delay_min = 0;   // 0..255, 0 = no automatic recovery
  int64_t overdraft_limit_fen = 0;  // stored and read back; the ledger decides arrears
  std::array<dlt645::SchedulePeriod, dlt645::kSchedulePeriodsMax> workday = {};
  std::array<dlt645::SchedulePeriod, dlt645::kSchedulePeriodsMax> holiday = {};
  friend bool operator==(const MeterParameters&, const MeterParameters&) = default;
};

// Supply failures planned from the seed: in each hour of simulated time a
// meter's supply fails with this chance, at a minute chosen by the seed, for
// `duration_min` minutes.
struct PowerFailurePlan {
  uint32_t chance_ppm_per_hour = 0;
  int32_t duration_min = 0;  // 1..1440 when the chance is not 0
};

struct MeterConfig {
  uint64_t room_seed = 0;    // the load profile (per circuit)
  uint64_t supply_seed = 0;  // supply failures, voltage noise, the user's reaction (per meter)
  int64_t start_us = 0;      // simulated time the model starts at
  int64_t initial_wh = 0;    // register at start (taken modulo kRegisterModulusWh)
  int32_t rated_current_ma = 40'000;
  int32_t nominal_voltage_dv = 2200;
  int64_t clock_offset_us = 0;         // meter clock minus true time at start
  int64_t clock_drift_us_per_day = 0;  // how fast the clock runs off (+ = fast)
  LoadProfileOptions profile = {};
  PowerFailurePlan power_failures = {};
};

// The outcome of a remote-control command; the bus maps refusals to an
// abnormal reply.
enum class ControlOutcome : uint8_t {
  kDone = 0,
  kExpired = 1,           // the validity deadline is before the meter's clock
  kRefusedKeepPower = 2,  // a trip while keep-power is in force
};

class MeterModel {
 public:
  explicit MeterModel(const MeterConfig& config);
  MeterModel(const MeterModel&) = delete;
  MeterModel& operator=(const MeterModel&) = delete;
  MeterModel(MeterModel&&) = default;
  MeterModel& operator=(MeterModel&&) = default;

  // Moves the meter forward to `now_us`; a time before now_us() changes nothing.
  void Advance(int64_t now_us);
  int64_t now_us() const { return now_us_; }

  // ---- Readings at now_us() --------------------------------------------------
  int64_t register_wh() const { return register_wh_; }  // exact, 0..kRegisterModulusWh-1
  int64_t displayed_wh() const { return register_wh_ - register_wh_ % 10; }  // 10 Wh steps
  int64_t consumed_wh() const { return consumed_wh_; }  // since start, never rolls over
  Load room_load() const { return room_load_; }         // what the room would draw
  Load metered_load() const { return metered_; }        // what flows (0 with the relay open)
  int32_t power_w() const { return metered_.active_w; }
  int32_t voltage_dv() const;
  int32_t current_ma() const;
  int32_t power_factor_milli() const { return PowerFactorMilli(metered_); }
  int32_t frequency_centihz() const;
  uint16_t status_word3() const;
  bool relay_closed() const { return relay_closed_; }
  bool remote_open() const { return remote_open_; }  // relay command state: trip in force
  bool keep_power() const { return keep_power_; }
  bool alarm() const { return alarm_; }
  bool powered() const { return powered_; }
  // A close-permit was given and the user has not pressed the button yet.
  bool awaiting_user_close() const { return user_close_at_us_.has_value(); }
  std::optional<TripReason> self_trip() const;
  dlt645::ScheduleAction schedule_action() const { return schedule_action_; }
  // The meter's clock as local civil seconds (Unix seconds + UTC offset).
  int64_t LocalSeconds() const;
  const MeterParameters& parameters() const { return parameters_; }
  uint64_t trip_count() const { return trip_count_; }
  const std::deque<MeterEvent>& recent_trips() const { return recent_trips_; }

  // ---- Commands at now_us() ----------------------------------------------------
  // A remote-control (1C) command valid until `deadline_local_s` on the meter's clock.
  ControlOutcome Control(dlt645::RemoteAction action, int64_t deadline_local_s);
  void SetParameters(const MeterParameters& parameters);
  // Sets the meter's clock (broadcast time, or a date/time write).
  void SetClockLocalSeconds(int64_t local_s);
  // Replaces the profile's load until cleared (tests, the control port).
  void ForceLoad(std::optional<Load> load);
  // Overwrites the register (fault injection: a value near rollover).
  void SetRegisterWh(int64_t register_wh);
  // The supply fails now until `until_us` (in addition to the planned failures).
  void FailPower(int64_t until_us);

  // Events since the last call, oldest first.
  std::vector<MeterEvent> TakeEvents();
  uint64_t events_dropped() const { return events_dropped_; }

 private:
  int64_t NextEventUs(int64_t limit_us) const;
  void Integrate(int64_t duration_us);
  void OnMinute();
  void ProcessDue();
  // Recomputes the relay and the metered load after any change, detects a
  // malicious step and starts or stops the load-limit hold.
  void Settle();
  bool PlannedFailureAt(int64_t minute) const;
  bool RelayShouldBeClosed() const;
  void UpdateSchedule();
  int32_t EffectiveLimitW(TripReason& reason) const;
  void Trip(TripReason reason, int32_t power_w, int32_t power_before_w, int32_t power_factor_milli);
  // A recovery or a supply change, with the load then.
  void Record(MeterEvent::Kind kind, TripReason reason, const Load& load);
  void Record(MeterEvent::Kind kind, TripReason reason, int32_t power_w, int32_t power_before_w,
              int32_t power_factor_milli);
  int64_t MeterClockUs() const;

  MeterConfig config_;
  MeterParameters parameters_;
  int64_t now_us_;
  int64_t minute_;  // the minute now_us_ lies in
  int64_t register_wh_;
  int64_t consumed_wh_ = 0;
  int64_t remainder_wus_ = 0;  // W·µs not yet a whole Wh, 0..kWattMicrosecondsPerWh-1

  Load room_load_;
  std::optional<Load> forced_load_;
  Load metered_;

  bool powered_ = true;
  int64_t power_fail_until_us_ = 0;  // commanded failure (FailPower)
  bool relay_closed_ = true;
  bool remote_open_ = false;
  bool keep_power_ = false;
  bool alarm_ = false;
  std::optional<int64_t> user_close_at_us_;  // after a close-permit
  struct SelfTripState {
    TripReason reason = TripReason::kLoadLimit;
    std::optional<int64_t> recover_at_us;
  };
  std::optional<SelfTripState> self_trip_;
  std::optional<int64_t> overload_since_us_;
  int32_t overload_power_before_w_ = 0;  // metered just before the overload began
  dlt645::ScheduleAction schedule_action_ = dlt645::ScheduleAction::kUnused;
  int32_t night_power_w_ = 0;

  int64_t clock_offset_us_;
  int64_t clock_drift_origin_us_;

  uint64_t trip_count_ = 0;
  std::deque<MeterEvent> recent_trips_;
  std::vector<MeterEvent> events_;
  uint64_t events_dropped_ = 0;
};

// Local civil seconds <-> DL/T 645 date-times (years 2000..2099).
int64_t LocalSecondsFromDateTime(const dlt645::DateTime& time);
dlt645::DateTime DateTimeFromLocalSeconds(int64_t local_s);
// 0 = Sunday .. 6 = Saturday, for local seconds.
int WeekdayOfLocalSeconds(int64_t local_s);

}  // namespace wattledger::meter_sim
