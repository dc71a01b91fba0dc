#include "api/notify/log_sender.h"

#include "ledger/structured_log.h"

namespace wattledger::notify {

absl::Status LogSender::Send(const Notification& notification) {
  ledger::LogEvent("info", "notification",
                   {{"notificationId", notification.id},
                    {"personId", notification.person_id},
                    {"roomId", notification.room_id},
                    {"cardNo", notification.card_no},
                    {"kind", std::string(projections::NotificationKindName(notification.kind))},
                    {"text", notification.text}});
  return absl::OkStatus();
}

}  // namespace wattledger::notify
