// How `wattctl report` prints a report (tools/wattctl/report_command.cc):
// a table of named columns, as CSV (a header row, then one line per row) or
// as JSON lines (one object per row, its members in column order, empty cells
// left out). Also the consumption and violations tables, so tests reach the
// exact output. Pure text building: no I/O. Header-only, so the reports
// library's source list stays as it is.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/status_macros.h"
#include "ledger/structured_log.h"
#include "projections/reports/consumption.h"

namespace wattledger::projections::reports {

// An empty cell is left out of a JSON object and blank in CSV.
using Cell = std::variant<std::monostate, std::string, int64_t, uint64_t, bool>;

class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}

  // `row` has one cell per column.
  void Add(std::vector<Cell> row) {
    WL_CHECK(row.size() == columns_.size());
    rows_.push_back(std::move(row));
  }

  // The header row, then the rows; fields holding a comma, quote or line
  // break are quoted (RFC 4180).
  std::string Csv() const {
    std::string out = absl::StrCat(absl::StrJoin(columns_, ","), "\n");
    for (const auto& row : rows_) {
      std::vector<std::string> fields;
      for (const Cell& cell : row) fields.push_back(CsvField(cell));
      absl::StrAppend(&out, absl::StrJoin(fields, ","), "\n");
    }
    return out;
  }

  // One JSON object per row and line; nothing for no rows.
  std::string JsonLines() const {
    std::string out;
    for (const auto& row : rows_) {
      std::vector<std::string> members;
      for (size_t i = 0; i < row.size(); ++i) {
        if (std::holds_alternative<std::monostate>(row[i])) continue;
        members.push_back(absl::StrCat(ledger::JsonEscape(columns_[i]), ":", JsonValue(row[i])));
      }
      absl::StrAppend(&out, "{", absl::StrJoin(members, ","), "}\n");
    }
    return out;
  }

 private:
  static std::string JsonValue(const Cell& cell) {
    if (const auto* text = std::get_if<std::string>(&cell)) return ledger::JsonEscape(*text);
    if (const auto* flag = std::get_if<bool>(&cell)) return *flag ? "true" : "false";
    if (const auto* number = std::get_if<int64_t>(&cell)) return absl::StrCat(*number);
    return absl::StrCat(std::get<uint64_t>(cell));
  }

  static std::string CsvField(const Cell& cell) {
    if (std::holds_alternative<std::monostate>(cell)) return "";
    if (const auto* text = std::get_if<std::string>(&cell)) {
      if (text->find_first_of(",\"\r\n") == std::string::npos) return *text;
      std::string quoted = "\"";
      for (char c : *text) {
        if (c == '"') quoted.push_back('"');
        quoted.push_back(c);
      }
      return quoted + "\"";
    }
    return JsonValue(cell);
  }

  std::vector<std::string> columns_;
  std::vector<std::vector<Cell>> rows_;
};

// `wattctl report consumption`: period, the room (with its building) or the
// building, then the sums and the violations in all.
inline Table ConsumptionTable(const std::vector<ConsumptionRow>& rows, ConsumptionBy by) {
  bool by_room = by == ConsumptionBy::kRoom;
  std::vector<std::string> columns = {"period", by_room ? "roomId" : "buildingId"};
  if (by_room) columns.push_back("buildingId");
  for (const char* column :
       {"energyWh", "freeWh", "chargedWh", "amountFen", "deductions", "violations"}) {
    columns.push_back(column);
  }
  Table table(std::move(columns));
  for (const auto& row : rows) {
    // Cell by cell: an initializer list of variants trips GCC 12's
    // maybe-uninitialized warning.
    std::vector<Cell> cells;
    cells.emplace_back(row.period);
    cells.emplace_back(row.id);
    if (by_room) cells.emplace_back(row.building_id);
    for (int64_t sum : {row.energy_wh, row.free_wh, row.charged_wh, row.amount_fen}) {
      cells.emplace_back(sum);
    }
    cells.emplace_back(row.deductions);
    cells.emplace_back(row.violations);
    table.Add(std::move(cells));
  }
  return table;
}

// `wattctl report violations`: period, the room (with its building) or the
// building, the violations in all, by kind (schema::ViolationKind), and those
// that escalated to a lockout. Only rows with a violation.
inline Table ViolationsTable(const std::vector<ConsumptionRow>& rows, ConsumptionBy by) {
  bool by_room = by == ConsumptionBy::kRoom;
  std::vector<std::string> columns = {"period", by_room ? "roomId" : "buildingId"};
  if (by_room) columns.push_back("buildingId");
  for (const char* column : {"violations", "loadLimit", "currentLimit", "maliciousLoad",
                             "antiRestriction", "nightLimit", "meterTrip", "lockouts"}) {
    columns.push_back(column);
  }
  Table table(std::move(columns));
  for (const auto& row : rows) {
    if (row.violations == 0) continue;
    std::vector<Cell> cells;
    cells.emplace_back(row.period);
    cells.emplace_back(row.id);
    if (by_room) cells.emplace_back(row.building_id);
    const ViolationCounts& kinds = row.by_kind;
    for (uint64_t count :
         {row.violations, kinds.load_limit, kinds.current_limit, kinds.malicious_load,
          kinds.anti_restriction, kinds.night_limit, kinds.meter_trip, kinds.lockouts}) {
      cells.emplace_back(count);
    }
    table.Add(std::move(cells));
  }
  return table;
}

}  // namespace wattledger::projections::reports
