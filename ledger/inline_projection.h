// The seam between the ledger and the domain. An inline projection holds the
// state the writer needs to admit a command (key registry, balances) and is
// called only on the writer thread, in seq order, live and in replay alike.
// It must be deterministic: no clock, I/O or randomness; time comes from the
// event. The ledger calls Check on every projection, then Apply on every
// projection, so a refusal by any of them changes nothing.
#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/crypto.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::ledger {

class EventStore;

// What the caller of Apply uses besides the state change. The live writer
// and a full replay hand the result to the submitter and sign or compare the
// derived events, so they need both built. A state-only replay needs neither:
// it skips the derived events in the log unread (see Applied), so a
// projection may leave them unbuilt and only count them.
enum class ApplyOutputs : uint8_t {
  kAll,
  kStateOnly,
};

// One event about to be committed at `seq`.
struct PendingEvent {
  uint64_t seq = 0;
  int64_t appended_at_us = 0;
  KeyId signer{};
  schema::Role signer_role = schema::Role::AUDITOR;
  schema::EventBody::Reader body;
  absl::string_view body_bytes;
  Hash request_digest{};  // RequestDigest(body): what idempotent retries must match
  ApplyOutputs outputs = ApplyOutputs::kAll;
};

// Stages a projection's state rows into the commit's WriteBatch ("state"
// family, keys prefixed by the projection's name). A null store discards
// writes (the offline verifier keeps state in memory only).
class StateWriter {
 public:
  StateWriter(EventStore* store, rocksdb::WriteBatch* batch) : store_(store), batch_(batch) {}
  void Put(absl::string_view key, absl::string_view value);
  void Delete(absl::string_view key);

 private:
  EventStore* store_;
  rocksdb::WriteBatch* batch_;
};

// Derived events are records: applying the event they settle already made
// their whole effect on every inline projection, and applying them changes no
// state and derives nothing. That is what lets a state-only replay skip them
// without reading them.
struct Applied {
  std::string result;  // returned to the caller and kept for idempotent retries
  // Canonical EventBody bytes derived from this event (e.g. deductions from a
  // reading batch). The ledger signs each with its own key and commits it
  // right after, in the same batch; replay checks the log holds exactly these.
  std::vector<std::string> derived_bodies;
  // Under ApplyOutputs::kStateOnly: derived events counted but not built.
  // Always 0 under kAll. The log holds DerivedEvents() events right after
  // this one.
  uint32_t derived_unbuilt = 0;

  size_t DerivedEvents() const { return derived_bodies.size() + derived_unbuilt; }
};

class InlineProjection {
 public:
  virtual ~InlineProjection() = default;
  // Reads this projection's state from the store at open. Called once, before
  // any Check or Apply.
  virtual absl::Status Load(const EventStore& store) = 0;
  // Refuses `event` with a Status whose code tells the caller what to do
  // (kFailedPrecondition for a domain rule), or accepts it. Must not change
  // state.
  virtual absl::Status Check(const PendingEvent& event) const = 0;
  // Applies an accepted event to memory; it may stage state rows now, or
  // remember what changed and stage it in Flush.
  virtual Applied Apply(const PendingEvent& event, StateWriter& writer) = 0;
  // Stages the rows changed since the last Flush. The ledger calls it once
  // per commit, a full replay once per chunk and a state-only replay once at
  // the end, so a row touched by many events in between is written once.
  virtual void Flush(StateWriter& writer) { (void)writer; }
};

}  // namespace wattledger::ledger
