// The money domain's reports (projections/reports/) as queries: the stored
// reports read from their families, as far as they have applied the log (a
// note says when they are behind); balances by replaying the log into a
// scratch store under the source's scratch directory. `format` is json (one
// object per line) or csv (a header row, then the rows).
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/query/views.h"
#include "ledger/subscription.h"
#include "projections/calendar.h"
#include "projections/reports/balances.h"
#include "projections/reports/consumption.h"
#include "projections/reports/deposits.h"
#include "projections/reports/refunds.h"
#include "projections/reports/report_rows.h"
#include "projections/reports/report_table.h"
#include "projections/reports/settlement.h"

namespace wattledger::query::views {
namespace {

namespace reports = projections::reports;

using reports::Cell;
using reports::Table;

std::string CampusTime(int64_t time_us) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(time_us),
                          absl::FixedTimeZone(projections::kCampusUtcOffsetSeconds));
}

absl::StatusOr<reports::ConsumptionQuery> ConsumptionQueryOf(const Args& args,
                                                             const reports::DayRange& days) {
  std::string by = Arg(args, "by");
  std::string period = Arg(args, "period");
  reports::ConsumptionQuery query;
  WL_ASSIGN_OR_RETURN(query.by, reports::ParseConsumptionBy(by.empty() ? "room" : by));
  WL_ASSIGN_OR_RETURN(query.period, reports::ParsePeriod(period.empty() ? "month" : period));
  query.days = days;
  query.id = Arg(args, "id");
  return query;
}

absl::StatusOr<Table> Consumption(const ledger::EventStore& store, const Args& args,
                                  const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(reports::ConsumptionQuery query, ConsumptionQueryOf(args, days));
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadConsumption(store, query));
  return reports::ConsumptionTable(rows, query.by);
}

// The violation columns of the consumption report's rows that count one.
absl::StatusOr<Table> ViolationCounts(const ledger::EventStore& store, const Args& args,
                                      const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(reports::ConsumptionQuery query, ConsumptionQueryOf(args, days));
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadViolations(store, query));
  return reports::ViolationsTable(rows, query.by);
}

absl::StatusOr<Table> Deposits(const ledger::EventStore& store, const Args& args,
                               const reports::DayRange& days) {
  reports::DepositsQuery query;
  query.days = days;
  std::string by = Arg(args, "by");
  if (!by.empty()) {
    WL_ASSIGN_OR_RETURN(query.group, reports::ParseDepositGroup(by));
  }
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadDeposits(store, query));
  Table table({"day", "by", "id", "depositCount", "depositsFen", "reversalCount", "reversalsFen",
               "netFen"});
  for (const auto& row : rows) {
    table.Add({row.day, std::string(reports::DepositGroupName(row.group)), row.id,
               row.deposit_count, row.deposits_fen, row.reversal_count, row.reversals_fen,
               row.net_fen()});
  }
  return table;
}

absl::StatusOr<Table> Refunds(const ledger::EventStore& store, const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadRefunds(store, days));
  Table table({"day", "time", "settledSeq", "refundSeq", "roomId", "personId", "cardNo",
               "amountFen", "reason", "balanceBeforeFen", "balanceAfterFen", "lastOccupant"});
  for (const auto& row : rows) {
    table.Add({row.day, CampusTime(row.time_us), row.settled_seq, row.refund_seq, row.room_id,
               row.person_id, row.card_no, row.amount_fen,
               std::string(reports::RefundReasonName(row.reason)), row.balance_before_fen,
               row.balance_after_fen, row.last_occupant});
  }
  return table;
}

// Each day's entries, then its total row; entry and total columns share a table.
absl::StatusOr<Table> Settlement(const ledger::EventStore& store, const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(auto statements, reports::ReadSettlement(store, days));
  Table table({"day", "kind", "seq", "depositSeq", "tradeNo", "terminalId", "roomId", "payerCardNo",
               "amountFen", "time", "depositCount", "depositsFen", "reversalCount", "reversalsFen",
               "netFen", "firstSeq", "lastSeq"});
  const Cell none;
  for (const auto& statement : statements) {
    for (const auto& entry : statement.entries) {
      table.Add({entry.day, std::string(reports::SettlementKindName(entry.kind)), entry.seq,
                 entry.deposit_seq, entry.trade_no, entry.terminal_id, entry.room_id,
                 entry.payer_card_no, entry.amount_fen, CampusTime(entry.time_us), none, none, none,
                 none, none, none, none});
    }
    const auto& totals = statement.totals;
    table.Add({totals.day, std::string("total"), none, none, none, none, none, none, none, none,
               totals.deposit_count, totals.deposits_fen, totals.reversal_count,
               totals.reversals_fen, totals.net_fen(), totals.first_seq, totals.last_seq});
  }
  return table;
}

