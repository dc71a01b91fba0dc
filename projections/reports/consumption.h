// The consumption report: energy (Wh) and charges (fen) by room and by
// building, per campus day, month, quarter and year, summed from the lines of
// every DeductionsApplied, and the load-rule violations counted from every
// ViolationRecorded (by kind, and those that escalated to a lockout); each
// dated by the event's appendedAtUs in campus time. A room's building comes
// from its registration (RoomRegistered or a RegistryImported row), which the
// report sees first. `wattctl report violations` is the violation columns of
// the same rows (ReadViolations).
//
// A catch-up projection (ledger/subscription.h): Load and Apply run on its
// runner's thread. It keeps its rows in memory as well as in its family: a
// few dozen bytes per room and building per month, quarter and year, and of
// the day rows only the current day's (a past day never changes again).
#pragma once

#include <map>
#include <string>
#include <utility>
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

// One row's ViolationRecorded events by kind (schema::ViolationKind).
struct ViolationCounts {
  uint64_t load_limit = 0;
  uint64_t current_limit = 0;
  uint64_t malicious_load = 0;
  uint64_t anti_restriction = 0;
  uint64_t night_limit = 0;
  uint64_t meter_trip = 0;
  uint64_t lockouts = 0;  // of any kind, those that escalated to a lockout

  // The kinds summed (not lockouts, which are counted in their kinds too).
  uint64_t kinds_total() const {
    return load_limit + current_limit + malicious_load + anti_restriction + night_limit +
           meter_trip;
  }
  bool operator==(const ViolationCounts&) const = default;
};

struct ConsumptionRow {
  std::string id;           // the room or building
  std::string building_id;  // a room's building ("" for building rows)
  std::string period;       // "2026-09", "2026-Q3", "2026"
  int64_t energy_wh = 0;
  int64_t free_wh = 0;
  int64_t charged_wh = 0;
  int64_t amount_fen = 0;
  uint64_t deductions = 0;       // deduction lines summed
  uint64_t violations = 0;       // ViolationRecorded events of any kind
  ViolationCounts by_kind = {};  // the same by kind (a kind unknown to this build: none)

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
  void AddViolation(int64_t time_us, schema::ViolationRecorded::Reader violation,
                    ledger::ProjectionWriter& writer);
  // The rows of `room_id` and its building for the periods of `time_us`,
  // created empty when new, each with its key.
  std::vector<std::pair<std::string, ConsumptionRow*>> RowsOf(const std::string& room_id,
                                                              int64_t time_us);

  std::map<std::string, std::string> building_of_;  // room -> building
  // Whether `key` is a row of a day; drops the day rows before `day` from
  // memory (they stay in the family).
  static bool IsDayRow(absl::string_view key);
  void ForgetDaysBefore(const std::string& day);

  std::map<std::string, ConsumptionRow> rows_;  // by key; of days, only current_day_'s
  std::string current_day_;                     // "YYYY-MM-DD": the latest day seen
};

struct ConsumptionQuery {
  ConsumptionBy by = ConsumptionBy::kRoom;
  Period period = Period::kMonth;
  DayRange days = {};   // the periods holding these days
  std::string id = "";  // only this room's (or building's) rows; "": all
};

// The report's rows for `query`, by period, then id. kInvalidArgument for a
// bad range; the store must have been opened with the report's family.
absl::StatusOr<std::vector<ConsumptionRow>> ReadConsumption(const ledger::EventStore& store,
                                                            const ConsumptionQuery& query);

// The rows of ReadConsumption(query) that count at least one violation.
absl::StatusOr<std::vector<ConsumptionRow>> ReadViolations(const ledger::EventStore& store,
                                                           const ConsumptionQuery& query);

}  // namespace wattledger::projections::reports
