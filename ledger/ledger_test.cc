#include "ledger/ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <semaphore>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger/verifier.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using testing::DepositBody;
using ::testing::HasSubstr;
using testing::MakeBody;
using testing::NamesSeq;
using testing::RawStore;
using testing::RegisterKeyBody;
using testing::RevokeKeyBody;
using testing::SeqKey;
using testing::Sign;
using testing::TestKey;
using testing::TestLedger;

constexpr absl::Duration kWaitMax = absl::Seconds(60);

// Submits `request`, expects it refused with `code`, and checks that nothing
// was appended: the head (seq and hash) is unchanged and no row exists past it.
void ExpectRefusedAndNothingAppended(TestLedger& t, SignedRequest request, absl::StatusCode code,
                                     absl::string_view message_part = "") {
  const Head before = t.ledger().head();
  auto result = t.Append(std::move(request));
  ASSERT_FALSE(result.ok()) << "appended at seq " << result->seq;
  EXPECT_EQ(result.status().code(), code) << result.status();
  if (!message_part.empty()) {
    EXPECT_THAT(result.status().message(), HasSubstr(message_part));
  }
  const Head after = t.ledger().head();
  EXPECT_EQ(after.seq, before.seq);
  EXPECT_EQ(after.chain_hash, before.chain_hash);
  auto stored = t.ledger().store().GetHead();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->seq, before.seq);
  EXPECT_EQ(t.ledger().store().GetEvent(before.seq + 1).status().code(),
            absl::StatusCode::kNotFound);
}

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

TEST(Ledger, AppendResultIsTheStoredEventAndItsChainHash) {
  TestLedger t;
  auto deposit = t.Deposit("A-101", 5000);
  ASSERT_TRUE(deposit.ok()) << deposit.status();
  auto stored = t.ledger().store().GetEvent(deposit->seq);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(ChainHash(*stored), deposit->chain_hash);
  auto envelope = ParsedEnvelope::Parse(*stored, kEnvelopeBytesMax);
  ASSERT_TRUE(envelope.ok());
  auto previous = t.ledger().store().GetEvent(deposit->seq - 1);
  ASSERT_TRUE(previous.ok());
  Hash prev_hash = ChainHash(*previous);
  EXPECT_EQ(AsView(envelope->get().getPrevHash()),
            absl::string_view(reinterpret_cast<const char*>(prev_hash.data()), 32));
  EXPECT_EQ(envelope->get().getAppendedAtUs(), t.now_us());
  EXPECT_EQ(absl::string_view(envelope->get().getStream().cStr()), "room:A-101");
}

TEST(Ledger, InitializeTwiceIsAlreadyExists) {
  TestLedger t;
  const Head before = t.ledger().head();
  t.Close();
  absl::Status again = Ledger::Initialize(t.options(), t.admin().public_key(), "Again");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  ASSERT_TRUE(t.Reopen().ok());
  EXPECT_EQ(t.ledger().head().seq, before.seq);
}

TEST(Ledger, OpeningWithAnotherLedgerKeyIsFailedPrecondition) {
  TestLedger t;
  t.Close();
  LedgerOptions options = t.options();
  options.ledger_key = TestKey(99);
  auto opened = Ledger::Open(options);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
}

// --- refusals: each appends nothing and says what the caller should do -----

TEST(AppendPipeline, BadSignatureIsUnauthenticatedAndAppendsNothing) {
  TestLedger t;
  const std::string body = DepositBody("bad-signature", t.now_us(), "A-101", 100);

  SignedRequest flipped = Sign(body, t.cashier());
  flipped.signature[10] ^= 0x01;
  ExpectRefusedAndNothingAppended(t, flipped, absl::StatusCode::kUnauthenticated, "bad signature");

  // Signed by another key but claiming to be the cashier.
  SignedRequest impostor = Sign(body, TestKey(77));
  impostor.signer_key_id = t.cashier().key_id();
  ExpectRefusedAndNothingAppended(t, impostor, absl::StatusCode::kUnauthenticated);

  // The body changed after signing.
  SignedRequest altered = Sign(body, t.cashier());
  altered.body = DepositBody("bad-signature", t.now_us(), "A-101", 100000);
  ExpectRefusedAndNothingAppended(t, altered, absl::StatusCode::kUnauthenticated);

  // The untouched request still goes through: nothing was burned.
  auto good = t.Append(Sign(body, t.cashier()));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_FALSE(good->duplicate);
}

