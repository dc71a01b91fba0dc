// Replay: rebuilds a store's derived data (stream index, idempotency index,
// inline projection state, head) from its events alone, by re-admitting every
// event under the same rules the live writer used, through the same staging
// code. Tests compare the result with the live store byte for byte; events a
// projection derives (deductions) must be exactly the next events in the log.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "ledger/inline_projection.h"

namespace wattledger::ledger {

struct ReplayOptions {
  bool check_chain = true;   // recompute every H(n) and check prev hashes
  bool copy_events = true;   // also write the events family into the target
  uint64_t to_seq = UINT64_MAX;
};

struct ReplaySummary {
  uint64_t events = 0;
  Head head;
};

// Replays `source` into the empty store `target`. `projections` are fresh
// domain projections (the key registry is built in). kDataLoss naming the seq
// when an event breaks the chain or is refused by the rules it was admitted
// under.
absl::StatusOr<ReplaySummary> Replay(const EventStore& source, EventStore& target,
                                     const std::vector<InlineProjection*>& projections,
                                     const ReplayOptions& options);

}  // namespace wattledger::ledger
