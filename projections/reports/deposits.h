// The deposits report: per campus day, the deposits and reversals of each
// cashier (or card-center terminal, or "web"), of each channel, and of all
// of them. A reversal counts on the day it is booked, against the cashier
// and channel of the deposit it reverses, which the report remembers in its
// DepositBook. Days come from the events' appendedAtUs in campus time.
//
// A catch-up projection (ledger/subscription.h): Load and Apply run on its
// runner's thread. It keeps its rows in memory as well as in its family: a
// row per cashier and channel per day, and the deposits of the reversal window.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/subscription.h"
#include "projections/reports/deposit_book.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {

inline constexpr char kDepositsReport[] = "report.deposits";

enum class DepositGroup : uint8_t { kCashier = 0, kChannel = 1, kTotal = 2 };
absl::string_view DepositGroupName(DepositGroup group);  // "cashier", "channel", "total"
absl::StatusOr<DepositGroup> ParseDepositGroup(absl::string_view name);

struct DepositTotals {
  std::string day;  // "2026-09-21"
  DepositGroup group = DepositGroup::kTotal;
  std::string id;  // the cashier, the channel name, "" for the total
  uint64_t deposit_count = 0;
  int64_t deposits_fen = 0;
  uint64_t reversal_count = 0;
  int64_t reversals_fen = 0;

  int64_t net_fen() const { return deposits_fen - reversals_fen; }
  bool operator==(const DepositTotals&) const = default;
};

class DepositsReport final : public ledger::CatchUpProjection {
 public:
  std::string name() const override { return kDepositsReport; }
  absl::Status Load(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family) override;
  void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
             ledger::ProjectionWriter& writer) override;

 private:
  // Adds to the day's cashier, channel and total rows.
  void Book(const std::string& day, const BookedDeposit& deposit, bool reversal,
            ledger::ProjectionWriter& writer);

  DepositBook book_;
  std::map<std::string, DepositTotals> rows_;  // by key
};

struct DepositsQuery {
  DayRange days;
  std::optional<DepositGroup> group;  // unset: all three
};

// The rows for `query`, by day, then cashiers, channels and the total.
// kInvalidArgument for a bad range; the store must have the report's family.
absl::StatusOr<std::vector<DepositTotals>> ReadDeposits(const ledger::EventStore& store,
                                                        const DepositsQuery& query);

}  // namespace wattledger::projections::reports
