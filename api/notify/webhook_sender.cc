#include "api/notify/webhook_sender.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ledger/structured_log.h"

namespace wattledger::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr uint64_t kResponseBytesMax = 1 << 16;

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookSender>> WebhookSender::Create(WebhookOptions options) {
  absl::string_view rest = options.url;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook URL '", options.url, "' must be http://host[:port][/path]"));
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  std::string target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string host(authority);
  std::string port = "80";
  size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    port = std::string(authority.substr(colon + 1));
    uint32_t number = 0;
    if (!absl::SimpleAtoi(port, &number) || number == 0 || number > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook URL '", options.url, "' has a bad port"));
    }
  }
  if (host.empty() || options.timeout.count() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook URL '", options.url, "' needs a host, and a positive timeout"));
  }
  return std::unique_ptr<WebhookSender>(
      new WebhookSender(std::move(options), std::move(host), std::move(port), std::move(target)));
}

std::string WebhookSender::Body(const Notification& n) {
  using ledger::JsonEscape;
  return absl::StrCat("{\"notificationId\":", JsonEscape(n.id),
                      ",\"personId\":", JsonEscape(n.person_id),
                      ",\"roomId\":", JsonEscape(n.room_id), ",\"cardNo\":", JsonEscape(n.card_no),
                      ",\"kind\":", JsonEscape(projections::NotificationKindName(n.kind)),
                      ",\"text\":", JsonEscape(n.text), ",\"queuedAtUs\":", n.queued_at_us, "}");
}

absl::Status WebhookSender::Send(const Notification& notification) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("webhook: resolving ", host_, ": ", ec.message()));

  http::request<http::string_body> request{http::verb::post, target_, 11};
  request.set(http::field::host, absl::StrCat(host_, ":", port_));
  request.set(http::field::user_agent, "wattd-notifier");
  request.set(http::field::content_type, "application/json");
  request.set("Idempotency-Key", notification.id);
  request.body() = Body(notification);
  request.prepare_payload();

  // Asynchronous operations on a private io_context run to completion here,
  // so that one deadline bounds the whole exchange.
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBytesMax);
  beast::error_code failure;
  absl::string_view stage = "connecting";
  stream.expires_after(options_.timeout);
  stream.async_connect(endpoints, [&stream, &request, &buffer, &parser, &failure, &stage](
                                      beast::error_code connected, const tcp::endpoint&) {
    if (connected) {
      failure = connected;
      return;
    }
    stage = "sending";
    http::async_write(
        stream, request,
        [&stream, &buffer, &parser, &failure, &stage](beast::error_code written, size_t) {
          if (written) {
            failure = written;
            return;
          }
          stage = "reading the answer";
          http::async_read(stream, buffer, parser,
                           [&failure](beast::error_code read, size_t) { failure = read; });
        });
  });
  io.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  if (failure == beast::error::timeout) {
    return absl::DeadlineExceededError(absl::StrCat("webhook ", options_.url, ": no answer within ",
                                                    options_.timeout.count(), " ms (", stage, ")"));
  }
  if (failure) {
    return absl::UnavailableError(
        absl::StrCat("webhook ", options_.url, ": ", stage, ": ", failure.message()));
  }
  unsigned status = parser.get().result_int();
  if (status < 200 || status > 299) {
    return absl::UnavailableError(
        absl::StrCat("webhook ", options_.url, " answered HTTP ", status));
  }
  return absl::OkStatus();
}

}  // namespace wattledger::notify
