#include "api/rpc/ledger_client.h"

#include "absl/strings/str_cat.h"
#include "api/rpc/ledger.capnp.h"
#include "api/rpc/rpc_connection.h"
#include "api/rpc/session_proof.h"
#include "api/rpc/status_convert.h"
#include "api/rpc/wire.h"

namespace wattledger::rpc {
namespace {

using ledger::AsData;

std::vector<std::string> DataList(capnp::List<capnp::Data>::Reader list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto item : list) out.push_back(ledger::ToString(item));
  return out;
}

}  // namespace

struct LedgerClient::Impl {
  explicit Impl(std::unique_ptr<RpcConnection> connection_in)
      : connection(std::move(connection_in)), ledger(connection->Bootstrap<Ledger>()) {}
  kj::WaitScope& wait_scope() { return connection->wait_scope(); }
  std::unique_ptr<RpcConnection> connection;
  Ledger::Client ledger;  // the session once authenticated
  kj::Maybe<Session::Client> session;
};

LedgerClient::LedgerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LedgerClient::~LedgerClient() = default;

absl::StatusOr<std::unique_ptr<LedgerClient>> LedgerClient::Connect(const std::string& address,
                                                                    const TlsFiles& tls) {
  auto connection = RpcConnection::Connect(address, tls);
  if (!connection.ok()) return connection.status();
  auto impl = std::make_unique<Impl>(std::move(*connection));
  std::unique_ptr<LedgerClient> client(new LedgerClient(std::move(impl)));
  auto head = client->Head();  // fail fast when nothing listens
  if (!head.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach wattd at ", address, ": ", head.status().message()));
  }
  return client;
}

absl::StatusOr<ledger::AppendResult> LedgerClient::Submit(const ledger::SignedRequest& request) {
  return GuardRpc([&]() -> absl::StatusOr<ledger::AppendResult> {
    auto call = impl_->ledger.submitRequest();
    auto out = call.initRequest();
    out.setBody(AsData(request.body));
    out.setSignerKeyId(AsData(absl::MakeConstSpan(request.signer_key_id)));
    out.setSignature(AsData(absl::MakeConstSpan(request.signature)));
    if (request.expected_stream_version.has_value()) {
      out.setExpectedStreamVersion(static_cast<int64_t>(*request.expected_stream_version));
    }
    auto response = call.send().wait(impl_->wait_scope());
    auto outcome = response.getOutcome();
    absl::Status status = ToStatus(outcome.getStatus());
    if (!status.ok()) return status;
    uint64_t events = outcome.getEvents().size();
    return ledger::AppendResult{.seq = outcome.getSeq(),
                                .chain_hash = FixedBytes<32>(outcome.getChainHash()),
                                .result = ledger::ToString(outcome.getResult()),
                                .duplicate = outcome.getDuplicate(),
                                .derived = events > 0 ? events - 1 : 0};
  });
}

absl::StatusOr<std::vector<std::string>> LedgerClient::Events(uint64_t from_seq, uint32_t limit) {
  return GuardRpc([&]() -> absl::StatusOr<std::vector<std::string>> {
    auto call = impl_->ledger.eventsRequest();
    call.setFromSeq(from_seq);
    call.setLimit(limit);
    return DataList(call.send().wait(impl_->wait_scope()).getEnvelopes());
  });
}

absl::StatusOr<std::vector<std::string>> LedgerClient::StreamEvents(const std::string& stream,
                                                                    uint64_t from_version,
                                                                    uint32_t limit) {
  return GuardRpc([&]() -> absl::StatusOr<std::vector<std::string>> {
    auto call = impl_->ledger.streamEventsRequest();
    call.setStream(stream);
    call.setFromVersion(from_version);
    call.setLimit(limit);
    return DataList(call.send().wait(impl_->wait_scope()).getEnvelopes());
  });
}

absl::StatusOr<RemoteHead> LedgerClient::Head() {
  return GuardRpc([&]() -> absl::StatusOr<RemoteHead> {
    auto response = impl_->ledger.headRequest().send().wait(impl_->wait_scope());
    RemoteHead head;
    head.head.seq = response.getSeq();
    head.head.chain_hash = FixedBytes<32>(response.getChainHash());
    head.ledger_public_key = FixedBytes<32>(response.getLedgerPublicKey());
    return head;
  });
}

absl::StatusOr<std::vector<std::string>> LedgerClient::Checkpoints(uint64_t from_seq,
                                                                   uint32_t limit) {
  return GuardRpc([&]() -> absl::StatusOr<std::vector<std::string>> {
    auto call = impl_->ledger.checkpointsRequest();
    call.setFromSeq(from_seq);
    call.setLimit(limit);
    return DataList(call.send().wait(impl_->wait_scope()).getCheckpoints());
  });
}

