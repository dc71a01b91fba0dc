// The refunds report: every RefundSettled (room, person, card, amount, the
// balance before and after) with the reason of the RefundIssued it settles
// and the campus day it was settled. The reason is remembered from the
// RefundIssued ("pending/" row) until its settlement arrives.
//
// A catch-up projection (ledger/subscription.h): Load and Apply run on its
// runner's thread. In memory it holds only refunds awaiting settlement.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/subscription.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {

inline constexpr char kRefundsReport[] = "report.refunds";

// "graduation", "transfer", "other".
absl::string_view RefundReasonName(schema::RefundReason reason);

struct RefundRow {
  uint64_t settled_seq = 0;
  uint64_t refund_seq = 0;
  std::string day;
  int64_t time_us = 0;
  std::string room_id;
  std::string person_id;
  std::string card_no;
  int64_t amount_fen = 0;
  schema::RefundReason reason = schema::RefundReason::OTHER;
  int64_t balance_before_fen = 0;
  int64_t balance_after_fen = 0;
  bool last_occupant = false;

  bool operator==(const RefundRow&) const = default;
};

class RefundsReport final : public ledger::CatchUpProjection {
 public:
  std::string name() const override { return kRefundsReport; }
  absl::Status Load(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family) override;
  void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
             ledger::ProjectionWriter& writer) override;

 private:
  std::map<uint64_t, schema::RefundReason> pending_;  // by RefundIssued seq
};

// The settled refunds of `days`, by day, then seq. kInvalidArgument for a bad
// range; the store must have been opened with the report's family.
absl::StatusOr<std::vector<RefundRow>> ReadRefunds(const ledger::EventStore& store,
                                                   const DayRange& days);

}  // namespace wattledger::projections::reports
