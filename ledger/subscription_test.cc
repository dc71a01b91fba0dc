#include "ledger/subscription.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using testing::TestLedger;

constexpr absl::Duration kWaitMax = absl::Seconds(20);

// Polls `done` every 2 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = kWaitMax) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

uint64_t SeqOf(const std::string& envelope) {
  auto parsed = ParsedEnvelope::Parse(envelope, kEnvelopeBytesMax);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->get().getSeq() : 0;
}

// Records what a subscription delivers, checking each call continues the last.
class Recorder {
 public:
  explicit Recorder(uint64_t from_seq) : next_(from_seq) {}

  Subscription::Handler Handler() {
    return [this](uint64_t first_seq, const std::vector<std::string>& envelopes) {
      absl::MutexLock lock(&mu_);
      if (first_seq != next_) {
        return absl::InternalError(
            absl::StrCat("delivered from ", first_seq, ", expected ", next_));
      }
      for (const std::string& envelope : envelopes) {
        seqs_.push_back(SeqOf(envelope));
        bytes_.push_back(envelope);
      }
      next_ += envelopes.size();
      return absl::OkStatus();
    };
  }

  std::vector<uint64_t> seqs() const {
    absl::MutexLock lock(&mu_);
    return seqs_;
  }
  std::vector<std::string> bytes() const {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }

 private:
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> seqs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bytes_ ABSL_GUARDED_BY(mu_);
};

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t seq = first; seq <= last; ++seq) out.push_back(seq);
  return out;
}

TEST(Subscription, DeliversEveryEventOnceInOrderThenLiveOnes) {
  TestLedger t;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(t.Deposit(absl::StrCat("A-", i % 4), 100).ok());
  const uint64_t stored = t.ledger().head().seq;

  Recorder recorder(1);
  Subscription subscription(t.ledger(), 1, recorder.Handler());
  ASSERT_TRUE(WaitUntil([&]() { return subscription.delivered_through() >= stored; }));
  EXPECT_EQ(recorder.seqs(), Range(1, stored));

  // Now live: each new commit arrives, once, after the stored ones.
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(t.Deposit("B-1", 100).ok());
  const uint64_t head = t.ledger().head().seq;
  ASSERT_TRUE(WaitUntil([&]() { return subscription.delivered_through() >= head; }));
  EXPECT_TRUE(subscription.status().ok()) << subscription.status();
  EXPECT_EQ(recorder.seqs(), Range(1, head));
  std::vector<std::string> bytes = recorder.bytes();
  for (uint64_t seq = 1; seq <= head; ++seq) {
    EXPECT_EQ(bytes[seq - 1], t.ledger().store().GetEvent(seq).value()) << "seq " << seq;
  }
  // Nothing more arrives while nothing is appended.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(subscription.delivered_through(), head);
  EXPECT_EQ(recorder.seqs().size(), head);
}

TEST(Subscription, StartsFromTheSeqAsked) {
  TestLedger t;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(t.Deposit("A-1", 100).ok());
  const uint64_t head = t.ledger().head().seq;
  Recorder recorder(7);
  Subscription subscription(t.ledger(), 7, recorder.Handler());
  ASSERT_TRUE(WaitUntil([&]() { return subscription.delivered_through() >= head; }));
  EXPECT_TRUE(subscription.status().ok()) << subscription.status();  // first call was seq 7
  EXPECT_EQ(recorder.seqs(), Range(7, head));
}

TEST(Subscription, HandlerErrorStopsItWithThatStatus) {
  TestLedger t;
  const uint64_t head = t.ledger().head().seq;
  std::atomic<int> calls{0};
  Subscription subscription(t.ledger(), 1, [&calls](uint64_t, const std::vector<std::string>&) {
    ++calls;
    return absl::FailedPreconditionError("projection refused");
  });
  ASSERT_TRUE(WaitUntil([&]() { return !subscription.status().ok(); }));
  EXPECT_EQ(subscription.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(subscription.delivered_through(), 0u);
  ASSERT_TRUE(t.Deposit("A-1", 100).ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_LT(subscription.delivered_through(), head);
}

// --- a catch-up projection: how many events each stream has ------------------

constexpr absl::string_view kCountPrefix = "count/";

class StreamCounts final : public CatchUpProjection {
 public:
  std::string name() const override { return "stream_counts"; }

  absl::Status Load(const EventStore& store, rocksdb::ColumnFamilyHandle* family) override {
    counts_.clear();
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), family));
    for (it->Seek(rocksdb::Slice(kCountPrefix.data(), kCountPrefix.size()));
         it->Valid() && absl::StartsWith(View(it->key()), kCountPrefix); it->Next()) {
      if (it->value().size() != 8) return absl::DataLossError("count row is not 8 bytes");
      counts_[std::string(View(it->key()).substr(kCountPrefix.size()))] =
          GetU64BigEndian(View(it->value()));
    }
    return FromRocks(it->status(), "loading stream counts");
  }

  void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader,
             ProjectionWriter& writer) override {
    std::string stream(envelope.getStream().cStr(), envelope.getStream().size());
    std::string count;
    PutU64BigEndian(count, ++counts_[stream]);
    writer.Put(absl::StrCat(kCountPrefix, stream), count);
    applied_.fetch_add(1);
  }

  // Events applied by this instance (not loaded).
  int applied() const { return applied_.load(); }

 private:
  std::map<std::string, uint64_t> counts_;  // subscription thread only
  std::atomic<int> applied_{0};
};