TEST(AppendPipeline, UnknownKeyIsUnauthenticatedAndAppendsNothing) {
  TestLedger t;
  SigningKey stranger = TestKey(77);
  ExpectRefusedAndNothingAppended(t,
                                  Sign(DepositBody("unknown", t.now_us(), "A-101", 100), stranger),
                                  absl::StatusCode::kUnauthenticated, "unknown signing key");
}

TEST(AppendPipeline, RevokedKeyIsPermissionDeniedAndAppendsNothing) {
  TestLedger t;
  auto second_cashier = t.RegisterKey(Role::CASHIER);
  ASSERT_TRUE(second_cashier.ok()) << second_cashier.status();
  auto before_revocation =
      t.Append(Sign(DepositBody("before", t.now_us(), "A-101", 100), *second_cashier));
  ASSERT_TRUE(before_revocation.ok()) << before_revocation.status();
  auto revoked = t.Append(Sign(
      RevokeKeyBody("revoke-second-cashier", t.now_us(), second_cashier->key_id()), t.admin()));
  ASSERT_TRUE(revoked.ok()) << revoked.status();

  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("after", t.now_us(), "A-101", 100), *second_cashier),
      absl::StatusCode::kPermissionDenied, "revoked");
  // Revocation survives a restart.
  ASSERT_TRUE(t.Reopen().ok());
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("after-restart", t.now_us(), "A-101", 100), *second_cashier),
      absl::StatusCode::kPermissionDenied);
  // Revoking it again is refused too.
  ExpectRefusedAndNothingAppended(
      t, Sign(RevokeKeyBody("revoke-again", t.now_us(), second_cashier->key_id()), t.admin()),
      absl::StatusCode::kFailedPrecondition);
}

TEST(AppendPipeline, CashierRegisteringAKeyIsPermissionDenied) {
  TestLedger t;
  ExpectRefusedAndNothingAppended(
      t,
      Sign(RegisterKeyBody("cashier-registers", t.now_us(), TestKey(78).public_key(), Role::ADMIN),
           t.cashier()),
      absl::StatusCode::kPermissionDenied, "may not issue");
}

TEST(AppendPipeline, AuditorDepositingIsPermissionDenied) {
  TestLedger t;
  auto auditor = t.RegisterKey(Role::AUDITOR);
  ASSERT_TRUE(auditor.ok()) << auditor.status();
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("auditor-deposits", t.now_us(), "A-101", 100), *auditor),
      absl::StatusCode::kPermissionDenied, "may not issue");
}

TEST(AppendPipeline, OnlyTheLedgerKeyMayIssueLedgerEvents) {
  TestLedger t;
  // An admin may not forge a second genesis or a ledger-derived event.
  std::string genesis = MakeBody("second-genesis", t.now_us(), "ledger", [&](auto body) {
    auto init = body.initLedgerInitialized();
    init.setLedgerPublicKey(AsData(absl::MakeConstSpan(t.admin().public_key())));
    init.setCampusName("Forged");
  });
  ExpectRefusedAndNothingAppended(t, Sign(genesis, t.admin()),
                                  absl::StatusCode::kFailedPrecondition);
  std::string closed = MakeBody("period", t.now_us(), "ledger",
                                [](auto body) { body.initPeriodClosed().setPeriodEndUs(1); });
  ExpectRefusedAndNothingAppended(t, Sign(closed, t.admin()), absl::StatusCode::kPermissionDenied);
  // Registering a key with the ledger role is refused even for an admin.
  ExpectRefusedAndNothingAppended(
      t,
      Sign(RegisterKeyBody("ledger-role", t.now_us(), TestKey(79).public_key(), Role::LEDGER),
           t.admin()),
      absl::StatusCode::kPermissionDenied);
}

