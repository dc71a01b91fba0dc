// wattctl notifications: the reminder outbox read from a data directory
// (read-only, beside a running wattd), one JSON line per notification, oldest
// first, with its delivery state: everything, or one person's (--person).
#include <cstdio>

#include "absl/flags/flag.h"
#include "ledger/structured_log.h"
#include "projections/monitoring/notification_outbox.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(bool, notifications_pending, false,
          "notifications: only those not yet sent (nor given up on)");

namespace wattledger::wattctl {
namespace {

using ledger::JsonEscape;

std::string NotificationJson(const projections::Notification& n) {
  return absl::StrCat("{\"id\":", JsonEscape(n.id), ",\"person\":", JsonEscape(n.person_id),
                      ",\"room\":", JsonEscape(n.room_id), ",\"card\":", JsonEscape(n.card_no),
                      ",\"kind\":\"", projections::NotificationKindName(n.kind), "\",\"state\":\"",
                      projections::DeliveryStateName(n.state), "\",\"queuedSeq\":", n.queued_seq,
                      ",\"queuedAtUs\":", n.queued_at_us, ",\"attempts\":", n.attempts,
                      ",\"sender\":", JsonEscape(n.sender), ",\"outcomeSeq\":", n.outcome_seq,
                      ",\"failure\":", JsonEscape(n.reason), ",\"text\":", JsonEscape(n.text), "}");
}

}  // namespace

int NotificationList() {
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) data = "data";
  auto store = ledger::EventStore::Open(DataLedgerDir(data), SecondaryOptions());
  if (!store.ok()) return Fail(store.status());
  absl::Status refreshed = (*store)->Refresh();
  if (!refreshed.ok()) return Fail(refreshed);
  projections::Campus campus;  // the outbox reads the campus only to queue new notifications
  projections::NotificationOutbox outbox(campus);
  absl::Status loaded = outbox.Load(**store);
  if (!loaded.ok()) return Fail(loaded);
  std::string person = absl::GetFlag(FLAGS_person);
  bool pending_only = absl::GetFlag(FLAGS_notifications_pending);
  for (const projections::Notification& n :
       person.empty() ? outbox.All() : outbox.ForPerson(person)) {
    if (pending_only && n.state != projections::DeliveryState::kPending) continue;
    std::printf("%s\n", NotificationJson(n).c_str());
  }
  return 0;
}

}  // namespace wattledger::wattctl
