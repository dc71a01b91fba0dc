// Balances of every room at a given seq or campus day: not a stored
// projection but a state-only replay (ledger/replay.h) of events 1..seq into
// a scratch store with a fresh Campus, whose rooms are then read. Replay is
// exact, so these are the balances the live system held right after that
// seq committed. Events the ledger derives from a seq (its deductions or
// settlement) commit with it, so a seq includes the derived events after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/event_store.h"
#include "projections/campus_state.h"

namespace wattledger::projections::reports {

// `seq` extended over the derived events (DeductionsApplied, RefundSettled,
// ExchangeSettled) that follow it: the seq the state at `seq` is complete at.
absl::StatusOr<uint64_t> ThroughDerived(const ledger::EventStore& events, uint64_t seq);

// The seq of the last event appended before `time_us` (0 when none).
// Appended-at times never go backwards, so this is a binary search.
absl::StatusOr<uint64_t> LastSeqBefore(const ledger::EventStore& events, int64_t time_us);

struct Balances {
  uint64_t seq = 0;         // the state is that after this seq (derived events included)
  std::vector<Room> rooms;  // by room id
};

// Replays `events` through ThroughDerived(seq) into a new store created at
// `scratch_dir` (which must not exist; the caller removes it afterwards).
// kInvalidArgument when `seq` is past the head; kDataLoss when replay finds
// the log broken.
absl::StatusOr<Balances> BalancesAtSeq(const ledger::EventStore& events, uint64_t seq,
                                       const std::string& scratch_dir);

// As BalancesAtSeq, at the end of campus day `day` ("YYYY-MM-DD").
absl::StatusOr<Balances> BalancesAtDay(const ledger::EventStore& events, const std::string& day,
                                       const std::string& scratch_dir);

}  // namespace wattledger::projections::reports
