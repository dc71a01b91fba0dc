// Serves the rpc::Ledger interface (api/rpc/ledger.capnp) for one Ledger.
// Cap'n Proto's event loop owns its thread: the server runs one, and hands
// submissions to the ledger's queue; completions come back to the loop through
// cross-thread fulfillers, so the writer never waits on a network peer.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "ledger/ledger.h"

namespace wattledger::rpc {

struct RpcServerOptions {
  std::string listen = "127.0.0.1:7600";  // host:port; port 0 picks a free one
  // Plaintext RPC is refused on anything but loopback unless this is set.
  bool allow_plaintext_off_loopback = false;
};

class RpcServer {
 public:
  // Binds and starts serving; returns once the port is listening.
  // kInvalidArgument for a non-loopback address without the opt-in,
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<RpcServer>> Start(ledger::Ledger& ledger,
                                                          const RpcServerOptions& options);
  ~RpcServer();  // Stop()s
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  uint16_t port() const { return port_; }
  // Stops accepting and serving, and joins the loop thread. Idempotent.
  void Stop();

 private:
  struct Loop;
  RpcServer() = default;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host_port);

}  // namespace wattledger::rpc
