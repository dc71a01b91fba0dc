// The campus: the domain's inline projection. It admits and applies every
// registry, tariff and money event, derives deductions from reading batches,
// refund and exchange settlements, and keeps each room's account so that
//   deposits - reversals - deductions - refunds + transfers in - out = balance
// holds for every room, always (checked after every event).
//
// Check is decide(command, state): it refuses with a Status and changes
// nothing. Apply changes memory, marks what changed, and returns the result
// (a receipt) and the events it derives; Flush writes what changed. No clock,
// I/O or randomness: time comes from the event. Called on the writer thread;
// the read accessors (Find*, Rooms) are safe from any thread.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ledger/inline_projection.h"
#include "projections/campus_state.h"

namespace wattledger::projections {

// Deposits older than this can no longer be reversed (and are forgotten).
inline constexpr int64_t kReversalWindowUs = 31 * 86'400'000'000LL;
inline constexpr int64_t kDepositFenMax = 10'000'000;  // 100,000 CNY in one deposit
inline constexpr size_t kTradeNoBytesMax = 64;
inline constexpr uint32_t kMetersPerGatewayMax = 128;
// The energy register rolls over after 999999.99 kWh.
inline constexpr int64_t kRegisterModulusWh = 1'000'000'000;
// How far a reading's time may run ahead of the ledger's clock (collector
// clocks drift); a later one is ignored so it cannot stall the meter's billing.
inline constexpr int64_t kReadingClockSkewMaxUs = 10 * 60'000'000LL;
// A reading may exceed what the circuit can pass by one register step.
inline constexpr int64_t kPlausibilitySlackWh = 10;

class Campus final : public ledger::InlineProjection {
 public:
  absl::Status Load(const ledger::EventStore& store) override;
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override;
  void Flush(ledger::StateWriter& writer) override;

  // Snapshots for queries; nullopt when unknown.
  std::optional<Room> FindRoom(const std::string& room_id) const;
  std::optional<Meter> FindMeter(const std::string& address, uint8_t circuit) const;
  bool HasGateway(const std::string& gateway_id) const;
  bool HasMeter(const std::string& address) const;  // any circuit, not retired
  std::vector<Room> Rooms() const;
  std::vector<Building> Buildings() const;
  std::vector<Gateway> Gateways() const;
  std::vector<Meter> Meters() const;
  std::vector<Tariff> Tariffs() const;
  // The room an occupant lives in, or "".
  std::string RoomOf(const std::string& person_id) const;

  // Cheap lookups for the control policies, which ask on every reading.
  struct RoomMoney {
    std::string building_id;
    int64_t balance_fen = 0;
    int64_t overdraft_limit_fen = 0;
  };
  std::optional<RoomMoney> MoneyOf(const std::string& room_id) const;
  // The room an installed (not retired) meter circuit feeds, or "".
  std::string RoomOfMeter(const std::string& address, uint8_t circuit) const;
  // The rooms whose balance the last reading batch applied changed, in the
  // order their first charge came, with their money after it: what the
  // control policies evaluate instead of looking up every reading's room.
  // Writer thread only, right after that batch.
  struct ChargedRoom {
    std::string room_id;
    RoomMoney money;
  };
  std::vector<ChargedRoom> LastBatchCharged() const;
  // The installed (not retired) meter circuits of a room, by address.
  std::vector<std::pair<std::string, uint8_t>> CircuitsOfRoom(const std::string& room_id) const;
  // The room whose deposit a reversal applied to reversed (by seq or trade
  // number), or "" for a void.
  std::string RoomOfReversal(schema::DepositReversed::Reader reversal) const;
  // What the ledger knows of a card-center trade number, within the reversal
  // window (kReversalWindowUs); nullopt when it has not seen it.
  struct Trade {
    std::string trade_no;
    uint64_t deposit_seq = 0;   // 0: reversed before its deposit came (voided)
    uint64_t reversal_seq = 0;  // 0: not reversed
    std::string room_id;
    int64_t amount_fen = 0;
    std::string payer_card_no;
    int64_t time_us = 0;  // booked at (the deposit's, or the void's)
  };
  std::optional<Trade> FindTrade(const std::string& trade_no) const;
  // A room's money and what it still buys at `time_us`: the free allowance
  // left, then the balance at the price of its next kWh (the tier its month
  // has reached). nullopt for an unknown room.
  struct Standing {
    int64_t balance_fen = 0;
    int64_t allowance_left_wh = 0;
    int64_t price_per_kwh = 0;  // 1/100 fen; 0 when no tariff applies
    int64_t remaining_wh = 0;   // allowance left + what the balance buys
  };
  std::optional<Standing> StandingOf(const std::string& room_id, int64_t time_us) const;
  // Every room id, or those of one building.
  std::vector<std::string> RoomIds(const std::string& building_id = "") const;

