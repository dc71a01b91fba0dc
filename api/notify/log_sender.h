// A sender that writes each notification as one structured JSON line on
// stderr (ledger/structured_log.h), event "notification": the default of
// wattd, for a campus without a message gateway, and for demos.
#pragma once

#include "api/notify/sender.h"

namespace wattledger::notify {

class LogSender final : public Sender {
 public:
  // Always OK.
  absl::Status Send(const Notification& notification) override;
  absl::string_view name() const override { return "log"; }
};

}  // namespace wattledger::notify