TEST(AppendPipeline, IdempotencyKeyReusedWithAnotherBodyIsAlreadyExists) {
  TestLedger t;
  auto first = t.Append(Sign(DepositBody("pay-1", t.now_us(), "A-101", 100), t.cashier()));
  ASSERT_TRUE(first.ok()) << first.status();
  ExpectRefusedAndNothingAppended(t,
                                  Sign(DepositBody("pay-1", t.now_us(), "A-101", 200), t.cashier()),
                                  absl::StatusCode::kAlreadyExists, "pay-1");
  ExpectRefusedAndNothingAppended(t,
                                  Sign(DepositBody("pay-1", t.now_us(), "B-202", 100), t.cashier()),
                                  absl::StatusCode::kAlreadyExists);
  // A fresh timestamp does not excuse another body.
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("pay-1", t.now_us() + 1, "A-101", 200), t.cashier()),
      absl::StatusCode::kAlreadyExists);
}

TEST(AppendPipeline, RetryWithAFreshTimestampReturnsTheFirstResult) {
  // ledger/README.md: "the same request" is the body with issuedAtUs zeroed,
  // so a client that re-signs a retry with a new issued-at time is answered.
  TestLedger t;
  auto first = t.Append(Sign(DepositBody("pay-1", t.now_us(), "A-101", 100), t.cashier()));
  ASSERT_TRUE(first.ok()) << first.status();
  const Head after_first = t.ledger().head();
  t.clock().Advance(60'000'000);
  auto retry = t.Append(Sign(DepositBody("pay-1", t.now_us(), "A-101", 100), t.cashier()));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, first->seq);
  EXPECT_EQ(retry->chain_hash, first->chain_hash);
  EXPECT_EQ(t.ledger().head().seq, after_first.seq);
}

TEST(AppendPipeline, IdempotencyKeysArePerSigner) {
  TestLedger t;
  auto other_cashier = t.RegisterKey(Role::CASHIER);
  ASSERT_TRUE(other_cashier.ok());
  auto first = t.Append(Sign(DepositBody("shared-key", t.now_us(), "A-101", 100), t.cashier()));
  auto second = t.Append(Sign(DepositBody("shared-key", t.now_us(), "A-101", 200), *other_cashier));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(second->duplicate);
  EXPECT_EQ(second->seq, first->seq + 1);
}

TEST(AppendPipeline, IssuedAtOutsideTheWindowIsOutOfRangeAndAppendsNothing) {
  TestLedger t;
  const int64_t window_us = kDefaultTimeWindowUs;
  // The ledger clock moves on; a request signed at the old time is stale.
  const int64_t signed_at_us = t.now_us();
  t.clock().Advance(window_us + 1);
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("stale", signed_at_us, "A-101", 100), t.cashier()),
      absl::StatusCode::kOutOfRange);
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("future", t.now_us() + window_us + 1, "A-101", 100), t.cashier()),
      absl::StatusCode::kOutOfRange);
  // The window's edges are inside it.
  EXPECT_TRUE(
      t.Append(Sign(DepositBody("edge-past", t.now_us() - window_us, "A-101", 1), t.cashier()))
          .ok());
  EXPECT_TRUE(
      t.Append(Sign(DepositBody("edge-future", t.now_us() + window_us, "A-101", 1), t.cashier()))
          .ok());
}

TEST(AppendPipeline, RefusedRequestLeavesItsIdempotencyKeyUnused) {
  TestLedger t;
  const int64_t signed_at_us = t.now_us();
  t.clock().Advance(kDefaultTimeWindowUs + 1);
  ExpectRefusedAndNothingAppended(
      t, Sign(DepositBody("retry-me", signed_at_us, "A-101", 100), t.cashier()),
      absl::StatusCode::kOutOfRange);
  // Re-signed with a fresh time, the same key is a new request, not a conflict.
  auto fresh = t.Append(Sign(DepositBody("retry-me", t.now_us(), "A-101", 100), t.cashier()));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE(fresh->duplicate);
}

