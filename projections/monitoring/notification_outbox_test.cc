// The notification outbox through the real ledger: arrears changes (from a
// stand-in for the control policies, notification_outbox_testing.h) queue one
// notification per occupant, a level is not notified twice in a row, the day
// ticks predict a cut from the last 7 days' spend (through the Domain), an
// outcome is recorded once, and replay rebuilds the same outbox.
#include "projections/monitoring/notification_outbox.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "ledger/event_format.h"
#include "projections/domain.h"
#include "projections/monitoring/notification_outbox_testing.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using schema::NotificationKind;
using testing::MakeBody;
using testing::MeterSpec;
using testing::ReadingSpec;

constexpr char kRoom[] = "B01-301";
constexpr char kMeter[] = "000000030101";
constexpr int64_t kHourUs = 3'600'000'000LL;
constexpr int64_t kPricePerKwh = 5000;  // 0.50 CNY/kWh: 1 kWh is 50 fen

void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
  ASSERT_TRUE(result.ok()) << result.status();
}

// A room with two occupants, a meter and a tariff, under projection P (the
// stand-in harness or the whole Domain).
template <typename P>
class OutboxTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(
        testing::TariffBody(c_.Key("t"), now(), "undergraduate", now(), {{0, kPricePerKwh}}, 0)));
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), now(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), now(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), kRoom, "B01", 4)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), "B01-302", "B01", 4)));
    Ok(c_.AsOperator(
        testing::OccupantBody(c_.Key("o"), now(), kRoom, "p-1", "undergraduate", "card-1")));
    Ok(c_.AsOperator(
        testing::OccupantBody(c_.Key("o"), now(), kRoom, "p-2", "undergraduate", "card-2")));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), MeterSpec{kMeter, "G1", kRoom})));
  }

  int64_t now() const { return c_.now_us(); }
  const NotificationOutbox& outbox() { return c_.campus().outbox(); }

  uint64_t Deposit(int64_t amount_fen) {
    auto result = c_.AsCashier(testing::DepositBody(c_.Key("d"), now(), kRoom, amount_fen));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }
  // A reading of the room's meter `used_wh` more than the last one, an hour
  // per 8 kWh later (what the meter can pass, 8.8 kW, bounds a plausible delta).
  uint64_t Use(int64_t used_wh) {
    c_.t().clock().Advance(std::max<int64_t>(1, (used_wh + 7'999) / 8'000) * kHourUs);
    total_wh_ += used_wh;
    auto result = c_.AsIngest(testing::ReadingsBody(
        c_.Key("sweep"), now(), "G1",
        {ReadingSpec{.address = kMeter, .read_at_us = now(), .total_wh = total_wh_}}));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }
  // Moves the clock to `hour` o'clock (campus time) of the next day.
  void NextDayAt(int64_t hour) {
    c_.t().clock().Set(DayStartUs(now()) + kMicrosPerDay + hour * kHourUs);
  }
  // The day tick the ledger's ticker appends when the campus day ends.
  uint64_t CloseDay() {
    auto result =
        c_.AsLedger(testing::PeriodBody(now(), DayStartUs(now()), schema::PeriodKind::DAY));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  std::string OutcomeBody(const std::string& key, const std::string& id, bool sent,
                          uint32_t attempts = 1) {
    return MakeBody(key, now(), "notifications", [&](schema::EventBody::Builder body) {
      if (sent) {
        auto outcome = body.initNotificationSent();
        outcome.setNotificationId(id);
        outcome.setAttempts(attempts);
        outcome.setSender("webhook");
      } else {
        auto outcome = body.initNotificationFailed();
        outcome.setNotificationId(id);
        outcome.setAttempts(attempts);
        outcome.setSender("webhook");
        outcome.setReason("HTTP 500 after 8 attempts");
      }
    });
  }

  std::vector<Notification> OfKind(NotificationKind kind) {
    std::vector<Notification> out;
    for (Notification& n : outbox().All()) {
      if (n.kind == kind) out.push_back(std::move(n));
    }
    return out;
  }

  testing::CampusLedger<P> c_;
  int64_t total_wh_ = 0;
};

using OutboxTest = OutboxTestBase<OutboxTestHarness>;

TEST_F(OutboxTest, QueuesOneNotificationPerOccupantAsLedgerSignedRecords) {
  NextDayAt(10);
  Deposit(1000);
  EXPECT_TRUE(outbox().All().empty());
  uint64_t generation = outbox().generation();
  uint64_t seq = Use(12'000);  // 6.00 CNY: 4.00 left, below 5.00

  auto pending = outbox().Pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(outbox().generation(), generation + 2);
  const std::string text =
      "Room B01-301: balance 4.00 CNY is below 5.00 CNY; power will be cut when it falls below "
      "0.00 CNY.";
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(pending[i].id, absl::StrCat("n/", seq, "/", i));
    EXPECT_EQ(pending[i].person_id, absl::StrCat("p-", i + 1));
    EXPECT_EQ(pending[i].card_no, absl::StrCat("card-", i + 1));
    EXPECT_EQ(pending[i].room_id, kRoom);
    EXPECT_EQ(pending[i].kind, NotificationKind::LOW_BALANCE);
    EXPECT_EQ(pending[i].text, text);
    EXPECT_EQ(pending[i].queued_seq, seq);
    EXPECT_EQ(pending[i].queued_at_us, now());
    EXPECT_EQ(pending[i].state, DeliveryState::kPending);
  }
  ASSERT_EQ(outbox().ForPerson("p-2").size(), 1u);
  EXPECT_EQ(outbox().ForPerson("p-2")[0].id, absl::StrCat("n/", seq, "/1"));

  // The log holds them right after the batch (and its deductions), signed by
  // the ledger key.
  std::vector<std::string> ids;
  for (uint64_t s = seq + 1; s <= c_.head_seq(); ++s) {
    auto stored = testing::ReadStoredEvent(c_.ledger().store(), s);
    ASSERT_TRUE(stored.ok()) << stored.status();
    auto body = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
    ASSERT_TRUE(body.ok());
    if (!body->get().isNotificationQueued()) continue;
    EXPECT_EQ(stored->signer, c_.t().ledger_key().key_id());
    auto queued = body->get().getNotificationQueued();
    ids.push_back(queued.getNotificationId());
    EXPECT_EQ(std::string(queued.getText()), text);
    EXPECT_EQ(std::string(queued.getCardNo()), ids.size() == 1 ? "card-1" : "card-2");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{pending[0].id, pending[1].id}));
}

