#include "api/rpc/rpc_server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <kj/async-io.h>
#include <kj/mutex.h>

#include <future>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/rpc/batching_stream.h"
#include "api/rpc/card_center_service.h"
#include "api/rpc/ledger_service.h"
#include "api/rpc/reader_limits.h"
#include "ledger/limits.h"
#include "ledger/structured_log.h"

namespace wattledger::rpc {
namespace {

absl::Status CheckEndpoint(const RpcEndpoint& endpoint, absl::string_view what) {
  if (!endpoint.tls.enabled() && !IsLoopbackHost(endpoint.listen) &&
      !endpoint.allow_plaintext_off_loopback) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing plaintext ", what, " RPC on ", endpoint.listen,
                     ": configure TLS, listen on 127.0.0.1 or opt in"));
  }
  return absl::OkStatus();
}

// One connection: its stream, the two-party network over it and the RPC
// system serving the endpoint's bootstrap capability. Lives until the peer
// disconnects (or the server stops).
struct Connection {
  Connection(kj::Own<kj::AsyncIoStream> stream_in, capnp::Capability::Client bootstrap)
      : stream(kj::mv(stream_in)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, RpcReaderOptions()),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

class ConnectionErrors final : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& exception) override {
    // A failed handshake or a broken connection: that peer only.
    ledger::LogEvent("warning", "rpc_connection_failed",
                     {{"reason", std::string(exception.getDescription().cStr())}});
  }
};

// Accepts connections on one endpoint and serves each on its own.
class Listener {
 public:
  Listener(kj::Own<kj::ConnectionReceiver> receiver, std::unique_ptr<TlsSetup> tls,
           capnp::Capability::Client bootstrap, kj::TaskSet& tasks)
      : receiver_(kj::mv(receiver)),
        tls_(std::move(tls)),
        bootstrap_(kj::mv(bootstrap)),
        tasks_(tasks) {}

  uint16_t port() { return static_cast<uint16_t>(receiver_->getPort()); }

  kj::Promise<void> Accept() {
    return receiver_->accept().then([this](kj::Own<kj::AsyncIoStream> accepted) {
      kj::Own<kj::AsyncIoStream> stream = kj::heap<BatchingStream>(kj::mv(accepted));
      if (tls_ != nullptr) {
        tasks_.add(tls_->context().wrapServer(kj::mv(stream)).then([this](auto secured) {
          // Batched above TLS too: a burst of replies is one TLS record.
          Serve(kj::heap<BatchingStream>(kj::mv(secured)));
        }));
      } else {
        Serve(kj::mv(stream));
      }
      return Accept();
    });
  }

 private:
  void Serve(kj::Own<kj::AsyncIoStream> stream) {
    auto connection = kj::heap<Connection>(kj::mv(stream), bootstrap_);
    auto disconnected = connection->network.onDisconnect();
    tasks_.add(disconnected.attach(kj::mv(connection)));
  }

  kj::Own<kj::ConnectionReceiver> receiver_;
  std::unique_ptr<TlsSetup> tls_;
  capnp::Capability::Client bootstrap_;
  kj::TaskSet& tasks_;
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
  if (absl::Status checked = CheckEndpoint(options.ledger, "ledger"); !checked.ok()) return checked;
  const bool card_center = !options.card_center.listen.empty();
  if (card_center) {
    if (absl::Status checked = CheckEndpoint(options.card_center, "card-center"); !checked.ok())
      return checked;
    if (options.card_center.tls.enabled() && options.card_center.tls.ca.empty()) {
      return absl::InvalidArgumentError(
          "the card center's TLS endpoint needs the CA of its client certificates (mutual TLS)");
    }
    if (options.domain == nullptr) {
      return absl::InvalidArgumentError("the card center's endpoint needs the domain");
    }
  }

  std::unique_ptr<RpcServer> server(new RpcServer());
  server->loop_ = std::make_unique<Loop>();
  using Ports = std::pair<uint16_t, uint16_t>;
  std::promise<absl::StatusOr<Ports>> started;
  auto started_future = started.get_future();
  Loop* loop = server->loop_.get();
  server->thread_ = std::thread([&ledger, loop, options, card_center, &started]() {
    bool reported = false;
    auto report = [&](absl::StatusOr<Ports> ports) {
      started.set_value(std::move(ports));
      reported = true;
    };
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                   kj::AsyncIoContext io = kj::setupAsyncIo();
                   ConnectionErrors errors;
                   kj::TaskSet tasks(errors);
                   std::vector<std::unique_ptr<Listener>> listeners;
                   auto open = [&](const RpcEndpoint& endpoint,
                                   capnp::Capability::Client bootstrap) -> absl::Status {
                     std::unique_ptr<TlsSetup> tls;
                     if (endpoint.tls.enabled()) {
                       auto setup = TlsSetup::ForServer(endpoint.tls, &io.provider->getTimer());
                       if (!setup.ok()) return setup.status();
                       tls = std::move(*setup);
                     }
                     kj::Own<kj::ConnectionReceiver> receiver;
                     KJ_IF_MAYBE (failure, kj::runCatchingExceptions([&]() {
                                    auto address = io.provider->getNetwork()
                                                       .parseAddress(endpoint.listen)
                                                       .wait(io.waitScope);
                                    receiver = address->listen();
                                  })) {
                       return absl::UnavailableError(
                           absl::StrCat("cannot serve RPC on ", endpoint.listen, ": ",
                                        failure->getDescription().cStr()));
                     }
                     listeners.push_back(std::make_unique<Listener>(
                         kj::mv(receiver), std::move(tls), kj::mv(bootstrap), tasks));
                     tasks.add(listeners.back()->Accept());
                     return absl::OkStatus();
                   };
                   absl::Status opened = open(
                       options.ledger,
                       MakeLedgerService(
                           ledger, io.provider->getTimer(),
                           LedgerServiceOptions{.open_reads = !options.ledger.tls.enabled() &&
                                                              IsLoopbackHost(options.ledger.listen),
                                                .domain = options.domain,
                                                .reports = options.reports}));
                   if (opened.ok() && card_center) {
                     opened = open(options.card_center,
                                   MakeCardCenterService(ledger, *options.domain, options.reports,
                                                         io.provider->getTimer()));
                   }
                   if (!opened.ok()) {
                     report(opened);
                     return;
                   }
                   auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
                   *loop->stop.lockExclusive() = kj::mv(paf.fulfiller);
                   report(Ports{listeners[0]->port(), card_center ? listeners[1]->port() : 0});
                   paf.promise.wait(io.waitScope);
                 })) {
      if (!reported) {
        started.set_value(absl::UnavailableError(
            absl::StrCat("cannot serve RPC: ", exception->getDescription().cStr())));
      }
    }
  });
  auto ports = started_future.get();
  if (!ports.ok()) {
    server->thread_.join();
    return ports.status();
  }
  server->port_ = ports->first;
  server->card_center_port_ = ports->second;
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
