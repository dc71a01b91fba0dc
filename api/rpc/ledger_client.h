// A blocking client for rpc::Ledger, used by wattctl and tests. Each call
// runs the client's own event loop until the reply arrives; one client per
// thread. Transport failures (refused, reset) are kUnavailable; the server's
// refusals keep their own codes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/query/query.h"
#include "api/rpc/tls_config.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/ledger.h"

namespace wattledger::rpc {

struct RemoteHead {
  ledger::Head head;
  ledger::PublicKey ledger_public_key{};
};

struct RemoteKey {
  ledger::KeyId key_id{};
  ledger::PublicKey public_key{};
  ledger::Role role = ledger::Role::AUDITOR;
  std::string holder;
  bool revoked = false;
  uint64_t registered_seq = 0;
};

class LedgerClient {
 public:
  // Connects to host:port, over TLS when `tls.enabled()`. kUnavailable when
  // nothing answers.
  static absl::StatusOr<std::unique_ptr<LedgerClient>> Connect(const std::string& address,
                                                               const TlsFiles& tls = {});
  ~LedgerClient();

  absl::StatusOr<ledger::AppendResult> Submit(const ledger::SignedRequest& request);
  absl::StatusOr<std::vector<std::string>> Events(uint64_t from_seq, uint32_t limit);
  absl::StatusOr<std::vector<std::string>> StreamEvents(const std::string& stream,
                                                        uint64_t from_version, uint32_t limit);
  absl::StatusOr<RemoteHead> Head();
  absl::StatusOr<std::vector<std::string>> Checkpoints(uint64_t from_seq, uint32_t limit);
  absl::StatusOr<std::vector<RemoteKey>> Keys();

  // Opens a session for `key` (challenge, signature, authenticate); from
  // then on every call goes through it: the log's reads where the endpoint
  // needs a session, and Query. kUnauthenticated or kPermissionDenied when
  // the server refuses the key.
  absl::Status Authenticate(const ledger::SigningKey& key);
  // An operators' query (api/query/query.h) in the session;
  // kFailedPrecondition before Authenticate.
  absl::StatusOr<query::Answer> Query(const query::Query& query);
  // Follows the log from `from_seq` (catch-up, then live): `on_events` gets
  // each batch of envelopes in order and returns false to stop. Returns OK
  // when stopped or after `max` (InfiniteDuration: until stopped),
  // kUnavailable when the connection drops.
  absl::Status Follow(uint64_t from_seq,
                      const std::function<bool(const std::vector<std::string>&)>& on_events,
                      absl::Duration max);

 private:
  struct Impl;
  explicit LedgerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wattledger::rpc