TEST(AppendPipeline, StaleExpectedVersionIsAbortedAndAppendsNothing) {
  TestLedger t;
  ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  ASSERT_TRUE(t.Deposit("A-101", 100).ok());  // room:A-101 is at version 2

  for (uint64_t stale : {uint64_t{0}, uint64_t{1}, uint64_t{3}}) {
    SignedRequest request =
        Sign(DepositBody(absl::StrCat("expect-", stale), t.now_us(), "A-101", 100), t.cashier());
    request.expected_stream_version = stale;
    ExpectRefusedAndNothingAppended(t, request, absl::StatusCode::kAborted, "version 2");
  }
  SignedRequest current = Sign(DepositBody("expect-2", t.now_us(), "A-101", 100), t.cashier());
  current.expected_stream_version = 2;
  auto appended = t.Append(current);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(t.ledger().store().StreamVersion("room:A-101").value(), 3u);

  // 0 means "the stream must be empty".
  SignedRequest empty = Sign(DepositBody("new-room", t.now_us(), "B-202", 100), t.cashier());
  empty.expected_stream_version = 0;
  EXPECT_TRUE(t.Append(empty).ok());
}

TEST(AppendPipeline, WritersExpectingTheSameVersionConcurrentlyOneWins) {
  TestLedger t;
  ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const Head before = t.ledger().head();
  constexpr int kWriters = 8;
  std::vector<std::future<absl::StatusOr<AppendResult>>> futures;
  for (int i = 0; i < kWriters; ++i) {
    SignedRequest request =
        Sign(DepositBody(absl::StrCat("race-", i), t.now_us(), "A-101", 100), t.cashier());
    request.expected_stream_version = 1;
    futures.push_back(t.ledger().Submit(std::move(request)));
  }
  int won = 0;
  for (auto& future : futures) {
    auto result = future.get();
    if (result.ok()) {
      ++won;
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted) << result.status();
    }
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(t.ledger().head().seq, before.seq + 1);
}

TEST(AppendPipeline, MalformedBodyIsInvalidArgumentAndAppendsNothing) {
  TestLedger t;
  const std::string good = DepositBody("malformed", t.now_us(), "A-101", 100);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"not capnp", "not capnp at all"},
      {"empty", ""},
      {"whole words of garbage", std::string(64, '\xa5')},
      {"extra trailing word", good + std::string(8, '\0')},
      {"truncated", good.substr(0, good.size() - 8)},
      {"no idempotency key", DepositBody("", t.now_us(), "A-101", 100)},
      {"no stream", MakeBody("no-stream", t.now_us(), "",
                             [](auto body) { body.initDepositMade().setAmountFen(1); })},
  };
  for (auto& [name, body] : cases) {
    SCOPED_TRACE(name);
    // Correctly signed, so the body alone is what is wrong.
    ExpectRefusedAndNothingAppended(t, Sign(body, t.cashier()), absl::StatusCode::kInvalidArgument);
  }
}

TEST(AppendPipeline, RevokingTheLastAdminIsFailedPrecondition) {
  TestLedger t;
  ExpectRefusedAndNothingAppended(
      t, Sign(RevokeKeyBody("revoke-self", t.now_us(), t.admin().key_id()), t.admin()),
      absl::StatusCode::kFailedPrecondition, "last active admin");
  // With a second admin, the first may go; then the second is the last.
  auto second_admin = t.RegisterKey(Role::ADMIN);
  ASSERT_TRUE(second_admin.ok()) << second_admin.status();
  auto revoked =
      t.Append(Sign(RevokeKeyBody("revoke-first", t.now_us(), t.admin().key_id()), *second_admin));
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  ExpectRefusedAndNothingAppended(
      t, Sign(RevokeKeyBody("revoke-second", t.now_us(), second_admin->key_id()), *second_admin),
      absl::StatusCode::kFailedPrecondition);
  // The revoked first admin can no longer register keys.
  ExpectRefusedAndNothingAppended(
      t,
      Sign(RegisterKeyBody("late", t.now_us(), TestKey(80).public_key(), Role::CASHIER), t.admin()),
      absl::StatusCode::kPermissionDenied);
}

