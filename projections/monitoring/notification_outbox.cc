#include "projections/monitoring/notification_outbox.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/state_rows.h"

namespace wattledger::projections {
namespace {

using EventKind = schema::EventBody::Which;
using outbox::LastNotice;
using schema::NotificationKind;
constexpr size_t kRowBytesMax = 1 << 16;
// Every NotificationQueued and outcome is on this stream.
constexpr absl::string_view kStream = "notifications";

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

std::string Padded(uint64_t value, size_t digits) {
  std::string out = absl::StrCat(value);
  if (out.size() < digits) out.insert(0, digits - out.size(), '0');
  return out;
}

std::string NoteKey(uint64_t seq, uint32_t index) {
  return absl::StrCat(kOutboxNotePrefix, Padded(seq, 20), "/", Padded(index, 10));
}

std::string NotificationId(uint64_t seq, uint32_t index) {
  return absl::StrCat("n/", seq, "/", index);
}

// The (seq, index) of an id "n/<seq>/<index>"; nullopt when it has another shape.
std::optional<std::pair<uint64_t, uint32_t>> ParseId(absl::string_view id) {
  std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
  uint64_t seq = 0;
  uint32_t index = 0;
  if (parts.size() != 3 || parts[0] != "n" || !absl::SimpleAtoi(parts[1], &seq) ||
      !absl::SimpleAtoi(parts[2], &index)) {
    return std::nullopt;
  }
  return std::make_pair(seq, index);
}

outbox::DeliveryState ToRow(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return outbox::DeliveryState::PENDING;
    case DeliveryState::kSent:
      return outbox::DeliveryState::SENT;
    case DeliveryState::kFailed:
      return outbox::DeliveryState::FAILED;
  }
  return outbox::DeliveryState::PENDING;
}

DeliveryState FromRow(outbox::DeliveryState state) {
  switch (state) {
    case outbox::DeliveryState::PENDING:
      return DeliveryState::kPending;
    case outbox::DeliveryState::SENT:
      return DeliveryState::kSent;
    case outbox::DeliveryState::FAILED:
      return DeliveryState::kFailed;
  }
  return DeliveryState::kPending;
}

// The notice an arrears change calls for (NONE: none, the room is normal).
LastNotice NoticeFor(const ArrearsChange& change) {
  if (change.restored) return LastNotice::RESTORED;
  switch (change.level) {
    case schema::ArrearsLevel::NORMAL:
      return LastNotice::NONE;
    case schema::ArrearsLevel::LOW:
      return LastNotice::LOW_BALANCE;
    case schema::ArrearsLevel::WARNING:
      return LastNotice::CUT_WARNING;
    case schema::ArrearsLevel::CUT_OFF:
      // A deferred cut and the cut itself are told apart, so a policy that
      // reports the cut when the window ends has it notified too.
      return change.cut_deferred_until_us != 0 ? LastNotice::CUT_DEFERRED : LastNotice::CUT_OFF;
  }
  return LastNotice::NONE;
}

NotificationKind KindFor(LastNotice notice) {
  switch (notice) {
    case LastNotice::LOW_BALANCE:
      return NotificationKind::LOW_BALANCE;
    case LastNotice::CUT_WARNING:
      return NotificationKind::CUT_WARNING;
    case LastNotice::CUT_OFF:
    case LastNotice::CUT_DEFERRED:
      return NotificationKind::CUT_OFF;
    case LastNotice::RESTORED:
    case LastNotice::NONE:
      break;
  }
  return NotificationKind::RESTORED;
}

// "below -5.00 CNY": the balance at which power is cut.
std::string CutBound(const Room& room) { return Cny(-room.overdraft_limit_fen); }

std::string ArrearsText(LastNotice notice, const ArrearsChange& change, const Room& room) {
  std::string head =
      absl::StrCat("Room ", room.room_id, ": balance ", FormatCny(change.balance_fen), " CNY");
  switch (notice) {
    case LastNotice::LOW_BALANCE:
      return absl::StrCat(head, " is below ", FormatCny(change.threshold_fen),
                          " CNY; power will be cut when it falls below ", CutBound(room), ".");
    case LastNotice::CUT_WARNING:
      return absl::StrCat(head, " is below the warning level of ", FormatCny(change.threshold_fen),
                          " CNY; power will be cut soon, when it falls below ", CutBound(room),
                          ". Please top up.");
    case LastNotice::CUT_DEFERRED:
      return absl::StrCat(head, " is below ", CutBound(room),
                          "; power will be cut at the end of the no-cut window, ",
                          CampusTimeText(change.cut_deferred_until_us),
                          " (campus time), unless a deposit brings it back first.");
    case LastNotice::CUT_OFF:
      return absl::StrCat(head, " is below ", CutBound(room),
                          "; power has been cut off. It is restored as soon as a deposit brings "
                          "the balance back.");
    case LastNotice::RESTORED:
      return absl::StrCat(head, "; power has been restored.");
    case LastNotice::NONE:
      break;
  }
  return head;
}

std::string QueuedBody(const Notification& n, int64_t issued_at_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("notification/", n.id));
  body.setIssuedAtUs(issued_at_us);
  body.setStream(std::string(kStream));
  auto queued = body.initNotificationQueued();
  queued.setNotificationId(n.id);
  queued.setPersonId(n.person_id);
  queued.setRoomId(n.room_id);
  queued.setKind(n.kind);
  queued.setText(n.text);
  queued.setCardNo(n.card_no);
  return ledger::Canonical(body.asReader());
}

