// The registry of signing keys, built from LedgerInitialized, KeyRegistered
// and KeyRevoked events: who may sign, in which role, and whether the key is
// revoked. It is the inline projection the ledger admits requests with, and
// the offline verifier replays the same rules over an exported log.
//
// Lookups (Find) are thread-safe; Check/Apply/Load run on one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ledger/crypto.h"
#include "ledger/inline_projection.h"
#include "ledger/roles.h"

namespace wattledger::ledger {

struct KeyEntry {
  std::shared_ptr<const VerifyingKey> key;
  Role role = Role::AUDITOR;
  bool revoked = false;
  std::string holder;
  uint64_t registered_seq = 0;
};

class KeyRegistry final : public InlineProjection {
 public:
  // The key (and role) that signed `event`, if it may sign it at this seq:
  // kUnauthenticated for an unknown key, kPermissionDenied for a revoked key
  // or a role that may not issue this kind. Genesis is the one exception:
  // seq 1 is LedgerInitialized signed by the key it declares, and seq 2
  // registers the first admin key, signed by the ledger key.
  absl::StatusOr<Role> Authorize(const KeyId& signer, EventKind kind, uint64_t seq) const;

  // The verifying key for `signer`, revoked or not; nullopt when unknown.
  std::shared_ptr<const VerifyingKey> FindKey(const KeyId& signer) const;
  std::optional<KeyEntry> Find(const KeyId& signer) const;
  std::vector<std::pair<KeyId, KeyEntry>> List() const;

  absl::Status Load(const EventStore& store) override;
  absl::Status Check(const PendingEvent& event) const override;
  Applied Apply(const PendingEvent& event, StateWriter& writer) override;

 private:
  std::string EncodeEntry(const KeyEntry& entry) const;
  size_t ActiveAdminsLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<KeyId, KeyEntry> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wattledger::ledger
