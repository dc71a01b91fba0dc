// Stages one event that has its seq and envelope into a commit: the event
// row, its stream index entry, its idempotency record and the inline
// projections' state. The live writer and replay both go through here, so a
// replayed store is byte-for-byte the live one. Writer thread only.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ledger/event_store.h"
#include "ledger/inline_projection.h"

namespace wattledger::ledger::internal {

class EventStager {
 public:
  enum class Rows {
    kAll,        // event row, stream index, idempotency record, projection state
    kIndexes,    // all but the event row (a replay next to the events it reads)
    kStateOnly,  // projection state only (a fast rebuild of state)
  };
  EventStager(EventStore* store, std::vector<InlineProjection*> projections, Rows rows = Rows::kAll)
      : store_(store), projections_(std::move(projections)), rows_(rows) {}

  // Calls every projection's Check; the first refusal is returned. A
  // Cap'n Proto exception while reading the event is a refusal too.
  absl::Status Check(const PendingEvent& pending) const;
  // Stages the event and applies it to every projection.
  Applied Stage(rocksdb::WriteBatch& batch, const PendingEvent& pending,
                absl::string_view envelope_bytes, const Hash& chain_hash);
  // Stages every projection's changed rows (once per commit).
  void Flush(rocksdb::WriteBatch& batch);
  // Current version of `stream`, counting what was staged.
  absl::StatusOr<uint64_t> StreamVersion(const std::string& stream);

 private:
  EventStore* store_;
  std::vector<InlineProjection*> projections_;
  Rows rows_;
  absl::flat_hash_map<std::string, uint64_t> stream_versions_;
};

}  // namespace wattledger::ledger::internal
