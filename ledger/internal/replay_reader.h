// The reading half of a replay: a thread that reads the source's events in
// seq order, copies each once into an 8-byte aligned chunk and parses it
// there (and, for a full replay, checks its canonical form and hashes it),
// while the replay applies the chunk before on its own thread.
//
// In a state-only replay it also passes over, unread, the derived events
// that follow an event (most of a campus log's bytes): it learns from
// Derived() how many events of each kind derive, and skips that many after
// the next one only while every event of the kind has derived the same
// number. The replay owns the truth: it drops derived events the reader
// delivered anyway, and calls RestartAt when the reader skipped too far.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/roles.h"

namespace wattledger::ledger::internal {

// kDataLoss "replay: seq N: why": how a replay names the event it stopped at.
absl::Status ReplayDataLoss(uint64_t seq, absl::string_view why);

// One event as the reader parsed it; views into its chunk.
struct ReadEvent {
  uint64_t seq = 0;
  absl::string_view envelope_bytes;
  ParsedEnvelope envelope;
  ParsedBody body;
  Hash chain_hash{};      // H(seq); computed only when options.full
  Hash request_digest{};  // RequestDigest(body); computed only when options.full
};

// Events read in one go, then where the reader stands after them.
struct ReadChunk {
  std::vector<ReadEvent> events;
  // The seq the reader reads next. With `status` not OK it could not read
  // that seq (kDataLoss "replay: seq N: ..." naming it, or a store error) and
  // stopped; with OK and next_seq past the last seq, the range is done.
  uint64_t next_seq = 0;
  absl::Status status;

 private:
  friend class ReplayReader;
  uint64_t generation_ = 0;
  kj::Array<capnp::word> arena_;  // the events' bytes
  size_t arena_used_words_ = 0;
};

struct ReplayReaderOptions {
  uint64_t from_seq = 1;
  uint64_t last_seq = 0;
  // Full replay: check canonical form, hash every envelope, compute request
  // digests, and never skip. Otherwise trust the bytes and skip derived events.
  bool full = true;
};

class ReplayReader {
 public:
  // Starts the reading thread. `source` must outlive the reader.
  ReplayReader(const EventStore& source, ReplayReaderOptions options);
  ~ReplayReader();  // stops and joins the thread
  ReplayReader(const ReplayReader&) = delete;
  ReplayReader& operator=(const ReplayReader&) = delete;

  // The next chunk in order; blocks until the reader has one. Never call it
  // again after a chunk with a non-OK status or past the last seq without a
  // RestartAt in between.
  std::unique_ptr<ReadChunk> Next();
  // Gives a chunk's memory back for reuse. Its events must no longer be used.
  void Recycle(std::unique_ptr<ReadChunk> chunk);
  // The replay applied an event of `kind` and the rules derived `count`
  // events after it (state-only replays).
  void Derived(EventKind kind, size_t count);
  // Drops every chunk not yet returned and reads again from `seq`, skipping
  // nothing after events of a kind that derived `count` differently.
  void RestartAt(uint64_t seq);

 private:
  // Per kind: kUnknown, kUnstable, or the number of events every event of
  // that kind derived so far.
  static constexpr int32_t kUnknown = -1;
  static constexpr int32_t kUnstable = -2;
  static constexpr size_t kKindsTracked = 64;
  static constexpr size_t kChunksQueuedMax = 3;

  void Loop();
  // Fills `chunk` from `position_` on, until it is full, the range is done,
  // or an event cannot be read.
  void Fill(ReadChunk& chunk);
  // Reads, copies and parses the event at `position_` into `chunk`; false
  // (with chunk.status set) when it cannot, or when the chunk is full.
  bool ReadOne(ReadChunk& chunk);
  uint64_t SkipAfter(EventKind kind) const;
  std::unique_ptr<ReadChunk> TakeFreeChunk();

  const EventStore& source_;
  const ReplayReaderOptions options_;
  std::unique_ptr<EventCursor> cursor_;  // reading thread only
  uint64_t position_ = 0;                // reading thread only: the seq to read next
  std::array<std::atomic<int32_t>, kKindsTracked> derived_by_kind_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t restart_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::unique_ptr<ReadChunk>> queued_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<ReadChunk>> free_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace wattledger::ledger::internal