std::string EncodeRoomNotice(LastNotice last, const auto& samples, int64_t last_predicted_at_us) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<outbox::RoomNoticeRecord>();
  row.setLastNotice(last);
  auto list = row.initSamples(static_cast<unsigned>(samples.size()));
  for (unsigned i = 0; i < samples.size(); ++i) {
    list[i].setDayEndUs(samples[i].day_end_us);
    list[i].setDeductionsFen(samples[i].deductions_fen);
  }
  row.setLastPredictedAtUs(last_predicted_at_us);
  return ledger::Canonical(row.asReader());
}

}  // namespace

// The notifications one event queues, in order; their ids follow the order.
struct NotificationOutbox::Queue {
  const ledger::PendingEvent& event;
  std::vector<Notification> added;

  void Add(const Room& room, NotificationKind kind, const std::string& text) {
    for (const Occupant& occupant : room.occupants) {
      Notification n;
      n.id = NotificationId(event.seq, static_cast<uint32_t>(added.size()));
      n.person_id = occupant.person_id;
      n.room_id = room.room_id;
      n.card_no = occupant.card_no;
      n.kind = kind;
      n.text = text;
      n.queued_seq = event.seq;
      n.queued_at_us = event.appended_at_us;
      added.push_back(std::move(n));
    }
  }
};

absl::string_view DeliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kSent:
      return "sent";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::string_view NotificationKindName(NotificationKind kind) {
  switch (kind) {
    case NotificationKind::LOW_BALANCE:
      return "lowBalance";
    case NotificationKind::CUT_WARNING:
      return "cutWarning";
    case NotificationKind::CUT_OFF:
      return "cutOff";
    case NotificationKind::RESTORED:
      return "restored";
    case NotificationKind::PREDICTED_CUT:
      return "predictedCut";
  }
  return "unknown";
}

