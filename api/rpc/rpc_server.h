// wattd's Cap'n Proto endpoints: the Ledger interface (operators, auditors,
// wattctl; api/rpc/ledger.capnp) and the CardCenter interface (the campus
// one-card system; api/rpc/card_center.capnp), each on its own address.
//
// Transport: TLS (kj-tls over OpenSSL) when the endpoint has a certificate.
// The card center's endpoint with TLS requires a client certificate signed by
// its CA (mutual authentication). Plaintext is refused off loopback unless
// opted into. Every state change is authorised by the request's own
// signature and its key's role, never by the connection; reads of the log and
// queries by a session's key and role (only a plaintext loopback ledger
// endpoint serves the log without a session). Reader limits are
// explicit; a malformed message or a failed handshake ends that connection
// only.
//
// Cap'n Proto's event loop owns one thread; submissions go to the ledger's
// queue and complete through cross-thread fulfillers, so the writer never
// waits on a network peer.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "api/rpc/tls_config.h"
#include "ledger/ledger.h"

namespace wattledger::projections {
class Domain;
namespace reports {
class ReportRunners;
}
}  // namespace wattledger::projections

namespace wattledger::rpc {

struct RpcEndpoint {
  std::string listen{};  // host:port; port 0 picks a free one; "" = not served
  TlsFiles tls{};        // cert + key: TLS; ca: clients must present a cert it signed
  bool allow_plaintext_off_loopback = false;
};

struct RpcServerOptions {
  RpcEndpoint ledger{.listen = "127.0.0.1:7600"};
  RpcEndpoint card_center{};
  // What the card center's and the sessions' queries read; required when the
  // card center is served (without it, sessions answer only the log's calls).
  const projections::Domain* domain = nullptr;
  const projections::reports::ReportRunners* reports = nullptr;
};

class RpcServer {
 public:
  // Binds and starts serving; returns once every endpoint is listening.
  // kInvalidArgument for plaintext off loopback without the opt-in, TLS on
  // the card center's endpoint without a client CA, or unreadable TLS files;
  // kUnavailable when an address cannot be bound.
  static absl::StatusOr<std::unique_ptr<RpcServer>> Start(ledger::Ledger& ledger,
                                                          const RpcServerOptions& options);
  ~RpcServer();  // Stop()s
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  uint16_t port() const { return port_; }
  uint16_t card_center_port() const { return card_center_port_; }  // 0: not served
  // Stops accepting and serving, and joins the loop thread. Idempotent.
  void Stop();

 private:
  struct Loop;
  RpcServer() = default;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  uint16_t port_ = 0;
  uint16_t card_center_port_ = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host_port);

}  // namespace wattledger::rpc
