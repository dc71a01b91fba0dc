#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include "ledger/verifier.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using testing::Sign;
using testing::TestLedger;

TEST(Ledger, InitialiseThenDepositAppendsChainedEvents) {
  TestLedger t;
  auto first = t.Deposit("A-101", 5000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->seq, 4u);  // genesis, admin key, cashier key, deposit
  EXPECT_FALSE(first->duplicate);
  Head head = t.ledger().head();
  EXPECT_EQ(head.seq, 4u);
  EXPECT_EQ(head.chain_hash, first->chain_hash);
  auto summary = VerifyStore(t.ledger().store(), VerifyOptions{});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, 4u);
}

}  // namespace
}  // namespace wattledger::ledger
