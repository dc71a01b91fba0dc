#include "ledger/internal/replay_reader.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger::internal {
namespace {

// A chunk holds at most this many events and bytes; the arena takes the
// largest envelope, so every event fits in an empty chunk.
constexpr size_t kChunkEventsMax = 1024;
constexpr size_t kChunkArenaWords = (2 << 20) / sizeof(capnp::word);
static_assert(kChunkArenaWords * sizeof(capnp::word) >= kEnvelopeBytesMax);

size_t WordsFor(size_t bytes) { return (bytes + sizeof(capnp::word) - 1) / sizeof(capnp::word); }

}  // namespace

absl::Status ReplayDataLoss(uint64_t seq, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("replay: seq ", seq, ": ", why));
}

ReplayReader::ReplayReader(const EventStore& source, ReplayReaderOptions options)
    : source_(source), options_(options) {
  for (auto& count : derived_by_kind_) count.store(kUnknown, std::memory_order_relaxed);
  {
    absl::MutexLock lock(&mu_);
    generation_ = 1;
    restart_seq_ = options_.from_seq;
  }
  thread_ = std::thread([this]() { Loop(); });
}

ReplayReader::~ReplayReader() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

std::unique_ptr<ReadChunk> ReplayReader::Next() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queued_.empty(); };
  mu_.Await(absl::Condition(&ready));
  std::unique_ptr<ReadChunk> chunk = std::move(queued_.front());
  queued_.pop_front();
  WL_CHECK(chunk->generation_ == generation_);
  return chunk;
}

void ReplayReader::Recycle(std::unique_ptr<ReadChunk> chunk) {
  chunk->events.clear();  // releases the parsed messages outside the lock
  absl::MutexLock lock(&mu_);
  free_.push_back(std::move(chunk));
}

void ReplayReader::Derived(EventKind kind, size_t count) {
  auto index = static_cast<size_t>(kind);
  if (index >= kKindsTracked) return;
  std::atomic<int32_t>& known = derived_by_kind_[index];
  int32_t before = known.load(std::memory_order_relaxed);
  if (before == kUnstable || before == static_cast<int32_t>(count)) return;
  // A second, different count makes the kind unpredictable for good.
  int32_t after =
      before == kUnknown && count <= kChunkEventsMax ? static_cast<int32_t>(count) : kUnstable;
  known.store(after, std::memory_order_relaxed);
}

void ReplayReader::RestartAt(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  ++generation_;
  restart_seq_ = seq;
  for (auto& chunk : queued_) {
    chunk->events.clear();
    free_.push_back(std::move(chunk));
  }
  queued_.clear();
}

uint64_t ReplayReader::SkipAfter(EventKind kind) const {
  if (options_.full) return 0;
  auto index = static_cast<size_t>(kind);
  if (index >= kKindsTracked) return 0;
  int32_t count = derived_by_kind_[index].load(std::memory_order_relaxed);
  return count > 0 ? static_cast<uint64_t>(count) : 0;
}

std::unique_ptr<ReadChunk> ReplayReader::TakeFreeChunk() {
  if (free_.empty()) {
    auto chunk = std::make_unique<ReadChunk>();
    chunk->arena_ = kj::heapArray<capnp::word>(kChunkArenaWords);
    std::memset(chunk->arena_.begin(), 0, chunk->arena_.asBytes().size());
    chunk->events.reserve(kChunkEventsMax);
    return chunk;
  }
  std::unique_ptr<ReadChunk> chunk = std::move(free_.back());
  free_.pop_back();
  return chunk;
}

