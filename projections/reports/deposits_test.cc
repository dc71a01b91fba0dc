#include "projections/reports/deposits.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "projections/reports/report_testing.h"
#include "projections/reports/settlement.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;

DepositTotals Totals(const std::string& day, DepositGroup group, const std::string& id,
                     uint64_t deposits, int64_t deposits_fen, uint64_t reversals = 0,
                     int64_t reversals_fen = 0) {
  return DepositTotals{day, group, id, deposits, deposits_fen, reversals, reversals_fen};
}

std::vector<DepositTotals> Read(const ledger::EventStore& store, DepositsQuery query) {
  auto rows = ReadDeposits(store, query);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<DepositTotals>{};
}

constexpr DepositGroup kCashier = DepositGroup::kCashier;
constexpr DepositGroup kChannel = DepositGroup::kChannel;
constexpr DepositGroup kTotal = DepositGroup::kTotal;

TEST(DepositsReport, TotalsByCashierAndChannelPerCampusDay) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(Read(c.store(), {}),
            (std::vector<DepositTotals>{
                Totals("2026-09-21", kCashier, "CC-T1", 1, 3000),
                Totals("2026-09-21", kCashier, "cashier-1", 2, 15000),
                Totals("2026-09-21", kChannel, "card-center", 1, 3000),
                Totals("2026-09-21", kChannel, "counter", 2, 15000),
                Totals("2026-09-21", kTotal, "", 3, 18000),
                // TN0001 (CC-T1, the day before) is reversed on the 22nd.
                Totals("2026-09-22", kCashier, "CC-T1", 1, 4000, 1, 3000),
                Totals("2026-09-22", kCashier, "cashier-2", 1, 2000),
                Totals("2026-09-22", kCashier, "web", 1, 1000),
                Totals("2026-09-22", kChannel, "card-center", 1, 4000, 1, 3000),
                Totals("2026-09-22", kChannel, "counter", 1, 2000),
                Totals("2026-09-22", kChannel, "web", 1, 1000),
                Totals("2026-09-22", kTotal, "", 3, 7000, 1, 3000),
                Totals("2026-09-23", kCashier, "CC-T2", 1, 500),
                Totals("2026-09-23", kCashier, "cashier-1", 0, 0, 1, 5000),
                Totals("2026-09-23", kChannel, "card-center", 1, 500),
                Totals("2026-09-23", kChannel, "counter", 0, 0, 1, 5000),
                Totals("2026-09-23", kTotal, "", 1, 500, 1, 5000),
            }));
}

TEST(DepositsReport, DayTotalsNetToWhatTheRoomsHold) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  int64_t net_fen = 0;
  for (const auto& totals : Read(c.store(), {.days = {}, .group = kTotal})) {
    net_fen += totals.net_fen();
  }
  int64_t rooms_fen = 0;
  for (const auto& room : c.campus().Rooms()) rooms_fen += room.deposits_fen - room.reversals_fen;
  EXPECT_EQ(net_fen, rooms_fen);
  EXPECT_EQ(net_fen, 18000 + 7000 - 3000 + 500 - 5000);
}

TEST(DepositsReport, SelectsDaysAndGroups) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  EXPECT_EQ(
      Read(c.store(), {.days = {.since = "2026-09-22", .until = "2026-09-22"}, .group = kChannel}),
      (std::vector<DepositTotals>{
          Totals("2026-09-22", kChannel, "card-center", 1, 4000, 1, 3000),
          Totals("2026-09-22", kChannel, "counter", 1, 2000),
          Totals("2026-09-22", kChannel, "web", 1, 1000),
      }));
  EXPECT_EQ(Read(c.store(), {.days = {.since = "2026-09-23", .until = ""}, .group = kTotal}),
            (std::vector<DepositTotals>{Totals("2026-09-23", kTotal, "", 1, 500, 1, 5000)}));
  EXPECT_TRUE(Read(c.store(), {.days = {.since = "", .until = "2026-09-20"}, .group = {}}).empty());
}

// The report's deposit book forgets what the campus forgets, by the same
// rule, so the book stays a reversal window long and a rebuild agrees.
TEST(DepositsReport, ForgetsDepositsPastTheReversalWindowLikeTheCampus) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto has_book_rows = [&](const std::string& family) {
    auto rows = c.store().Dump(family);
    EXPECT_TRUE(rows.ok());
    for (const auto& [key, value] : *rows) {
      if (absl::StartsWith(key, "deposit/")) return true;
    }
    return false;
  };
  std::string deposits = ledger::ProjectionFamily(kDepositsReport);
  std::string settlement = ledger::ProjectionFamily(kSettlementReport);
  EXPECT_TRUE(has_book_rows(deposits));
  EXPECT_TRUE(has_book_rows(settlement));

  c.t().clock().Advance(40 * 24 * testing::kHourUs);
  c.CloseDay(DayStartUs(c.t().now_us()));
  c.CatchUp();
  EXPECT_FALSE(has_book_rows(deposits));
  EXPECT_FALSE(has_book_rows(settlement));
  // The campus refuses to reverse it now: the book did not forget too early.
  auto refused = c.TryReverse(c.seqs().d7_card_center);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();

  auto live = c.DumpReports();
  c.StartReports(/*rebuild=*/true);
  c.CatchUp();
  EXPECT_EQ(c.DumpReports(), live);
}

}  // namespace
}  // namespace wattledger::projections::reports
