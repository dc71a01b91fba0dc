#include "projections/reports/deposit_book.h"

#include "ledger/status_macros.h"
#include "projections/campus.h"
#include "projections/reports/report_rows.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

constexpr absl::string_view kDepositPrefix = "deposit/";

void Put(const BookedDeposit& deposit, ledger::ProjectionWriter& writer) {
  writer.Put(WithSeq(kDepositPrefix, deposit.seq), EncodeRow<rows::Deposit>([&](auto row) {
               row.setSeq(deposit.seq);
               row.setRoomId(deposit.room_id);
               row.setAmountFen(deposit.amount_fen);
               row.setChannel(deposit.channel);
               row.setCashierId(deposit.cashier_id);
               row.setTradeNo(deposit.trade_no);
               row.setPayerCardNo(deposit.payer_card_no);
               row.setTimeUs(deposit.time_us);
               row.setReversed(deposit.reversed);
             }));
}

}  // namespace

absl::string_view ChannelName(schema::DepositChannel channel) {
  switch (channel) {
    case schema::DepositChannel::COUNTER:
      return "counter";
    case schema::DepositChannel::CARD_CENTER:
      return "card-center";
    case schema::DepositChannel::WEB:
      return "web";
  }
  return "unknown";
}

absl::Status DepositBook::Load(const ledger::EventStore& store,
                               rocksdb::ColumnFamilyHandle* family) {
  deposits_.clear();
  trades_.clear();
  return ScanPrefix(store, family, kDepositPrefix,
                    [&](absl::string_view key, absl::string_view value) -> absl::Status {
                      WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::Deposit>(key, value));
                      auto row = parsed.get();
                      deposits_[row.getSeq()] = BookedDeposit{row.getSeq(),
                                                              Str(row.getRoomId()),
                                                              row.getAmountFen(),
                                                              row.getChannel(),
                                                              Str(row.getCashierId()),
                                                              Str(row.getTradeNo()),
                                                              Str(row.getPayerCardNo()),
                                                              row.getTimeUs(),
                                                              row.getReversed()};
                      if (row.getTradeNo().size() > 0)
                        trades_[Str(row.getTradeNo())] = row.getSeq();
                      return absl::OkStatus();
                    });
}

const BookedDeposit& DepositBook::Remember(uint64_t seq, int64_t time_us,
                                           schema::DepositMade::Reader deposit,
                                           ledger::ProjectionWriter& writer) {
  WL_CHECK(deposits_.count(seq) == 0);
  BookedDeposit& booked = deposits_[seq];
  booked = BookedDeposit{seq,
                         Str(deposit.getRoomId()),
                         deposit.getAmountFen(),
                         deposit.getChannel(),
                         Str(deposit.getCashierId()),
                         Str(deposit.getTradeNo()),
                         Str(deposit.getPayerCardNo()),
                         time_us,
                         false};
  if (!booked.trade_no.empty()) trades_[booked.trade_no] = seq;
  Put(booked, writer);
  return booked;
}

uint64_t DepositBook::Resolve(schema::DepositReversed::Reader reversal) const {
  if (reversal.getDepositSeq() != 0) return reversal.getDepositSeq();
  auto trade = trades_.find(absl::string_view(reversal.getTradeNo().cStr()));
  return trade == trades_.end() ? 0 : trade->second;
}

BookedDeposit DepositBook::Reverse(uint64_t deposit_seq, ledger::ProjectionWriter& writer) {
  auto it = deposits_.find(deposit_seq);
  WL_CHECK(it != deposits_.end());
  WL_CHECK(!it->second.reversed);
  it->second.reversed = true;
  Put(it->second, writer);
  return it->second;
}

// The campus's rule, step for step: oldest first, stop at the first deposit
// still inside the window (reversed ones included, as the campus keeps them).
void DepositBook::Forget(int64_t period_end_us, ledger::ProjectionWriter& writer) {
  while (!deposits_.empty() &&
         deposits_.begin()->second.time_us + kReversalWindowUs < period_end_us) {
    writer.Delete(WithSeq(kDepositPrefix, deposits_.begin()->first));
    auto trade = trades_.find(deposits_.begin()->second.trade_no);
    if (trade != trades_.end() && trade->second == deposits_.begin()->first) trades_.erase(trade);
    deposits_.erase(deposits_.begin());
  }
}

}  // namespace wattledger::projections::reports