std::string EncodeNotification(const Notification& n) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<outbox::NotificationRecord>();
  row.setNotificationId(n.id);
  row.setPersonId(n.person_id);
  row.setRoomId(n.room_id);
  row.setCardNo(n.card_no);
  row.setKind(n.kind);
  row.setText(n.text);
  row.setQueuedSeq(n.queued_seq);
  row.setQueuedAtUs(n.queued_at_us);
  row.setState(ToRow(n.state));
  row.setAttempts(n.attempts);
  row.setSender(n.sender);
  row.setReason(n.reason);
  row.setOutcomeSeq(n.outcome_seq);
  row.setOutcomeAtUs(n.outcome_at_us);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<Notification> DecodeNotification(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(
      auto parsed,
      ledger::CanonicalMessage<outbox::NotificationRecord>::ParseTrusted(bytes, kRowBytesMax));
  auto row = parsed.get();
  Notification n;
  n.id = Str(row.getNotificationId());
  n.person_id = Str(row.getPersonId());
  n.room_id = Str(row.getRoomId());
  n.card_no = Str(row.getCardNo());
  n.kind = row.getKind();
  n.text = Str(row.getText());
  n.queued_seq = row.getQueuedSeq();
  n.queued_at_us = row.getQueuedAtUs();
  n.state = FromRow(row.getState());
  n.attempts = row.getAttempts();
  n.sender = Str(row.getSender());
  n.reason = Str(row.getReason());
  n.outcome_seq = row.getOutcomeSeq();
  n.outcome_at_us = row.getOutcomeAtUs();
  if (!ParseId(n.id).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("bad notification id '", n.id, "'"));
  }
  return n;
}

absl::Status NotificationOutbox::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  WL_RETURN_IF_ERROR(ScanStateRows(store, kOutboxNotePrefix,
                                   [&](absl::string_view, absl::string_view value) -> absl::Status {
                                     WL_ASSIGN_OR_RETURN(Notification n, DecodeNotification(value));
                                     Key key = *ParseId(n.id);
                                     if (n.state == DeliveryState::kPending) pending_.insert(key);
                                     by_person_[n.person_id].push_back(key);
                                     entries_.emplace(key, std::move(n));
                                     return absl::OkStatus();
                                   }));
  WL_RETURN_IF_ERROR(ScanStateRows(
      store, kOutboxRoomPrefix, [&](absl::string_view id, absl::string_view value) -> absl::Status {
        WL_ASSIGN_OR_RETURN(
            auto parsed,
            ledger::CanonicalMessage<outbox::RoomNoticeRecord>::ParseTrusted(value, kRowBytesMax));
        auto row = parsed.get();
        RoomNotice& room = rooms_[std::string(id)];
        room.last = row.getLastNotice();
        for (auto sample : row.getSamples()) {
          room.samples.push_back({sample.getDayEndUs(), sample.getDeductionsFen()});
        }
        room.last_predicted_at_us = row.getLastPredictedAtUs();
        return absl::OkStatus();
      }));
  generation_.store(entries_.size(), std::memory_order_release);
  return absl::OkStatus();
}

const Notification* NotificationOutbox::FindLocked(absl::string_view id) const {
  std::optional<Key> key = ParseId(id);
  if (!key.has_value()) return nullptr;
  auto it = entries_.find(*key);
  if (it == entries_.end() || it->second.id != id) return nullptr;  // "n/01/2" is not "n/1/2"
  return &it->second;
}

absl::Status NotificationOutbox::CheckOutcome(const ledger::PendingEvent& event) const {
  bool sent = event.body.which() == EventKind::NOTIFICATION_SENT;
  std::string id = sent ? Str(event.body.getNotificationSent().getNotificationId())
                        : Str(event.body.getNotificationFailed().getNotificationId());
  uint32_t attempts = sent ? event.body.getNotificationSent().getAttempts()
                           : event.body.getNotificationFailed().getAttempts();
  size_t sender = sent ? event.body.getNotificationSent().getSender().size()
                       : event.body.getNotificationFailed().getSender().size();
  if (attempts == 0 || sender == 0) {
    return absl::InvalidArgumentError("a notification outcome needs its attempts and its sender");
  }
  const Notification* found = FindLocked(id);
  if (found == nullptr)
    return absl::NotFoundError(absl::StrCat("notification ", id, " is unknown"));
  if (found->state != DeliveryState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("notification ", id, " is already ", DeliveryStateName(found->state)));
  }
  return absl::OkStatus();
}