TEST(AppendPipeline, RevokingAnUnknownKeyIsNotFound) {
  TestLedger t;
  ExpectRefusedAndNothingAppended(
      t, Sign(RevokeKeyBody("revoke-stranger", t.now_us(), TestKey(81).key_id()), t.admin()),
      absl::StatusCode::kNotFound);
}

// --- idempotent retries ----------------------------------------------------

TEST(AppendPipeline, IdempotentRetryReturnsTheFirstResultAndAppendsNothing) {
  TestLedger t;
  const SignedRequest request =
      Sign(DepositBody("pay-once", t.now_us(), "A-101", 100), t.cashier());
  auto first = t.Append(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->duplicate);
  const Head after_first = t.ledger().head();

  auto retry = t.Append(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, first->seq);
  EXPECT_EQ(retry->chain_hash, first->chain_hash);
  EXPECT_EQ(retry->result, first->result);
  EXPECT_EQ(t.ledger().head().seq, after_first.seq);

  // Still the same answer long after the issued-at window closed, and after
  // a restart: the retry is answered from the index, not re-admitted.
  t.clock().Advance(10 * kDefaultTimeWindowUs);
  auto late = t.Append(request);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->duplicate);
  EXPECT_EQ(late->seq, first->seq);
  ASSERT_TRUE(t.Reopen().ok());
  auto after_restart = t.Append(request);
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_TRUE(after_restart->duplicate);
  EXPECT_EQ(after_restart->seq, first->seq);
  EXPECT_EQ(after_restart->chain_hash, first->chain_hash);
  EXPECT_EQ(t.ledger().head().seq, after_first.seq);
}

TEST(AppendPipeline, ConcurrentRetriesOfTheSameKeysAppendEachOnce) {
  TestLedger t;
  constexpr int kKeys = 100;
  constexpr int kSubmissions = 1000;  // 10 per key, interleaved
  constexpr int kThreads = 8;
  std::vector<SignedRequest> requests;
  for (int k = 0; k < kKeys; ++k) {
    requests.push_back(
        Sign(DepositBody(absl::StrCat("retry-", k), t.now_us(), absl::StrCat("R", k % 7), k + 1),
             t.cashier()));
  }
  const Head before = t.ledger().head();

  std::vector<absl::StatusOr<AppendResult>> results(kSubmissions,
                                                    absl::UnknownError("not completed"));
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&t, &requests, &results, thread]() {
      std::vector<std::pair<int, std::future<absl::StatusOr<AppendResult>>>> pending;
      for (int i = thread; i < kSubmissions; i += kThreads) {
        pending.emplace_back(i, t.ledger().Submit(requests[i % kKeys]));
      }
      for (auto& [i, future] : pending) results[i] = future.get();
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<std::vector<const AppendResult*>> by_key(kKeys);
  int appended = 0;
  for (int i = 0; i < kSubmissions; ++i) {
    ASSERT_TRUE(results[i].ok()) << "submission " << i << ": " << results[i].status();
    by_key[i % kKeys].push_back(&*results[i]);
    if (!results[i]->duplicate) ++appended;
  }
  EXPECT_EQ(appended, kKeys);
  EXPECT_EQ(t.ledger().head().seq, before.seq + kKeys);
  std::vector<uint64_t> seqs;
  for (int k = 0; k < kKeys; ++k) {
    SCOPED_TRACE(absl::StrCat("key ", k));
    ASSERT_EQ(by_key[k].size(), static_cast<size_t>(kSubmissions / kKeys));
    int fresh = 0;
    for (const AppendResult* result : by_key[k]) {
      EXPECT_EQ(result->seq, by_key[k][0]->seq);
      EXPECT_EQ(result->chain_hash, by_key[k][0]->chain_hash);
      fresh += result->duplicate ? 0 : 1;
    }
    EXPECT_EQ(fresh, 1);
    seqs.push_back(by_key[k][0]->seq);
  }
  std::sort(seqs.begin(), seqs.end());
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(seqs[k], before.seq + 1 + k);
  EXPECT_TRUE(VerifyStore(t.ledger().store(), VerifyOptions{}).ok());
}

