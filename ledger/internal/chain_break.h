// Which event a break in a stored hash chain names. Opening the ledger and
// replay both recheck a store's chain; they blame the same event the offline
// verifier does, so an operator is pointed at the event that was altered, not
// just at the first place the damage shows.
#pragma once

#include <cstdint>

#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/limits.h"

namespace wattledger::ledger::internal {

// The chain breaks between seq - 1 and seq: seq's prev hash is not H(seq - 1)
// as stored. Either seq - 1's bytes or seq's prev hash were altered. seq's
// successor, or the stored head hash when seq is the head, tells which: if
// it still holds H(seq) (`hash_of_seq`), seq is intact and seq - 1 was
// altered. Returns seq - 1 or seq.
inline uint64_t AlteredAtBreak(const EventStore& store, const Head& head, uint64_t seq,
                               const Hash& hash_of_seq) {
  if (seq == head.seq) return hash_of_seq == head.chain_hash ? seq - 1 : seq;
  auto next = store.GetEvent(seq + 1);
  if (!next.ok()) return seq;
  auto parsed = ParsedEnvelope::Parse(*next, kEnvelopeBytesMax);
  if (!parsed.ok()) return seq;
  return AsView(parsed->get().getPrevHash()) ==
                 absl::string_view(reinterpret_cast<const char*>(hash_of_seq.data()), 32)
             ? seq - 1
             : seq;
}

}  // namespace wattledger::ledger::internal
