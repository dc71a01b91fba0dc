#include "projections/reports/consumption.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/reports/report_rows.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

// "building-of/" room -> RoomBuilding
// "total/" by "/" period name "/" period "/" id -> Consumption
constexpr absl::string_view kBuildingOfPrefix = "building-of/";
constexpr absl::string_view kTotalPrefix = "total/";

std::string TotalPrefix(ConsumptionBy by, Period period) {
  return absl::StrCat(kTotalPrefix, ConsumptionByName(by), "/", PeriodName(period), "/");
}

std::string TotalKey(ConsumptionBy by, Period period, absl::string_view period_text,
                     absl::string_view id) {
  return absl::StrCat(TotalPrefix(by, period), period_text, "/", id);
}

std::string Encode(const ConsumptionRow& row) {
  WL_CHECK(row.by_kind.kinds_total() <= row.violations);
  WL_CHECK(row.by_kind.lockouts <= row.violations);
  return EncodeRow<rows::Consumption>([&](auto out) {
    out.setId(row.id);
    out.setPeriod(row.period);
    out.setEnergyWh(row.energy_wh);
    out.setFreeWh(row.free_wh);
    out.setChargedWh(row.charged_wh);
    out.setAmountFen(row.amount_fen);
    out.setDeductions(row.deductions);
    out.setViolations(row.violations);
    out.setLoadLimit(row.by_kind.load_limit);
    out.setCurrentLimit(row.by_kind.current_limit);
    out.setMaliciousLoad(row.by_kind.malicious_load);
    out.setAntiRestriction(row.by_kind.anti_restriction);
    out.setNightLimit(row.by_kind.night_limit);
    out.setMeterTrip(row.by_kind.meter_trip);
    out.setLockouts(row.by_kind.lockouts);
  });
}

absl::StatusOr<ConsumptionRow> Decode(absl::string_view key, absl::string_view value) {
  WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::Consumption>(key, value));
  auto in = parsed.get();
  ConsumptionRow row;
  row.id = Str(in.getId());
  row.period = Str(in.getPeriod());
  row.energy_wh = in.getEnergyWh();
  row.free_wh = in.getFreeWh();
  row.charged_wh = in.getChargedWh();
  row.amount_fen = in.getAmountFen();
  row.deductions = in.getDeductions();
  row.violations = in.getViolations();
  row.by_kind.load_limit = in.getLoadLimit();
  row.by_kind.current_limit = in.getCurrentLimit();
  row.by_kind.malicious_load = in.getMaliciousLoad();
  row.by_kind.anti_restriction = in.getAntiRestriction();
  row.by_kind.night_limit = in.getNightLimit();
  row.by_kind.meter_trip = in.getMeterTrip();
  row.by_kind.lockouts = in.getLockouts();
  // Encode writes no more by kind (or lockouts) than in all: more is damage.
  if (row.by_kind.kinds_total() > row.violations || row.by_kind.lockouts > row.violations) {
    return absl::DataLossError(absl::StrCat("report row '", absl::CHexEscape(key),
                                            "': more violations by kind than in all"));
  }
  return row;
}

// Counts one violation of `kind` in `counts`; a kind this build does not know
// counts in the row's total only.
void CountKind(schema::ViolationKind kind, ViolationCounts& counts) {
  switch (kind) {
    case schema::ViolationKind::LOAD_LIMIT:
      counts.load_limit += 1;
      return;
    case schema::ViolationKind::CURRENT_LIMIT:
      counts.current_limit += 1;
      return;
    case schema::ViolationKind::MALICIOUS_LOAD:
      counts.malicious_load += 1;
      return;
    case schema::ViolationKind::ANTI_RESTRICTION:
      counts.anti_restriction += 1;
      return;
    case schema::ViolationKind::NIGHT_LIMIT:
      counts.night_limit += 1;
      return;
    case schema::ViolationKind::METER_TRIP:
      counts.meter_trip += 1;
      return;
  }
}

