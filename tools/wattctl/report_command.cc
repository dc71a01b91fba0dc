// wattctl report: the money domain's reports (projections/reports/), read
// from a data directory through a RocksDB secondary so they work while wattd
// runs. The stored reports come from their families, as far as wattd has
// applied the log (a note on stderr says when it is behind); balances come
// from replaying the log into a scratch store. --format json prints one
// object per line, csv a header row and then the rows.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "absl/time/time.h"
#include "ledger/subscription.h"
#include "projections/calendar.h"
#include "projections/reports/balances.h"
#include "projections/reports/consumption.h"
#include "projections/reports/deposits.h"
#include "projections/reports/refunds.h"
#include "projections/reports/report_rows.h"
#include "projections/reports/report_table.h"
#include "projections/reports/settlement.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

namespace wattledger::wattctl {
namespace {

namespace reports = projections::reports;

using reports::Cell;
using reports::Table;

std::string CampusTime(int64_t time_us) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(time_us),
                          absl::FixedTimeZone(projections::kCampusUtcOffsetSeconds));
}

std::string DataDir() {
  std::string data = absl::GetFlag(FLAGS_data);
  return data.empty() ? "data" : data;
}

// The ledger store as a secondary, with report `name`'s family when one is
// given; kFailedPrecondition when wattd has never built that report.
absl::StatusOr<std::unique_ptr<ledger::EventStore>> OpenData(const std::string& name) {
  std::string path = DataLedgerDir(DataDir());
  ledger::StoreOptions options = SecondaryOptions();
  if (!name.empty()) {
    std::string family = ledger::ProjectionFamily(name);
    std::vector<std::string> existing;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path, &existing);
    if (listed.ok() && std::find(existing.begin(), existing.end(), family) == existing.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the ", name, " report has not been built in ", DataDir(),
                       ": start wattd on it (it builds the reports from the log)"));
    }
    options.projection_families = {family};
  }
  WL_ASSIGN_OR_RETURN(auto store, ledger::EventStore::Open(path, options));
  WL_RETURN_IF_ERROR(store->Refresh());
  return store;
}

// Tells the reader, on stderr, when the report has not caught up with the log.
void NoteLag(const ledger::EventStore& store, const std::string& name) {
  auto applied = reports::AppliedThrough(store, name);
  auto head = store.GetHead();
  if (applied.ok() && head.ok() && *applied < head->seq) {
    std::fprintf(stderr,
                 "wattctl: note: the %s report has applied the log through seq %llu of %llu\n",
                 name.c_str(), static_cast<unsigned long long>(*applied),
                 static_cast<unsigned long long>(head->seq));
  }
}

absl::StatusOr<reports::ConsumptionQuery> ConsumptionQueryFromFlags(const reports::DayRange& days) {
  std::string by = absl::GetFlag(FLAGS_by);
  reports::ConsumptionQuery query;
  WL_ASSIGN_OR_RETURN(query.by, reports::ParseConsumptionBy(by.empty() ? "room" : by));
  WL_ASSIGN_OR_RETURN(query.period, reports::ParsePeriod(absl::GetFlag(FLAGS_period)));
  query.days = days;
  return query;
}

absl::StatusOr<Table> Consumption(const ledger::EventStore& store, const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(reports::ConsumptionQuery query, ConsumptionQueryFromFlags(days));
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadConsumption(store, query));
  return reports::ConsumptionTable(rows, query.by);
}

// The violation columns of the consumption report's rows that count one.
absl::StatusOr<Table> Violations(const ledger::EventStore& store, const reports::DayRange& days) {
  WL_ASSIGN_OR_RETURN(reports::ConsumptionQuery query, ConsumptionQueryFromFlags(days));
  WL_ASSIGN_OR_RETURN(auto rows, reports::ReadViolations(store, query));
  return reports::ViolationsTable(rows, query.by);
}

absl::StatusOr<Table> Deposits(const ledger::EventStore& store, const reports::DayRange& days) {
  reports::DepositsQuery query;
  query.days = days;
  std::string by = absl::GetFlag(FLAGS_by);
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

// Replays the log into a scratch directory that is removed afterwards.
absl::StatusOr<Table> Balances(const ledger::EventStore& store) {
  uint64_t seq = absl::GetFlag(FLAGS_seq);
  std::string until = absl::GetFlag(FLAGS_until);
  if (seq != 0 && !until.empty()) {
    return absl::InvalidArgumentError("balances takes --seq or --until, not both");
  }
  std::string scratch =
      (std::filesystem::temp_directory_path() / "wattctl-balances-XXXXXX").string();
  if (mkdtemp(scratch.data()) == nullptr) return absl::UnavailableError("cannot create a temp dir");
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

absl::StatusOr<Table> Run(const std::string& which) {
  if (which == "balances") {
    WL_ASSIGN_OR_RETURN(auto store, OpenData(""));
    return Balances(*store);
  }
  reports::DayRange days{absl::GetFlag(FLAGS_since), absl::GetFlag(FLAGS_until)};
  WL_RETURN_IF_ERROR(reports::Validate(days));
  // Violations are counted in the consumption report's rows.
  std::string name = which == "consumption" || which == "violations" ? reports::kConsumptionReport
                     : which == "deposits"                           ? reports::kDepositsReport
                     : which == "refunds"                            ? reports::kRefundsReport
                     : which == "settlement"                         ? reports::kSettlementReport
                                                                     : "";
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("no report ", which));
  WL_ASSIGN_OR_RETURN(auto store, OpenData(name));
  absl::StatusOr<Table> table = which == "consumption"  ? Consumption(*store, days)
                                : which == "violations" ? Violations(*store, days)
                                : which == "deposits"   ? Deposits(*store, days)
                                : which == "refunds"    ? Refunds(*store, days)
                                                        : Settlement(*store, days);
  if (table.ok()) NoteLag(*store, name);
  return table;
}

}  // namespace

int Report(const std::string& which) {
  std::string format = absl::GetFlag(FLAGS_format);
  if (format != "json" && format != "csv") return Usage("--format is json or csv");
  absl::StatusOr<Table> table = Run(which);
  if (!table.ok()) {
    if (table.status().code() == absl::StatusCode::kInvalidArgument) {
      return Usage(table.status().message());
    }
    return Fail(table.status());
  }
  std::string text = format == "csv" ? table->Csv() : table->JsonLines();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace wattledger::wattctl
