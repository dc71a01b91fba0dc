// wattd's HTTP endpoint (Boost.Beast on Asio): HTTP/1.1 with keep-alive,
// over TLS 1.2+ (OpenSSL) when given a certificate, each request handled by
// web_api.h's HandleRequest on a small pool of its own so a slow report
// never stalls the sockets. Plain HTTP only on loopback unless opted into; a
// failed TLS handshake ends that connection only. Requests are bounded (8 KiB of headers, 1 MiB
// of body, 30 s to arrive); a malformed one gets 400 and its connection is
// closed, other connections carry on.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/http/web_api.h"

namespace wattledger::http {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // port 0 picks a free one
  bool allow_plaintext_off_loopback = false;
  int handler_threads = 2;
  std::string tls_cert{};  // PEM chain; with tls_key: HTTPS (WebApi.over_tls must say so)
  std::string tls_key{};
};

class HttpServer {
 public:
  // Binds and starts serving `api` (which must outlive the server).
  // kInvalidArgument for plaintext off loopback without the opt-in;
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const WebApi& api,
                                                           const HttpServerOptions& options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting, closes connections and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wattledger::http
