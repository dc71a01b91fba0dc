#include "api/rpc/rpc_connection.h"

#include <capnp/rpc-twoparty.capnp.h>

#include "absl/strings/str_cat.h"
#include "api/rpc/batching_stream.h"
#include "api/rpc/reader_limits.h"

namespace wattledger::rpc {

RpcConnection::RpcConnection() : io_(kj::setupAsyncIo()) {}

RpcConnection::~RpcConnection() {
  // The RPC system, then the network, then the stream they use.
  rpc_.reset();
  network_.reset();
}

capnp::rpc::twoparty::VatId::Reader RpcConnection::ServerVat() {
  auto vat = vat_id_.initRoot<capnp::rpc::twoparty::VatId>();
  vat.setSide(capnp::rpc::twoparty::Side::SERVER);
  return vat.asReader();
}

absl::StatusOr<std::unique_ptr<RpcConnection>> RpcConnection::Connect(const std::string& address,
                                                                      const TlsFiles& tls) {
  std::unique_ptr<RpcConnection> connection;
  KJ_IF_MAYBE (exception,
               kj::runCatchingExceptions([&]() { connection.reset(new RpcConnection()); })) {
    return absl::FailedPreconditionError(
        absl::StrCat("one RPC connection per thread: ", exception->getDescription().cStr()));
  }
  if (tls.enabled()) {
    auto setup = TlsSetup::ForClient(tls);
    if (!setup.ok()) return setup.status();
    connection->tls_ = std::move(*setup);
  }
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 auto& io = connection->io_;
                 auto peer = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
                 kj::Own<kj::AsyncIoStream> stream =
                     kj::heap<BatchingStream>(peer->connect().wait(io.waitScope));
                 if (connection->tls_ != nullptr) {
                   stream = kj::heap<BatchingStream>(
                       connection->tls_->context()
                           .wrapClient(kj::mv(stream), ServerNameOf(address).c_str())
                           .wait(io.waitScope));
                 }
                 connection->stream_ = kj::mv(stream);
                 connection->network_ = std::make_unique<capnp::TwoPartyVatNetwork>(
                     *connection->stream_, capnp::rpc::twoparty::Side::CLIENT, RpcReaderOptions());
                 connection->rpc_ = std::make_unique<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
                     capnp::makeRpcClient(*connection->network_));
               })) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach wattd at ", address, ": ", exception->getDescription().cStr()));
  }
  return connection;
}

absl::Status StatusFromRpcFailure(const kj::Exception& exception) {
  absl::string_view description(exception.getDescription().cStr());
  if (exception.getType() == kj::Exception::Type::FAILED) {
    // The server fails a call with absl::Status::ToString(): "CODE: message".
    for (int code = 1; code <= 16; ++code) {
      auto status_code = static_cast<absl::StatusCode>(code);
      std::string prefix = absl::StrCat(absl::StatusCodeToString(status_code), ": ");
      size_t at = description.find(prefix);
      if (at != absl::string_view::npos) {
        return absl::Status(status_code, description.substr(at + prefix.size()));
      }
    }
  }
  return absl::UnavailableError(absl::StrCat("RPC failed: ", description));
}

}  // namespace wattledger::rpc
