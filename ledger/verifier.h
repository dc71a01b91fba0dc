// The offline verifier: what a finance auditor runs over an exported log (or
// a data directory) without trusting the server. It checks, event by event:
// canonical encoding, gap-free seqs, the hash chain, every signature, that
// each signer's key was registered, unrevoked and allowed to sign that kind
// at that point in the log, that no (signer, idempotency key) repeats, that
// appended-at times never go backwards, and every signed checkpoint.
// Signatures are checked on `threads` threads; everything else in order.
//
// The first problem is reported as kDataLoss with a message starting
// "seq N:", naming the first event that is not what it should be.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "ledger/crypto.h"
#include "ledger/event_store.h"
#include "ledger/key_registry.h"

namespace wattledger::ledger {

struct VerifyOptions {
  // The trusted ledger key; unset: trust the key LedgerInitialized declares.
  std::optional<PublicKey> ledger_key;
  int threads = 2;
};

struct VerifySummary {
  uint64_t events = 0;
  uint64_t checkpoints = 0;
  uint64_t last_checkpoint_seq = 0;  // events after it are chained but not signed over
  Head head;
  PublicKey ledger_key{};
};

class Verifier {
 public:
  explicit Verifier(VerifyOptions options);
  ~Verifier();

  // All checkpoints are added before the events. kDataLoss for a malformed one.
  absl::Status AddCheckpoint(absl::string_view canonical_checkpoint);
  // The next envelopes in seq order, from seq 1. Stops at the first problem.
  absl::Status AddEnvelopes(const std::vector<std::string>& envelopes);
  // Waits for the signatures still being checked; kDataLoss naming the first
  // bad one. Call before reporting a problem found outside the verifier (a
  // torn export file), so an earlier bad signature is reported first.
  absl::Status CheckPendingSignatures();
  // kDataLoss when a checkpoint lies past the last event or a chain break is
  // still unresolved; otherwise the summary.
  absl::StatusOr<VerifySummary> Finish();

 private:
  struct SignatureJob {
    uint64_t seq;
    std::shared_ptr<const VerifyingKey> key;
    std::string message;
    Signature signature;
  };
  class SignaturePool;
  absl::Status CheckOne(absl::string_view bytes, std::vector<SignatureJob>& jobs);
  // Waits for every queued signature; the first bad one's seq, if any.
  std::optional<uint64_t> DrainSignatures();
  absl::Status CheckCheckpointAt(uint64_t seq, const Hash& hash);

  VerifyOptions options_;
  std::unique_ptr<SignaturePool> pool_;  // checks signatures while we check the rest
  VerifySummary summary_;
  KeyRegistry keys_;
  std::map<uint64_t, std::pair<Hash, Signature>> checkpoints_;
  absl::flat_hash_set<std::array<uint8_t, 16>> idempotency_seen_;
  int64_t last_appended_us_ = 0;
  // A chain break found at seq `unresolved_break_`: blame that event if its
  // own successor does not link to it either, else its predecessor.
  uint64_t unresolved_break_ = 0;
  absl::Status failed_;
};

// Verifies a whole store (primary, secondary or read-only).
absl::StatusOr<VerifySummary> VerifyStore(const EventStore& store, const VerifyOptions& options);

}  // namespace wattledger::ledger
