// Replay: rebuilds a store's derived data (stream index, idempotency index,
// inline projection state, head) from its events alone, by re-admitting every
// event under the same rules the live writer used, through the same staging
// code. Tests compare the result with the live store byte for byte. A full
// replay checks that the events a projection derives (deductions) are
// exactly the next events in the log. Two threads: one reads and parses
// (internal/replay_reader.h) while the caller's thread applies.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/inline_projection.h"

namespace wattledger::ledger {

enum class ReplayMode {
  // Re-encode-checks every event, recomputes the chain, and writes events,
  // both indexes and inline state: the target equals the live store.
  kFull,
  // Trusts the local store (the verifier and a full replay are what check
  // it) and rebuilds inline state only: how fast state comes back from
  // events. Derived events are records whose effect came with the event
  // they settle (inline_projection.h): the projections count them without
  // building them, and the replay skips them in the log unread.
  kStateOnly,
};

struct ReplayOptions {
  ReplayMode mode = ReplayMode::kFull;
  uint64_t to_seq = UINT64_MAX;
};

struct ReplaySummary {
  uint64_t events = 0;
  Head head;
};

// Replays `source` into the empty store `target`. `projections` are fresh
// domain projections (the key registry is built in). kDataLoss naming the seq
// when an event breaks the chain or is refused by the rules it was admitted
// under, or when the replay would stop between an event and those derived
// from it. summary.events counts skipped derived events too.
absl::StatusOr<ReplaySummary> Replay(const EventStore& source, EventStore& target,
                                     const std::vector<InlineProjection*>& projections,
                                     const ReplayOptions& options);

}  // namespace wattledger::ledger
