// The consumption report's violation counts, from ViolationRecorded events
// the control policies derive (projections/control/) in a real ledger opened
// with the whole Domain: by room and building, per campus month, quarter and
// year, by kind and lockouts; the tables wattctl prints; and the same rows
// after restarts and a rebuild.
//
// The story (campus time; policies: B01 malicious step 800 W at power factor
// 0.950, recovery 5 min, a lockout at the 2nd violation within 120 min; B02
// load limit 1500 W, recovery 5 min):
//   2026-09-21  B01-101 steps 120 -> 1620 W at pf 0.990 twice (the second
//               locks it out); B02-201 draws 2000 W in two readings.
//   2026-10-01  (00:05, still 2026-09-30 in UTC) B01-102 steps 120 -> 1620 W;
//               B02-201's relay opens by itself without a trip record.
//   2027-01-01  (00:05, still 2026-12-31 in UTC) B01-102 steps again.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ledger/event_format.h"
#include "projections/domain.h"
#include "projections/reports/consumption.h"
#include "projections/reports/report_rows.h"
#include "projections/reports/report_table.h"
#include "projections/reports/report_testing.h"
#include "projections/schema/reports.capnp.h"

namespace wattledger::projections::reports {
namespace {

using schema::ViolationKind;
using testing::kWaitMax;
using wattledger::testing::MakeBody;
using wattledger::testing::MeterSpec;
using wattledger::testing::Sign;
using wattledger::testing::TestLedger;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr char kMeter101[] = "000000010001";
constexpr char kMeter102[] = "000000010002";
constexpr char kMeter201[] = "000000020001";

// One meter's next reading.
struct Meter {
  int32_t power_w = 0;
  int32_t pf_milli = 900;
  bool relay_open = false;
  int64_t total_wh = 0;
};

ledger::LedgerOptions DomainReportOptions(Domain* domain) {
  ledger::LedgerOptions options;
  options.projections = {domain};
  options.projection_families = ReportFamilies();
  return options;
}

class ViolationCampus {
 public:
  ViolationCampus() : t_(DomainReportOptions(&domain_)) {
    auto key = t_.RegisterKey(ledger::Role::OPERATOR);
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) operator_.emplace(*key);
    key = t_.RegisterKey(ledger::Role::INGEST);
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) ingest_.emplace(*key);
    StartReports(/*rebuild=*/false);
  }

  const ledger::EventStore& store() { return t_.ledger().store(); }
  uint64_t head() { return t_.ledger().head().seq; }

  void StartReports(bool rebuild) {
    runners_.reset();
    auto started = ReportRunners::Start(t_.ledger(), rebuild);
    ASSERT_TRUE(started.ok()) << started.status();
    runners_ = std::move(*started);
  }
  void StopReports() { runners_.reset(); }
  // Starts the runners and returns how that went, for refusals.
  absl::Status TryStartReports() {
    runners_.reset();
    auto started = ReportRunners::Start(t_.ledger(), /*rebuild=*/false);
    if (!started.ok()) return started.status();
    runners_ = std::move(*started);
    return absl::OkStatus();
  }
  void CatchUp() { ASSERT_TRUE(runners_->WaitFor(head(), kWaitMax)) << runners_->status(); }
  std::vector<std::pair<std::string, std::string>> DumpConsumption() {
    auto rows = store().Dump(ledger::ProjectionFamily(kConsumptionReport));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<std::pair<std::string, std::string>>{};
  }

