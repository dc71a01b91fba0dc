#include "ledger/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/limits.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using testing::DepositBody;
using testing::RevokeKeyBody;
using testing::Sign;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TestKey;
using testing::TestLedger;

ReplayOptions StateOnly() {
  ReplayOptions options;
  options.mode = ReplayMode::kStateOnly;
  return options;
}

ReplayOptions UpTo(uint64_t seq) {
  ReplayOptions options;
  options.to_seq = seq;
  return options;
}

const char* const kDerivedFamilies[] = {"events", "streams", "idempotency", "state"};

// Drives a seeded mix of appends, retries and refusals through `t`:
// deposits by three signers (one batch of them concurrently now and then),
// key registrations, one revocation half way, and every kind of refused
// request. Returns how many requests were refused.
int AppendMixedHistory(TestLedger& t, uint64_t seed) {
  std::mt19937_64 random(seed);
  auto card_center = t.RegisterKey(Role::CARD_CENTER);
  auto second_cashier = t.RegisterKey(Role::CASHIER);
  auto auditor = t.RegisterKey(Role::AUDITOR);
  EXPECT_TRUE(card_center.ok() && second_cashier.ok() && auditor.ok());
  if (!card_center.ok() || !second_cashier.ok() || !auditor.ok()) return 0;
  EXPECT_TRUE(t.RegisterKey(Role::OPERATOR).ok());
  EXPECT_TRUE(t.RegisterKey(Role::INGEST).ok());

  struct Accepted {
    SignedRequest request;
    const SigningKey* signer;
  };
  std::vector<Accepted> accepted;
  int refused = 0;
  bool revoked = false;
  auto expect_refused = [&refused](absl::string_view what, absl::StatusOr<AppendResult> result) {
    EXPECT_FALSE(result.ok()) << what << ": appended at seq " << result->seq;
    ++refused;
  };
  for (int step = 0; step < 400; ++step) {
    const std::string key = absl::StrCat("mix-", step);
    const std::string room = absl::StrCat("R", random() % 12);
    const int64_t amount_fen = static_cast<int64_t>(1 + random() % 100000);
    const int dice = static_cast<int>(random() % 100);
    if (step == 200) {
      auto result = t.Append(Sign(
          RevokeKeyBody("revoke-second-cashier", t.now_us(), second_cashier->key_id()), t.admin()));
      EXPECT_TRUE(result.ok()) << result.status();
      revoked = true;
    } else if (step % 50 == 25) {
      // A burst submitted together, so several land in one group commit.
      std::vector<std::future<absl::StatusOr<AppendResult>>> burst;
      for (int i = 0; i < 20; ++i) {
        burst.push_back(t.ledger().Submit(Sign(
            DepositBody(absl::StrCat(key, "-", i), t.now_us(), absl::StrCat("R", i % 12), 100 + i),
            i % 2 == 0 ? t.cashier() : *card_center)));
      }
      for (auto& future : burst) EXPECT_TRUE(future.get().ok());
    } else if (dice < 55) {
      const SigningKey& signer = dice % 2 == 0 ? t.cashier() : *card_center;
      SignedRequest request = Sign(DepositBody(key, t.now_us(), room, amount_fen), signer);
      auto result = t.Append(request);
      EXPECT_TRUE(result.ok()) << result.status();
      if (result.ok()) accepted.push_back(Accepted{request, &signer});
    } else if (dice < 62) {
      auto result = t.Append(Sign(DepositBody(key, t.now_us(), room, amount_fen), *second_cashier));
      if (revoked) {
        expect_refused("revoked signer", result);
      } else {
        EXPECT_TRUE(result.ok()) << result.status();
      }
    } else if (dice < 70 && !accepted.empty()) {
      auto retry = t.Append(accepted[random() % accepted.size()].request);
      EXPECT_TRUE(retry.ok() && retry->duplicate);
    } else if (dice < 74 && !accepted.empty()) {
      // The same signer's idempotency key with another amount.
      const Accepted& original = accepted[random() % accepted.size()];
      auto first = ParsedBody::Parse(original.request.body, kEventBodyBytesMax);
      EXPECT_TRUE(first.ok());
      if (!first.ok()) continue;
      std::string reused(first->get().getIdempotencyKey().cStr());
      int64_t other_amount = first->get().getDepositMade().getAmountFen() + 1;
      expect_refused(
          "reused key",
          t.Append(Sign(DepositBody(reused, t.now_us(), room, other_amount), *original.signer)));
    } else if (dice < 78) {
      SignedRequest request = Sign(DepositBody(key, t.now_us(), room, amount_fen), t.cashier());
      request.signature[0] ^= 0x01;
      expect_refused("bad signature", t.Append(request));
    } else if (dice < 82) {
      expect_refused(
          "stale",
          t.Append(Sign(DepositBody(key, t.now_us() - 2 * kDefaultTimeWindowUs, room, amount_fen),
                        t.cashier())));
    } else if (dice < 86) {
      expect_refused("auditor",
                     t.Append(Sign(DepositBody(key, t.now_us(), room, amount_fen), *auditor)));
    } else if (dice < 90) {
      SignedRequest request = Sign(DepositBody(key, t.now_us(), room, amount_fen), t.cashier());
      request.expected_stream_version = 1'000'000;
      expect_refused("stale version", t.Append(request));
    } else if (dice < 93) {
      expect_refused("unknown key",
                     t.Append(Sign(DepositBody(key, t.now_us(), room, amount_fen), TestKey(200))));
    } else {
      SignedRequest request = Sign(DepositBody(key, t.now_us(), room, amount_fen), t.cashier());
      auto version = t.ledger().store().StreamVersion(absl::StrCat("room:", room));
      EXPECT_TRUE(version.ok());
      request.expected_stream_version = *version;
      EXPECT_TRUE(t.Append(request).ok());
    }
    if (step % 40 == 0) t.clock().Advance(1'000'000);  // appended-at times move on
  }
  // End on a plain deposit so the tamper tests have one at the head.
  EXPECT_TRUE(t.Deposit("R0", 4242).ok());
  return refused;
}