TEST_F(OutboxTest, DoesNotNotifyTheSameLevelTwiceInARow) {
  NextDayAt(10);
  Deposit(1000);
  Use(12'000);  // 4.00: low
  ASSERT_EQ(OfKind(NotificationKind::LOW_BALANCE).size(), 2u);
  Use(2'000);  // 3.00: still low
  EXPECT_EQ(outbox().All().size(), 2u);
  Use(3'000);  // 1.50: warning
  auto warnings = OfKind(NotificationKind::CUT_WARNING);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].text,
            "Room B01-301: balance 1.50 CNY is below the warning level of 2.00 CNY; power will be "
            "cut soon, when it falls below 0.00 CNY. Please top up.");
  Use(1'000);     // 1.00: still a warning
  Deposit(1000);  // 11.00: normal again, nothing to say
  EXPECT_EQ(outbox().All().size(), 4u);
  Use(15'000);  // 3.50: low again, after a normal spell
  EXPECT_EQ(OfKind(NotificationKind::LOW_BALANCE).size(), 4u);
  EXPECT_EQ(outbox().All().size(), 6u);
}

TEST_F(OutboxTest, CutOffNamesADeferredCutAndRestoreFollowsADeposit) {
  NextDayAt(10);
  Deposit(300);
  Use(8'000);  // -1.00 at 10:00: cut off now
  auto cuts = OfKind(NotificationKind::CUT_OFF);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_EQ(cuts[0].text,
            "Room B01-301: balance -1.00 CNY is below 0.00 CNY; power has been cut off. It is "
            "restored as soon as a deposit brings the balance back.");
  Deposit(1000);  // 9.00
  auto restored = OfKind(NotificationKind::RESTORED);
  ASSERT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored[0].text, "Room B01-301: balance 9.00 CNY; power has been restored.");

  // At 23:30 the cut waits for the no-cut window to end at 07:00.
  c_.t().clock().Set(DayStartUs(now()) + 20 * kHourUs + 30 * 60'000'000LL);
  Use(20'000);  // -1.00, 3 hours later
  cuts = OfKind(NotificationKind::CUT_OFF);
  ASSERT_EQ(cuts.size(), 4u);
  std::string until = CampusTimeText(DayStartUs(now()) + kMicrosPerDay + 7 * kHourUs);
  EXPECT_TRUE(absl::EndsWith(until, " 07:00")) << until;
  EXPECT_EQ(cuts[2].text, absl::StrCat("Room B01-301: balance -1.00 CNY is below 0.00 CNY; power "
                                       "will be cut at the end of the no-cut window, ",
                                       until,
                                       " (campus time), unless a deposit brings it back "
                                       "first."));
  // When the window ends the cut itself is told too, once.
  NextDayAt(8);
  Use(1'000);
  cuts = OfKind(NotificationKind::CUT_OFF);
  ASSERT_EQ(cuts.size(), 6u);
  EXPECT_EQ(cuts[4].text,
            "Room B01-301: balance -1.50 CNY is below 0.00 CNY; power has been cut off. It is "
            "restored as soon as a deposit brings the balance back.");
  Use(1'000);
  EXPECT_EQ(OfKind(NotificationKind::CUT_OFF).size(), 6u);
}

TEST_F(OutboxTest, RecordsEachOutcomeOnceAndRefusesTheRest) {
  NextDayAt(10);
  Deposit(1000);
  Use(12'000);
  auto pending = outbox().Pending();
  ASSERT_EQ(pending.size(), 2u);
  const std::string sent_id = pending[0].id;
  const std::string failed_id = pending[1].id;

  auto sent =
      c_.AsLedger(OutcomeBody(absl::StrCat("notify/", sent_id, "/outcome"), sent_id, true, 3));
  Ok(sent);
  // The notifier's retry after a restart: the first result, nothing appended.
  auto again =
      c_.AsLedger(OutcomeBody(absl::StrCat("notify/", sent_id, "/outcome"), sent_id, true, 3));
  Ok(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, sent->seq);
  Ok(c_.AsLedger(OutcomeBody(c_.Key("outcome"), failed_id, false, 8)));

  auto delivered = outbox().Find(sent_id);
  ASSERT_TRUE(delivered.has_value());
  EXPECT_EQ(delivered->state, DeliveryState::kSent);
  EXPECT_EQ(delivered->attempts, 3u);
  EXPECT_EQ(delivered->sender, "webhook");
  EXPECT_EQ(delivered->outcome_seq, sent->seq);
  auto failed = outbox().Find(failed_id);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state, DeliveryState::kFailed);
  EXPECT_EQ(failed->reason, "HTTP 500 after 8 attempts");
  EXPECT_TRUE(outbox().Pending().empty());

  uint64_t head = c_.head_seq();
  auto refused = [&](const absl::StatusOr<ledger::AppendResult>& result, absl::StatusCode code,
                     absl::string_view words) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_TRUE(absl::StrContains(result.status().message(), words)) << result.status();
  };
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"), sent_id, true)),
          absl::StatusCode::kFailedPrecondition, "already sent");
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"), sent_id, false)),
          absl::StatusCode::kFailedPrecondition, "already sent");
  // Failed is final: the notifier gave up.
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"), failed_id, true)),
          absl::StatusCode::kFailedPrecondition, "already failed");
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"), "n/99999/0", true)),
          absl::StatusCode::kNotFound, "unknown");
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"),
                                  absl::StrCat("n/0", pending[0].queued_seq, "/0"), true)),
          absl::StatusCode::kNotFound, "unknown");
  refused(c_.AsLedger(OutcomeBody(c_.Key("outcome"), sent_id, true, 0)),
          absl::StatusCode::kInvalidArgument, "attempts");
  refused(c_.AsCashier(OutcomeBody(c_.Key("outcome"), sent_id, true)),
          absl::StatusCode::kPermissionDenied, "may not issue");
  refused(c_.AsLedger(MakeBody(c_.Key("queued"), now(), "notifications",
                               [](schema::EventBody::Builder body) {
                                 auto queued = body.initNotificationQueued();
                                 queued.setNotificationId("n/1/0");
                                 queued.setPersonId("p-1");
                               })),
          absl::StatusCode::kFailedPrecondition, "queued by the ledger");
  EXPECT_EQ(c_.head_seq(), head);
}