  void Setup() {
    int64_t now = t_.now_us();
    Operator(wattledger::testing::BuildingBody(Key(), now, "B01"));
    Operator(wattledger::testing::BuildingBody(Key(), now, "B02"));
    Operator(wattledger::testing::GatewayBody(Key(), now, "G1"));
    Operator(wattledger::testing::RoomBody(Key(), now, "B01-101", "B01", 4));
    Operator(wattledger::testing::RoomBody(Key(), now, "B01-102", "B01", 4));
    Operator(wattledger::testing::RoomBody(Key(), now, "B02-201", "B02", 4));
    for (auto [meter, room] : {std::pair{kMeter101, "B01-101"}, std::pair{kMeter102, "B01-102"},
                               std::pair{kMeter201, "B02-201"}}) {
      Operator(wattledger::testing::MeterBody(Key(), now, MeterSpec{meter, "G1", room}));
      meters_[meter] = Meter{.power_w = 120};
    }
    meters_[kMeter201].power_w = 100;
    Operator(wattledger::testing::TariffBody(Key(), now, "other", now, {{0, 5000}}, 0));
    for (const char* room : {"B01-101", "B01-102", "B02-201"}) {
      auto deposited = t_.Deposit(room, 100'000);
      EXPECT_TRUE(deposited.ok()) << deposited.status();
    }
    Policy("building:B01", [](auto policy) {
      policy.setMaliciousStepW(800);
      policy.setMaliciousPfMilli(950);
      policy.setRecoveryDelayMinutes(5);
      policy.setEscalateAfter(2);
      policy.setEscalateWindowMinutes(120);
    });
    Policy("building:B02", [](auto policy) {
      policy.setLoadLimitW(1500);
      policy.setRecoveryDelayMinutes(5);
    });
    Sweep();  // every meter's baseline
  }

  void September() {
    meters_[kMeter101] = Meter{.power_w = 1620, .pf_milli = 990, .total_wh = 200};
    Sweep();  // B01-101: malicious, trip
    TickDue();
    meters_[kMeter101].power_w = 120;
    meters_[kMeter101].pf_milli = 900;
    meters_[kMeter201].power_w = 2000;
    Sweep();  // B02-201: over the limit once
    meters_[kMeter101].power_w = 1620;
    meters_[kMeter101].pf_milli = 990;
    Sweep();  // B01-101: malicious again, lockout; B02-201: load limit, trip
    meters_[kMeter101] = Meter{.power_w = 0, .relay_open = true, .total_wh = 200};
    meters_[kMeter201].power_w = 100;
    TickDue();
    Sweep();
  }

  void October() {
    t_.clock().Set(*DayStartOf("2026-10-01") + 5 * kMinuteUs);
    meters_[kMeter102].power_w = 1620;
    meters_[kMeter102].pf_milli = 990;
    Sweep();  // B01-102: malicious, trip
    TickDue();
    meters_[kMeter102] = Meter{.power_w = 120};
    meters_[kMeter201] = Meter{.power_w = 0, .relay_open = true};
    Sweep();  // B02-201: the meter tripped without a record
  }

  void January() {
    t_.clock().Set(*DayStartOf("2027-01-01") + 5 * kMinuteUs);
    meters_[kMeter201] = Meter{.power_w = 100};
    Sweep();
    meters_[kMeter102].power_w = 1620;
    meters_[kMeter102].pf_milli = 990;
    Sweep();  // B01-102: malicious, trip
    TickDue();
  }

  void WholeStory() {
    Setup();
    September();
    October();
    January();
  }

  // Every ViolationRecorded in the log with its appendedAtUs, signed by the
  // ledger key.
  struct Logged {
    int64_t appended_at_us = 0;
    std::string room_id;
    ViolationKind kind = ViolationKind::LOAD_LIMIT;
    bool lockout = false;
  };
  std::vector<Logged> LoggedViolations() {
    std::vector<Logged> out;
    for (uint64_t seq = 1; seq <= head(); ++seq) {
      auto stored = wattledger::testing::ReadStoredEvent(store(), seq);
      EXPECT_TRUE(stored.ok()) << stored.status();
      if (!stored.ok()) break;
      auto body = ledger::CanonicalMessage<schema::EventBody>::ParseTrusted(stored->body, 1 << 20);
      EXPECT_TRUE(body.ok()) << body.status();
      if (!body.ok() || !body->get().isViolationRecorded()) continue;
      EXPECT_EQ(stored->signer, t_.ledger_key().key_id());
      auto v = body->get().getViolationRecorded();
      out.push_back(Logged{.appended_at_us = stored->appended_at_us,
                           .room_id = Str(v.getRoomId()),
                           .kind = v.getKind(),
                           .lockout = v.getLockout()});
    }
    return out;
  }

 private:
  std::string Key() { return absl::StrCat("k-", next_key_++); }

  void Operator(const std::string& body) {
    auto result = t_.Append(Sign(body, *operator_));
    EXPECT_TRUE(result.ok()) << result.status();
  }

  template <typename Fill>
  void Policy(const std::string& scope, Fill fill) {
    Operator(MakeBody(Key(), t_.now_us(), "policy:" + scope, [&](auto body) {
      auto set = body.initControlPolicySet();
      set.setScope(scope);
      set.setReason("test policy");
      auto policy = set.initPolicy();
      policy.setReminderBelowFen(kDefaultReminderBelowFen);
      policy.setWarningBelowFen(kDefaultWarningBelowFen);
      fill(policy);
    }));
  }

  // One readings batch of every meter, ten minutes after the last event.
  void Sweep() {
    t_.clock().Advance(10 * kMinuteUs);
    int64_t now = t_.now_us();
    std::string body = MakeBody(Key(), now, "gateway:G1", [&](auto body) {
      auto batch = body.initReadingsBatch();
      batch.setGatewayId("G1");
      batch.setSweepStartedUs(now);
      auto list = batch.initReadings(static_cast<unsigned>(meters_.size()));
      unsigned i = 0;
      for (const auto& [address, meter] : meters_) {
        list[i].setMeterAddress(address);
        list[i].setCircuit(1);
        list[i].setReadAtUs(now);
        list[i].setTotalWh(meter.total_wh);
        list[i].setVoltageDv(2200);
        list[i].setPowerW(meter.power_w);
        list[i].setPowerFactorMilli(meter.pf_milli);
        list[i].setCurrentMa(meter.power_w * 1000 / 220);
        list[i].setRelayOpen(meter.relay_open);
        ++i;
      }
    });
    auto result = t_.Append(Sign(body, *ingest_));
    EXPECT_TRUE(result.ok()) << result.status();
  }

  // Appends the ClockTicks the ledger's ticker would for timers due within
  // the next hour (recoveries), as it does once they are due.
  void TickDue() {
    for (int ticks = 0; ticks < 4; ++ticks) {
      int64_t due = domain_.NextTimerUs();
      if (due == 0 || due > t_.now_us() + 60 * kMinuteUs) return;
      if (t_.now_us() < due) t_.clock().Set(due);
      auto result =
          t_.ledger()
              .SubmitAsLedger(MakeBody(absl::StrCat("tick/", due), t_.now_us(), "clock",
                                       [&](auto body) { body.initClockTick().setDueUs(due); }))
              .get();
      ASSERT_TRUE(result.ok()) << result.status();
    }
  }

  Domain domain_;  // declared before t_: the ledger closes first
  TestLedger t_;
  std::optional<ledger::SigningKey> operator_;
  std::optional<ledger::SigningKey> ingest_;
  std::map<std::string, Meter> meters_;
  int next_key_ = 0;
  std::unique_ptr<ReportRunners> runners_;  // declared last: stops first
};

// A row's violation columns.
struct Counted {
  std::string period;
  std::string id;
  std::string building_id;
  uint64_t violations = 0;
  ViolationCounts kinds;
  bool operator==(const Counted&) const = default;
};

void PrintTo(const Counted& row, std::ostream* out) {
  const ViolationCounts& k = row.kinds;
  *out << row.period << " " << row.id << " (" << row.building_id << ") " << row.violations
       << " [load " << k.load_limit << ", current " << k.current_limit << ", malicious "
       << k.malicious_load << ", anti " << k.anti_restriction << ", night " << k.night_limit
       << ", trip " << k.meter_trip << ", lockouts " << k.lockouts << "]";
}

constexpr ViolationCounts kOneMalicious{.malicious_load = 1};
constexpr ViolationCounts kLoadAndTrip{.load_limit = 1, .meter_trip = 1};

std::vector<Counted> Read(const ledger::EventStore& store, ConsumptionBy by, Period period,
                          DayRange days = {}) {
  auto rows = ReadViolations(store, ConsumptionQuery{.by = by, .period = period, .days = days});
  EXPECT_TRUE(rows.ok()) << rows.status();
  std::vector<Counted> out;
  if (!rows.ok()) return out;
  for (const ConsumptionRow& row : *rows) {
    out.push_back(Counted{.period = row.period,
                          .id = row.id,
                          .building_id = row.building_id,
                          .violations = row.violations,
                          .kinds = row.by_kind});
  }
  return out;
}

TEST(ConsumptionViolations, CountsEachRoomsViolationsByKindPerCampusMonthQuarterYear) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kMonth),
            (std::vector<Counted>{
                {"2026-09", "B01-101", "B01", 2, {.malicious_load = 2, .lockouts = 1}},
                {"2026-09", "B02-201", "B02", 1, {.load_limit = 1}},
                {"2026-10", "B01-102", "B01", 1, kOneMalicious},
                {"2026-10", "B02-201", "B02", 1, {.meter_trip = 1}},
                {"2027-01", "B01-102", "B01", 1, kOneMalicious},
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kQuarter),
            (std::vector<Counted>{
                {"2026-Q3", "B01-101", "B01", 2, {.malicious_load = 2, .lockouts = 1}},
                {"2026-Q3", "B02-201", "B02", 1, {.load_limit = 1}},
                {"2026-Q4", "B01-102", "B01", 1, kOneMalicious},
                {"2026-Q4", "B02-201", "B02", 1, {.meter_trip = 1}},
                {"2027-Q1", "B01-102", "B01", 1, kOneMalicious},
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kYear),
            (std::vector<Counted>{
                {"2026", "B01-101", "B01", 2, {.malicious_load = 2, .lockouts = 1}},
                {"2026", "B01-102", "B01", 1, kOneMalicious},
                {"2026", "B02-201", "B02", 2, kLoadAndTrip},
                {"2027", "B01-102", "B01", 1, kOneMalicious},
            }));
  // The violations sit in the rows of the room's consumption.
  auto consumption = ReadConsumption(
      c.store(), ConsumptionQuery{.by = ConsumptionBy::kRoom, .period = Period::kMonth});
  ASSERT_TRUE(consumption.ok()) << consumption.status();
  bool found = false;
  for (const ConsumptionRow& row : *consumption) {
    if (row.id != "B01-101" || row.period != "2026-09") continue;
    EXPECT_EQ(row.energy_wh, 200);
    EXPECT_EQ(row.amount_fen, 10);
    EXPECT_EQ(row.violations, 2u);
    found = true;
  }
  EXPECT_TRUE(found);
}