 private:
  // The tariff a room's energy is charged at, at `time_us` (see README).
  const TariffVersion* RoomTariffLocked(const Room& room, int64_t time_us) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  const TariffVersion* ClassTariffLocked(const std::string& identity_class, int64_t time_us) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // RoomTariffLocked, remembered in the room while its inputs stay the same:
  // every reading asks, and the answer changes only when a tariff version
  // takes effect, tariffs are set, or occupants change.
  const TariffVersion* ReadingTariffLocked(Room& room, int64_t time_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Called whenever what RoomTariffLocked reads changes (tariffs, a room's
  // occupants or tariff class): forgets every room's remembered tariff.
  void TariffInputsChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { ++tariff_inputs_version_; }

  absl::Status CheckRegistry(const ledger::PendingEvent& event) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckMoney(const ledger::PendingEvent& event) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // A deposit's trade number: required on the card-center channel, unique
  // within the reversal window, refused once the trade was voided.
  absl::Status CheckTrade(schema::DepositMade::Reader deposit) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckImport(schema::RegistryImported::Reader import) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  void ApplyRegistry(const ledger::PendingEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ledger::Applied ApplyMoney(const ledger::PendingEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What a DeductionsApplied records about a batch (campus_deductions.cc).
  struct DeductionRecord;
  // Charges every reading of a batch to its meter's room; with `record`, also
  // notes the lines and anomalies the derived event records. A state-only
  // replay passes none: the event is not built, the state changes the same.
  void ApplyReadings(const ledger::PendingEvent& event, DeductionRecord* record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The meter in service or retired at (address, circuit), or null.
  Meter* FindMeterLocked(absl::string_view address, uint8_t circuit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The settlements return the derived event's canonical body, or "" when
  // event.outputs is kStateOnly (nothing will read it).
  std::string DeriveDeductions(const ledger::PendingEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SettleRefund(const ledger::PendingEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SettleExchange(const ledger::PendingEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands a derived event to the caller: its body, or under kStateOnly only
  // its count.
  void Derived(const ledger::PendingEvent& event, std::string body, ledger::Applied& applied)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseMonth(int64_t month_start_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetOldDeposits(int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Occupancy changes keep the month's free allowance prorated.
  // `from_tomorrow`: today's free energy stayed with the room they left (an
  // exchange), so the new room grants it from tomorrow on.
  void MoveIn(Room& room, Occupant occupant, int64_t time_us, bool from_tomorrow = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Occupant MoveOut(Room& room, const std::string& person_id, int64_t time_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The share of the room's positive balance that leaves with `person_id`.
  int64_t ShareOf(const Room& room, const std::string& person_id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  void AddBuilding(const Building& building) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddGateway(const Gateway& gateway) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddRoom(const Room& room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddMeter(const Meter& meter, int64_t time_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckInvariant(const Room& room) const;

  mutable absl::Mutex mu_;
  std::map<std::string, Building> buildings_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Gateway> gateways_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Room> rooms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Meter> meters_ ABSL_GUARDED_BY(mu_);  // by MeterKey
  std::map<std::string, std::string> person_rooms_ ABSL_GUARDED_BY(mu_);
  // Circuits in service per meter address, derived from meters_.
  std::map<std::string, uint32_t> address_circuits_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Tariff> tariffs_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, DepositRecord> deposits_ ABSL_GUARDED_BY(mu_);  // reversible, by seq
  // The card center's trade numbers in deposits_: trade -> seq there.
  absl::flat_hash_map<std::string, uint64_t> trades_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
  // Derived events Apply announced and the log must hold next.
  uint32_t derived_expected_ ABSL_GUARDED_BY(mu_) = 0;

  void MarkDirty(Room& room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDirty(Meter& meter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Rows changed since the last Flush: rooms and meters (touched by every
  // reading) by pointer, the rest by state key.
  std::vector<Room*> dirty_rooms_ ABSL_GUARDED_BY(mu_);
  std::vector<Meter*> dirty_meters_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  std::string meter_key_ ABSL_GUARDED_BY(mu_);  // reused lookup buffer
  uint64_t tariff_inputs_version_ ABSL_GUARDED_BY(mu_) = 1;
  // meters_ by MeterKey again, hashed: every reading looks its meter up.
  // meters_ never erases, so the pointers stay valid.
  absl::flat_hash_map<std::string, Meter*> meter_index_ ABSL_GUARDED_BY(mu_);
  // Per gateway, the meter each position of its last reading batch named: a
  // collector sends its meters in the same order every sweep, so a reading
  // usually finds its meter here with one comparison instead of a lookup.
  absl::flat_hash_map<std::string, std::vector<Meter*>> batch_meters_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> deleted_ ABSL_GUARDED_BY(mu_);
  // The rooms the last ApplyReadings charged (LastBatchCharged); rooms_
  // never erases, so the pointers stay valid.
  std::vector<Room*> batch_charged_ ABSL_GUARDED_BY(mu_);
  uint64_t batch_number_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wattledger::projections
