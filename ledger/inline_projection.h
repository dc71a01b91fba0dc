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

// One event about to be committed at `seq`.
struct PendingEvent {
  uint64_t seq = 0;
  int64_t appended_at_us = 0;
  KeyId signer{};
  schema::Role signer_role = schema::Role::AUDITOR;
  schema::EventBody::Reader body;
  absl::string_view body_bytes;
  Hash request_digest{};  // RequestDigest(body): what idempotent retries must match
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

struct Applied {
  std::string result;  // returned to the caller and kept for idempotent retries
  // Canonical EventBody bytes derived from this event (e.g. deductions from a
  // reading batch). The ledger signs each with its own key and commits it
  // right after, in the same batch; replay checks the log holds exactly these.
  std::vector<std::string> derived_bodies;
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
  // per commit, replay once per chunk, so a row touched by many events in a
  // batch is written once.
  virtual void Flush(StateWriter& writer) { (void)writer; }
};

}  // namespace wattledger::ledger