std::unique_ptr<EventStore> FreshStore(const std::string& path) {
  StoreOptions options;
  options.create_if_missing = true;
  auto store = EventStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Index of the first row where two dumps differ, for a readable failure.
std::string FirstDifference(const std::vector<std::pair<std::string, std::string>>& live,
                            const std::vector<std::pair<std::string, std::string>>& replayed) {
  for (size_t i = 0; i < std::min(live.size(), replayed.size()); ++i) {
    if (live[i] != replayed[i]) {
      return absl::StrCat("row ", i, ": key ", ToHex(AsBytes(live[i].first)), " vs ",
                          ToHex(AsBytes(replayed[i].first)));
    }
  }
  return absl::StrCat("row counts ", live.size(), " vs ", replayed.size());
}

class ReplayOfMixedHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    std::printf("ReplayOfMixedHistory seed=%llu\n", static_cast<unsigned long long>(seed_));
    RecordProperty("seed", std::to_string(seed_));
    refused_ = AppendMixedHistory(t_, seed_);
    t_.ledger().Stop();  // the store stays open for reading
  }

  const EventStore& live() { return t_.ledger().store(); }

  uint64_t seed_ = 0;
  int refused_ = 0;
  TestLedger t_;
  TempDir dir_;
};

TEST_F(ReplayOfMixedHistory, RebuildsEveryFamilyAndTheHeadByteForByte) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  const Head head = live().GetHead().value();
  ASSERT_GE(head.seq, 250u);  // a few hundred events
  ASSERT_GE(refused_, 20);    // and refusals among them

  auto target = FreshStore(dir_.Sub("replay"));
  ASSERT_NE(target, nullptr);
  auto summary = Replay(live(), *target, {}, {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, head.seq);
  EXPECT_EQ(summary->head.seq, head.seq);
  EXPECT_EQ(summary->head.chain_hash, head.chain_hash);

  for (const char* family : kDerivedFamilies) {
    SCOPED_TRACE(family);
    auto expected = live().Dump(family);
    auto actual = target->Dump(family);
    ASSERT_TRUE(expected.ok() && actual.ok());
    EXPECT_FALSE(expected->empty());
    EXPECT_TRUE(*expected == *actual) << FirstDifference(*expected, *actual);
  }
  auto replayed_head = target->GetHead();
  ASSERT_TRUE(replayed_head.ok());
  EXPECT_EQ(replayed_head->seq, head.seq);
  EXPECT_EQ(replayed_head->chain_hash, head.chain_hash);
}