absl::StatusOr<std::vector<RemoteKey>> LedgerClient::Keys() {
  return GuardRpc([&]() -> absl::StatusOr<std::vector<RemoteKey>> {
    auto response = impl_->ledger.keysRequest().send().wait(impl_->wait_scope());
    std::vector<RemoteKey> out;
    for (auto info : response.getKeys()) {
      out.push_back(RemoteKey{.key_id = FixedBytes<32>(info.getKeyId()),
                              .public_key = FixedBytes<32>(info.getPublicKey()),
                              .role = info.getRole(),
                              .holder = info.getHolder().cStr(),
                              .revoked = info.getRevoked(),
                              .registered_seq = info.getRegisteredSeq()});
    }
    return out;
  });
}

absl::Status LedgerClient::Authenticate(const ledger::SigningKey& key) {
  return GuardRpc([&]() -> absl::Status {
    auto challenge = impl_->ledger.challengeRequest().send().wait(impl_->wait_scope());
    std::string nonce = ledger::ToString(challenge.getNonce());
    ledger::Signature signature = key.Sign(ledger::AsBytes(SessionProofMessage(nonce)));
    auto call = impl_->ledger.authenticateRequest();
    ledger::KeyId key_id = key.key_id();
    call.setKeyId(AsData(absl::MakeConstSpan(key_id)));
    call.setNonce(AsData(nonce));
    call.setSignature(AsData(absl::MakeConstSpan(signature)));
    auto response = call.send().wait(impl_->wait_scope());
    absl::Status status = ToStatus(response.getStatus());
    if (!status.ok()) return status;
    Session::Client session = response.getSession();
    impl_->ledger = session;
    impl_->session = kj::mv(session);
    return absl::OkStatus();
  });
}

absl::StatusOr<query::Answer> LedgerClient::Query(const query::Query& query) {
  Session::Client* session = nullptr;
  KJ_IF_MAYBE (open, impl_->session) {
    session = open;
  }
  if (session == nullptr) return absl::FailedPreconditionError("queries need a session (--key)");
  return GuardRpc([&]() -> absl::StatusOr<query::Answer> {
    auto call = session->queryRequest();
    call.setName(query.name);
    auto args = call.initArgs(static_cast<unsigned>(query.args.size()));
    unsigned i = 0;
    for (const auto& [name, value] : query.args) {
      args[i].setName(name);
      args[i].setValue(value);
      ++i;
    }
    auto response = call.send().wait(impl_->wait_scope());
    absl::Status status = ToStatus(response.getStatus());
    if (!status.ok()) return status;
    query::Answer answer;
    for (auto line : response.getLines()) answer.lines.push_back(Str(line));
    for (auto note : response.getNotes()) answer.notes.push_back(Str(note));
    return answer;
  });
}

namespace {

// The follower's end of a subscription: hands each batch to the callback
// while Follow runs (`following`), and resolves `stopped` when it says so.
// The RPC system may hold the sink past Follow; then it drops what comes.
class CallbackSink final : public EventSink::Server {
 public:
  CallbackSink(const std::function<bool(const std::vector<std::string>&)>& on_events,
               std::shared_ptr<bool> following, kj::Own<kj::PromiseFulfiller<void>> stopped)
      : on_events_(on_events), following_(std::move(following)), stopped_(kj::mv(stopped)) {}

  kj::Promise<void> push(PushContext context) override {
    if (!*following_ || !stopped_->isWaiting()) return kj::READY_NOW;
    if (!on_events_(DataList(context.getParams().getEnvelopes()))) stopped_->fulfill();
    return kj::READY_NOW;
  }

 private:
  const std::function<bool(const std::vector<std::string>&)>& on_events_;
  std::shared_ptr<bool> following_;
  kj::Own<kj::PromiseFulfiller<void>> stopped_;
};

}  // namespace

absl::Status LedgerClient::Follow(
    uint64_t from_seq, const std::function<bool(const std::vector<std::string>&)>& on_events,
    absl::Duration max) {
  absl::Status status;
  auto following = std::make_shared<bool>(true);
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 auto stopped = kj::newPromiseAndFulfiller<void>();
                 auto request = impl_->ledger.subscribeRequest();
                 request.setFromSeq(from_seq);
                 request.setSink(
                     kj::heap<CallbackSink>(on_events, following, kj::mv(stopped.fulfiller)));
                 auto response = request.send();
                 auto subscription = response.getSubscription();  // held while following
                 kj::Promise<void> done = kj::mv(stopped.promise);
                 if (max != absl::InfiniteDuration()) {
                   auto delay = absl::ToInt64Microseconds(max) * kj::MICROSECONDS;
                   done = done.exclusiveJoin(impl_->connection->timer().afterDelay(delay));
                 }
                 bool dropped = false;
                 done = done.exclusiveJoin(
                     impl_->connection->OnDisconnect().then([&dropped] { dropped = true; }));
                 done.wait(impl_->wait_scope());
                 *following = false;
                 if (dropped) status = absl::UnavailableError("wattd closed the connection");
               })) {
    *following = false;
    return absl::UnavailableError(
        absl::StrCat("following the log failed: ", exception->getDescription().cStr()));
  }
  return status;
}

}  // namespace wattledger::rpc
