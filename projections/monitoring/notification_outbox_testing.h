// For tests of the notification outbox and its notifier (not linked into
// wattd): an inline projection holding a campus and an outbox, fed arrears
// changes by a simple stand-in for the control policies, so the outbox can be
// driven through a real ledger on its own. The stand-in rule, per room, from
// the balance after each event: below kLowFen low, below kWarningFen warning,
// below -overdraft cut off (deferred to 07:00 when it happens from 23:00 to
// 07:00 campus time; the first event after 07:00 then reports the cut), and
// a cut-off room that is no longer cut off is restored. Deterministic, so replays rebuild the same
// outbox.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/campus.h"
#include "projections/monitoring/notification_outbox.h"

namespace wattledger::projections {

class OutboxTestHarness final : public ledger::InlineProjection {
 public:
  static constexpr int64_t kLowFen = 500;
  static constexpr int64_t kWarningFen = 200;

  absl::Status Load(const ledger::EventStore& store) override {
    WL_RETURN_IF_ERROR(campus_.Load(store));
    WL_RETURN_IF_ERROR(outbox_.Load(store));
    for (const Room& room : campus_.Rooms()) levels_[room.room_id] = LevelOf(room);
    return absl::OkStatus();
  }
  absl::Status Check(const ledger::PendingEvent& event) const override {
    WL_RETURN_IF_ERROR(campus_.Check(event));
    return outbox_.Check(event);
  }
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override {
    ledger::Applied applied = campus_.Apply(event, writer);
    ledger::Applied more = outbox_.Apply(event, writer, Changes(event));
    for (std::string& body : more.derived_bodies) applied.derived_bodies.push_back(std::move(body));
    applied.derived_unbuilt += more.derived_unbuilt;
    return applied;
  }
  void Flush(ledger::StateWriter& writer) override {
    campus_.Flush(writer);
    outbox_.Flush(writer);
  }

  const Campus& campus() const { return campus_; }
  const NotificationOutbox& outbox() const { return outbox_; }

 private:
  static schema::ArrearsLevel LevelOf(const Room& room) {
    if (room.balance_fen < -room.overdraft_limit_fen) return schema::ArrearsLevel::CUT_OFF;
    if (room.balance_fen < kWarningFen) return schema::ArrearsLevel::WARNING;
    if (room.balance_fen < kLowFen) return schema::ArrearsLevel::LOW;
    return schema::ArrearsLevel::NORMAL;
  }

  std::vector<ArrearsChange> Changes(const ledger::PendingEvent& event) {
    std::vector<ArrearsChange> changes;
    for (const Room& room : campus_.Rooms()) {
      schema::ArrearsLevel level = LevelOf(room);
      auto [it, added] = levels_.emplace(room.room_id, schema::ArrearsLevel::NORMAL);
      schema::ArrearsLevel previous = it->second;
      int64_t& deferred_until = deferred_until_us_[room.room_id];
      if (level == previous && level == schema::ArrearsLevel::CUT_OFF && deferred_until != 0 &&
          event.appended_at_us >= deferred_until) {
        deferred_until = 0;  // the window ended: the cut happens now
        changes.push_back(ArrearsChange{.room_id = room.room_id,
                                        .level = level,
                                        .previous = previous,
                                        .balance_fen = room.balance_fen,
                                        .threshold_fen = -room.overdraft_limit_fen,
                                        .at_us = event.appended_at_us});
        continue;
      }
      if (level == previous) continue;
      it->second = level;
      deferred_until = 0;
      ArrearsChange change{.room_id = room.room_id,
                           .level = level,
                           .previous = previous,
                           .balance_fen = room.balance_fen,
                           .at_us = event.appended_at_us};
      switch (level) {
        case schema::ArrearsLevel::LOW:
          change.threshold_fen = kLowFen;
          break;
        case schema::ArrearsLevel::WARNING:
          change.threshold_fen = kWarningFen;
          break;
        case schema::ArrearsLevel::CUT_OFF: {
          change.threshold_fen = -room.overdraft_limit_fen;
          int64_t day = DayStartUs(event.appended_at_us);
          int64_t hour = (event.appended_at_us - day) / 3'600'000'000LL;
          if (hour >= 23) change.cut_deferred_until_us = day + kMicrosPerDay + 7 * 3'600'000'000LL;
          if (hour < 7) change.cut_deferred_until_us = day + 7 * 3'600'000'000LL;
          deferred_until = change.cut_deferred_until_us;
          break;
        }
        case schema::ArrearsLevel::NORMAL:
          break;
      }
      change.restored = previous == schema::ArrearsLevel::CUT_OFF;
      changes.push_back(change);
    }
    return changes;
  }

  Campus campus_;
  NotificationOutbox outbox_{campus_};
  std::map<std::string, schema::ArrearsLevel> levels_;
  std::map<std::string, int64_t> deferred_until_us_;
};

}  // namespace wattledger::projections
