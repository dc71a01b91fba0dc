#include "projections/reports/deposits.h"

#include "absl/strings/str_cat.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/reports/report_rows.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

// "day/" day "/" group "/" id -> DepositTotals (id "" for the total)
// "deposit/" seq -> Deposit (the DepositBook)
constexpr absl::string_view kDayPrefix = "day/";

std::string DayKey(absl::string_view day, DepositGroup group, absl::string_view id) {
  return absl::StrCat(kDayPrefix, day, "/", DepositGroupName(group), "/", id);
}

std::string Encode(const DepositTotals& totals) {
  return EncodeRow<rows::DepositTotals>([&](auto row) {
    row.setDay(totals.day);
    row.setGroup(static_cast<rows::DepositGroup>(totals.group));
    row.setId(totals.id);
    row.setDepositCount(totals.deposit_count);
    row.setDepositsFen(totals.deposits_fen);
    row.setReversalCount(totals.reversal_count);
    row.setReversalsFen(totals.reversals_fen);
  });
}

absl::StatusOr<DepositTotals> Decode(absl::string_view key, absl::string_view value) {
  WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::DepositTotals>(key, value));
  auto row = parsed.get();
  if (static_cast<uint16_t>(row.getGroup()) > static_cast<uint16_t>(DepositGroup::kTotal)) {
    return absl::DataLossError(absl::StrCat("deposit row '", key, "' has an unknown group"));
  }
  return DepositTotals{Str(row.getDay()),    static_cast<DepositGroup>(row.getGroup()),
                       Str(row.getId()),     row.getDepositCount(),
                       row.getDepositsFen(), row.getReversalCount(),
                       row.getReversalsFen()};
}

}  // namespace

static_assert(static_cast<uint16_t>(rows::DepositGroup::CASHIER) ==
              static_cast<uint16_t>(DepositGroup::kCashier));
static_assert(static_cast<uint16_t>(rows::DepositGroup::CHANNEL) ==
              static_cast<uint16_t>(DepositGroup::kChannel));
static_assert(static_cast<uint16_t>(rows::DepositGroup::TOTAL) ==
              static_cast<uint16_t>(DepositGroup::kTotal));

absl::string_view DepositGroupName(DepositGroup group) {
  switch (group) {
    case DepositGroup::kCashier:
      return "cashier";
    case DepositGroup::kChannel:
      return "channel";
    case DepositGroup::kTotal:
      return "total";
  }
  return "total";
}

absl::StatusOr<DepositGroup> ParseDepositGroup(absl::string_view name) {
  for (DepositGroup group :
       {DepositGroup::kCashier, DepositGroup::kChannel, DepositGroup::kTotal}) {
    if (DepositGroupName(group) == name) return group;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("group '", name, "' is not cashier, channel or total"));
}

absl::Status DepositsReport::Load(const ledger::EventStore& store,
                                  rocksdb::ColumnFamilyHandle* family) {
  rows_.clear();
  WL_RETURN_IF_ERROR(book_.Load(store, family));
  return ScanPrefix(store, family, kDayPrefix,
                    [&](absl::string_view key, absl::string_view value) -> absl::Status {
                      WL_ASSIGN_OR_RETURN(DepositTotals totals, Decode(key, value));
                      rows_[std::string(key)] = std::move(totals);
                      return absl::OkStatus();
                    });
}

void DepositsReport::Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
                           ledger::ProjectionWriter& writer) {
  int64_t time_us = envelope.getAppendedAtUs();
  switch (body.which()) {
    case ledger::EventKind::DEPOSIT_MADE: {
      const BookedDeposit& deposit =
          book_.Remember(envelope.getSeq(), time_us, body.getDepositMade(), writer);
      Book(DayOf(time_us), deposit, /*reversal=*/false, writer);
      break;
    }
    case ledger::EventKind::DEPOSIT_REVERSED: {
      uint64_t deposit_seq = book_.Resolve(body.getDepositReversed());
      if (deposit_seq == 0) break;  // a void: no money moved
      BookedDeposit deposit = book_.Reverse(deposit_seq, writer);
      Book(DayOf(time_us), deposit, /*reversal=*/true, writer);
      break;
    }
    case ledger::EventKind::PERIOD_CLOSED:
      book_.Forget(body.getPeriodClosed().getPeriodEndUs(), writer);
      break;
    default:
      break;
  }
}

void DepositsReport::Book(const std::string& day, const BookedDeposit& deposit, bool reversal,
                          ledger::ProjectionWriter& writer) {
  const std::pair<DepositGroup, std::string> groups[] = {
      {DepositGroup::kCashier, deposit.cashier_id},
      {DepositGroup::kChannel, std::string(ChannelName(deposit.channel))},
      {DepositGroup::kTotal, ""}};
  for (const auto& [group, id] : groups) {
    std::string key = DayKey(day, group, id);
    DepositTotals& totals = rows_[key];
    totals.day = day;
    totals.group = group;
    totals.id = id;
    if (reversal) {
      totals.reversal_count += 1;
      totals.reversals_fen += deposit.amount_fen;
    } else {
      totals.deposit_count += 1;
      totals.deposits_fen += deposit.amount_fen;
    }
    writer.Put(key, Encode(totals));
  }
}

absl::StatusOr<std::vector<DepositTotals>> ReadDeposits(const ledger::EventStore& store,
                                                        const DepositsQuery& query) {
  WL_RETURN_IF_ERROR(Validate(query.days));
  std::vector<DepositTotals> out;
  WL_RETURN_IF_ERROR(ScanRows(store, store.family(ledger::ProjectionFamily(kDepositsReport)),
                              DayKeys(kDayPrefix, query.days),
                              [&](absl::string_view key, absl::string_view value) -> absl::Status {
                                WL_ASSIGN_OR_RETURN(DepositTotals totals, Decode(key, value));
                                if (!query.group.has_value() || totals.group == *query.group) {
                                  out.push_back(std::move(totals));
                                }
                                return absl::OkStatus();
                              }));
  return out;
}

}  // namespace wattledger::projections::reports
