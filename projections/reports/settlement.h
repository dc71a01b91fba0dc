// The card center's daily settlement: every deposit taken on the card-center
// channel and every reversal of one, per campus day (the day each is booked,
// from appendedAtUs), with the deposit's trade number and terminal, and the
// day's totals and the seq range its entries span, for the card center to
// reconcile against its own records. Reversals find their deposit in the
// report's DepositBook.
//
// A catch-up projection (ledger/subscription.h): Load and Apply run on its
// runner's thread. In memory: one totals row per day and the deposits of
// the reversal window.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/subscription.h"
#include "projections/reports/deposit_book.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {

inline constexpr char kSettlementReport[] = "report.settlement";

// kVoid: the card center reversed a trade before its deposit came; the
// deposit is refused when it arrives, nothing moved (amount 0).
enum class SettlementKind : uint8_t { kDeposit = 0, kReversal = 1, kVoid = 2 };
absl::string_view SettlementKindName(SettlementKind kind);  // "deposit", "reversal", "void"

struct SettlementEntry {
  uint64_t seq = 0;
  SettlementKind kind = SettlementKind::kDeposit;
  uint64_t deposit_seq = 0;  // the deposit itself, or the one reversed
  std::string day;
  int64_t time_us = 0;
  std::string trade_no;
  std::string terminal_id{};
  std::string room_id{};
  std::string payer_card_no{};
  int64_t amount_fen = 0;

  bool operator==(const SettlementEntry&) const = default;
};

struct SettlementDay {
  std::string day;
  uint64_t deposit_count = 0;
  int64_t deposits_fen = 0;
  uint64_t reversal_count = 0;
  int64_t reversals_fen = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;

  int64_t net_fen() const { return deposits_fen - reversals_fen; }
  bool operator==(const SettlementDay&) const = default;
};

struct SettlementStatement {
  SettlementDay totals;
  std::vector<SettlementEntry> entries;  // in seq order
};

class SettlementReport final : public ledger::CatchUpProjection {
 public:
  std::string name() const override { return kSettlementReport; }
  absl::Status Load(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family) override;
  void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
             ledger::ProjectionWriter& writer) override;

 private:
  void Enter(const SettlementEntry& entry, ledger::ProjectionWriter& writer);

  DepositBook book_;
  std::map<std::string, SettlementDay> days_;  // by day
};

// One statement per day of `days` with card-center activity, in day order.
// kInvalidArgument for a bad range; the store must have the report's family.
absl::StatusOr<std::vector<SettlementStatement>> ReadSettlement(const ledger::EventStore& store,
                                                                const DayRange& days);

}  // namespace wattledger::projections::reports