TEST(ConsumptionViolations, CountsEachBuildingsViolationsPerPeriod) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kMonth),
            (std::vector<Counted>{
                {"2026-09", "B01", "", 2, {.malicious_load = 2, .lockouts = 1}},
                {"2026-09", "B02", "", 1, {.load_limit = 1}},
                {"2026-10", "B01", "", 1, kOneMalicious},
                {"2026-10", "B02", "", 1, {.meter_trip = 1}},
                {"2027-01", "B01", "", 1, kOneMalicious},
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kQuarter),
            (std::vector<Counted>{
                {"2026-Q3", "B01", "", 2, {.malicious_load = 2, .lockouts = 1}},
                {"2026-Q3", "B02", "", 1, {.load_limit = 1}},
                {"2026-Q4", "B01", "", 1, kOneMalicious},
                {"2026-Q4", "B02", "", 1, {.meter_trip = 1}},
                {"2027-Q1", "B01", "", 1, kOneMalicious},
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kYear),
            (std::vector<Counted>{
                {"2026", "B01", "", 3, {.malicious_load = 3, .lockouts = 1}},
                {"2026", "B02", "", 2, kLoadAndTrip},
                {"2027", "B01", "", 1, kOneMalicious},
            }));
}

// The report and an independent fold over the log's ViolationRecorded events
// agree, each dated by its appendedAtUs in campus time (not UTC).
TEST(ConsumptionViolations, EqualsTheViolationsInTheLogByCampusYear) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  auto logged = c.LoggedViolations();
  ASSERT_EQ(logged.size(), 6u);
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> expected;
  for (const auto& v : logged) {
    auto& [count, lockouts] = expected[{PeriodOf(Period::kYear, v.appended_at_us), v.room_id}];
    count += 1;
    lockouts += v.lockout ? 1 : 0;
  }
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> reported;
  for (const Counted& row : Read(c.store(), ConsumptionBy::kRoom, Period::kYear)) {
    reported[{row.period, row.id}] = {row.violations, row.kinds.lockouts};
    EXPECT_EQ(row.kinds.kinds_total(), row.violations) << row.id;
  }
  EXPECT_EQ(reported, expected);
  // January's violation was appended on 2026-12-31 in UTC, 2027-01-01 on campus.
  int64_t january = logged.back().appended_at_us;
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", absl::FromUnixMicros(january), absl::UTCTimeZone()),
            "2026-12-31");
  EXPECT_EQ(DayOf(january), "2027-01-01");
}