TEST_F(ReplayOfMixedHistory, StateOnlyModeRebuildsTheSameState) {
  auto target = FreshStore(dir_.Sub("state-only"));
  ASSERT_NE(target, nullptr);
  auto summary = Replay(live(), *target, {}, StateOnly());
  ASSERT_TRUE(summary.ok()) << summary.status();
  auto expected = live().Dump("state");
  auto actual = target->Dump("state");
  ASSERT_TRUE(expected.ok() && actual.ok());
  EXPECT_TRUE(*expected == *actual) << FirstDifference(*expected, *actual);
  EXPECT_TRUE(target->Dump("events")->empty());
}

TEST_F(ReplayOfMixedHistory, ReplayToASeqStopsThere) {
  auto target = FreshStore(dir_.Sub("partial"));
  ASSERT_NE(target, nullptr);
  auto summary = Replay(live(), *target, {}, UpTo(100));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->head.seq, 100u);
  EXPECT_EQ(summary->head.chain_hash, ChainHash(live().GetEvent(100).value()));
  EXPECT_EQ(target->GetHead()->seq, 100u);
  EXPECT_EQ(target->GetEvent(101).status().code(), absl::StatusCode::kNotFound);
}

// Replaces the stored event at `seq` (the ledger is stopped; the store is open).
void Overwrite(EventStore& store, uint64_t seq, const std::string& envelope) {
  rocksdb::WriteBatch batch;
  store.StageEvent(batch, seq, envelope);
  ASSERT_TRUE(store.Write(batch).ok());
}

// The most recent deposit at or before `seq`.
uint64_t DepositAtOrBefore(const EventStore& store, uint64_t seq) {
  for (; seq > 0; --seq) {
    auto envelope = ParsedEnvelope::Parse(store.GetEvent(seq).value(), kEnvelopeBytesMax);
    auto body = ParsedBody::Parse(AsView(envelope->get().getBody()), kEventBodyBytesMax);
    if (body->get().isDepositMade()) return seq;
  }
  return 0;
}

TEST_F(ReplayOfMixedHistory, ForgedEventFailsNamingIt) {
  const uint64_t head = live().GetHead()->seq;
  for (uint64_t wanted : {uint64_t{50}, head / 2, head}) {
    const uint64_t seq = DepositAtOrBefore(live(), wanted);
    ASSERT_GT(seq, 3u);
    SCOPED_TRACE(absl::StrCat("forged seq ", seq));
    const std::string original = live().GetEvent(seq).value();
    auto forged = testing::WithDepositAmount(original, 77'777'777);
    ASSERT_TRUE(forged.ok()) << forged.status();
    Overwrite(t_.ledger().mutable_store(), seq, *forged);

    auto target = FreshStore(dir_.Sub(absl::StrCat("forged-", seq)));
    ASSERT_NE(target, nullptr);
    auto summary = Replay(live(), *target, {}, {});
    EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << summary.status();
    EXPECT_THAT(std::string(summary.status().message()),
                StartsWith(absl::StrCat("replay: seq ", seq, ":")));
    Overwrite(t_.ledger().mutable_store(), seq, original);
  }
}

