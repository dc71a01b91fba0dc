// The card center's trade numbers: unique, reversible by number, and a
// reversal that comes before its deposit voids the trade.
#include <gtest/gtest.h>

#include "projections/reports/deposits.h"
#include "projections/reports/report_testing.h"
#include "projections/reports/settlement.h"

namespace wattledger::projections::reports {
namespace {

using absl::StatusCode;
using testing::ReportCampus;

int64_t BalanceOf(ReportCampus& c, const std::string& room) {
  return c.campus().FindRoom(room)->balance_fen;
}

TEST(CardCenterTrades, ATradeNumberIsDepositedOnceAndReversedByItsNumber) {
  ReportCampus c;
  c.Setup();
  auto deposit = c.TryCardDeposit("B01-101", 3000, "TN-A");
  ASSERT_TRUE(deposit.ok()) << deposit.status();
  EXPECT_EQ(BalanceOf(c, "B01-101"), 3000);
  auto trade = c.campus().FindTrade("TN-A");
  ASSERT_TRUE(trade.has_value());
  EXPECT_EQ(trade->deposit_seq, deposit->seq);
  EXPECT_EQ(trade->reversal_seq, 0u);
  EXPECT_EQ(trade->room_id, "B01-101");
  EXPECT_EQ(trade->amount_fen, 3000);

  // The same trade number under another request (another idempotency key).
  auto again = c.TryCardDeposit("B01-101", 3000, "TN-A", "/again");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(BalanceOf(c, "B01-101"), 3000);

  auto reversal = c.TryReverseTrade("TN-A");
  ASSERT_TRUE(reversal.ok()) << reversal.status();
  EXPECT_EQ(BalanceOf(c, "B01-101"), 0);
  EXPECT_EQ(c.campus().FindTrade("TN-A")->reversal_seq, reversal->seq);
  auto twice = c.TryReverseTrade("TN-A", "/again");
  EXPECT_EQ(twice.status().code(), StatusCode::kFailedPrecondition) << twice.status();
  EXPECT_EQ(BalanceOf(c, "B01-101"), 0);

  // The reports book the reversal against the deposit it resolved to.
  c.CatchUp();
  auto statements = ReadSettlement(c.store(), {});
  ASSERT_TRUE(statements.ok()) << statements.status();
  ASSERT_EQ(statements->size(), 1u);
  EXPECT_EQ((*statements)[0].totals.deposits_fen, 3000);
  EXPECT_EQ((*statements)[0].totals.reversals_fen, 3000);
  ASSERT_EQ((*statements)[0].entries.size(), 2u);
  EXPECT_EQ((*statements)[0].entries[1].kind, SettlementKind::kReversal);
  EXPECT_EQ((*statements)[0].entries[1].deposit_seq, deposit->seq);
}

TEST(CardCenterTrades, AReversalBeforeItsDepositVoidsTheTradeAndTheLateDepositIsRefused) {
  ReportCampus c;
  c.Setup();
  auto reversal = c.TryReverseTrade("TN-LATE");
  ASSERT_TRUE(reversal.ok()) << reversal.status();
  auto trade = c.campus().FindTrade("TN-LATE");
  ASSERT_TRUE(trade.has_value());
  EXPECT_EQ(trade->deposit_seq, 0u);
  EXPECT_EQ(trade->reversal_seq, reversal->seq);

  auto late = c.TryCardDeposit("B01-101", 3000, "TN-LATE");
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition) << late.status();
  EXPECT_NE(late.status().message().find("before its deposit arrived"), std::string::npos);
  EXPECT_EQ(BalanceOf(c, "B01-101"), 0);
  auto twice = c.TryReverseTrade("TN-LATE", "/again");
  EXPECT_EQ(twice.status().code(), StatusCode::kFailedPrecondition) << twice.status();

  // The void survives a restart.
  c.StopReports();
  Campus reloaded;
  c.t().set_projections({&reloaded});
  ASSERT_TRUE(c.t().Reopen().ok());
  EXPECT_EQ(reloaded.FindTrade("TN-LATE")->reversal_seq, reversal->seq);
  EXPECT_EQ(c.TryCardDeposit("B01-101", 3000, "TN-LATE", "/after-restart").status().code(),
            StatusCode::kFailedPrecondition);

  c.StartReports(/*rebuild=*/false);
  c.CatchUp();
  auto statements = ReadSettlement(c.store(), {});
  ASSERT_TRUE(statements.ok()) << statements.status();
  ASSERT_EQ(statements->size(), 1u);
  const SettlementStatement& day = (*statements)[0];
  EXPECT_EQ(day.totals.deposit_count, 0u);
  EXPECT_EQ(day.totals.reversal_count, 0u);
  ASSERT_EQ(day.entries.size(), 1u);
  EXPECT_EQ(day.entries[0].kind, SettlementKind::kVoid);
  EXPECT_EQ(day.entries[0].trade_no, "TN-LATE");
  EXPECT_EQ(day.entries[0].amount_fen, 0);
}

TEST(CardCenterTrades, MalformedTradesAreRefused) {
  ReportCampus c;
  c.Setup();
  EXPECT_EQ(c.TryCardDeposit("B01-101", 3000, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.TryCardDeposit("B01-101", 3000, std::string(65, 'T')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c.TryReverseTrade("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.TryCardDeposit("B09-999", 3000, "TN-NOROOM").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(c.campus().FindTrade("TN-NOROOM").has_value());
}

}  // namespace
}  // namespace wattledger::projections::reports
