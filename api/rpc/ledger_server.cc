#include "api/rpc/ledger_server.h"

#include <capnp/ez-rpc.h>
#include <kj/async.h>
#include <kj/mutex.h>

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/rpc/ledger.capnp.h"
#include "api/rpc/status_convert.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"

namespace wattledger::rpc {
namespace {

using ledger::AsData;
using ledger::AsView;

constexpr uint32_t kCheckpointsPerCallMax = 10000;

class LedgerImpl final : public Ledger::Server {
 public:
  explicit LedgerImpl(ledger::Ledger& ledger) : ledger_(ledger) {}

  kj::Promise<void> submit(SubmitContext context) override {
    auto params = context.getParams().getRequest();
    ledger::SignedRequest request;
    if (params.getSignerKeyId().size() != 32 || params.getSignature().size() != 64 ||
        params.getBody().size() > ledger::kEventBodyBytesMax) {
      FillStatus(context.getResults().initOutcome().initStatus(),
                 absl::InvalidArgumentError(
                     "a signed request needs a 32-byte key id, a 64-byte signature and a body "
                     "within the size limit"));
      return kj::READY_NOW;
    }
    request.body = ledger::ToString(params.getBody());
    std::memcpy(request.signer_key_id.data(), params.getSignerKeyId().begin(), 32);
    std::memcpy(request.signature.data(), params.getSignature().begin(), 64);
    if (params.getExpectedStreamVersion() >= 0) {
      request.expected_stream_version = static_cast<uint64_t>(params.getExpectedStreamVersion());
    }
    // The outcome crosses threads boxed: GCC 12 misreads StatusOr's union
    // inside kj's cross-thread fulfiller as maybe-uninitialized.
    using Boxed = kj::Own<absl::StatusOr<ledger::AppendResult>>;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<Boxed>();
    auto fulfiller =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<Boxed>>>(kj::mv(paf.fulfiller));
    ledger_.Submit(std::move(request), [fulfiller](absl::StatusOr<ledger::AppendResult> result) {
      (*fulfiller)->fulfill(kj::heap<absl::StatusOr<ledger::AppendResult>>(std::move(result)));
    });
    return paf.promise.then([context](Boxed boxed) mutable {
      absl::StatusOr<ledger::AppendResult>& result = *boxed;
      auto outcome = context.getResults().initOutcome();
      FillStatus(outcome.initStatus(), result.status());
      if (!result.ok()) return;
      outcome.setSeq(result->seq);
      outcome.setChainHash(AsData(absl::MakeConstSpan(result->chain_hash)));
      outcome.setResult(AsData(result->result));
      outcome.setDuplicate(result->duplicate);
    });
  }

  kj::Promise<void> events(EventsContext context) override {
    auto params = context.getParams();
    size_t limit = std::min<size_t>(params.getLimit(), ledger::kReadEventsMax);
    auto envelopes = ledger_.store().ReadRange(std::max<uint64_t>(params.getFromSeq(), 1), limit);
    if (!envelopes.ok()) return Fail(envelopes.status());
    auto list = context.getResults().initEnvelopes(envelopes->size());
    for (size_t i = 0; i < envelopes->size(); ++i) list.set(i, AsData((*envelopes)[i]));
    return kj::READY_NOW;
  }