TEST_F(ReplayOfMixedHistory, AlteredPrevHashFailsNamingIt) {
  const uint64_t seq = live().GetHead()->seq / 2;
  auto envelope = ParsedEnvelope::Parse(live().GetEvent(seq).value(), kEnvelopeBytesMax);
  ASSERT_TRUE(envelope.ok());
  capnp::MallocMessageBuilder message;
  message.setRoot(envelope->get());
  message.getRoot<schema::Envelope>().setPrevHash(AsData(absl::MakeConstSpan(kZeroHash)));
  Overwrite(t_.ledger().mutable_store(), seq,
            Canonical(message.getRoot<schema::Envelope>().asReader()));
  auto target = FreshStore(dir_.Sub("prev"));
  ASSERT_NE(target, nullptr);
  auto summary = Replay(live(), *target, {}, {});
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << summary.status();
  EXPECT_THAT(std::string(summary.status().message()),
              StartsWith(absl::StrCat("replay: seq ", seq, ":")));
}

// A projection that derives, after each deposit, as many events as the
// deposit's amount modulo 3, and keeps how many deposits it saw and their
// total in one state row. Its derived events are records: applying them
// changes nothing, as inline_projection.h requires.
class DerivingProjection final : public InlineProjection {
 public:
  absl::Status Load(const EventStore& store) override {
    auto row = store.GetState(kRow);
    if (!row.ok()) return row.status();
    if (row->has_value()) return absl::FailedPreconditionError("load into a fresh store only");
    return absl::OkStatus();
  }
  absl::Status Check(const PendingEvent& event) const override {
    if (event.body.which() == EventKind::DEDUCTIONS_APPLIED && expected_ == 0) {
      return absl::FailedPreconditionError("not derived here");
    }
    return absl::OkStatus();
  }
  Applied Apply(const PendingEvent& event, StateWriter&) override {
    Applied applied;
    if (event.body.which() == EventKind::DEDUCTIONS_APPLIED) {
      --expected_;
      return applied;
    }
    if (event.body.which() != EventKind::DEPOSIT_MADE) return applied;
    const int64_t amount = event.body.getDepositMade().getAmountFen();
    ++deposits_;
    total_fen_ += amount;
    dirty_ = true;
    for (int64_t i = 0; i < amount % 3; ++i) {
      if (event.outputs == ApplyOutputs::kStateOnly) {
        ++applied.derived_unbuilt;
        continue;
      }
      applied.derived_bodies.push_back(
          testing::MakeBody(absl::StrCat("derived/", event.seq, "/", i), event.appended_at_us,
                            "derived", [&](schema::EventBody::Builder body) {
                              body.initDeductionsApplied().setSourceSeq(event.seq);
                            }));
      ++expected_;
    }
    return applied;
  }
  void Flush(StateWriter& writer) override {
    if (dirty_) writer.Put(kRow, absl::StrCat(deposits_, " deposits, ", total_fen_, " fen"));
    dirty_ = false;
  }

 private:
  static constexpr absl::string_view kRow = "test/deposits";
  uint64_t deposits_ = 0;
  int64_t total_fen_ = 0;
  uint32_t expected_ = 0;
  bool dirty_ = false;
};

// A log where how many events derive from a deposit holds steady for runs
// long enough that the state-only reader learns to skip them, then changes:
// it must skip too few (the replay drops what it read) and too many (the
// replay sends it back), and still rebuild the live state.
class ReplayOfDerivedEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    live_projection_ = std::make_unique<DerivingProjection>();
    t_.set_projections({live_projection_.get()});
    ASSERT_TRUE(t_.Reopen().ok());
    const uint64_t seed = std::random_device{}();
    std::printf("ReplayOfDerivedEvents seed=%llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 random(seed);
    // Runs of one remainder, the first longer than the reader reads ahead
    // before it learns (so the next run finds it skipping too far).
    std::vector<int64_t> amounts;
    for (int64_t remainder : {1, 0, 2, 1, 2, 0, 1}) {
      const int run = (amounts.empty() ? 2000 : 1) + static_cast<int>(random() % 2500);
      for (int i = 0; i < run; ++i)
        amounts.push_back(3 * (1 + static_cast<int64_t>(random() % 1000)) + remainder);
    }
    for (int i = 0; i < 200; ++i) amounts.push_back(1 + static_cast<int64_t>(random() % 3000));
    // Submitted together, so they commit in large groups.
    std::vector<std::future<absl::StatusOr<AppendResult>>> results;
    for (size_t i = 0; i < amounts.size(); ++i) {
      results.push_back(t_.ledger().Submit(
          Sign(DepositBody(absl::StrCat("d-", i), t_.now_us(), "R1", amounts[i]), t_.cashier())));
    }
    for (auto& result : results) ASSERT_TRUE(result.get().ok());
    ASSERT_TRUE(t_.Deposit("R1", 2).ok());  // the log ends on derived events
    t_.ledger().Stop();
  }

  const EventStore& live() { return t_.ledger().store(); }

  std::unique_ptr<DerivingProjection> live_projection_;
  TestLedger t_;
  TempDir dir_;
};

