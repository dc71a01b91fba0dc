#include "projections/reports/refunds.h"

#include <gtest/gtest.h>

#include "ledger/event_format.h"
#include "projections/reports/report_rows.h"
#include "projections/reports/report_testing.h"

namespace wattledger::projections::reports {
namespace {

using testing::ReportCampus;

TEST(RefundsReport, RecordsEverySettledRefundWithItsReason) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto refunds = ReadRefunds(c.store(), {});
  ASSERT_TRUE(refunds.ok()) << refunds.status();
  ASSERT_EQ(refunds->size(), 1u);
  const RefundRow& refund = refunds->front();
  EXPECT_EQ(refund.refund_seq, c.seqs().refund_issued);
  EXPECT_EQ(refund.settled_seq, c.seqs().refund_issued + 1);
  EXPECT_EQ(refund.day, "2026-10-03");
  EXPECT_EQ(refund.room_id, "B01-101");
  EXPECT_EQ(refund.person_id, "P2");
  EXPECT_EQ(refund.card_no, "C2");
  EXPECT_EQ(refund.reason, schema::RefundReason::GRADUATION);
  // B01-101 held 10000 + 2000 + 500 - 500 - 150; C2 paid 2000 of the 12500 its
  // occupants paid in.
  EXPECT_EQ(refund.balance_before_fen, 11850);
  EXPECT_EQ(refund.amount_fen, 11850 * 2000 / 12500);
  EXPECT_EQ(refund.balance_after_fen, 11850 - refund.amount_fen);
  EXPECT_FALSE(refund.last_occupant);
  auto room = c.campus().FindRoom("B01-101");
  ASSERT_TRUE(room.has_value());
  EXPECT_EQ(room->refunds_fen, refund.amount_fen);
  EXPECT_EQ(room->balance_fen, refund.balance_after_fen);
}

TEST(RefundsReport, SelectsBySettlementDay) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto before = ReadRefunds(c.store(), {.since = "", .until = "2026-10-02"});
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto that_day = ReadRefunds(c.store(), {.since = "2026-10-03", .until = "2026-10-03"});
  ASSERT_TRUE(that_day.ok());
  EXPECT_EQ(that_day->size(), 1u);
}

// A runner may stop between a RefundIssued and its settlement (a page of
// the log can end between them): the reason is a row, so a restarted report
// still finds it. Applies the log by hand up to the RefundIssued, as a runner
// would, then lets a real runner resume.
TEST(RefundsReport, PendingReasonSurvivesARestartBetweenIssueAndSettlement) {
  ReportCampus c;
  c.WholeStory();
  c.CatchUp();
  auto live = c.DumpReports();
  c.StopReports();

  ledger::EventStore& store = c.t().ledger().mutable_store();
  rocksdb::ColumnFamilyHandle* family = store.family(ledger::ProjectionFamily(kRefundsReport));
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.DeleteRange(family, "", "\xff").ok());
  ASSERT_TRUE(store.Write(batch).ok());
  RefundsReport first;
  ASSERT_TRUE(first.Load(store, family).ok());
  batch.Clear();
  ledger::ProjectionWriter writer(&batch, family);
  uint64_t through = c.seqs().refund_issued;
  auto envelopes = store.ReadRange(1, through);
  ASSERT_TRUE(envelopes.ok());
  for (const std::string& bytes : *envelopes) {
    auto envelope = ledger::ParsedEnvelope::Parse(bytes, ledger::kEnvelopeBytesMax);
    ASSERT_TRUE(envelope.ok());
    auto body = ledger::ParsedBody::Parse(ledger::AsView(envelope->get().getBody()),
                                          ledger::kEventBodyBytesMax);
    ASSERT_TRUE(body.ok());
    first.Apply(envelope->get(), body->get(), writer);
  }
  std::string applied;
  ledger::PutU64BigEndian(applied, through);
  writer.Put(kAppliedThroughKey, applied);
  ASSERT_TRUE(store.Write(batch).ok());

  c.StartReports(/*rebuild=*/false);
  c.CatchUp();
  auto refunds = ReadRefunds(c.store(), {});
  ASSERT_TRUE(refunds.ok());
  ASSERT_EQ(refunds->size(), 1u);
  EXPECT_EQ(refunds->front().reason, schema::RefundReason::GRADUATION);
  EXPECT_EQ(c.DumpReports(), live);
}

}  // namespace
}  // namespace wattledger::projections::reports
