#include "projections/reports/consumption.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "ledger/event_format.h"
#include "ledger/roles.h"
#include "projections/reports/report_testing.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;

ConsumptionRow Row(const std::string& id, const std::string& building, const std::string& period,
                   int64_t energy_wh, int64_t amount_fen, uint64_t deductions) {
  return ConsumptionRow{.id = id,
                        .building_id = building,
                        .period = period,
                        .energy_wh = energy_wh,
                        .free_wh = 0,
                        .charged_wh = energy_wh,
                        .amount_fen = amount_fen,
                        .deductions = deductions,
                        .violations = 0};
}

std::vector<ConsumptionRow> Read(const ledger::EventStore& store, ConsumptionBy by, Period period,
                                 DayRange days = {}) {
  auto rows = ReadConsumption(store, ConsumptionQuery{.by = by, .period = period, .days = days});
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<ConsumptionRow>{};
}

TEST(ConsumptionReport, SumsDeductionsByRoomAndMonthInCampusTime) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kMonth),
            (std::vector<ConsumptionRow>{
                Row("B01-101", "B01", "2026-09", 10000, 500, 1),
                Row("B01-102", "B01", "2026-09", 4000, 200, 1),
                Row("B02-201", "B02", "2026-09", 2000, 100, 1),
                Row("B01-101", "B01", "2026-10", 3000, 150, 1),
                Row("B02-201", "B02", "2026-10", 500, 25, 1),
            }));
}

TEST(ConsumptionReport, SumsByBuildingPerMonthQuarterAndYear) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kMonth),
            (std::vector<ConsumptionRow>{
                Row("B01", "", "2026-09", 14000, 700, 2),
                Row("B02", "", "2026-09", 2000, 100, 1),
                Row("B01", "", "2026-10", 3000, 150, 1),
                Row("B02", "", "2026-10", 500, 25, 1),
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kQuarter),
            (std::vector<ConsumptionRow>{
                Row("B01", "", "2026-Q3", 14000, 700, 2),
                Row("B02", "", "2026-Q3", 2000, 100, 1),
                Row("B01", "", "2026-Q4", 3000, 150, 1),
                Row("B02", "", "2026-Q4", 500, 25, 1),
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kBuilding, Period::kYear),
            (std::vector<ConsumptionRow>{
                Row("B01", "", "2026", 17000, 850, 3),
                Row("B02", "", "2026", 2500, 125, 2),
            }));
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kYear),
            (std::vector<ConsumptionRow>{
                Row("B01-101", "B01", "2026", 13000, 650, 2),
                Row("B01-102", "B01", "2026", 4000, 200, 1),
                Row("B02-201", "B02", "2026", 2500, 125, 2),
            }));
}

// The report and an independent fold over the log's deduction lines agree.
TEST(ConsumptionReport, EqualsTheDeductionLinesInTheLog) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // room -> energy, fen
  auto envelopes = c.store().ReadRange(1, c.head());
  ASSERT_TRUE(envelopes.ok());
  for (const std::string& bytes : *envelopes) {
    auto envelope = ledger::ParsedEnvelope::Parse(bytes, ledger::kEnvelopeBytesMax);
    ASSERT_TRUE(envelope.ok());
    auto body = ledger::ParsedBody::Parse(ledger::AsView(envelope->get().getBody()),
                                          ledger::kEventBodyBytesMax);
    ASSERT_TRUE(body.ok());
    if (!body->get().isDeductionsApplied()) continue;
    for (auto line : body->get().getDeductionsApplied().getDeductions()) {
      auto& sums = expected[line.getRoomId().cStr()];
      sums.first += line.getEnergyWh();
      sums.second += line.getAmountFen();
    }
  }
  std::map<std::string, std::pair<int64_t, int64_t>> reported;
  for (const auto& row : Read(c.store(), ConsumptionBy::kRoom, Period::kYear)) {
    reported[row.id] = {row.energy_wh, row.amount_fen};
  }
  EXPECT_EQ(reported, expected);
  for (const auto& room : c.campus().Rooms()) {
    EXPECT_EQ(reported[room.room_id].first, room.energy_wh) << room.room_id;
    EXPECT_EQ(reported[room.room_id].second, room.deductions_fen) << room.room_id;
  }
}

