#include "api/rpc/rpc_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/rpc/ledger_client.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::rpc {
namespace {

using testing::DepositBody;
using testing::Sign;
using testing::TestLedger;

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        RpcServer::Start(t_.ledger(), RpcServerOptions{.ledger = {.listen = "127.0.0.1:0"}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto client = LedgerClient::Connect("127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  TestLedger t_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<LedgerClient> client_;
};

TEST_F(RpcTest, SubmitOverLoopbackAppendsAndRetryReturnsTheFirstResult) {
  auto request = Sign(DepositBody("rpc-1", t_.now_us(), "B-202", 1000), t_.cashier());
  auto first = client_->Submit(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->derived, 0u);
  auto again = client_->Submit(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(again->chain_hash, first->chain_hash);

  auto head = client_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->head.seq, first->seq);
  EXPECT_EQ(head->head.chain_hash, first->chain_hash);
  EXPECT_EQ(head->ledger_public_key, t_.ledger_key().public_key());

  auto events = client_->Events(1, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), first->seq);
  EXPECT_EQ(ledger::ChainHash(events->back()), first->chain_hash);

  auto stream = client_->StreamEvents("room:B-202", 1, 10);
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 1u);
  EXPECT_EQ(stream->front(), events->back());
}

TEST_F(RpcTest, RefusalsKeepTheirCodeAcrossTheWire) {
  auto request = Sign(DepositBody("rpc-bad", t_.now_us(), "B-202", 1000), t_.cashier());
  request.signature[0] ^= 1;
  auto result = client_->Submit(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  auto auditor_deposit = Sign(DepositBody("rpc-admin", t_.now_us(), "B-202", 1), t_.admin());
  EXPECT_EQ(client_->Submit(auditor_deposit).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t_.ledger().head().seq, 3u);
}

TEST_F(RpcTest, AFollowerCatchesUpThenSeesEachNewEventOnceDurable) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(t_.Append(Sign(DepositBody(absl::StrCat("before-", i), t_.now_us(), "B-202", 100),
                               t_.cashier()))
                    .ok());
  }
  uint64_t before = t_.ledger().head().seq;
  // Appends three more while the follower runs, once it has caught up.
  std::atomic<bool> caught_up{false};
  std::thread writer([&] {
    while (!caught_up) absl::SleepFor(absl::Milliseconds(5));
    for (int i = 0; i < 3; ++i) {
      auto appended = t_.Append(
          Sign(DepositBody(absl::StrCat("after-", i), t_.now_us(), "B-202", 100), t_.cashier()));
      EXPECT_TRUE(appended.ok()) << appended.status();
    }
  });
  std::vector<uint64_t> seqs;
  absl::Status followed = client_->Follow(
      2,
      [&](const std::vector<std::string>& page) {
        for (const std::string& bytes : page) {
          auto envelope =
              ledger::CanonicalMessage<schema::Envelope>::Parse(bytes, ledger::kEnvelopeBytesMax);
          EXPECT_TRUE(envelope.ok());
          if (envelope.ok()) seqs.push_back(envelope->get().getSeq());
        }
        if (!seqs.empty() && seqs.back() == before) caught_up = true;
        return seqs.size() < before - 1 + 3;
      },
      absl::Seconds(20));
  caught_up = true;
  writer.join();
  EXPECT_TRUE(followed.ok()) << followed;
  std::vector<uint64_t> expected;
  for (uint64_t seq = 2; seq <= before + 3; ++seq) expected.push_back(seq);
  EXPECT_EQ(seqs, expected);
}

TEST(RpcServer, RefusesPlaintextOffLoopback) {
  TestLedger t;
  auto server = RpcServer::Start(t.ledger(), RpcServerOptions{.ledger = {.listen = "0.0.0.0:0"}});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LedgerClient, NothingListeningIsUnavailable) {
  auto client = LedgerClient::Connect("127.0.0.1:1");
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace wattledger::rpc