TEST_F(ReplayOfDerivedEvents, StateOnlySkipsThemAndRebuildsTheLiveState) {
  const Head head = live().GetHead().value();
  auto target = FreshStore(dir_.Sub("state-only"));
  ASSERT_NE(target, nullptr);
  DerivingProjection replayed;
  auto summary = Replay(live(), *target, {&replayed}, StateOnly());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, head.seq);
  EXPECT_EQ(summary->head.seq, head.seq);
  auto expected = live().Dump("state");
  auto actual = target->Dump("state");
  ASSERT_TRUE(expected.ok() && actual.ok());
  EXPECT_TRUE(*expected == *actual) << FirstDifference(*expected, *actual);
}

TEST_F(ReplayOfDerivedEvents, FullReplayStillComparesThem) {
  auto target = FreshStore(dir_.Sub("full"));
  ASSERT_NE(target, nullptr);
  DerivingProjection replayed;
  auto summary = Replay(live(), *target, {&replayed}, {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  for (const char* family : kDerivedFamilies) {
    SCOPED_TRACE(family);
    auto expected = live().Dump(family);
    auto actual = target->Dump(family);
    ASSERT_TRUE(expected.ok() && actual.ok());
    EXPECT_TRUE(*expected == *actual) << FirstDifference(*expected, *actual);
  }
}

TEST_F(ReplayOfDerivedEvents, StoppingBetweenAnEventAndWhatItDerivedFails) {
  const uint64_t last = live().GetHead()->seq;  // the last deposit derived 2 events
  for (ReplayOptions options : {UpTo(last - 2), UpTo(last - 1)}) {
    for (ReplayMode mode : {ReplayMode::kFull, ReplayMode::kStateOnly}) {
      options.mode = mode;
      auto target =
          FreshStore(dir_.Sub(absl::StrCat("cut-", options.to_seq, "-", static_cast<int>(mode))));
      ASSERT_NE(target, nullptr);
      DerivingProjection replayed;
      auto summary = Replay(live(), *target, {&replayed}, options);
      EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << summary.status();
      EXPECT_THAT(std::string(summary.status().message()),
                  StartsWith(absl::StrCat("replay: seq ", options.to_seq + 1, ":")));
    }
  }
  // Stopping right before the deposit is fine.
  auto target = FreshStore(dir_.Sub("before"));
  DerivingProjection replayed;
  ReplayOptions options = StateOnly();
  options.to_seq = last - 3;
  auto summary = Replay(live(), *target, {&replayed}, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, last - 3);
}

TEST_F(ReplayOfDerivedEvents, StateOnlyStillFindsAMissingEvent) {
  // Delete the last event the reader must read (the last deposit): the replay
  // names it, having skipped nothing it needed.
  const uint64_t deposit = live().GetHead()->seq - 2;
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(
      batch
          .Delete(t_.ledger().mutable_store().family(EventStore::kEvents), testing::SeqKey(deposit))
          .ok());
  ASSERT_TRUE(t_.ledger().mutable_store().Write(batch).ok());
  auto target = FreshStore(dir_.Sub("missing"));
  DerivingProjection replayed;
  auto summary = Replay(live(), *target, {&replayed}, StateOnly());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << summary.status();
  EXPECT_THAT(std::string(summary.status().message()),
              StartsWith(absl::StrCat("replay: seq ", deposit, ":")));
}

}  // namespace
}  // namespace wattledger::ledger
