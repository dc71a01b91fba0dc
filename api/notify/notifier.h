// The notifier: wattd's thread that delivers the notification outbox
// (projections/monitoring/notification_outbox.h). It wakes every
// poll_interval, and when the outbox's generation moved (something new was
// queued) or a retry is due, sends each pending notification through its
// Sender; an error is retried with capped exponential backoff
// (backoff_initial, doubling, at most backoff_max) until max_attempts, when
// it gives up. Then it records the outcome, NotificationSent or
// NotificationFailed signed by the ledger key, with the idempotency key
// "notify/<id>/outcome": an outcome is recorded once, and a refusal because
// the outbox already holds one (after a restart that re-sent it) is fine.
//
// What a restart may do: a notification sent but whose outcome was not yet
// recorded is sent again, with the same id, so receivers drop the duplicate
// (the webhook's Idempotency-Key). Notifications are sent one at a time, in
// queue order. Not copyable; Stop (or the destructor) joins the thread and
// must run before the ledger stops.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "api/notify/sender.h"
#include "ledger/ledger.h"
#include "projections/monitoring/notification_outbox.h"

namespace wattledger::notify {

struct NotifierOptions {
  uint32_t max_attempts = 8;  // then NotificationFailed
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(60);
  absl::Duration poll_interval = absl::Seconds(1);
};

class Notifier {
 public:
  // Starts the thread. `ledger` and `outbox` (the one registered with that
  // ledger, through its Domain) must outlive the notifier.
  Notifier(ledger::Ledger& ledger, const projections::NotificationOutbox& outbox,
           std::unique_ptr<Sender> sender, NotifierOptions options = {});
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Stops after the attempt in progress and joins the thread. Idempotent.
  void Stop();

  // The wait before attempt `attempts + 1` after `attempts` failed ones.
  static absl::Duration Backoff(const NotifierOptions& options, uint32_t attempts);

 private:
  // A pending notification this thread is working on.
  struct Tracked {
    uint32_t attempts = 0;
    absl::Time next_at = absl::InfinitePast();
    bool finished = false;  // sent, or given up: only its outcome is left to record
    absl::Status last_error;
  };

  void Run();
  // Sends or records what is due; returns when the next retry is due.
  absl::Time Pass(absl::Time now);
  // Moves `tracked` on by one step; true when its outcome is recorded.
  bool Step(const projections::Notification& notification, Tracked& tracked);
  bool RecordOutcome(const projections::Notification& notification, const Tracked& tracked);

  ledger::Ledger& ledger_;
  const projections::NotificationOutbox& outbox_;
  std::unique_ptr<Sender> sender_;
  NotifierOptions options_;
  // Thread state.
  uint64_t seen_generation_ = UINT64_MAX;
  std::map<std::string, Tracked> tracked_;  // by notification id
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace wattledger::notify
