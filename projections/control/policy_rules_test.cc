// The control policies' pure rules: arrears levels, no-cut windows,
// schedules, whitelists and the anti-restriction pattern.
#include "projections/control/policy_rules.h"

#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "projections/calendar.h"

namespace wattledger::projections {
namespace {

constexpr int64_t kMinute = 60'000'000;

// Campus time (UTC+8) to Unix µs.
int64_t At(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::FixedTimeZone(8 * 3600)));
}

TEST(PolicyRulesTest, ArrearsLevelsByBalance) {
  Policy policy;  // reminder below 10.00, warning below 3.00
  EXPECT_EQ(ArrearsLevelOf(policy, 1000, 0).level, schema::ArrearsLevel::NORMAL);
  EXPECT_EQ(ArrearsLevelOf(policy, 999, 0).level, schema::ArrearsLevel::LOW);
  EXPECT_EQ(ArrearsLevelOf(policy, 299, 0).level, schema::ArrearsLevel::WARNING);
  EXPECT_EQ(ArrearsLevelOf(policy, 0, 0).level, schema::ArrearsLevel::WARNING);
  EXPECT_EQ(ArrearsLevelOf(policy, -1, 0).level, schema::ArrearsLevel::CUT_OFF);
  EXPECT_EQ(ArrearsLevelOf(policy, -500, 500).level, schema::ArrearsLevel::WARNING);
  EXPECT_EQ(ArrearsLevelOf(policy, -501, 500).threshold_fen, -500);
}

TEST(PolicyRulesTest, NoCutWindowsWrapMidnightAndChain) {
  Policy policy;
  policy.no_cut.push_back({.label = "night", .start_minute = 23 * 60, .end_minute = 7 * 60});
  EXPECT_EQ(NoCutUntil(policy, At(2026, 11, 26, 22, 59)), 0);
  EXPECT_EQ(NoCutUntil(policy, At(2026, 11, 26, 23, 41)), At(2026, 11, 27, 7, 0));
  EXPECT_EQ(NoCutUntil(policy, At(2026, 11, 27, 3, 0)), At(2026, 11, 27, 7, 0));
  EXPECT_EQ(NoCutUntil(policy, At(2026, 11, 27, 7, 0)), 0);
  // An exam week, all day, chained with the nights around it.
  policy.no_cut.push_back({.label = "exams",
                           .start_minute = 0,
                           .end_minute = 0,
                           .from_us = At(2026, 12, 1, 0, 0),
                           .until_us = At(2026, 12, 8, 0, 0)});
  std::string label;
  EXPECT_EQ(NoCutUntil(policy, At(2026, 11, 30, 23, 30), &label), At(2026, 12, 8, 7, 0));
  EXPECT_EQ(label, "night");
  EXPECT_EQ(NoCutUntil(policy, At(2026, 12, 3, 12, 0)), At(2026, 12, 8, 7, 0));
}

TEST(PolicyRulesTest, ScheduleModeByDayKindAndMinute) {
  Policy policy;
  policy.workday = {{6 * 60, schema::PeriodMode::ON, 0}, {23 * 60, schema::PeriodMode::OFF, 0}};
  policy.holiday = {{0, schema::PeriodMode::NIGHT, 300}};
  policy.has_schedule = true;
  // 2026-11-26 is a Thursday, 2026-11-28 a Saturday.
  EXPECT_EQ(ScheduleModeAt(policy, At(2026, 11, 26, 5, 0)), schema::PeriodMode::OFF);
  EXPECT_EQ(ScheduleModeAt(policy, At(2026, 11, 26, 12, 0)), schema::PeriodMode::ON);
  EXPECT_EQ(ScheduleModeAt(policy, At(2026, 11, 26, 23, 30)), schema::PeriodMode::OFF);
  EXPECT_EQ(ScheduleModeAt(policy, At(2026, 11, 28, 12, 0)), schema::PeriodMode::NIGHT);
  policy.schedule_from_us = At(2026, 12, 1, 0, 0);
  EXPECT_EQ(ScheduleModeAt(policy, At(2026, 11, 26, 5, 0)), schema::PeriodMode::ON);
}

TEST(PolicyRulesTest, WhitelistMatchesWithinTenPercentAndRaisesTheMeterThreshold) {
  Policy policy;
  policy.malicious_step_w = 800;
  policy.whitelist_w = {1000};
  EXPECT_TRUE(Whitelisted(policy, 1080));
  EXPECT_TRUE(Whitelisted(policy, 900));
  EXPECT_FALSE(Whitelisted(policy, 1500));
  EXPECT_EQ(MeterMaliciousStepW(policy), 1101);
  policy.whitelist_w.clear();
  EXPECT_EQ(MeterMaliciousStepW(policy), 800);
}

TEST(PolicyRulesTest, AntiRestrictionNeedsAlternatingSimilarSwings) {
  EXPECT_TRUE(AntiRestrictionPattern({100, 1100, 120, 1080, 110}));
  EXPECT_FALSE(AntiRestrictionPattern({100, 1100, 120, 1080}));          // three swings
  EXPECT_FALSE(AntiRestrictionPattern({100, 1100, 2100, 1080, 110}));    // not alternating
  EXPECT_FALSE(AntiRestrictionPattern({100, 1100, 120, 2500, 110}));     // not similar
  EXPECT_FALSE(AntiRestrictionPattern({100, 200, 120, 180, 110, 190}));  // too small
}

}  // namespace
}  // namespace wattledger::projections
