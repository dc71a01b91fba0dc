#include "api/http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/rpc/rpc_server.h"
#include "ledger/structured_log.h"

namespace wattledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr size_t kHeaderBytesMax = 8 * 1024;
constexpr size_t kBodyBytesMax = 1024 * 1024;
constexpr std::chrono::seconds kRequestTimeout{30};

// One client connection, plain (beast::tcp_stream) or TLS (TlsStream): read
// a request, hand it to the pool, write the response on the connection's
// strand, and again while keep-alive.
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... Args>
  Connection(tcp::socket socket, const WebApi& api, asio::thread_pool& pool, Args&&... args)
      : stream_(std::move(socket), std::forward<Args>(args)...), api_(api), pool_(pool) {
    beast::error_code ignored;
    auto endpoint = Socket().remote_endpoint(ignored);
    peer_ = ignored ? "" : endpoint.address().to_string();
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        beast::get_lowest_layer(self->stream_).expires_after(kRequestTimeout);
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code error) {
          if (error) return self->Close();  // a failed handshake: this peer only
          self->Read();
        });
      } else {
        self->Read();
      }
    });
  }

 private:
  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kHeaderBytesMax);
    parser_->body_limit(kBodyBytesMax);
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = this->shared_from_this()](beast::error_code error, size_t) {
                             self->OnRead(error);
                           });
  }

  void OnRead(beast::error_code error) {
    if (error == beast_http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::connection_reset || error == asio::error::eof ||
        error == ssl::error::stream_truncated) {
      return Close();
    }
    if (error) {
      // A malformed or oversized request: say so, then close this connection only.
      const bool too_large = error == beast_http::error::body_limit ||
                             error == beast_http::error::header_limit ||
                             error == beast_http::error::buffer_overflow;
      Response response{
          too_large ? beast_http::status::payload_too_large : beast_http::status::bad_request, 11};
      response.set(beast_http::field::content_type, "application/json");
      response.body() =
          absl::StrCat("{\"error\":\"", too_large ? "request too large" : "bad request",
                       "\",\"code\":\"INVALID_ARGUMENT\"}");
      response.keep_alive(false);
      response.prepare_payload();
      return Write(std::move(response));
    }
    auto request = std::make_shared<Request>(parser_->release());
    asio::post(pool_, [self = this->shared_from_this(), request] {
      Response response = HandleRequest(self->api_, *request, self->peer_);
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    });
  }

  void Write(Response response) {
    auto shared = std::make_shared<Response>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    beast_http::async_write(
        stream_, *shared,
        [self = this->shared_from_this(), shared](beast::error_code error, size_t) {
          if (error || !shared->keep_alive()) return self->Close();
          self->Read();
        });
  }

  void Close() {
    beast::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
  }

  Stream stream_;
  const WebApi& api_;
  asio::thread_pool& pool_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const WebApi& api_in, int handler_threads)
      : api(api_in), acceptor(io), pool(static_cast<size_t>(std::max(1, handler_threads))) {}

  void Accept() {
    acceptor.async_accept(
        asio::make_strand(io), [this](beast::error_code error, tcp::socket socket) {
          if (error == asio::error::operation_aborted) return;
          if (!error && tls.has_value()) {
            std::make_shared<Connection<TlsStream>>(std::move(socket), api, pool, *tls)->Start();
          } else if (!error) {
            std::make_shared<Connection<beast::tcp_stream>>(std::move(socket), api, pool)->Start();
          }
          if (acceptor.is_open()) Accept();
        });
  }

  const WebApi& api;
  std::optional<ssl::context> tls;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::thread_pool pool;
  std::thread thread;
  uint16_t port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const WebApi& api,
                                                              const HttpServerOptions& options) {
  const bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return absl::InvalidArgumentError("HTTPS needs both a certificate and its key");
  }
  if (tls != api.over_tls) {
    return absl::InvalidArgumentError("the web API's over_tls must say whether TLS is served");
  }
  if (!tls && !rpc::IsLoopbackHost(options.listen) && !options.allow_plaintext_off_loopback) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing plain HTTP on ", options.listen,
                     ": configure TLS, listen on 127.0.0.1 or opt in"));
  }
  size_t colon = options.listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", options.listen, "' is not host:port"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  auto impl = std::make_unique<Impl>(api, options.handler_threads);
  beast::error_code error;
  if (tls) {
    // TLS 1.2 and later only.
    impl->tls.emplace(ssl::context::tls_server);
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    impl->tls->use_certificate_chain_file(options.tls_cert, error);
    if (!error) impl->tls->use_private_key_file(options.tls_key, ssl::context::pem, error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat("cannot use ", options.tls_cert, " and ",
                                                     options.tls_key, ": ", error.message()));
    }
  }
  auto address = asio::ip::make_address(host, error);
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  if (!error) impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", options.listen, ": ", error.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->pool.join();  // handlers finish; their writes are posted to io
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace wattledger::http