TEST(ConsumptionViolations, DateRangesSelectThePeriodsHoldingThem) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kMonth,
                 DayRange{.since = "2026-10-01", .until = "2026-12-31"}),
            (std::vector<Counted>{
                {"2026-10", "B01", "", 1, kOneMalicious},
                {"2026-10", "B02", "", 1, {.meter_trip = 1}},
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kYear,
                 DayRange{.since = "2027-01-01", .until = ""}),
            (std::vector<Counted>{{"2027", "B01-102", "B01", 1, kOneMalicious}}));
  auto bad = ReadViolations(
      c.store(), ConsumptionQuery{.by = ConsumptionBy::kRoom,
                                  .period = Period::kMonth,
                                  .days = {.since = "2026-10-02", .until = "2026-10-01"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// What `wattctl report violations` and `report consumption` print.
TEST(ConsumptionViolations, TablesPrintAsCsvAndJsonLines) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  auto by_building = ReadViolations(
      c.store(), ConsumptionQuery{.by = ConsumptionBy::kBuilding, .period = Period::kYear});
  ASSERT_TRUE(by_building.ok()) << by_building.status();
  EXPECT_EQ(ViolationsTable(*by_building, ConsumptionBy::kBuilding).Csv(),
            "period,buildingId,violations,loadLimit,currentLimit,maliciousLoad,antiRestriction,"
            "nightLimit,meterTrip,lockouts\n"
            "2026,B01,3,0,0,3,0,0,0,1\n"
            "2026,B02,2,1,0,0,0,0,1,0\n"
            "2027,B01,1,0,0,1,0,0,0,0\n");
  auto by_room = ReadViolations(
      c.store(), ConsumptionQuery{.by = ConsumptionBy::kRoom,
                                  .period = Period::kQuarter,
                                  .days = {.since = "2026-09-01", .until = "2026-09-30"}});
  ASSERT_TRUE(by_room.ok()) << by_room.status();
  EXPECT_EQ(ViolationsTable(*by_room, ConsumptionBy::kRoom).JsonLines(),
            "{\"period\":\"2026-Q3\",\"roomId\":\"B01-101\",\"buildingId\":\"B01\","
            "\"violations\":2,\"loadLimit\":0,\"currentLimit\":0,\"maliciousLoad\":2,"
            "\"antiRestriction\":0,\"nightLimit\":0,\"meterTrip\":0,\"lockouts\":1}\n"
            "{\"period\":\"2026-Q3\",\"roomId\":\"B02-201\",\"buildingId\":\"B02\","
            "\"violations\":1,\"loadLimit\":1,\"currentLimit\":0,\"maliciousLoad\":0,"
            "\"antiRestriction\":0,\"nightLimit\":0,\"meterTrip\":0,\"lockouts\":0}\n");
  // The consumption table keeps its columns; its violations column is filled.
  auto consumption = ReadConsumption(
      c.store(), ConsumptionQuery{.by = ConsumptionBy::kBuilding, .period = Period::kYear});
  ASSERT_TRUE(consumption.ok()) << consumption.status();
  std::string csv = ConsumptionTable(*consumption, ConsumptionBy::kBuilding).Csv();
  EXPECT_TRUE(absl::StartsWith(
      csv,
      "period,buildingId,energyWh,freeWh,chargedWh,amountFen,deductions,violations\n"
      "2026,B01,200,0,200,10,"))
      << csv;
  EXPECT_TRUE(absl::StrContains(csv, "\n2027,B01,0,0,0,0,")) << csv;
  // No rows: a CSV header and no JSON lines.
  EXPECT_EQ(ViolationsTable({}, ConsumptionBy::kRoom).JsonLines(), "");
  EXPECT_EQ(ViolationsTable({}, ConsumptionBy::kRoom).Csv(),
            "period,roomId,buildingId,violations,loadLimit,currentLimit,maliciousLoad,"
            "antiRestriction,nightLimit,meterTrip,lockouts\n");
}

// Restarted between the months (and down while October is appended), the
// report holds what one uninterrupted rebuild writes, byte for byte.
TEST(ConsumptionViolations, RestartsAndRebuildGiveTheSameRows) {
  ViolationCampus c;
  c.Setup();
  c.September();
  c.CatchUp();
  c.StopReports();
  c.October();
  c.StartReports(/*rebuild=*/false);
  c.CatchUp();
  c.StartReports(/*rebuild=*/false);
  c.January();
  c.CatchUp();
  auto resumed = c.DumpConsumption();
  ASSERT_FALSE(resumed.empty());
  EXPECT_EQ(resumed.back().first, "~applied_through");
  auto rows = Read(c.store(), ConsumptionBy::kBuilding, Period::kYear);
  c.StartReports(/*rebuild=*/true);
  c.CatchUp();
  EXPECT_EQ(c.DumpConsumption(), resumed);
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kYear), rows);
  EXPECT_EQ(rows.size(), 3u);
}

