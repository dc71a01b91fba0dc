// A sender that POSTs each notification as JSON to an HTTP endpoint (a
// campus messaging service, an SMS gateway's bridge):
//   POST <path> HTTP/1.1
//   Content-Type: application/json
//   Idempotency-Key: <notification id>
//   {"notificationId":"n/812/0","personId":"2023001","roomId":"B01-301",
//    "cardNo":"20230001","kind":"lowBalance","text":"Room B01-301: ...",
//    "queuedAtUs":1790000000000000}
// The notifier retries, so the receiver sees the same Idempotency-Key for
// every attempt and must drop duplicates. A 2xx answer is delivery; anything
// else, or no answer within the timeout, is an error. Plain HTTP only (put a
// TLS proxy in front for anything beyond the campus network).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/notify/sender.h"

namespace wattledger::notify {

struct WebhookOptions {
  std::string url;                          // http://host[:port][/path]
  std::chrono::milliseconds timeout{5000};  // connect, write and read together
};

class WebhookSender final : public Sender {
 public:
  // kInvalidArgument when the URL is not http://host[:port][/path].
  static absl::StatusOr<std::unique_ptr<WebhookSender>> Create(WebhookOptions options);

  // One POST, synchronous: OK on 2xx; kUnavailable for another status or a
  // network error, kDeadlineExceeded when the timeout passed.
  absl::Status Send(const Notification& notification) override;
  absl::string_view name() const override { return "webhook"; }

  // The JSON body of a notification (above).
  static std::string Body(const Notification& notification);

 private:
  WebhookSender(WebhookOptions options, std::string host, std::string port, std::string target)
      : options_(std::move(options)),
        host_(std::move(host)),
        port_(std::move(port)),
        target_(std::move(target)) {}

  WebhookOptions options_;
  std::string host_;
  std::string port_;
  std::string target_;
};

}  // namespace wattledger::notify