TEST_F(OutboxTest, ReplayAndReopenRebuildTheSameOutbox) {
  NextDayAt(10);
  Deposit(300);
  Use(2'000);     // 2.00: low
  Use(8'000);     // -2.00: cut off
  Deposit(1000);  // restored
  auto pending = outbox().Pending();
  ASSERT_EQ(pending.size(), 6u);
  Ok(c_.AsLedger(OutcomeBody(c_.Key("outcome"), pending[0].id, true)));
  Ok(c_.AsLedger(OutcomeBody(c_.Key("outcome"), pending[1].id, false)));
  auto before = outbox().All();
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->outbox().All(), before);
  EXPECT_EQ(outbox().All(), before);
  EXPECT_EQ(outbox().Pending().size(), 4u);
  EXPECT_EQ(outbox().ForPerson("p-1").size(), 3u);
  EXPECT_EQ(outbox().All(2).size(), 2u);
  EXPECT_EQ(outbox().All(2)[1], before.back());
  // The reopened outbox goes on where it stopped: restored is not repeated,
  // and an outcome for a delivered one is still refused.
  Deposit(1000);
  EXPECT_EQ(outbox().All().size(), before.size());
  EXPECT_FALSE(c_.AsLedger(OutcomeBody(c_.Key("outcome"), pending[0].id, true)).ok());
  Ok(c_.AsLedger(OutcomeBody(c_.Key("outcome"), pending[2].id, true)));
}

using DomainOutboxTest = OutboxTestBase<Domain>;

TEST_F(DomainOutboxTest, PredictsACutFromTheLastSevenDaysOfSpend) {
  NextDayAt(10);
  Deposit(4800);
  // 8 kWh (4.00 CNY) a day, and the ledger's day tick after each day.
  std::vector<uint64_t> ticks;
  for (int day = 1; day <= 12; ++day) {
    NextDayAt(0);
    c_.t().clock().Advance(-2 * kHourUs);
    Use(8'000);                           // at 23:00
    c_.t().clock().Advance(2 * kHourUs);  // 01:00 of the next day
    ticks.push_back(CloseDay());
    // Balance 48.00 - 4.00 x day; a cut at -0.00 is nearer than 3 days only
    // on day 10 (8.00 left: 2 days), and not again within 3 days.
    auto predicted = OfKind(NotificationKind::PREDICTED_CUT);
    ASSERT_EQ(predicted.size(), day >= 10 ? 2u : 0u) << "day " << day;
  }
  auto predicted = OfKind(NotificationKind::PREDICTED_CUT);
  EXPECT_EQ(predicted[0].queued_seq, ticks[9]);
  EXPECT_EQ(predicted[0].person_id, "p-1");
  EXPECT_EQ(predicted[1].person_id, "p-2");
  EXPECT_EQ(predicted[0].text,
            "Room B01-301: balance 8.00 CNY; at the last 7 days' use (4.00 CNY/day), power will "
            "be cut in about 2 days, when it falls below 0.00 CNY.");
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->outbox().All(), outbox().All());
}

TEST_F(DomainOutboxTest, PredictsNothingWithoutAWholeWeekOrWithHeadroom) {
  Ok(c_.AsOperator(testing::OverdraftBody(c_.Key("od"), now(), kRoom, 5000)));
  Deposit(4800);
  for (int day = 1; day <= 12; ++day) {
    NextDayAt(0);
    Use(8'000);
    CloseDay();
  }
  // 50.00 CNY of overdraft keeps the cut more than 3 days away.
  EXPECT_TRUE(OfKind(NotificationKind::PREDICTED_CUT).empty());
}

TEST(OutboxFormat, AmountsAndCampusTimes) {
  EXPECT_EQ(FormatCny(320), "3.20");
  EXPECT_EQ(FormatCny(5), "0.05");
  EXPECT_EQ(FormatCny(-1234), "-12.34");
  EXPECT_EQ(FormatCny(0), "0.00");
  // 2026-09-22 00:00 UTC is 08:00 campus time.
  EXPECT_EQ(CampusTimeText(1'789'948'800'000'000 + 86'400'000'000), "2026-09-22 08:00");
}

}  // namespace
}  // namespace wattledger::projections
