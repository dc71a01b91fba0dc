// TLS for the RPC endpoints and their clients, through kj-tls (OpenSSL).
// PEM files in, a kj::TlsContext out. A server presents `cert`/`key`; with
// `ca` set it also requires every client to present a certificate that CA
// signed (mutual authentication). A client trusts only `ca` (never the
// system store: wattd's certificates come from the campus's own CA) and
// presents `cert`/`key` when given.
#pragma once

#include <kj/compat/tls.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace wattledger::rpc {

struct TlsFiles {
  std::string cert{};  // PEM certificate (chain)
  std::string key{};   // PEM private key
  std::string ca{};    // PEM CA certificate(s) to verify the peer with

  bool enabled() const { return !cert.empty() || !ca.empty(); }
};

// A kj::TlsContext with the certificates it refers to kept alive.
class TlsSetup {
 public:
  // kInvalidArgument for a missing or unparsable file, or a server without
  // cert and key. `timer`, when given, bounds each server handshake.
  static absl::StatusOr<std::unique_ptr<TlsSetup>> ForServer(const TlsFiles& files,
                                                             kj::Timer* timer);
  static absl::StatusOr<std::unique_ptr<TlsSetup>> ForClient(const TlsFiles& files);

  kj::TlsContext& context() { return *context_; }

 private:
  static absl::StatusOr<std::unique_ptr<TlsSetup>> Make(const TlsFiles& files, bool server,
                                                        kj::Timer* timer);
  kj::Maybe<kj::TlsKeypair> keypair_;
  kj::Array<kj::TlsCertificate> trusted_;
  kj::Own<kj::TlsContext> context_;
};

// The name a client checks the server's certificate against: the host of
// `host_port`, with loopback addresses as "localhost" (an IP is not a DNS
// name; the development certificates name localhost).
std::string ServerNameOf(const std::string& host_port);

// Writes a development CA and two certificates it signed into `dir`:
// ca.pem (+ ca.key), server.pem/server.key (DNS:localhost, IP:127.0.0.1, and
// `server_names` as DNS names) and client.pem/client.key (CN `client_name`,
// for the card center). Keys are written owner-only. For demos and tests:
// production certificates come from the campus's CA.
absl::Status IssueDevCertificates(const std::string& dir, const std::string& client_name,
                                  const std::vector<std::string>& server_names = {});

}  // namespace wattledger::rpc