absl::Status NotificationOutbox::Check(const ledger::PendingEvent& event) const {
  absl::ReaderMutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::NOTIFICATION_QUEUED:
      if (derived_expected_ == 0) {
        return absl::FailedPreconditionError(
            "notifications are queued by the ledger from the event that calls for them");
      }
      return absl::OkStatus();
    case EventKind::NOTIFICATION_SENT:
    case EventKind::NOTIFICATION_FAILED:
      return CheckOutcome(event);
    default:
      return absl::OkStatus();
  }
}

void NotificationOutbox::ApplyOutcome(const ledger::PendingEvent& event) {
  bool sent = event.body.which() == EventKind::NOTIFICATION_SENT;
  std::string id = sent ? Str(event.body.getNotificationSent().getNotificationId())
                        : Str(event.body.getNotificationFailed().getNotificationId());
  std::optional<Key> key = ParseId(id);
  WL_CHECK(key.has_value());
  Notification& n = entries_.at(*key);
  WL_CHECK(n.state == DeliveryState::kPending);
  if (sent) {
    auto outcome = event.body.getNotificationSent();
    n.state = DeliveryState::kSent;
    n.attempts = outcome.getAttempts();
    n.sender = Str(outcome.getSender());
  } else {
    auto outcome = event.body.getNotificationFailed();
    n.state = DeliveryState::kFailed;
    n.attempts = outcome.getAttempts();
    n.sender = Str(outcome.getSender());
    n.reason = Str(outcome.getReason());
  }
  n.outcome_seq = event.seq;
  n.outcome_at_us = event.appended_at_us;
  pending_.erase(*key);
  dirty_entries_.insert(*key);
}

void NotificationOutbox::NoticeArrears(const ArrearsChange& change, Queue& queue) {
  LastNotice notice = NoticeFor(change);
  auto found = rooms_.find(change.room_id);
  LastNotice last = found == rooms_.end() ? LastNotice::NONE : found->second.last;
  if (notice == last) return;  // the same level twice in a row: once is enough
  rooms_[change.room_id].last = notice;
  dirty_rooms_.insert(change.room_id);
  if (notice == LastNotice::NONE) return;
  std::optional<Room> room = campus_.FindRoom(change.room_id);
  if (!room.has_value()) return;
  queue.Add(*room, KindFor(notice), ArrearsText(notice, change, *room));
}

void NotificationOutbox::PredictCuts(int64_t day_end_us, Queue& queue) {
  constexpr int64_t kWindowUs = kSpendWindowDays * kMicrosPerDay;
  for (const Room& room : campus_.Rooms()) {
    if (room.occupants.empty()) continue;
    RoomNotice& notice = rooms_[room.room_id];
    auto& samples = notice.samples;
    if (!samples.empty() && samples.back().day_end_us >= day_end_us) continue;  // not a new day
    samples.push_back({day_end_us, room.deductions_fen});
    while (samples.size() > kSpendSamplesMax ||
           samples.front().day_end_us < day_end_us - kWindowUs) {
      samples.pop_front();
    }
    dirty_rooms_.insert(room.room_id);
    // A prediction needs the whole window, a balance to lose, and a pause
    // since the last one.
    if (samples.front().day_end_us != day_end_us - kWindowUs || room.balance_fen <= 0) continue;
    if (notice.last_predicted_at_us != 0 &&
        day_end_us - notice.last_predicted_at_us < kPredictionEveryUs) {
      continue;
    }
    int64_t spend_fen = samples.back().deductions_fen - samples.front().deductions_fen;
    int64_t headroom_fen = room.balance_fen + room.overdraft_limit_fen;
    if (spend_fen <= 0 || headroom_fen * kSpendWindowDays >= kPredictionHorizonDays * spend_fen) {
      continue;
    }
    int64_t days =
        std::max<int64_t>(1, (headroom_fen * kSpendWindowDays + spend_fen / 2) / spend_fen);
    notice.last_predicted_at_us = day_end_us;
    std::string text =
        absl::StrCat("Room ", room.room_id, ": balance ", FormatCny(room.balance_fen),
                     " CNY; at the last 7 days' use (",
                     FormatCny((spend_fen + kSpendWindowDays / 2) / kSpendWindowDays),
                     " CNY/day), power will be cut in about ", days, days == 1 ? " day" : " days",
                     ", when it falls below ", CutBound(room), ".");
    queue.Add(room, NotificationKind::PREDICTED_CUT, text);
  }
}

