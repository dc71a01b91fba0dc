#include "projections/reports/settlement.h"

#include <gtest/gtest.h>

#include "projections/reports/report_testing.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;

TEST(SettlementReport, ListsCardCenterDepositsAndReversalsPerDayWithTotals) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  const testing::StorySeqs& seqs = c.seqs();
  auto statements = ReadSettlement(c.store(), {});
  ASSERT_TRUE(statements.ok()) << statements.status();
  ASSERT_EQ(statements->size(), 3u);

  const SettlementStatement& first = (*statements)[0];
  EXPECT_EQ(first.totals,
            (SettlementDay{"2026-09-21", 1, 3000, 0, 0, seqs.d3_card_center, seqs.d3_card_center}));
  ASSERT_EQ(first.entries.size(), 1u);
  const SettlementEntry& tn0001 = first.entries[0];
  EXPECT_EQ(tn0001.seq, seqs.d3_card_center);
  EXPECT_EQ(tn0001.kind, SettlementKind::kDeposit);
  EXPECT_EQ(tn0001.deposit_seq, seqs.d3_card_center);
  EXPECT_EQ(tn0001.trade_no, "TN0001");
  EXPECT_EQ(tn0001.terminal_id, "CC-T1");
  EXPECT_EQ(tn0001.room_id, "B02-201");
  EXPECT_EQ(tn0001.payer_card_no, "C4");
  EXPECT_EQ(tn0001.amount_fen, 3000);

  // The 22nd: TN0002, and the reversal of the 21st's TN0001 under its trade number.
  const SettlementStatement& second = (*statements)[1];
  EXPECT_EQ(second.totals,
            (SettlementDay{"2026-09-22", 1, 4000, 1, 3000, seqs.d6_card_center, seqs.r1_reversal}));
  EXPECT_EQ(second.totals.net_fen(), 1000);
  ASSERT_EQ(second.entries.size(), 2u);
  EXPECT_EQ(second.entries[0].trade_no, "TN0002");
  EXPECT_EQ(second.entries[0].kind, SettlementKind::kDeposit);
  EXPECT_EQ(second.entries[1].seq, seqs.r1_reversal);
  EXPECT_EQ(second.entries[1].kind, SettlementKind::kReversal);
  EXPECT_EQ(second.entries[1].deposit_seq, seqs.d3_card_center);
  EXPECT_EQ(second.entries[1].trade_no, "TN0001");
  EXPECT_EQ(second.entries[1].amount_fen, 3000);
  EXPECT_EQ(second.entries[1].day, "2026-09-22");

  // The 23rd: cashier-1's reversal is not the card center's business.
  const SettlementStatement& third = (*statements)[2];
  EXPECT_EQ(third.totals,
            (SettlementDay{"2026-09-23", 1, 500, 0, 0, seqs.d7_card_center, seqs.d7_card_center}));
  ASSERT_EQ(third.entries.size(), 1u);
  EXPECT_EQ(third.entries[0].trade_no, "TN0003");
  EXPECT_EQ(third.entries[0].terminal_id, "CC-T2");
}

TEST(SettlementReport, SelectsDays) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto one = ReadSettlement(c.store(), {.since = "2026-09-22", .until = "2026-09-22"});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().totals.day, "2026-09-22");
  EXPECT_EQ(one->front().entries.size(), 2u);
  auto none = ReadSettlement(c.store(), {.since = "2026-09-24", .until = ""});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace wattledger::projections::reports
