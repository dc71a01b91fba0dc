#include "ledger/replay.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/internal/chain_break.h"
#include "ledger/internal/event_stager.h"
#include "ledger/internal/replay_reader.h"
#include "ledger/key_registry.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

using internal::ReplayDataLoss;

// The applying half of a replay (the reading half is internal::ReplayReader,
// on its own thread): every event goes through the same admission and
// staging code the live writer uses, in seq order.
class Replayer {
 public:
  // `projections` are fresh; the key registry comes first, built in.
  Replayer(const EventStore& source, EventStore& target, const Head& source_head,
           const std::vector<InlineProjection*>& projections, const ReplayOptions& options)
      : source_(source),
        target_(target),
        source_head_(source_head),
        full_(options.mode == ReplayMode::kFull),
        last_(std::min(source_head.seq, options.to_seq)),
        projections_(WithKeys(&keys_, projections)),
        stager_(
            &target, projections_,
            full_ ? internal::EventStager::Rows::kAll : internal::EventStager::Rows::kStateOnly) {}

  absl::StatusOr<ReplaySummary> Run();

 private:
  static std::vector<InlineProjection*> WithKeys(KeyRegistry* keys,
                                                 const std::vector<InlineProjection*>& rest) {
    std::vector<InlineProjection*> all{keys};
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
  }

  // Admits and stages `event`, the next one. Returns how many derived events
  // follow it that a state-only replay skips.
  absl::StatusOr<size_t> ApplyOne(const internal::ReadEvent& event, rocksdb::WriteBatch& batch);

  const EventStore& source_;
  EventStore& target_;
  const Head source_head_;
  const bool full_;
  const uint64_t last_;
  KeyRegistry keys_;
  const std::vector<InlineProjection*> projections_;
  internal::EventStager stager_;
  ReplaySummary summary_;
  // Full replay: the derived bodies the rules produced, which the log must
  // hold next, in order.
  std::deque<std::string> expected_derived_;
};

absl::StatusOr<ReplaySummary> Replayer::Run() {
  for (auto* projection : projections_) WL_RETURN_IF_ERROR(projection->Load(target_));
  internal::ReplayReader reader(source_, {.from_seq = 1, .last_seq = last_, .full = full_});
  uint64_t seq = 1;              // the next event to apply
  uint64_t skipped_through = 0;  // state-only: derived events up to here are skipped
  while (seq <= last_) {
    std::unique_ptr<internal::ReadChunk> chunk = reader.Next();
    rocksdb::WriteBatch batch;
    bool skipped_too_far = false;
    for (const internal::ReadEvent& event : chunk->events) {
      if (event.seq < seq) {  // a derived event the reader did not skip
        WL_CHECK(!full_ && event.seq <= skipped_through);
        continue;
      }
      if (event.seq > seq) {
        skipped_too_far = true;
        break;
      }
      WL_ASSIGN_OR_RETURN(size_t derived, ApplyOne(event, batch));
      WL_CHECK(!full_ || derived == 0);  // a full replay reads and compares derived events
      if (!full_) reader.Derived(event.body.get().which(), derived);
      if (derived > 0) {
        // The live writer commits derived events with their source: a log
        // that ends (or a replay that stops) between them lacks some.
        if (seq + derived > last_) {
          return ReplayDataLoss(last_ + 1, "derived events are missing from the log");
        }
        skipped_through = seq + derived;
        summary_.events += derived;
      }
      seq += 1 + derived;
    }
    // A state-only rebuild writes each changed row once, at the end; a full
    // replay commits as the live writer does, chunk by chunk.
    if (full_ || seq > last_) stager_.Flush(batch);
    if (full_) target_.StageHead(batch, summary_.head);
    if (batch.Count() > 0) WL_RETURN_IF_ERROR(target_.Write(batch));

    const uint64_t reader_next = chunk->next_seq;
    absl::Status read_status = chunk->status;
    reader.Recycle(std::move(chunk));
    if (seq > last_) break;
    if (skipped_too_far || reader_next > seq) {
      // It passed over events that were not derived here: read them.
      reader.RestartAt(seq);
    } else if (!read_status.ok()) {
      if (reader_next == seq) return read_status;
      reader.RestartAt(seq);  // it failed on a derived event this replay skips
    }
  }
  // The last event has no successor to hold its hash: the stored head does.
  if (full_ && last_ == source_head_.seq && summary_.head.chain_hash != source_head_.chain_hash) {
    return ReplayDataLoss(last_, "the event does not hash to the stored head");
  }
  if (!expected_derived_.empty()) {
    return ReplayDataLoss(last_ + 1, "derived events are missing from the log");
  }
  summary_.head.seq = last_;
  return summary_;
}

absl::StatusOr<size_t> Replayer::ApplyOne(const internal::ReadEvent& event,
                                          rocksdb::WriteBatch& batch) {
  const uint64_t seq = event.seq;
  auto reader = event.envelope.get();
  if (reader.getSeq() != seq) return ReplayDataLoss(seq, "out of order");
  if (full_ &&
      AsView(reader.getPrevHash()) !=
          absl::string_view(reinterpret_cast<const char*>(summary_.head.chain_hash.data()), 32)) {
    // Name the altered event, not just where the damage shows.
    uint64_t altered = internal::AlteredAtBreak(source_, source_head_, seq, event.chain_hash);
    return altered == seq
               ? ReplayDataLoss(seq, "the chain breaks")
               : ReplayDataLoss(altered, "the event does not hash to what its successor holds");
  }
  const absl::string_view body_bytes = event.body.bytes();
  if (!expected_derived_.empty()) {
    if (expected_derived_.front() != body_bytes) {
      return ReplayDataLoss(seq, "differs from the event the rules derive here");
    }
    expected_derived_.pop_front();
  }
  KeyId signer{};
  if (reader.getSignerKeyId().size() != 32) return ReplayDataLoss(seq, "bad signer key id");
  std::memcpy(signer.data(), reader.getSignerKeyId().begin(), 32);
  auto role = keys_.Authorize(signer, event.body.get().which(), seq);
  if (!role.ok()) return ReplayDataLoss(seq, role.status().message());
  PendingEvent pending{.seq = seq,
                       .appended_at_us = reader.getAppendedAtUs(),
                       .signer = signer,
                       .signer_role = *role,
                       .body = event.body.get(),
                       .body_bytes = body_bytes,
                       .request_digest = event.request_digest,
                       .outputs = full_ ? ApplyOutputs::kAll : ApplyOutputs::kStateOnly};
  absl::Status allowed = stager_.Check(pending);
  if (!allowed.ok()) return ReplayDataLoss(seq, allowed.message());
  Applied applied = stager_.Stage(batch, pending, event.envelope_bytes, event.chain_hash);
  summary_.head = Head{.seq = seq, .chain_hash = event.chain_hash};
  ++summary_.events;
  if (full_) {
    for (auto& derived : applied.derived_bodies) expected_derived_.push_back(std::move(derived));
    return 0;
  }
  return applied.DerivedEvents();
}

}  // namespace

absl::StatusOr<ReplaySummary> Replay(const EventStore& source, EventStore& target,
                                     const std::vector<InlineProjection*>& projections,
                                     const ReplayOptions& options) {
  WL_ASSIGN_OR_RETURN(Head source_head, source.GetHead());
  return Replayer(source, target, source_head, projections, options).Run();
}

}  // namespace wattledger::ledger
