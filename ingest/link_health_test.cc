#include "ingest/link_health.h"

#include <gtest/gtest.h>

namespace wattledger::ingest {
namespace {

using schema::LinkState;

TEST(LinkHealthTest, OnlineOnFirstGoodPollThenOnlyOnChange) {
  LinkHealth health(std::nullopt, 3);
  auto change = health.Observe(PollOutcome::kOk);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->state, LinkState::ONLINE);
  health.Recorded(LinkState::ONLINE);
  EXPECT_FALSE(health.Observe(PollOutcome::kOk).has_value());
}

TEST(LinkHealthTest, OfflineAfterFailedPollsInARowAndBackOnline) {
  LinkHealth health(LinkState::ONLINE, 3);
  EXPECT_FALSE(health.Observe(PollOutcome::kNoReply).has_value());
  EXPECT_FALSE(health.Observe(PollOutcome::kNoReply).has_value());
  auto offline = health.Observe(PollOutcome::kNoReply);
  ASSERT_TRUE(offline.has_value());
  EXPECT_EQ(offline->state, LinkState::OFFLINE);
  EXPECT_EQ(offline->detail, "no reply to 3 polls in a row");
  // Not recorded yet (the append failed): the next failure proposes it again.
  EXPECT_TRUE(health.Observe(PollOutcome::kNoReply).has_value());
  health.Recorded(LinkState::OFFLINE);
  EXPECT_FALSE(health.Observe(PollOutcome::kNoReply).has_value());
  auto online = health.Observe(PollOutcome::kOk);
  ASSERT_TRUE(online.has_value());
  EXPECT_EQ(online->state, LinkState::ONLINE);
}

TEST(LinkHealthTest, AGoodPollInBetweenResetsTheRun) {
  LinkHealth health(LinkState::ONLINE, 2);
  EXPECT_FALSE(health.Observe(PollOutcome::kBadReplies).has_value());
  EXPECT_FALSE(health.Observe(PollOutcome::kOk).has_value());
  EXPECT_FALSE(health.Observe(PollOutcome::kBadReplies).has_value());
  EXPECT_FALSE(health.Observe(PollOutcome::kNoReply).has_value());  // a different run
  auto fault = health.Observe(PollOutcome::kNoReply);
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->state, LinkState::OFFLINE);
  LinkHealth faulty(LinkState::ONLINE, 2);
  faulty.Observe(PollOutcome::kBadReplies);
  auto change = faulty.Observe(PollOutcome::kBadReplies);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->state, LinkState::FAULT);
}

}  // namespace
}  // namespace wattledger::ingest
