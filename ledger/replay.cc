#include "ledger/replay.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/internal/chain_break.h"
#include "ledger/internal/event_stager.h"
#include "ledger/key_registry.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

// Events read and committed per step: large enough to amortise the write,
// small enough that a chunk of reading batches (~8 KB each) stays a few MB.
constexpr uint64_t kReplayChunkEvents = 1024;

absl::Status Bad(uint64_t seq, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("replay: seq ", seq, ": ", why));
}

}  // namespace

absl::StatusOr<ReplaySummary> Replay(const EventStore& source, EventStore& target,
                                     const std::vector<InlineProjection*>& projections,
                                     const ReplayOptions& options) {
  KeyRegistry keys;
  std::vector<InlineProjection*> all{&keys};
  all.insert(all.end(), projections.begin(), projections.end());
  for (auto* projection : all) WL_RETURN_IF_ERROR(projection->Load(target));
  const bool full = options.mode == ReplayMode::kFull;
  internal::EventStager stager(
      &target, all,
      full ? internal::EventStager::Rows::kAll : internal::EventStager::Rows::kStateOnly);

  WL_ASSIGN_OR_RETURN(Head source_head, source.GetHead());
  uint64_t last = std::min(source_head.seq, options.to_seq);
  ReplaySummary summary;
  std::deque<std::string> expected_derived;
  for (uint64_t seq = 1; seq <= last;) {
    WL_ASSIGN_OR_RETURN(auto envelopes, source.ReadRange(seq, std::min<uint64_t>(kReplayChunkEvents,
                                                                                 last - seq + 1)));
    if (envelopes.empty()) return Bad(seq, "missing");
    rocksdb::WriteBatch batch;
    for (const std::string& bytes : envelopes) {
      auto envelope = full ? ParsedEnvelope::Parse(bytes, kEnvelopeBytesMax)
                           : ParsedEnvelope::ParseTrusted(bytes, kEnvelopeBytesMax);
      if (!envelope.ok()) return Bad(seq, envelope.status().message());
      auto reader = envelope->get();
      if (reader.getSeq() != seq) return Bad(seq, "out of order");
      Hash chain_hash{};
      if (full) {
        chain_hash = ChainHash(bytes);
        if (AsView(reader.getPrevHash()) !=
            absl::string_view(reinterpret_cast<const char*>(summary.head.chain_hash.data()), 32)) {
          // Name the altered event, not just where the damage shows.
          uint64_t altered = internal::AlteredAtBreak(source, source_head, seq, chain_hash);
          return altered == seq
                     ? Bad(seq, "the chain breaks")
                     : Bad(altered, "the event does not hash to what its successor holds");
        }
      }
      auto body = full ? ParsedBody::Parse(AsView(reader.getBody()), kEventBodyBytesMax)
                       : ParsedBody::ParseTrusted(AsView(reader.getBody()), kEventBodyBytesMax);
      if (!body.ok()) return Bad(seq, body.status().message());
      if (!expected_derived.empty()) {
        if (expected_derived.front() != AsView(reader.getBody())) {
          return Bad(seq, "differs from the event the rules derive here");
        }
        expected_derived.pop_front();
      }
      KeyId signer{};
      if (reader.getSignerKeyId().size() != 32) return Bad(seq, "bad signer key id");
      std::memcpy(signer.data(), reader.getSignerKeyId().begin(), 32);
      auto role = keys.Authorize(signer, body->get().which(), seq);
      if (!role.ok()) return Bad(seq, role.status().message());
      PendingEvent pending{.seq = seq,
                           .appended_at_us = reader.getAppendedAtUs(),
                           .signer = signer,
                           .signer_role = *role,
                           .body = body->get(),
                           .body_bytes = AsView(reader.getBody()),
                           .request_digest = full ? RequestDigest(body->get()) : Hash{}};
      absl::Status allowed = stager.Check(pending);
      if (!allowed.ok()) return Bad(seq, allowed.message());
      Applied applied = stager.Stage(batch, pending, bytes, chain_hash);
      for (auto& derived : applied.derived_bodies) expected_derived.push_back(std::move(derived));
      summary.head = Head{.seq = seq, .chain_hash = chain_hash};
      ++summary.events;
      ++seq;
    }
    // A state-only rebuild writes each changed row once, at the end; a full
    // replay commits as the live writer does, chunk by chunk.
    if (full || seq > last) stager.Flush(batch);
    if (full) target.StageHead(batch, summary.head);
    if (batch.Count() > 0) WL_RETURN_IF_ERROR(target.Write(batch));
  }
  // The last event has no successor to hold its hash: the stored head does.
  if (full && last == source_head.seq && summary.head.chain_hash != source_head.chain_hash) {
    return Bad(last, "the event does not hash to the stored head");
  }
  if (!expected_derived.empty()) return Bad(last + 1, "derived events are missing from the log");
  return summary;
}

}  // namespace wattledger::ledger
