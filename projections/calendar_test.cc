#include "projections/calendar.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace wattledger::projections {
namespace {

// Expected instants are written as Unix seconds (from `date -d "... +0800" +%s`)
// so these tests do not lean on the time library the calendar itself uses.
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kHour = 3600 * kSecond;

int64_t Us(int64_t unix_seconds) { return unix_seconds * kSecond; }

constexpr int64_t k20261101 = 1793462400;  // 2026-11-01 00:00 +08
constexpr int64_t k20261201 = 1796054400;  // 2026-12-01 00:00 +08
constexpr int64_t k20270101 = 1798732800;  // 2027-01-01 00:00 +08 = 2026-12-31 16:00 UTC

TEST(Calendar, MonthStartsAtCampusMidnightNotUtcMidnight) {
  // 2026-12-31 16:00 UTC is already January in campus time.
  EXPECT_EQ(MonthStartUs(Us(k20270101)), Us(k20270101));
  EXPECT_EQ(MonthStartUs(Us(k20270101) + 1), Us(k20270101));
  // One microsecond earlier is still December 2026 (the year end, in campus time).
  EXPECT_EQ(MonthStartUs(Us(k20270101) - 1), Us(k20261201));
  // UTC midnight of 2027-01-01 is 08:00 campus time, the same month.
  EXPECT_EQ(MonthStartUs(Us(k20270101) + 8 * kHour), Us(k20270101));
}

TEST(Calendar, NextMonthStartCrossesYearEnds) {
  EXPECT_EQ(NextMonthStartUs(Us(k20261201)), Us(k20270101));
  EXPECT_EQ(NextMonthStartUs(Us(k20270101) - 1), Us(k20270101));
  EXPECT_EQ(NextMonthStartUs(Us(k20261101) + 5 * kHour), Us(k20261201));
  // 2025-12-31 23:59:59 +08 -> 2026-01-01 00:00 +08.
  EXPECT_EQ(NextMonthStartUs(Us(1767196799)), Us(1767196800));
}

TEST(Calendar, DaysInMonthFollowsLeapYears) {
  EXPECT_EQ(DaysInMonth(Us(1706716800)), 29);  // 2024-02: divisible by 4
  EXPECT_EQ(DaysInMonth(Us(1769875200)), 28);  // 2026-02
  EXPECT_EQ(DaysInMonth(Us(949334400)), 29);   // 2000-02: divisible by 400
  EXPECT_EQ(DaysInMonth(Us(4105094400)), 28);  // 2100-02: divisible by 100, not 400
  EXPECT_EQ(DaysInMonth(Us(1835409600)), 29);  // 2028-02-29 noon
  EXPECT_EQ(DaysInMonth(Us(k20261201)), 31);
  EXPECT_EQ(DaysInMonth(Us(k20261101)), 30);
  // The last microsecond of February 2024 (campus time) is still in February;
  // the same instant is 2024-02-29 15:59:59 UTC.
  EXPECT_EQ(DaysInMonth(Us(1709222400) - 1), 29);
  EXPECT_EQ(DaysInMonth(Us(1709222400)), 31);  // 2024-03
}

TEST(Calendar, MonthLengthsSumToTheYear) {
  // Walk month starts through three years (one leap) and add the lengths.
  int64_t start = Us(1704038400);  // 2024-01-01 00:00 +08
  int days = 0;
  for (int month = 0; month < 36; ++month) {
    ASSERT_EQ(MonthStartUs(start), start);
    int64_t next = NextMonthStartUs(start);
    EXPECT_EQ(next - start, DaysInMonth(start) * kMicrosPerDay);
    days += DaysInMonth(start);
    start = next;
  }
  EXPECT_EQ(days, 366 + 365 + 365);
  EXPECT_EQ(start, Us(1798732800));  // 2027-01-01 00:00 +08
}

TEST(Calendar, DayStartAndDayOfMonthUseCampusTime) {
  // 2026-11-30 23:30 +08 is 15:30 UTC on the 30th.
  int64_t late = Us(k20261201) - 30 * 60 * kSecond;
  EXPECT_EQ(DayOfMonth(late), 30);
  EXPECT_EQ(DayStartUs(late), Us(k20261201) - kMicrosPerDay);
  // Half an hour later it is the 1st in campus time, though still the 30th in UTC.
  EXPECT_EQ(DayOfMonth(Us(k20261201)), 1);
  EXPECT_EQ(DayStartUs(Us(k20261201) + 1), Us(k20261201));
  CivilDate date = CampusDate(Us(k20270101) - 1);
  EXPECT_EQ(date.year, 2026);
  EXPECT_EQ(date.month, 12);
  EXPECT_EQ(date.day, 31);
  date = CampusDate(Us(k20270101));
  EXPECT_EQ(date.year, 2027);
  EXPECT_EQ(date.month, 1);
  EXPECT_EQ(date.day, 1);
}

}  // namespace
}  // namespace wattledger::projections
