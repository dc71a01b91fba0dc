#include "projections/reports/reports.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "projections/reports/periods.h"
#include "projections/reports/report_testing.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;

TEST(Reports, RebuildWritesTheSameFamiliesByteForByte) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto live = c.DumpReports();
  for (const auto& [family, rows] : live) {
    EXPECT_GT(rows.size(), 1u) << family;  // rows beside the applied-through seq
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.back().first, "~applied_through") << family;
  }
  c.StartReports(/*rebuild=*/true);
  c.CatchUp();
  EXPECT_EQ(c.DumpReports(), live);
}

// Reports stopped and started between every step (as wattd restarts) hold
// what one uninterrupted rebuild writes.
TEST(Reports, ResumeAfterRestartsAsIfNeverStopped) {
  ReportCampus c;
  c.Setup();
  c.CatchUp();
  c.StopReports();
  c.Day1();  // appended while the reports are down
  c.StartReports(/*rebuild=*/false);
  c.CatchUp();
  c.Day2();
  c.CatchUp();
  c.StartReports(/*rebuild=*/false);
  c.Day3();
  c.October();
  c.CatchUp();
  auto resumed = c.DumpReports();
  c.StartReports(/*rebuild=*/true);
  c.CatchUp();
  EXPECT_EQ(c.DumpReports(), resumed);
}

TEST(Reports, FamiliesAreOnePerReport) {
  EXPECT_EQ(ReportFamilies(),
            (std::vector<std::string>{"proj.report.consumption", "proj.report.deposits",
                                      "proj.report.refunds", "proj.report.settlement"}));
}

TEST(ReportPeriods, NameCampusDaysAndPeriods) {
  // 2026-09-30 23:30 campus time is 15:30 UTC: still September on campus.
  int64_t late_september = *DayStartOf("2026-09-30") + 23 * testing::kHourUs + 1'800'000'000LL;
  EXPECT_EQ(DayOf(late_september), "2026-09-30");
  EXPECT_EQ(PeriodOf(Period::kMonth, late_september), "2026-09");
  EXPECT_EQ(PeriodOf(Period::kQuarter, late_september), "2026-Q3");
  EXPECT_EQ(PeriodOf(Period::kYear, late_september), "2026");
  EXPECT_EQ(PeriodOf(Period::kQuarter, late_september + testing::kHourUs), "2026-Q4");
  EXPECT_EQ(*DayStartOf("2026-10-01"), DayStartUs(late_september + testing::kHourUs));
  for (const char* bad :
       {"2026-9-30", "2026-09-31", "2026/09/30", "+026-09-30", "2026-09-3x", ""}) {
    EXPECT_EQ(DayStartOf(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(*ParsePeriod("quarter"), Period::kQuarter);
  EXPECT_FALSE(ParsePeriod("week").ok());
}

}  // namespace
}  // namespace wattledger::projections::reports
