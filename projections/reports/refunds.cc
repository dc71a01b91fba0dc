#include "projections/reports/refunds.h"

#include "absl/strings/str_cat.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/reports/report_rows.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

// "pending/" refund seq -> PendingRefund
// "refund/" day "/" settled seq -> Refund
constexpr absl::string_view kPendingPrefix = "pending/";
constexpr absl::string_view kRefundPrefix = "refund/";

RefundRow FromRow(rows::Refund::Reader row) {
  return RefundRow{row.getSettledSeq(),       row.getRefundSeq(),       Str(row.getDay()),
                   row.getTimeUs(),           Str(row.getRoomId()),     Str(row.getPersonId()),
                   Str(row.getCardNo()),      row.getAmountFen(),       row.getReason(),
                   row.getBalanceBeforeFen(), row.getBalanceAfterFen(), row.getLastOccupant()};
}

}  // namespace

absl::string_view RefundReasonName(schema::RefundReason reason) {
  switch (reason) {
    case schema::RefundReason::GRADUATION:
      return "graduation";
    case schema::RefundReason::TRANSFER:
      return "transfer";
    case schema::RefundReason::OTHER:
      return "other";
  }
  return "other";
}

absl::Status RefundsReport::Load(const ledger::EventStore& store,
                                 rocksdb::ColumnFamilyHandle* family) {
  pending_.clear();
  return ScanPrefix(store, family, kPendingPrefix,
                    [&](absl::string_view key, absl::string_view value) -> absl::Status {
                      WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::PendingRefund>(key, value));
                      pending_[parsed.get().getRefundSeq()] = parsed.get().getReason();
                      return absl::OkStatus();
                    });
}

void RefundsReport::Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
                          ledger::ProjectionWriter& writer) {
  switch (body.which()) {
    case ledger::EventKind::REFUND_ISSUED: {
      uint64_t seq = envelope.getSeq();
      schema::RefundReason reason = body.getRefundIssued().getReason();
      pending_[seq] = reason;
      writer.Put(WithSeq(kPendingPrefix, seq), EncodeRow<rows::PendingRefund>([&](auto row) {
                   row.setRefundSeq(seq);
                   row.setReason(reason);
                 }));
      break;
    }
    case ledger::EventKind::REFUND_SETTLED: {
      auto settled = body.getRefundSettled();
      auto pending = pending_.find(settled.getRefundSeq());
      // The ledger appends each settlement right after the refund it settles.
      WL_CHECK(pending != pending_.end());
      int64_t time_us = envelope.getAppendedAtUs();
      std::string day = DayOf(time_us);
      writer.Put(WithSeq(absl::StrCat(kRefundPrefix, day, "/"), envelope.getSeq()),
                 EncodeRow<rows::Refund>([&](auto row) {
                   row.setSettledSeq(envelope.getSeq());
                   row.setRefundSeq(settled.getRefundSeq());
                   row.setDay(day);
                   row.setTimeUs(time_us);
                   row.setRoomId(settled.getRoomId());
                   row.setPersonId(settled.getPersonId());
                   row.setCardNo(settled.getCardNo());
                   row.setAmountFen(settled.getAmountFen());
                   row.setReason(pending->second);
                   row.setBalanceBeforeFen(settled.getBalanceBeforeFen());
                   row.setBalanceAfterFen(settled.getBalanceAfterFen());
                   row.setLastOccupant(settled.getLastOccupant());
                 }));
      writer.Delete(WithSeq(kPendingPrefix, pending->first));
      pending_.erase(pending);
      break;
    }
    default:
      break;
  }
}

absl::StatusOr<std::vector<RefundRow>> ReadRefunds(const ledger::EventStore& store,
                                                   const DayRange& days) {
  WL_RETURN_IF_ERROR(Validate(days));
  std::vector<RefundRow> out;
  WL_RETURN_IF_ERROR(ScanRows(
      store, store.family(ledger::ProjectionFamily(kRefundsReport)), DayKeys(kRefundPrefix, days),
      [&](absl::string_view key, absl::string_view value) -> absl::Status {
        WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::Refund>(key, value));
        out.push_back(FromRow(parsed.get()));
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace wattledger::projections::reports
