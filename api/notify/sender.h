// The seam between the notifier and whatever carries a message to a person:
// a log line, an HTTP webhook, an SMS gateway. The notifier (notifier.h)
// calls Send once per attempt and retries on error, so a sender must be
// idempotent per notification id: it passes the id on (the webhook's
// Idempotency-Key header) for the receiver to drop duplicates.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "projections/monitoring/notification_outbox.h"

namespace wattledger::notify {

using projections::Notification;

class Sender {
 public:
  virtual ~Sender() = default;
  // Delivers `notification` once, synchronously (within the sender's own
  // timeout). OK when the receiver took it; any error is retried by the
  // notifier (kUnavailable for a refusal or a network failure,
  // kDeadlineExceeded for a timeout). Called from the notifier's thread only.
  virtual absl::Status Send(const Notification& notification) = 0;
  // Recorded in NotificationSent/NotificationFailed: "log", "webhook", ...
  virtual absl::string_view name() const = 0;
};

}  // namespace wattledger::notify