// Replays the log into a fresh directory under `scratch_root`, removed afterwards.
absl::StatusOr<Table> Balances(const ledger::EventStore& store, const Args& args,
                               const std::string& scratch_root) {
  std::string seq_text = Arg(args, "seq");
  std::string until = Arg(args, "until");
  uint64_t seq = 0;
  if (!seq_text.empty() && !absl::SimpleAtoi(seq_text, &seq)) {
    return absl::InvalidArgumentError(
        absl::StrCat("balances: seq '", seq_text, "' is not a number"));
  }
  if (seq != 0 && !until.empty()) {
    return absl::InvalidArgumentError("balances takes seq or until, not both");
  }
  std::string scratch =
      (std::filesystem::path(scratch_root.empty() ? std::filesystem::temp_directory_path()
                                                  : std::filesystem::path(scratch_root)) /
       "wattledger-balances-XXXXXX")
          .string();
  if (mkdtemp(scratch.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", scratch));
  }
  absl::StatusOr<reports::Balances> balances;
  if (!until.empty()) {
    balances = reports::BalancesAtDay(store, until, scratch + "/replay");
  } else {
    if (seq == 0) {
      auto head = store.GetHead();
      if (!head.ok()) return head.status();
      seq = head->seq;
    }
    balances = reports::BalancesAtSeq(store, seq, scratch + "/replay");
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  if (!balances.ok()) return balances.status();
  Table table({"atSeq", "roomId", "buildingId", "balanceFen", "depositsFen", "reversalsFen",
               "deductionsFen", "refundsFen", "transfersInFen", "transfersOutFen", "energyWh",
               "occupants"});
  for (const auto& room : balances->rooms) {
    table.Add({balances->seq, room.room_id, room.building_id, room.balance_fen, room.deposits_fen,
               room.reversals_fen, room.deductions_fen, room.refunds_fen, room.transfers_in_fen,
               room.transfers_out_fen, room.energy_wh,
               static_cast<uint64_t>(room.occupants.size())});
  }
  return table;
}

// The stored report behind `which`; "" for balances (a replay).
std::string StoredReportOf(const std::string& which) {
  // Violations are counted in the consumption report's rows.
  if (which == "consumption" || which == "violations") return reports::kConsumptionReport;
  if (which == "deposits") return reports::kDepositsReport;
  if (which == "refunds") return reports::kRefundsReport;
  if (which == "settlement") return reports::kSettlementReport;
  return "";
}

absl::StatusOr<Table> ReportTable(const QuerySource& source, const std::string& which,
                                  const Args& args, Answer& out) {
  const ledger::EventStore& store = *source.store;
  if (which == "balances") return Balances(store, args, source.scratch_dir);
  reports::DayRange days{Arg(args, "since"), Arg(args, "until")};
  WL_RETURN_IF_ERROR(reports::Validate(days));
  std::string name = StoredReportOf(which);
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("no report ", which));
  if (!store.HasFamily(ledger::ProjectionFamily(name))) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", name, " report has not been built: start wattd on this ledger (it ",
                     "builds the reports from the log)"));
  }
  absl::StatusOr<Table> table = which == "consumption"  ? Consumption(store, args, days)
                                : which == "violations" ? ViolationCounts(store, args, days)
                                : which == "deposits"   ? Deposits(store, args, days)
                                : which == "refunds"    ? Refunds(store, days)
                                                        : Settlement(store, days);
  if (!table.ok()) return table;
  auto applied = reports::AppliedThrough(store, name);
  auto head = store.GetHead();
  if (applied.ok() && head.ok() && *applied < head->seq) {
    out.notes.push_back(absl::StrCat("the ", name, " report has applied the log through seq ",
                                     *applied, " of ", head->seq));
  }
  return table;
}

}  // namespace

absl::StatusOr<Answer> Report(const QuerySource& source, const std::string& which,
                              const Args& args) {
  std::string format = Arg(args, "format");
  if (format.empty()) format = "json";
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError("report: format is json or csv");
  }
  Answer out;
  WL_ASSIGN_OR_RETURN(Table table, ReportTable(source, which, args, out));
  std::string text = format == "csv" ? table.Csv() : table.JsonLines();
  out.lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return out;
}

}  // namespace wattledger::query::views
