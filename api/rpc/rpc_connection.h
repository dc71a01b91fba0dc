// One client connection to a wattd endpoint: its own kj event loop, TCP,
// optionally TLS (trusting only the given CA, presenting a client
// certificate when given), and the two-party RPC system with explicit
// reader limits. Blocking: each call waits on the connection's loop, so use
// one connection per thread.
#pragma once

#include <capnp/message.h>
#include <capnp/rpc-twoparty.capnp.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/rpc/tls_config.h"

namespace wattledger::rpc {

class RpcConnection {
 public:
  // Connects to host:port (TLS when `tls.enabled()`). kUnavailable when
  // nothing answers or the handshake fails; kInvalidArgument for bad files.
  static absl::StatusOr<std::unique_ptr<RpcConnection>> Connect(const std::string& address,
                                                                const TlsFiles& tls = {});
  ~RpcConnection();

  template <typename Interface>
  typename Interface::Client Bootstrap() {
    return rpc_->bootstrap(ServerVat()).template castAs<Interface>();
  }
  kj::WaitScope& wait_scope() { return io_.waitScope; }
  kj::Timer& timer() { return io_.provider->getTimer(); }
  // Resolves when the peer disconnects.
  kj::Promise<void> OnDisconnect() { return network_->onDisconnect(); }

 private:
  RpcConnection();
  capnp::rpc::twoparty::VatId::Reader ServerVat();

  kj::AsyncIoContext io_;
  std::unique_ptr<TlsSetup> tls_;
  kj::Own<kj::AsyncIoStream> stream_;
  std::unique_ptr<capnp::TwoPartyVatNetwork> network_;
  std::unique_ptr<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc_;
  capnp::MallocMessageBuilder vat_id_;
};

// The status a server-side refusal carried in its exception's description
// ("... PERMISSION_DENIED: why"); kUnavailable for anything else (a dropped
// connection, a transport failure).
absl::Status StatusFromRpcFailure(const kj::Exception& exception);

// Runs `call` and turns a kj exception (a dropped connection, a server-side
// failure) into a status: the refusal's own code when the server sent one,
// else kUnavailable with its description.
template <typename Call>
auto GuardRpc(Call call) -> decltype(call()) {
  decltype(call()) result = absl::UnknownError("no reply");
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() { result = call(); })) {
    return StatusFromRpcFailure(*exception);
  }
  return result;
}

}  // namespace wattledger::rpc
