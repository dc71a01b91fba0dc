#include "api/notify/notifier.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/structured_log.h"

namespace wattledger::notify {
namespace {

using ledger::LogEvent;
using projections::DeliveryState;
using projections::Notification;

constexpr size_t kReasonBytesMax = 512;

std::string OutcomeBody(const Notification& n, uint32_t attempts, absl::string_view sender,
                        const absl::Status& error, int64_t now_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("notify/", n.id, "/outcome"));
  body.setIssuedAtUs(now_us);
  body.setStream("notifications");
  if (error.ok()) {
    auto sent = body.initNotificationSent();
    sent.setNotificationId(n.id);
    sent.setAttempts(attempts);
    sent.setSender(std::string(sender));
  } else {
    auto failed = body.initNotificationFailed();
    failed.setNotificationId(n.id);
    failed.setAttempts(attempts);
    failed.setSender(std::string(sender));
    failed.setReason(std::string(error.message().substr(0, kReasonBytesMax)));
  }
  return ledger::Canonical(body.asReader());
}

}  // namespace

Notifier::Notifier(ledger::Ledger& ledger, const projections::NotificationOutbox& outbox,
                   std::unique_ptr<Sender> sender, NotifierOptions options)
    : ledger_(ledger), outbox_(outbox), sender_(std::move(sender)), options_(options) {
  options_.max_attempts = std::max<uint32_t>(options_.max_attempts, 1);
  thread_ = std::thread([this] { Run(); });
}

Notifier::~Notifier() { Stop(); }

void Notifier::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Duration Notifier::Backoff(const NotifierOptions& options, uint32_t attempts) {
  absl::Duration wait = options.backoff_initial;
  for (uint32_t i = 1; i < attempts && wait < options.backoff_max; ++i) wait *= 2;
  return std::min(wait, options.backoff_max);
}

void Notifier::Run() {
  LogEvent("info", "notifier_started",
           {{"sender", std::string(sender_->name())},
            {"max_attempts", static_cast<uint64_t>(options_.max_attempts)}});
  while (!stop_.HasBeenNotified()) {
    absl::Time next = Pass(absl::Now());
    absl::Duration wait = std::min(options_.poll_interval, next - absl::Now());
    stop_.WaitForNotificationWithTimeout(std::max(wait, absl::ZeroDuration()));
  }
}

absl::Time Notifier::Pass(absl::Time now) {
  auto next_due = [this] {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [id, tracked] : tracked_) next = std::min(next, tracked.next_at);
    return next;
  };
  uint64_t generation = outbox_.generation();
  if (generation == seen_generation_ && next_due() > now) return next_due();
  // Read before Pending(): whatever is queued after shows up on the next pass.
  seen_generation_ = generation;
  std::set<std::string> pending_ids;
  for (const Notification& n : outbox_.Pending()) {
    if (stop_.HasBeenNotified()) return next_due();
    pending_ids.insert(n.id);
    Tracked& tracked = tracked_[n.id];
    if (tracked.next_at > absl::Now()) continue;
    if (Step(n, tracked)) {
      tracked_.erase(n.id);
      pending_ids.erase(n.id);
    }
  }
  // Outcomes recorded by someone else (a previous run) need no more work.
  std::erase_if(tracked_,
                [&pending_ids](const auto& entry) { return !pending_ids.contains(entry.first); });
  return next_due();
}

bool Notifier::Step(const Notification& n, Tracked& tracked) {
  if (!tracked.finished) {
    ++tracked.attempts;
    tracked.last_error = sender_->Send(n);
    if (tracked.last_error.ok() || tracked.attempts >= options_.max_attempts) {
      tracked.finished = true;
    } else {
      absl::Duration wait = Backoff(options_, tracked.attempts);
      tracked.next_at = absl::Now() + wait;
      LogEvent("warning", "notification_retry",
               {{"notificationId", n.id},
                {"attempts", static_cast<uint64_t>(tracked.attempts)},
                {"retry_in_ms", static_cast<int64_t>(absl::ToInt64Milliseconds(wait))},
                {"status", tracked.last_error.ToString()}});
      return false;
    }
  }
  if (RecordOutcome(n, tracked)) return true;
  tracked.next_at = absl::Now() + Backoff(options_, tracked.attempts);
  return false;
}

bool Notifier::RecordOutcome(const Notification& n, const Tracked& tracked) {
  std::string body = OutcomeBody(n, tracked.attempts, sender_->name(), tracked.last_error,
                                 ledger_.clock().NowMicros());
  auto recorded = ledger_.SubmitAsLedger(std::move(body)).get();
  if (recorded.ok()) {
    LogEvent(tracked.last_error.ok() ? "info" : "warning",
             tracked.last_error.ok() ? "notification_sent" : "notification_failed",
             {{"notificationId", n.id},
              {"attempts", static_cast<uint64_t>(tracked.attempts)},
              {"seq", recorded->seq},
              {"status", tracked.last_error.ToString()}});
    return true;
  }
  // Refused because its outcome is already recorded (a restart re-sent it):
  // nothing is left to do. Decided by the outbox, not the refusal's text.
  std::optional<Notification> now = outbox_.Find(n.id);
  if (!now.has_value() || now->state != DeliveryState::kPending) return true;
  LogEvent("error", "notification_outcome_unrecorded",
           {{"notificationId", n.id}, {"status", recorded.status().ToString()}});
  return false;
}

}  // namespace wattledger::notify
