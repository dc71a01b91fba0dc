// The notification outbox: reminders for the occupants of a room, and what
// became of each. It derives a NotificationQueued (signed by the ledger key)
// per occupant when the control policies move a room's arrears level (low
// balance, pre-trip warning, cut-off, restored; the same level is never
// notified twice in a row; a cut deferred by a no-cut window and the cut
// itself are two notices) and, at each day tick, when the last 7 days' spend
// says the room will be cut within 3 days (a predicted cut, at most once per
// room per 3 days). wattd's notifier (api/notify/) sends what is pending and
// records NotificationSent or NotificationFailed.
//
// An inline projection, fed by the Domain after the campus and the control
// policies applied the same event (it reads the campus's rooms). Derived
// NotificationQueued events are records: the event that queued them made
// every change, so applying them changes nothing. It refuses an outcome for
// an unknown notification (kNotFound) and for one whose outcome is already
// recorded (kFailedPrecondition), so no notification is recorded delivered
// twice. A NotificationFailed is final: the notifier records it only after
// it gave up retrying, and a later NotificationSent for it is refused.
// Check and Apply run on the ledger's writer thread; the queries are safe
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ledger/inline_projection.h"
#include "projections/calendar.h"
#include "projections/campus.h"
#include "projections/control/arrears_change.h"
#include "projections/schema/outbox.capnp.h"
#include "projections/texts.h"

namespace wattledger::projections {

enum class DeliveryState : uint8_t { kPending = 0, kSent = 1, kFailed = 2 };
absl::string_view DeliveryStateName(DeliveryState state);          // "pending", "sent", "failed"
absl::string_view NotificationKindName(schema::NotificationKind);  // "lowBalance", ...

struct Notification {
  std::string id;  // "n/<queued_seq>/<index>": unique, the receivers' deduplication key
  std::string person_id;
  std::string room_id;
  std::string card_no;
  schema::NotificationKind kind = schema::NotificationKind::LOW_BALANCE;
  std::string text;
  uint64_t queued_seq = 0;  // the event that queued it (its NotificationQueued follows it)
  int64_t queued_at_us = 0;
  DeliveryState state = DeliveryState::kPending;
  uint32_t attempts = 0;
  std::string sender;  // "log", "webhook", ...
  std::string reason;  // why it failed
  uint64_t outcome_seq = 0;
  int64_t outcome_at_us = 0;

  bool operator==(const Notification&) const = default;
};

// The predicted cut: the spend of the last kSpendWindowDays days (day ticks,
// kSpendSamplesMax samples of the room's cumulative deductions) against what
// the room has left above its overdraft limit.
inline constexpr int64_t kSpendWindowDays = 7;
inline constexpr size_t kSpendSamplesMax = kSpendWindowDays + 1;
inline constexpr int64_t kPredictionHorizonDays = 3;  // warn when the cut is nearer than this
inline constexpr int64_t kPredictionEveryUs = 3 * kMicrosPerDay;  // at most once per room

class NotificationOutbox final : public ledger::InlineProjection {
 public:
  // `campus` must apply each event before this projection does.
  explicit NotificationOutbox(const Campus& campus) : campus_(campus) {}

  absl::Status Load(const ledger::EventStore& store) override;
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override {
    return Apply(event, writer, {});
  }
  // `changes`: what the control policies did to arrears levels in this event.
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer,
                        const std::vector<ArrearsChange>& changes);
  void Flush(ledger::StateWriter& writer) override;

  // Every pending notification, oldest first.
  std::vector<Notification> Pending() const;
  // A person's notifications, oldest first (the history a student sees).
  std::vector<Notification> ForPerson(const std::string& person_id) const;
  // The newest `limit` notifications, oldest first.
  std::vector<Notification> All(size_t limit = SIZE_MAX) const;
  std::optional<Notification> Find(const std::string& id) const;
  // Grows with every notification queued: the notifier checks it cheaply to
  // learn that there is something new to send.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  // (queued seq, index): the order notifications were queued in.
  using Key = std::pair<uint64_t, uint32_t>;
  struct RoomNotice {
    outbox::LastNotice last = outbox::LastNotice::NONE;
    struct Sample {
      int64_t day_end_us = 0;
      int64_t deductions_fen = 0;
    };
    std::deque<Sample> samples;  // oldest first
    int64_t last_predicted_at_us = 0;
  };
  struct Queue;  // the notifications one event queues (notification_outbox.cc)

  absl::Status CheckOutcome(const ledger::PendingEvent& event) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ApplyOutcome(const ledger::PendingEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoticeArrears(const ArrearsChange& change, Queue& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PredictCuts(int64_t day_end_us, Queue& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ledger::Applied Enqueue(const ledger::PendingEvent& event, Queue& queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Notification* FindLocked(absl::string_view id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const Campus& campus_;
  mutable absl::Mutex mu_;
  std::map<Key, Notification> entries_ ABSL_GUARDED_BY(mu_);
  std::set<Key> pending_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Key>> by_person_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RoomNotice> rooms_ ABSL_GUARDED_BY(mu_);
  std::set<Key> dirty_entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_rooms_ ABSL_GUARDED_BY(mu_);
  // Derived NotificationQueued events announced and not yet applied (in
  // memory only: a commit holds them all).
  uint32_t derived_expected_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> generation_{0};
};

// Rows ("state" family): outbox/note/<seq, 20 digits>/<index, 10 digits> and
// outbox/room/<room id>, each a projections/schema/outbox.capnp struct.
inline constexpr absl::string_view kOutboxPrefix = "outbox/";
inline constexpr absl::string_view kOutboxNotePrefix = "outbox/note/";
inline constexpr absl::string_view kOutboxRoomPrefix = "outbox/room/";
std::string EncodeNotification(const Notification& notification);
absl::StatusOr<Notification> DecodeNotification(absl::string_view bytes);

}  // namespace wattledger::projections