// A stored row counting more violations by kind than in all is damage: the
// query and the report's restart both refuse it as kDataLoss.
TEST(ConsumptionViolations, RowWithMoreByKindThanInAllIsDataLoss) {
  ViolationCampus c;
  c.WholeStory();
  c.CatchUp();
  c.StopReports();
  const std::string key = "total/room/year/2026/B01-101";
  std::string damaged = EncodeRow<rows::Consumption>([](auto row) {
    row.setId("B01-101");
    row.setPeriod("2026");
    row.setViolations(1);
    row.setMaliciousLoad(2);
  });
  rocksdb::ColumnFamilyHandle* family =
      c.store().family(ledger::ProjectionFamily(kConsumptionReport));
  ASSERT_NE(family, nullptr);
  auto written = c.store().db()->Put(rocksdb::WriteOptions(), family, key, damaged);
  ASSERT_TRUE(written.ok()) << written.ToString();
  auto rows = ReadViolations(c.store(),
                             ConsumptionQuery{.by = ConsumptionBy::kRoom, .period = Period::kYear});
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kDataLoss) << rows.status();
  EXPECT_TRUE(absl::StrContains(rows.status().message(), key)) << rows.status();
  EXPECT_EQ(c.TryStartReports().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace wattledger::projections::reports