// Day rows add up to the month's, also when the report restarts between
// days (a restart keeps only the latest day's rows in memory).
TEST(ConsumptionReport, DaysAddUpToTheirMonthAcrossARestart) {
  ReportCampus c;
  c.Setup();
  c.Day1();
  c.Day2();
  c.CatchUp();
  c.StopReports();
  c.StartReports(/*rebuild=*/false);
  c.Day3();
  c.October();
  c.CatchUp();
  for (ConsumptionBy by : {ConsumptionBy::kRoom, ConsumptionBy::kBuilding}) {
    std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> by_month;
    std::set<std::string> days;
    for (const ConsumptionRow& row : Read(c.store(), by, Period::kDay)) {
      ASSERT_EQ(row.period.size(), 10u) << row.period;
      auto& [energy, fen] = by_month[{row.period.substr(0, 7), row.id}];
      energy += row.energy_wh;
      fen += row.amount_fen;
      days.insert(row.period);
    }
    EXPECT_GE(days.size(), 2u);
    const auto months = Read(c.store(), by, Period::kMonth);
    ASSERT_EQ(by_month.size(), months.size());
    for (const ConsumptionRow& month : months) {
      const auto key = std::make_pair(month.period, month.id);
      EXPECT_EQ(by_month[key], std::make_pair(month.energy_wh, month.amount_fen))
          << month.period << " " << month.id;
    }
  }
  // The same rows as one uninterrupted catch-up writes.
  ReportCampus whole;
  whole.WholeStory();
  whole.CatchUp();
  EXPECT_EQ(Read(c.store(), ConsumptionBy::kRoom, Period::kDay),
            Read(whole.store(), ConsumptionBy::kRoom, Period::kDay));
  auto one_day = Read(c.store(), ConsumptionBy::kBuilding, Period::kDay,
                      DayRange{.since = "2026-10-01", .until = "2026-12-31"});
  for (const ConsumptionRow& row : one_day) EXPECT_GE(row.period, "2026-10-01");
}

TEST(ConsumptionReport, DateRangesSelectThePeriodsHoldingThem) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto october = Read(c.store(), ConsumptionBy::kBuilding, Period::kMonth,
                      DayRange{.since = "2026-10-01", .until = ""});
  ASSERT_EQ(october.size(), 2u);
  EXPECT_EQ(october[0].period, "2026-10");
  auto september = Read(c.store(), ConsumptionBy::kRoom, Period::kMonth,
                        DayRange{.since = "2026-09-15", .until = "2026-09-30"});
  ASSERT_EQ(september.size(), 3u);
  EXPECT_EQ(september[2].period, "2026-09");
  // A quarter holds a day of it even when the range starts mid-quarter.
  auto q4 = Read(c.store(), ConsumptionBy::kBuilding, Period::kQuarter,
                 DayRange{.since = "2026-11-20", .until = "2026-11-20"});
  ASSERT_EQ(q4.size(), 2u);
  EXPECT_EQ(q4[0].period, "2026-Q4");
  EXPECT_TRUE(Read(c.store(), ConsumptionBy::kRoom, Period::kYear,
                   DayRange{.since = "2027-01-01", .until = ""})
                  .empty());
}

TEST(ConsumptionReport, OneRoomsRowsAreTheAllRoomsRowsOfThatRoom) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  for (Period period : kPeriods) {
    std::vector<ConsumptionRow> expected;
    for (const ConsumptionRow& row : Read(c.store(), ConsumptionBy::kRoom, period)) {
      if (row.id == "B01-101") expected.push_back(row);
    }
    auto one = ReadConsumption(
        c.store(), ConsumptionQuery{.by = ConsumptionBy::kRoom, .period = period, .id = "B01-101"});
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_FALSE(one->empty()) << PeriodName(period);
    EXPECT_EQ(*one, expected) << PeriodName(period);
  }
  auto none = ReadConsumption(c.store(), ConsumptionQuery{.id = "B01-10"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "a prefix of an id is not that id";
}

TEST(ConsumptionReport, RefusesBadRanges) {
  ReportCampus c;
  c.CatchUp();
  for (DayRange bad :
       {DayRange{.since = "2026-9-1", .until = ""}, DayRange{.since = "2026-02-30", .until = ""},
        DayRange{.since = "2026-10-02", .until = "2026-10-01"}}) {
    auto rows = ReadConsumption(
        c.store(),
        ConsumptionQuery{.by = ConsumptionBy::kRoom, .period = Period::kMonth, .days = bad});
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument) << bad.since;
  }
}

}  // namespace
}  // namespace wattledger::projections::reports