// --- concurrency -------------------------------------------------------------

TEST(AppendPipeline, ConcurrentAppendsGetGapFreeSeqsAndVerify) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 5000;
  constexpr int kInFlightPerThread = 256;  // keeps the submit queue far from its limit
  // What the completions write to is declared before the ledger, so the
  // ledger (whose Stop runs every pending completion) goes first, even when
  // an assertion below returns early.
  struct Done {
    absl::Mutex mu;
    int completed ABSL_GUARDED_BY(mu) = 0;
    std::vector<std::string> errors ABSL_GUARDED_BY(mu);
  } done;
  std::vector<std::vector<uint64_t>> seqs(kThreads, std::vector<uint64_t>(kPerThread, 0));
  std::vector<std::unique_ptr<std::counting_semaphore<kInFlightPerThread>>> in_flight;
  for (int i = 0; i < kThreads; ++i) {
    in_flight.push_back(
        std::make_unique<std::counting_semaphore<kInFlightPerThread>>(kInFlightPerThread));
  }
  std::atomic<bool> stalled{false};
  LedgerOptions options;
  options.verify_threads = 2;
  TestLedger t(options);
  const Head before = t.ledger().head();

  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread]() {
      auto* slots = in_flight[thread].get();
      for (int i = 0; i < kPerThread; ++i) {
        if (!slots->try_acquire_for(std::chrono::seconds(60))) {
          stalled.store(true);
          return;
        }
        SignedRequest request = Sign(DepositBody(absl::StrCat("c", thread, "-", i), t.now_us(),
                                                 absl::StrCat("R", thread), 1),
                                     t.cashier());
        t.ledger().Submit(std::move(request),
                          [&, thread, i, slots](absl::StatusOr<AppendResult> result) {
                            if (result.ok()) seqs[thread][i] = result->seq;
                            absl::MutexLock lock(&done.mu);
                            if (!result.ok())
                              done.errors.push_back(std::string(result.status().message()));
                            ++done.completed;
                            slots->release();
                          });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_FALSE(stalled.load()) << "a submitter waited 60 s for completions";
  {
    absl::MutexLock lock(&done.mu);
    auto all_done = [&done]() ABSL_SHARED_LOCKS_REQUIRED(done.mu) {
      return done.completed == kThreads * kPerThread;
    };
    ASSERT_TRUE(done.mu.AwaitWithTimeout(absl::Condition(&all_done), kWaitMax))
        << done.completed << " of " << kThreads * kPerThread << " completed";
    ASSERT_TRUE(done.errors.empty()) << done.errors.size() << " failed, e.g. " << done.errors[0];
  }

  std::vector<uint64_t> all;
  all.reserve(kThreads * kPerThread);
  for (const auto& per_thread : seqs) all.insert(all.end(), per_thread.begin(), per_thread.end());
  std::sort(all.begin(), all.end());
  // Exactly the contiguous range after the head we started from: no gap, no duplicate.
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], before.seq + 1 + i) << "at index " << i;
  }
  EXPECT_EQ(t.ledger().head().seq, before.seq + kThreads * kPerThread);
  for (int thread = 0; thread < kThreads; ++thread) {
    EXPECT_EQ(t.ledger().store().StreamVersion(absl::StrCat("room:R", thread)).value(),
              static_cast<uint64_t>(kPerThread));
  }
  auto summary = VerifyStore(t.ledger().store(), VerifyOptions{});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, t.ledger().head().seq);
}

// --- restarts, tampering and shutdown ----------------------------------------

TEST(Ledger, ReopenKeepsTheHeadKeysAndChain) {
  TestLedger t;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const Head before = t.ledger().head();
  ASSERT_TRUE(t.Reopen().ok());
  const Head after = t.ledger().head();
  EXPECT_EQ(after.seq, before.seq);
  EXPECT_EQ(after.chain_hash, before.chain_hash);
  // The key registry came back: the cashier may still deposit, chained on.
  auto next = t.Deposit("A-101", 100);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->seq, before.seq + 1);
  auto summary = VerifyStore(t.ledger().store(), VerifyOptions{});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, before.seq + 1);
}

