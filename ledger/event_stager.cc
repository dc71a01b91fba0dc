#include "ledger/internal/event_stager.h"

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger::internal {

absl::Status EventStager::Check(const PendingEvent& pending) const {
  absl::Status status;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 for (auto* projection : projections_) {
                   status = projection->Check(pending);
                   if (!status.ok()) return;
                 }
               })) {
    return absl::InvalidArgumentError(
        absl::StrCat("the event cannot be read: ", exception->getDescription().cStr()));
  }
  return status;
}

void EventStager::Flush(rocksdb::WriteBatch& batch) {
  StateWriter writer(store_, &batch);
  for (auto* projection : projections_) projection->Flush(writer);
}

absl::StatusOr<uint64_t> EventStager::StreamVersion(const std::string& stream) {
  auto it = stream_versions_.find(stream);
  if (it != stream_versions_.end()) return it->second;
  WL_ASSIGN_OR_RETURN(uint64_t stored, store_->StreamVersion(stream));
  stream_versions_.emplace(stream, stored);
  return stored;
}

Applied EventStager::Stage(rocksdb::WriteBatch& batch, const PendingEvent& pending,
                           absl::string_view envelope_bytes, const Hash& chain_hash) {
  auto body = pending.body;
  if (rows_ == Rows::kAll) store_->StageEvent(batch, pending.seq, envelope_bytes);
  if (rows_ != Rows::kStateOnly) {
    std::string stream(body.getStream().cStr(), body.getStream().size());
    auto version = StreamVersion(stream);
    WL_CHECK(version.ok());
    store_->StageStreamIndex(batch, stream, *version + 1, pending.seq);
    stream_versions_[stream] = *version + 1;
  }

  StateWriter writer(store_, &batch);
  Applied applied;
  for (auto* projection : projections_) {
    Applied one = projection->Apply(pending, writer);
    if (!one.result.empty()) applied.result = std::move(one.result);
    for (auto& derived : one.derived_bodies) applied.derived_bodies.push_back(std::move(derived));
    applied.derived_unbuilt += one.derived_unbuilt;
  }
  WL_CHECK(pending.outputs == ApplyOutputs::kStateOnly || applied.derived_unbuilt == 0);
  if (rows_ == Rows::kStateOnly) return applied;
  absl::string_view key(body.getIdempotencyKey().cStr(), body.getIdempotencyKey().size());
  store_->StageIdempotency(batch, pending.signer, key,
                           IdempotencyRecord{.seq = pending.seq,
                                             .request_digest = pending.request_digest,
                                             .chain_hash = chain_hash,
                                             .result = applied.result});
  return applied;
}

}  // namespace wattledger::ledger::internal
