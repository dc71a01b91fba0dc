// The consumption report: energy (Wh) and charges (fen) by room and by
// building, per campus month, quarter and year, summed from the lines of
// every DeductionsApplied and dated by the event's appendedAtUs in campus
// time. A room's building comes from its registration (RoomRegistered or a
// RegistryImported row), which the report sees first. The violations column
// stays 0 until the control issue counts them.
//
// A catch-up projection (ledger/subscription.h): Load and Apply run on its
// runner's thread. It keeps its rows in memory as well as in its family: a
// few dozen bytes per room and building per month, quarter and year.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/subscription.h"
#include "projections/reports/periods.h"

namespace wattledger::projections::reports {

inline constexpr char kConsumptionReport[] = "report.consumption";

enum class ConsumptionBy : uint8_t { kRoom = 0, kBuilding = 1 };
absl::string_view ConsumptionByName(ConsumptionBy by);  // "room", "building"
absl::StatusOr<ConsumptionBy> ParseConsumptionBy(absl::string_view name);

struct ConsumptionRow {
  std::string id;           // the room or building
  std::string building_id;  // a room's building ("" for building rows)
  std::string period;       // "2026-09", "2026-Q3", "2026"
  int64_t energy_wh = 0;
  int64_t free_wh = 0;
  int64_t charged_wh = 0;
  int64_t amount_fen = 0;
  uint64_t deductions = 0;  // deduction lines summed
  uint64_t violations = 0;

  bool operator==(const ConsumptionRow&) const = default;
};

class ConsumptionReport final : public ledger::CatchUpProjection {
 public:
  std::string name() const override { return kConsumptionReport; }
  absl::Status Load(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family) override;
  void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
             ledger::ProjectionWriter& writer) override;

 private:
  void AddRoom(schema::RoomRegistered::Reader room, ledger::ProjectionWriter& writer);
  void AddDeductions(int64_t time_us, schema::DeductionsApplied::Reader applied,
                     ledger::ProjectionWriter& writer);

  std::map<std::string, std::string> building_of_;  // room -> building
  std::map<std::string, ConsumptionRow> rows_;      // by key
};

struct ConsumptionQuery {
  ConsumptionBy by = ConsumptionBy::kRoom;
  Period period = Period::kMonth;
  DayRange days;  // the periods holding these days
};

// The report's rows for `query`, by period, then id. kInvalidArgument for a
// bad range; the store must have been opened with the report's family.
absl::StatusOr<std::vector<ConsumptionRow>> ReadConsumption(const ledger::EventStore& store,
                                                            const ConsumptionQuery& query);

}  // namespace wattledger::projections::reports