ledger::Applied NotificationOutbox::Enqueue(const ledger::PendingEvent& event, Queue& queue) {
  ledger::Applied applied;
  for (Notification& n : queue.added) {
    Key key = *ParseId(n.id);
    if (event.outputs == ledger::ApplyOutputs::kStateOnly) {
      // The replay skips it in the log: Check and Apply will not see it.
      ++applied.derived_unbuilt;
    } else {
      applied.derived_bodies.push_back(QueuedBody(n, event.appended_at_us));
      ++derived_expected_;
    }
    pending_.insert(key);
    by_person_[n.person_id].push_back(key);
    dirty_entries_.insert(key);
    entries_.emplace(key, std::move(n));
  }
  if (!queue.added.empty()) generation_.fetch_add(queue.added.size(), std::memory_order_release);
  return applied;
}

ledger::Applied NotificationOutbox::Apply(const ledger::PendingEvent& event, ledger::StateWriter&,
                                          const std::vector<ArrearsChange>& changes) {
  absl::MutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::NOTIFICATION_QUEUED:
      // A record: the event that queued it made every change.
      WL_CHECK(derived_expected_ > 0);
      --derived_expected_;
      return {};
    case EventKind::NOTIFICATION_SENT:
    case EventKind::NOTIFICATION_FAILED:
      ApplyOutcome(event);
      return {};
    default:
      break;
  }
  Queue queue{event, {}};
  for (const ArrearsChange& change : changes) NoticeArrears(change, queue);
  if (event.body.which() == EventKind::PERIOD_CLOSED &&
      event.body.getPeriodClosed().getKind() == schema::PeriodKind::DAY) {
    PredictCuts(event.body.getPeriodClosed().getPeriodEndUs(), queue);
  }
  return Enqueue(event, queue);
}

void NotificationOutbox::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (const Key& key : dirty_entries_) {
    writer.Put(NoteKey(key.first, key.second), EncodeNotification(entries_.at(key)));
  }
  for (const std::string& id : dirty_rooms_) {
    const RoomNotice& room = rooms_.at(id);
    writer.Put(absl::StrCat(kOutboxRoomPrefix, id),
               EncodeRoomNotice(room.last, room.samples, room.last_predicted_at_us));
  }
  dirty_entries_.clear();
  dirty_rooms_.clear();
}

std::vector<Notification> NotificationOutbox::Pending() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Notification> out;
  out.reserve(pending_.size());
  for (const Key& key : pending_) out.push_back(entries_.at(key));
  return out;
}

std::vector<Notification> NotificationOutbox::ForPerson(const std::string& person_id) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Notification> out;
  auto found = by_person_.find(person_id);
  if (found == by_person_.end()) return out;
  for (const Key& key : found->second) out.push_back(entries_.at(key));
  return out;
}

std::vector<Notification> NotificationOutbox::All(size_t limit) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Notification> out;
  size_t skip = entries_.size() > limit ? entries_.size() - limit : 0;
  out.reserve(entries_.size() - skip);
  for (auto it = std::next(entries_.begin(), static_cast<ptrdiff_t>(skip)); it != entries_.end();
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::optional<Notification> NotificationOutbox::Find(const std::string& id) const {
  absl::ReaderMutexLock lock(&mu_);
  const Notification* found = FindLocked(id);
  if (found == nullptr) return std::nullopt;
  return *found;
}

}  // namespace wattledger::projections
