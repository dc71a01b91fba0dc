#include "projections/reports/settlement.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/reports/report_rows.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

// "day/" day "/entry/" seq -> SettlementEntry
// "day/" day "/total"      -> SettlementDay
// "deposit/" seq           -> Deposit (the DepositBook)
constexpr absl::string_view kDayPrefix = "day/";
constexpr absl::string_view kEntryInfix = "/entry/";
constexpr absl::string_view kTotalSuffix = "/total";

std::string TotalKey(absl::string_view day) { return absl::StrCat(kDayPrefix, day, kTotalSuffix); }

// Told apart by length as well: an entry key ends in 8 bytes of seq.
bool IsTotalKey(absl::string_view key) {
  return key.size() == kDayPrefix.size() + 10 + kTotalSuffix.size() &&
         absl::EndsWith(key, kTotalSuffix);
}

std::string Encode(const SettlementDay& day) {
  return EncodeRow<rows::SettlementDay>([&](auto row) {
    row.setDay(day.day);
    row.setDepositCount(day.deposit_count);
    row.setDepositsFen(day.deposits_fen);
    row.setReversalCount(day.reversal_count);
    row.setReversalsFen(day.reversals_fen);
    row.setFirstSeq(day.first_seq);
    row.setLastSeq(day.last_seq);
  });
}

absl::StatusOr<SettlementDay> DecodeDay(absl::string_view key, absl::string_view value) {
  WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::SettlementDay>(key, value));
  auto row = parsed.get();
  return SettlementDay{Str(row.getDay()),      row.getDepositCount(), row.getDepositsFen(),
                       row.getReversalCount(), row.getReversalsFen(), row.getFirstSeq(),
                       row.getLastSeq()};
}

std::string Encode(const SettlementEntry& entry) {
  return EncodeRow<rows::SettlementEntry>([&](auto row) {
    row.setSeq(entry.seq);
    row.setKind(static_cast<rows::SettlementKind>(entry.kind));
    row.setDepositSeq(entry.deposit_seq);
    row.setDay(entry.day);
    row.setTimeUs(entry.time_us);
    row.setTradeNo(entry.trade_no);
    row.setTerminalId(entry.terminal_id);
    row.setRoomId(entry.room_id);
    row.setPayerCardNo(entry.payer_card_no);
    row.setAmountFen(entry.amount_fen);
  });
}

absl::StatusOr<SettlementEntry> DecodeEntry(absl::string_view key, absl::string_view value) {
  WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::SettlementEntry>(key, value));
  auto row = parsed.get();
  if (static_cast<uint16_t>(row.getKind()) > static_cast<uint16_t>(SettlementKind::kVoid)) {
    return absl::DataLossError(absl::StrCat("settlement row '", key, "' has an unknown kind"));
  }
  return SettlementEntry{row.getSeq(),
                         static_cast<SettlementKind>(row.getKind()),
                         row.getDepositSeq(),
                         Str(row.getDay()),
                         row.getTimeUs(),
                         Str(row.getTradeNo()),
                         Str(row.getTerminalId()),
                         Str(row.getRoomId()),
                         Str(row.getPayerCardNo()),
                         row.getAmountFen()};
}

SettlementEntry EntryOf(const BookedDeposit& deposit, uint64_t seq, SettlementKind kind,
                        int64_t time_us) {
  return SettlementEntry{seq,
                         kind,
                         deposit.seq,
                         DayOf(time_us),
                         time_us,
                         deposit.trade_no,
                         deposit.cashier_id,
                         deposit.room_id,
                         deposit.payer_card_no,
                         deposit.amount_fen};
}

}  // namespace

static_assert(static_cast<uint16_t>(rows::SettlementKind::DEPOSIT) ==
              static_cast<uint16_t>(SettlementKind::kDeposit));
static_assert(static_cast<uint16_t>(rows::SettlementKind::REVERSAL) ==
              static_cast<uint16_t>(SettlementKind::kReversal));
static_assert(static_cast<uint16_t>(rows::SettlementKind::VOIDED) ==
              static_cast<uint16_t>(SettlementKind::kVoid));

absl::string_view SettlementKindName(SettlementKind kind) {
  switch (kind) {
    case SettlementKind::kDeposit:
      return "deposit";
    case SettlementKind::kReversal:
      return "reversal";
    case SettlementKind::kVoid:
      return "void";
  }
  return "unknown";
}