absl::Status LoadBuildings(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family,
                           std::map<std::string, std::string>& out) {
  return ScanPrefix(store, family, kBuildingOfPrefix,
                    [&](absl::string_view key, absl::string_view value) -> absl::Status {
                      WL_ASSIGN_OR_RETURN(auto parsed, DecodeRow<rows::RoomBuilding>(key, value));
                      out[Str(parsed.get().getRoomId())] = Str(parsed.get().getBuildingId());
                      return absl::OkStatus();
                    });
}

}  // namespace

absl::string_view ConsumptionByName(ConsumptionBy by) {
  return by == ConsumptionBy::kRoom ? "room" : "building";
}

absl::StatusOr<ConsumptionBy> ParseConsumptionBy(absl::string_view name) {
  if (name == "room") return ConsumptionBy::kRoom;
  if (name == "building") return ConsumptionBy::kBuilding;
  return absl::InvalidArgumentError(absl::StrCat("by '", name, "' is not room or building"));
}

absl::Status ConsumptionReport::Load(const ledger::EventStore& store,
                                     rocksdb::ColumnFamilyHandle* family) {
  building_of_.clear();
  rows_.clear();
  WL_RETURN_IF_ERROR(LoadBuildings(store, family, building_of_));
  current_day_.clear();
  WL_RETURN_IF_ERROR(
      ScanPrefix(store, family, kTotalPrefix,
                 [&](absl::string_view key, absl::string_view value) -> absl::Status {
                   WL_ASSIGN_OR_RETURN(ConsumptionRow row, Decode(key, value));
                   if (IsDayRow(key)) current_day_ = std::max(current_day_, row.period);
                   rows_[std::string(key)] = std::move(row);
                   return absl::OkStatus();
                 }));
  ForgetDaysBefore(current_day_);
  return absl::OkStatus();
}

bool ConsumptionReport::IsDayRow(absl::string_view key) {
  for (ConsumptionBy by : {ConsumptionBy::kRoom, ConsumptionBy::kBuilding}) {
    if (absl::StartsWith(key, TotalPrefix(by, Period::kDay))) return true;
  }
  return false;
}

void ConsumptionReport::ForgetDaysBefore(const std::string& day) {
  for (ConsumptionBy by : {ConsumptionBy::kRoom, ConsumptionBy::kBuilding}) {
    const std::string prefix = TotalPrefix(by, Period::kDay);
    rows_.erase(rows_.lower_bound(prefix), rows_.lower_bound(absl::StrCat(prefix, day)));
  }
}

void ConsumptionReport::Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
                              ledger::ProjectionWriter& writer) {
  switch (body.which()) {
    case ledger::EventKind::ROOM_REGISTERED:
      AddRoom(body.getRoomRegistered(), writer);
      break;
    case ledger::EventKind::REGISTRY_IMPORTED:
      for (auto room : body.getRegistryImported().getRooms()) AddRoom(room, writer);
      break;
    case ledger::EventKind::DEDUCTIONS_APPLIED:
      AddDeductions(envelope.getAppendedAtUs(), body.getDeductionsApplied(), writer);
      break;
    case ledger::EventKind::VIOLATION_RECORDED:
      AddViolation(envelope.getAppendedAtUs(), body.getViolationRecorded(), writer);
      break;
    default:
      break;
  }
}

void ConsumptionReport::AddRoom(schema::RoomRegistered::Reader room,
                                ledger::ProjectionWriter& writer) {
  std::string room_id = Str(room.getRoomId());
  std::string building_id = Str(room.getBuildingId());
  building_of_[room_id] = building_id;
  writer.Put(absl::StrCat(kBuildingOfPrefix, room_id), EncodeRow<rows::RoomBuilding>([&](auto row) {
               row.setRoomId(room_id);
               row.setBuildingId(building_id);
             }));
}

