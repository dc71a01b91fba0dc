#include "projections/reports/balances.h"

#include <gtest/gtest.h>

#include "projections/reports/periods.h"
#include "projections/reports/report_testing.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;
using wattledger::testing::TempDir;

// Rooms as their persisted rows: equal rows, equal state.
std::vector<std::string> Rows(const std::vector<Room>& rooms) {
  std::vector<std::string> rows;
  for (const Room& room : rooms) rows.push_back(EncodeRoom(room));
  return rows;
}

TEST(Balances, AtASeqEqualTheLiveBalancesThen) {
  ReportCampus c;
  c.Setup();
  c.Day1();
  c.Day2();
  uint64_t day2_seq = c.head();
  std::vector<Room> day2 = c.campus().Rooms();
  c.Day3();
  c.October();
  std::vector<Room> now = c.campus().Rooms();

  TempDir scratch;
  auto at_day2 = BalancesAtSeq(c.store(), day2_seq, scratch.Sub("a"));
  ASSERT_TRUE(at_day2.ok()) << at_day2.status();
  EXPECT_EQ(at_day2->seq, day2_seq);
  EXPECT_EQ(Rows(at_day2->rooms), Rows(day2));
  auto at_head = BalancesAtSeq(c.store(), c.head(), scratch.Sub("b"));
  ASSERT_TRUE(at_head.ok()) << at_head.status();
  EXPECT_EQ(Rows(at_head->rooms), Rows(now));
  int64_t total_fen = 0;
  for (const Room& room : at_head->rooms) total_fen += room.balance_fen;
  EXPECT_EQ(total_fen, 18000 + 7000 - 3000 + 500 - 5000 - (850 + 125) - 1896);
}

// A reading batch's deductions commit with it: the balances at its seq
// include them.
TEST(Balances, ASeqIncludesTheEventsDerivedFromIt) {
  ReportCampus c;
  c.Setup();
  c.Day1();
  c.Day2();
  std::vector<Room> day2 = c.campus().Rooms();
  TempDir scratch;
  uint64_t readings = c.seqs().day2_readings;
  auto through = ThroughDerived(c.store(), readings);
  ASSERT_TRUE(through.ok());
  EXPECT_EQ(*through, readings + 1);
  auto at_readings = BalancesAtSeq(c.store(), readings, scratch.Sub("a"));
  ASSERT_TRUE(at_readings.ok()) << at_readings.status();
  EXPECT_EQ(at_readings->seq, readings + 1);
  EXPECT_EQ(Rows(at_readings->rooms), Rows(day2));
  auto plain = ThroughDerived(c.store(), c.seqs().r1_reversal);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, c.seqs().r1_reversal);
}

TEST(Balances, AtADayAreThoseAtItsLastEvent) {
  ReportCampus c;
  c.WholeStory();
  TempDir scratch;
  auto end_of_22nd = LastSeqBefore(c.store(), *DayStartOf("2026-09-23"));
  ASSERT_TRUE(end_of_22nd.ok());
  EXPECT_EQ(*end_of_22nd, c.seqs().day2_last);
  auto by_day = BalancesAtDay(c.store(), "2026-09-22", scratch.Sub("a"));
  auto by_seq = BalancesAtSeq(c.store(), c.seqs().day2_last, scratch.Sub("b"));
  ASSERT_TRUE(by_day.ok()) << by_day.status();
  ASSERT_TRUE(by_seq.ok()) << by_seq.status();
  EXPECT_EQ(by_day->seq, by_seq->seq);
  EXPECT_EQ(Rows(by_day->rooms), Rows(by_seq->rooms));

  // Before the first event: nothing yet.
  auto before = BalancesAtDay(c.store(), "2026-09-20", scratch.Sub("c"));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->seq, 0u);
  EXPECT_TRUE(before->rooms.empty());
  // After the last: everything.
  auto after = BalancesAtDay(c.store(), "2027-01-01", scratch.Sub("d"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->seq, c.head());
  EXPECT_EQ(Rows(after->rooms), Rows(c.campus().Rooms()));
}

TEST(Balances, RefusesASeqPastTheHeadAndABadDay) {
  ReportCampus c;
  c.Setup();
  TempDir scratch;
  EXPECT_EQ(BalancesAtSeq(c.store(), c.head() + 1, scratch.Sub("a")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BalancesAtDay(c.store(), "22-09-2026", scratch.Sub("b")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wattledger::projections::reports