LedgerOptions WithCountsFamily() {
  LedgerOptions options;
  options.projection_families = {ProjectionFamily("stream_counts")};
  return options;
}

// The rows StreamCounts should hold for the store's events 1..head.
std::map<std::string, uint64_t> ExpectedCounts(const EventStore& store, uint64_t head) {
  std::map<std::string, uint64_t> out;
  auto envelopes = store.ReadRange(1, head);
  EXPECT_TRUE(envelopes.ok());
  for (const std::string& bytes : *envelopes) {
    auto envelope = ParsedEnvelope::Parse(bytes, kEnvelopeBytesMax);
    ++out[envelope->get().getStream().cStr()];
  }
  return out;
}

// The family's count rows, decoded, and its applied-through seq.
std::map<std::string, uint64_t> StoredCounts(const EventStore& store, uint64_t* applied_through) {
  std::map<std::string, uint64_t> out;
  auto rows = store.Dump(ProjectionFamily("stream_counts"));
  EXPECT_TRUE(rows.ok());
  for (const auto& [key, value] : *rows) {
    if (key == "~applied_through") {
      *applied_through = GetU64BigEndian(value);
    } else if (absl::StartsWith(key, kCountPrefix)) {
      out[key.substr(kCountPrefix.size())] = GetU64BigEndian(value);
    } else {
      ADD_FAILURE() << "unexpected row " << key;
    }
  }
  return out;
}

void AppendMixed(TestLedger& t, int deposits) {
  for (int i = 0; i < deposits; ++i) {
    ASSERT_TRUE(t.Deposit(absl::StrCat("R-", i % 5), 100 + i).ok());
  }
}

TEST(CatchUpProjection, CatchesUpThenFollowsLive) {
  TestLedger t(WithCountsFamily());
  AppendMixed(t, 40);
  StreamCounts counts;
  auto runner = CatchUpRunner::Start(t.ledger(), &counts, /*rebuild=*/false);
  ASSERT_TRUE(runner.ok()) << runner.status();
  uint64_t head = t.ledger().head().seq;
  ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax)) << (*runner)->status();
  uint64_t applied_through = 0;
  EXPECT_EQ(StoredCounts(t.ledger().store(), &applied_through),
            ExpectedCounts(t.ledger().store(), head));
  EXPECT_EQ(applied_through, head);
  EXPECT_EQ(counts.applied(), static_cast<int>(head));

  AppendMixed(t, 15);
  head = t.ledger().head().seq;
  ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax)) << (*runner)->status();
  EXPECT_EQ(StoredCounts(t.ledger().store(), &applied_through),
            ExpectedCounts(t.ledger().store(), head));
  EXPECT_EQ(applied_through, head);
  EXPECT_EQ(counts.applied(), static_cast<int>(head));
}

TEST(CatchUpProjection, SurvivesReopenWithoutReapplying) {
  TestLedger t(WithCountsFamily());
  AppendMixed(t, 30);
  uint64_t head = t.ledger().head().seq;
  {
    StreamCounts counts;
    auto runner = CatchUpRunner::Start(t.ledger(), &counts, /*rebuild=*/false);
    ASSERT_TRUE(runner.ok()) << runner.status();
    ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax));
  }
  ASSERT_TRUE(t.Reopen().ok());

  StreamCounts counts;
  auto runner = CatchUpRunner::Start(t.ledger(), &counts, /*rebuild=*/false);
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ((*runner)->applied_through(), head);  // resumed from the persisted seq
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(counts.applied(), 0);  // nothing applied twice

  AppendMixed(t, 7);
  head = t.ledger().head().seq;
  ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax)) << (*runner)->status();
  EXPECT_EQ(counts.applied(), 7);
  uint64_t applied_through = 0;
  // Loaded counts plus the new events: exactly what the log says.
  EXPECT_EQ(StoredCounts(t.ledger().store(), &applied_through),
            ExpectedCounts(t.ledger().store(), head));
  EXPECT_EQ(applied_through, head);
}

TEST(CatchUpProjection, RebuildGivesTheSameFamilyByteForByte) {
  TestLedger t(WithCountsFamily());
  AppendMixed(t, 35);
  const uint64_t head = t.ledger().head().seq;
  std::vector<std::pair<std::string, std::string>> before;
  {
    StreamCounts counts;
    auto runner = CatchUpRunner::Start(t.ledger(), &counts, /*rebuild=*/false);
    ASSERT_TRUE(runner.ok()) << runner.status();
    ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax));
    before = t.ledger().store().Dump(ProjectionFamily("stream_counts")).value();
  }
  ASSERT_FALSE(before.empty());
  // A stray row a rebuild must clear.
  {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch
                    .Put(t.ledger().store().family(ProjectionFamily("stream_counts")),
                         "count/stray", std::string(8, '\x01'))
                    .ok());
    ASSERT_TRUE(t.ledger().mutable_store().Write(batch).ok());
  }

  StreamCounts rebuilt;
  auto runner = CatchUpRunner::Start(t.ledger(), &rebuilt, /*rebuild=*/true);
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->WaitFor(head, kWaitMax)) << (*runner)->status();
  EXPECT_EQ(rebuilt.applied(), static_cast<int>(head));  // from seq 1 again
  auto after = t.ledger().store().Dump(ProjectionFamily("stream_counts"));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*after == before) << after->size() << " rows vs " << before.size();
}

}  // namespace
}  // namespace wattledger::ledger