  kj::Promise<void> streamEvents(StreamEventsContext context) override {
    auto params = context.getParams();
    size_t limit = std::min<size_t>(params.getLimit(), ledger::kReadEventsMax);
    absl::string_view stream(params.getStream().cStr(), params.getStream().size());
    auto seqs = ledger_.store().ReadStreamSeqs(stream, params.getFromVersion(), limit);
    if (!seqs.ok()) return Fail(seqs.status());
    auto list = context.getResults().initEnvelopes(seqs->size());
    for (size_t i = 0; i < seqs->size(); ++i) {
      auto envelope = ledger_.store().GetEvent((*seqs)[i]);
      if (!envelope.ok()) return Fail(envelope.status());
      list.set(i, AsData(*envelope));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> head(HeadContext context) override {
    ledger::Head head = ledger_.head();
    auto results = context.getResults();
    results.setSeq(head.seq);
    results.setChainHash(AsData(absl::MakeConstSpan(head.chain_hash)));
    results.setLedgerPublicKey(AsData(absl::MakeConstSpan(ledger_.ledger_public_key())));
    return kj::READY_NOW;
  }

  kj::Promise<void> checkpoints(CheckpointsContext context) override {
    auto params = context.getParams();
    size_t limit = std::min<uint32_t>(params.getLimit(), kCheckpointsPerCallMax);
    auto checkpoints = ledger_.store().ReadCheckpoints(params.getFromSeq(), limit);
    if (!checkpoints.ok()) return Fail(checkpoints.status());
    auto list = context.getResults().initCheckpoints(checkpoints->size());
    for (size_t i = 0; i < checkpoints->size(); ++i)
      list.set(i, AsData((*checkpoints)[i].canonical));
    return kj::READY_NOW;
  }

  kj::Promise<void> keys(KeysContext context) override {
    auto entries = ledger_.keys().List();
    auto list = context.getResults().initKeys(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& [id, entry] = entries[i];
      auto info = list[i];
      info.setKeyId(AsData(absl::MakeConstSpan(id)));
      info.setPublicKey(AsData(absl::MakeConstSpan(entry.key->raw())));
      info.setRole(entry.role);
      info.setHolder(entry.holder);
      info.setRevoked(entry.revoked);
      info.setRegisteredSeq(entry.registered_seq);
    }
    return kj::READY_NOW;
  }

 private:
  static kj::Promise<void> Fail(const absl::Status& status) {
    return KJ_EXCEPTION(FAILED, std::string(status.ToString()).c_str());
  }

  ledger::Ledger& ledger_;
};

}  // namespace

bool IsLoopbackHost(const std::string& host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  return absl::StartsWith(host, "127.") || host == "[::1]" || host == "::1" || host == "localhost";
}

struct RpcServer::Loop {
  kj::MutexGuarded<kj::Maybe<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>> stop;
};

absl::StatusOr<std::unique_ptr<RpcServer>> RpcServer::Start(ledger::Ledger& ledger,
                                                            const RpcServerOptions& options) {
  if (!IsLoopbackHost(options.listen) && !options.allow_plaintext_off_loopback) {
    return absl::InvalidArgumentError(absl::StrCat("refusing plaintext RPC on ", options.listen,
                                                   ": listen on 127.0.0.1 or opt in"));
  }
  std::unique_ptr<RpcServer> server(new RpcServer());
  server->loop_ = std::make_unique<Loop>();
  std::promise<absl::StatusOr<uint16_t>> started;
  auto started_future = started.get_future();
  Loop* loop = server->loop_.get();
  std::string listen = options.listen;
  server->thread_ = std::thread([&ledger, loop, listen, &started]() {
    bool reported = false;
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                   capnp::ReaderOptions reader_options;
                   reader_options.traversalLimitInWords = ledger::kReaderWordsMax;
                   reader_options.nestingLimit = 32;
                   capnp::EzRpcServer rpc(kj::heap<LedgerImpl>(ledger), listen, 0, reader_options);
                   auto& wait_scope = rpc.getWaitScope();
                   uint port = rpc.getPort().wait(wait_scope);
                   auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
                   *loop->stop.lockExclusive() = kj::mv(paf.fulfiller);
                   started.set_value(static_cast<uint16_t>(port));
                   reported = true;
                   paf.promise.wait(wait_scope);
                 })) {
      if (!reported) {
        started.set_value(absl::UnavailableError(absl::StrCat("cannot serve RPC on ", listen, ": ",
                                                              exception->getDescription().cStr())));
      }
    }
  });
  auto port = started_future.get();
  if (!port.ok()) {
    server->thread_.join();
    return port.status();
  }
  server->port_ = *port;
  return server;
}

RpcServer::~RpcServer() { Stop(); }

void RpcServer::Stop() {
  if (!thread_.joinable()) return;
  {
    auto stop = loop_->stop.lockExclusive();
    KJ_IF_MAYBE (fulfiller, *stop) {
      (*fulfiller)->fulfill();
    }
    *stop = nullptr;
  }
  thread_.join();
}

}  // namespace wattledger::rpc