void ReplayReader::Loop() {
  cursor_ = source_.NewCursor();
  uint64_t generation = 0;
  bool reading = false;  // false once the range is done or a read failed
  for (;;) {
    std::unique_ptr<ReadChunk> chunk;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || generation_ != generation || (reading && queued_.size() < kChunksQueuedMax);
      };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      if (generation_ != generation) {
        generation = generation_;
        position_ = restart_seq_;
        reading = true;
      }
      chunk = TakeFreeChunk();
    }
    chunk->generation_ = generation;
    Fill(*chunk);
    reading = chunk->status.ok() && position_ <= options_.last_seq;
    absl::MutexLock lock(&mu_);
    if (generation_ == generation) {
      queued_.push_back(std::move(chunk));
    } else {  // restarted while reading: this chunk is stale
      chunk->events.clear();
      free_.push_back(std::move(chunk));
    }
  }
}

void ReplayReader::Fill(ReadChunk& chunk) {
  chunk.events.clear();
  chunk.arena_used_words_ = 0;
  chunk.status = absl::OkStatus();
  while (position_ <= options_.last_seq && chunk.events.size() < kChunkEventsMax) {
    if (!ReadOne(chunk)) break;
  }
  chunk.next_seq = position_;
}

bool ReplayReader::ReadOne(ReadChunk& chunk) {
  // Next is cheapest from the event before; anything else is a seek, which
  // passes over skipped events without reading their blocks.
  if (!cursor_->Valid() || cursor_->seq() != position_) {
    if (cursor_->Valid() && cursor_->seq() + 1 == position_) {
      cursor_->Next();
    } else {
      cursor_->Seek(position_);
    }
  }
  if (!cursor_->Valid()) {
    absl::Status status = cursor_->status();
    chunk.status = status.ok() ? ReplayDataLoss(position_, "missing") : status;
    return false;
  }
  if (cursor_->seq() != position_) {
    chunk.status = ReplayDataLoss(position_, "missing");
    return false;
  }
  absl::string_view stored = cursor_->envelope();
  if (stored.size() > kEnvelopeBytesMax) {
    chunk.status =
        ReplayDataLoss(position_, absl::StrCat("message of ", stored.size(),
                                               " bytes is over the limit of ", kEnvelopeBytesMax));
    return false;
  }
  const size_t words = WordsFor(stored.size());
  if (chunk.arena_used_words_ + words > chunk.arena_.size()) return false;  // the next chunk
  char* copy = reinterpret_cast<char*>(chunk.arena_.begin() + chunk.arena_used_words_);
  std::memcpy(copy, stored.data(), stored.size());
  chunk.arena_used_words_ += words;
  absl::string_view bytes(copy, stored.size());

  auto envelope = options_.full ? ParsedEnvelope::ParseInPlace(bytes, kEnvelopeBytesMax)
                                : ParsedEnvelope::ParseTrustedInPlace(bytes, kEnvelopeBytesMax);
  if (!envelope.ok()) {
    chunk.status = ReplayDataLoss(position_, envelope.status().message());
    return false;
  }
  // A trusted envelope was not traversed: reading its body may throw.
  absl::string_view body_bytes;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions(
                              [&]() { body_bytes = AsView(envelope->get().getBody()); })) {
    chunk.status = ReplayDataLoss(position_, exception->getDescription().cStr());
    return false;
  }
  // The body lies inside the envelope's aligned copy, at a word boundary.
  auto body = options_.full ? ParsedBody::ParseInPlace(body_bytes, kEventBodyBytesMax)
                            : ParsedBody::ParseTrustedInPlace(body_bytes, kEventBodyBytesMax);
  if (!body.ok()) {
    chunk.status = ReplayDataLoss(position_, body.status().message());
    return false;
  }
  ReadEvent& event = chunk.events.emplace_back();
  event.seq = position_;
  event.envelope_bytes = bytes;
  event.envelope = *std::move(envelope);
  event.body = *std::move(body);
  if (options_.full) {
    event.chain_hash = ChainHash(bytes);
    event.request_digest = RequestDigest(event.body.get());
  }
  position_ += 1 + SkipAfter(event.body.get().which());
  return true;
}

}  // namespace wattledger::ledger::internal