absl::Status SettlementReport::Load(const ledger::EventStore& store,
                                    rocksdb::ColumnFamilyHandle* family) {
  days_.clear();
  WL_RETURN_IF_ERROR(book_.Load(store, family));
  return ScanPrefix(store, family, kDayPrefix,
                    [&](absl::string_view key, absl::string_view value) -> absl::Status {
                      if (!IsTotalKey(key)) return absl::OkStatus();
                      WL_ASSIGN_OR_RETURN(SettlementDay day, DecodeDay(key, value));
                      days_[day.day] = std::move(day);
                      return absl::OkStatus();
                    });
}

void SettlementReport::Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
                             ledger::ProjectionWriter& writer) {
  uint64_t seq = envelope.getSeq();
  int64_t time_us = envelope.getAppendedAtUs();
  switch (body.which()) {
    case ledger::EventKind::DEPOSIT_MADE: {
      // Every deposit is booked, so the book forgets by the campus's rule.
      const BookedDeposit& deposit = book_.Remember(seq, time_us, body.getDepositMade(), writer);
      if (deposit.channel == schema::DepositChannel::CARD_CENTER) {
        Enter(EntryOf(deposit, seq, SettlementKind::kDeposit, time_us), writer);
      }
      break;
    }
    case ledger::EventKind::DEPOSIT_REVERSED: {
      auto reversal = body.getDepositReversed();
      uint64_t deposit_seq = book_.Resolve(reversal);
      if (deposit_seq == 0) {  // the card center reversed a trade before its deposit came
        Enter(SettlementEntry{.seq = seq,
                              .kind = SettlementKind::kVoid,
                              .day = DayOf(time_us),
                              .time_us = time_us,
                              .trade_no = Str(reversal.getTradeNo())},
              writer);
        break;
      }
      BookedDeposit deposit = book_.Reverse(deposit_seq, writer);
      if (deposit.channel == schema::DepositChannel::CARD_CENTER) {
        Enter(EntryOf(deposit, seq, SettlementKind::kReversal, time_us), writer);
      }
      break;
    }
    case ledger::EventKind::PERIOD_CLOSED:
      book_.Forget(body.getPeriodClosed().getPeriodEndUs(), writer);
      break;
    default:
      break;
  }
}

void SettlementReport::Enter(const SettlementEntry& entry, ledger::ProjectionWriter& writer) {
  writer.Put(WithSeq(absl::StrCat(kDayPrefix, entry.day, kEntryInfix), entry.seq), Encode(entry));
  SettlementDay& day = days_[entry.day];
  day.day = entry.day;
  if (entry.kind == SettlementKind::kDeposit) {
    day.deposit_count += 1;
    day.deposits_fen += entry.amount_fen;
  } else if (entry.kind == SettlementKind::kReversal) {
    day.reversal_count += 1;
    day.reversals_fen += entry.amount_fen;
  }
  if (day.first_seq == 0) day.first_seq = entry.seq;
  day.last_seq = entry.seq;
  writer.Put(TotalKey(entry.day), Encode(day));
}

absl::StatusOr<std::vector<SettlementStatement>> ReadSettlement(const ledger::EventStore& store,
                                                                const DayRange& days) {
  WL_RETURN_IF_ERROR(Validate(days));
  std::vector<SettlementStatement> out;
  // A day's entries sort before its total row ("entry/" < "total").
  std::vector<SettlementEntry> entries;
  WL_RETURN_IF_ERROR(ScanRows(
      store, store.family(ledger::ProjectionFamily(kSettlementReport)), DayKeys(kDayPrefix, days),
      [&](absl::string_view key, absl::string_view value) -> absl::Status {
        if (IsTotalKey(key)) {
          WL_ASSIGN_OR_RETURN(SettlementDay day, DecodeDay(key, value));
          out.push_back(SettlementStatement{std::move(day), std::move(entries)});
          entries.clear();
          return absl::OkStatus();
        }
        WL_ASSIGN_OR_RETURN(SettlementEntry entry, DecodeEntry(key, value));
        entries.push_back(std::move(entry));
        return absl::OkStatus();
      }));
  if (!entries.empty()) return absl::DataLossError("settlement entries without their day's total");
  return out;
}

}  // namespace wattledger::projections::reports