TEST(Ledger, TamperedHeadEventRefusesToOpenNamingItsSeq) {
  TestLedger t;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const uint64_t head = t.ledger().head().seq;
  t.Close();
  {
    auto raw = RawStore::Open(t.data_dir());
    ASSERT_TRUE(raw.ok()) << raw.status();
    auto event = (*raw)->Get("events", SeqKey(head));
    ASSERT_TRUE(event.ok()) << event.status();
    auto forged = testing::WithDepositAmount(*event, 1'000'000);
    ASSERT_TRUE(forged.ok()) << forged.status();
    ASSERT_TRUE((*raw)->Put("events", SeqKey(head), *forged).ok());
  }
  absl::Status opened = t.Reopen();
  EXPECT_EQ(opened.code(), absl::StatusCode::kDataLoss) << opened;
  EXPECT_TRUE(NamesSeq(opened.message(), head)) << opened;
}

// A crash leaves events after the last signed checkpoint; open rechecks them.
TEST(Ledger, TamperedEventAfterTheLastCheckpointRefusesToOpenNamingItsSeq) {
  LedgerOptions options;
  options.checkpoint_every_events = 10;
  for (uint64_t offset_from_head : {uint64_t{0}, uint64_t{1}, uint64_t{4}}) {
    SCOPED_TRACE(absl::StrCat("tampered head - ", offset_from_head));
    TestLedger t(options);
    for (int i = 0; i < 27; ++i) ASSERT_TRUE(t.Deposit("A-101", 100).ok());
    const uint64_t head = t.ledger().head().seq;  // 30; checkpoints at 2, 12, 22
    const uint64_t tampered = head - offset_from_head;
    t.Close();  // signs a final checkpoint at the head
    {
      auto raw = RawStore::Open(t.data_dir());
      ASSERT_TRUE(raw.ok()) << raw.status();
      // As if the process died before the final checkpoint.
      ASSERT_TRUE((*raw)->Delete("meta", absl::StrCat("checkpoint/", SeqKey(head))).ok());
      ASSERT_TRUE((*raw)->Get("meta", absl::StrCat("checkpoint/", SeqKey(22))).ok());
      auto event = (*raw)->Get("events", SeqKey(tampered));
      ASSERT_TRUE(event.ok()) << event.status();
      auto forged = testing::WithDepositAmount(*event, 1'000'000);
      ASSERT_TRUE(forged.ok()) << forged.status();
      ASSERT_TRUE((*raw)->Put("events", SeqKey(tampered), *forged).ok());
    }
    absl::Status opened = t.Reopen();
    EXPECT_EQ(opened.code(), absl::StatusCode::kDataLoss) << opened;
    EXPECT_TRUE(NamesSeq(opened.message(), tampered)) << opened;
  }
}

TEST(Ledger, UntamperedStoreWithoutTheFinalCheckpointOpens) {
  LedgerOptions options;
  options.checkpoint_every_events = 10;
  TestLedger t(options);
  for (int i = 0; i < 27; ++i) ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const Head head = t.ledger().head();
  t.Close();
  {
    auto raw = RawStore::Open(t.data_dir());
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)->Delete("meta", absl::StrCat("checkpoint/", SeqKey(head.seq))).ok());
  }
  ASSERT_TRUE(t.Reopen().ok());
  EXPECT_EQ(t.ledger().head().chain_hash, head.chain_hash);
}

TEST(Ledger, SubmitAfterStopIsUnavailableAndAppendsNothing) {
  TestLedger t;
  ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const Head before = t.ledger().head();
  t.ledger().Stop();
  t.ledger().Stop();  // idempotent
  auto result = t.Append(Sign(DepositBody("late", t.now_us(), "A-101", 100), t.cashier()));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  int calls = 0;
  absl::Status seen;
  t.ledger().Submit(Sign(DepositBody("late-2", t.now_us(), "A-101", 100), t.cashier()),
                    [&](absl::StatusOr<AppendResult> r) {
                      ++calls;
                      seen = r.status();
                    });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(t.ledger().head().seq, before.seq);
  EXPECT_EQ(t.ledger().store().GetHead()->seq, before.seq);
}