std::vector<std::pair<std::string, ConsumptionRow*>> ConsumptionReport::RowsOf(
    const std::string& room_id, int64_t time_us) {
  auto building = building_of_.find(room_id);
  // The campus charges and watches only registered rooms; "" would mark a gap
  // in what we saw.
  std::string building_id = building == building_of_.end() ? "" : building->second;
  std::vector<std::pair<std::string, ConsumptionRow*>> out;
  // Events are dated by appendedAtUs, which never goes back: a past day's
  // rows are final, so only today's stay in memory.
  std::string today = DayOf(time_us);
  if (today > current_day_) {
    current_day_ = today;
    ForgetDaysBefore(today);
  }
  for (Period period : kPeriods) {
    std::string period_text = PeriodOf(period, time_us);
    for (ConsumptionBy by : {ConsumptionBy::kRoom, ConsumptionBy::kBuilding}) {
      const std::string& id = by == ConsumptionBy::kRoom ? room_id : building_id;
      std::string key = TotalKey(by, period, period_text, id);
      ConsumptionRow& row = rows_[key];
      row.id = id;
      row.period = period_text;
      out.emplace_back(std::move(key), &row);
    }
  }
  return out;
}

void ConsumptionReport::AddDeductions(int64_t time_us, schema::DeductionsApplied::Reader applied,
                                      ledger::ProjectionWriter& writer) {
  std::set<std::string> touched;
  for (auto line : applied.getDeductions()) {
    for (auto& [key, row] : RowsOf(Str(line.getRoomId()), time_us)) {
      row->energy_wh += line.getEnergyWh();
      row->free_wh += line.getFreeWh();
      row->charged_wh += line.getChargedWh();
      row->amount_fen += line.getAmountFen();
      row->deductions += 1;
      touched.insert(std::move(key));
    }
  }
  for (const std::string& key : touched) writer.Put(key, Encode(rows_.at(key)));
}

void ConsumptionReport::AddViolation(int64_t time_us, schema::ViolationRecorded::Reader violation,
                                     ledger::ProjectionWriter& writer) {
  for (auto& [key, row] : RowsOf(Str(violation.getRoomId()), time_us)) {
    row->violations += 1;
    CountKind(violation.getKind(), row->by_kind);
    if (violation.getLockout()) row->by_kind.lockouts += 1;
    writer.Put(key, Encode(*row));
  }
}

absl::StatusOr<std::vector<ConsumptionRow>> ReadConsumption(const ledger::EventStore& store,
                                                            const ConsumptionQuery& query) {
  WL_RETURN_IF_ERROR(Validate(query.days));
  rocksdb::ColumnFamilyHandle* family = store.family(ledger::ProjectionFamily(kConsumptionReport));
  std::map<std::string, std::string> building_of;
  if (query.by == ConsumptionBy::kRoom)
    WL_RETURN_IF_ERROR(LoadBuildings(store, family, building_of));
  std::vector<ConsumptionRow> out;
  KeyRange keys = PeriodKeys(TotalPrefix(query.by, query.period), query.period, query.days);
  WL_RETURN_IF_ERROR(ScanRows(
      store, family, keys, [&](absl::string_view key, absl::string_view value) -> absl::Status {
        // Keys end in "/" id: other rows are passed
        // over without being decoded.
        if (!query.id.empty() && !absl::EndsWith(key, absl::StrCat("/", query.id))) {
          return absl::OkStatus();
        }
        WL_ASSIGN_OR_RETURN(ConsumptionRow row, Decode(key, value));
        if (!query.id.empty() && row.id != query.id) return absl::OkStatus();
        auto building = building_of.find(row.id);
        if (building != building_of.end()) row.building_id = building->second;
        out.push_back(std::move(row));
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::vector<ConsumptionRow>> ReadViolations(const ledger::EventStore& store,
                                                           const ConsumptionQuery& query) {
  WL_ASSIGN_OR_RETURN(std::vector<ConsumptionRow> rows, ReadConsumption(store, query));
  std::erase_if(rows, [](const ConsumptionRow& row) { return row.violations == 0; });
  return rows;
}

}  // namespace wattledger::projections::reports