// --- checkpoints ---------------------------------------------------------------

// Checks every stored checkpoint: ledger key signature, and hash of the event.
void ExpectCheckpointsVerify(const Ledger& ledger, const PublicKey& ledger_key) {
  auto checkpoints = ledger.store().ReadCheckpoints(0, SIZE_MAX);
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  auto key = VerifyingKey::FromRaw(ledger_key);
  ASSERT_TRUE(key.ok());
  for (const StoredCheckpoint& checkpoint : *checkpoints) {
    SCOPED_TRACE(absl::StrCat("checkpoint ", checkpoint.seq));
    EXPECT_TRUE(
        key->Verify(AsBytes(CheckpointSigningMessage(checkpoint.seq, checkpoint.chain_hash)),
                    checkpoint.signature));
    auto event = ledger.store().GetEvent(checkpoint.seq);
    ASSERT_TRUE(event.ok());
    EXPECT_EQ(ChainHash(*event), checkpoint.chain_hash);
    auto parsed = ParsedCheckpoint::Parse(checkpoint.canonical, 1024);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->get().getSeq(), checkpoint.seq);
  }
}

std::vector<uint64_t> CheckpointSeqs(const Ledger& ledger) {
  std::vector<uint64_t> out;
  auto checkpoints = ledger.store().ReadCheckpoints(0, SIZE_MAX);
  EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
  if (!checkpoints.ok()) return out;
  for (const auto& checkpoint : *checkpoints) out.push_back(checkpoint.seq);
  return out;
}

TEST(Checkpoints, WrittenEveryNEventsAndVerify) {
  LedgerOptions options;
  options.checkpoint_every_events = 5;
  TestLedger t(options);
  // Initialize signed one at its head (2) when it stopped; the cashier is 3.
  for (int i = 0; i < 23; ++i) ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  EXPECT_EQ(t.ledger().head().seq, 26u);
  EXPECT_THAT(CheckpointSeqs(t.ledger()), ::testing::ElementsAre(2, 7, 12, 17, 22));
  ExpectCheckpointsVerify(t.ledger(), t.ledger_key().public_key());
  auto last = t.ledger().store().LastCheckpoint();
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->seq, 22u);
  // A clean stop signs the head too.
  ASSERT_TRUE(t.Reopen().ok());
  EXPECT_THAT(CheckpointSeqs(t.ledger()), ::testing::ElementsAre(2, 7, 12, 17, 22, 26));
  ExpectCheckpointsVerify(t.ledger(), t.ledger_key().public_key());
  auto summary = VerifyStore(t.ledger().store(), VerifyOptions{});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->checkpoints, 6u);
  EXPECT_EQ(summary->last_checkpoint_seq, 26u);
}

TEST(Checkpoints, WrittenOnceTheIntervalHasPassed) {
  // An hour: the writer also wakes every interval of real time when idle, and
  // this keeps that wake-up out of the test, so the deposit's batch is the
  // first commit after the ledger clock passes the interval.
  constexpr int64_t kIntervalUs = 3600LL * 1000 * 1000;
  LedgerOptions options;
  options.checkpoint_every_us = kIntervalUs;
  TestLedger t(options);
  ASSERT_TRUE(t.Deposit("A-101", 100).ok());
  const std::vector<uint64_t> before = CheckpointSeqs(t.ledger());
  t.clock().Advance(kIntervalUs);
  auto deposit = t.Deposit("A-101", 100);
  ASSERT_TRUE(deposit.ok());
  std::vector<uint64_t> after = CheckpointSeqs(t.ledger());
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_EQ(after.back(), deposit->seq);
  ExpectCheckpointsVerify(t.ledger(), t.ledger_key().public_key());
}

}  // namespace
}  // namespace wattledger::ledger
