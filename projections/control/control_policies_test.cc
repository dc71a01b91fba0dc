// The control policies through the real ledger: money and readings move a
// room's arrears level and relay, load rules trip and recover it, operators
// take precedence, and every decision is a ledger-signed event that replay
// derives again byte for byte.
#include "projections/control/control_policies.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "ledger/event_format.h"
#include "ledger/period_ticker.h"
#include "projections/calendar.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using schema::ArrearsLevel;
using schema::RelayAction;
using schema::ViolationKind;
using testing::MakeBody;
using testing::MeterSpec;

constexpr char kRoom[] = "B01-101";
constexpr char kOther[] = "B01-102";
constexpr char kMeter[] = "000000010001";
constexpr char kOtherMeter[] = "000000010002";
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kHour = 60 * kMinute;

struct Read {
  std::string address = kMeter;
  int64_t total_wh = 0;
  int32_t power_w = 100;
  int32_t pf_milli = 900;
  int32_t current_ma = 500;
  bool relay_open = false;
  std::optional<schema::MeterTripReason> trip = std::nullopt;  // a self-trip record
  int32_t trip_before_w = 0;
  int32_t trip_power_w = 0;
};

// A decoded event of the log.
struct Logged {
  uint64_t seq = 0;
  ledger::KeyId signer{};
  std::string body;
  schema::EventBody::Reader get() const {
    parsed = *ledger::CanonicalMessage<schema::EventBody>::ParseTrusted(body, 1 << 20);
    return parsed->get();
  }
  mutable std::optional<ledger::CanonicalMessage<schema::EventBody>> parsed = std::nullopt;
};

class ControlPoliciesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), now(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), now(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), kRoom, "B01", 4)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), kOther, "B01", 4)));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), MeterSpec{kMeter, "G1", kRoom})));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), MeterSpec{kOtherMeter, "G1", kOther})));
    // 0.5 CNY/kWh, no free allowance: 1 kWh costs 50 fen.
    Ok(c_.AsOperator(testing::TariffBody(c_.Key("t"), now(), "other", now(), {{0, 5000}}, 0)));
  }

  int64_t now() const { return c_.now_us(); }
  void Advance(int64_t us) { c_.t().clock().Advance(us); }
  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }

  // One reading batch at the ledger's now, after advancing the clock.
  absl::StatusOr<ledger::AppendResult> Readings(std::vector<Read> reads,
                                                int64_t advance = 10 * kMinute) {
    Advance(advance);
    int64_t t = now();
    return c_.AsIngest(MakeBody(c_.Key("readings"), t, "gateway:G1", [&](auto body) {
      auto batch = body.initReadingsBatch();
      batch.setGatewayId("G1");
      batch.setSweepStartedUs(t);
      auto list = batch.initReadings(static_cast<unsigned>(reads.size()));
      for (unsigned i = 0; i < reads.size(); ++i) {
        const Read& r = reads[i];
        list[i].setMeterAddress(r.address);
        list[i].setCircuit(1);
        list[i].setReadAtUs(t);
        list[i].setTotalWh(r.total_wh);
        list[i].setVoltageDv(2200);
        list[i].setPowerW(r.power_w);
        list[i].setPowerFactorMilli(r.pf_milli);
        list[i].setCurrentMa(r.current_ma);
        list[i].setRelayOpen(r.relay_open);
        if (r.trip.has_value()) {
          auto trip = list[i].initLastTrip();
          trip.setReason(*r.trip);
          trip.setAtUs(t - kMinute);
          trip.setPowerBeforeW(r.trip_before_w);
          trip.setPowerW(r.trip_power_w);
          trip.setPowerFactorMilli(998);
          trip.setTripCount(1);
        }
      }
    }));
  }
  // Energy for the meter's register: `wh` more than the last reading.
  absl::StatusOr<ledger::AppendResult> Use(int64_t wh, std::string address = kMeter) {
    int64_t& total = totals_[address];
    total += wh;
    return Readings({Read{.address = address, .total_wh = total}}, 3 * kHour);
  }

  template <typename Fill>
  absl::StatusOr<ledger::AppendResult> SetPolicy(const std::string& scope, Fill fill) {
    return c_.AsOperator(MakeBody(c_.Key("policy"), now(), "policy:" + scope, [&](auto body) {
      auto set = body.initControlPolicySet();
      set.setScope(scope);
      set.setReason("test policy");
      auto policy = set.initPolicy();
      policy.setReminderBelowFen(kDefaultReminderBelowFen);
      policy.setWarningBelowFen(kDefaultWarningBelowFen);
      fill(policy);
    }));
  }

  absl::StatusOr<ledger::AppendResult> Operator(RelayAction action,
                                                const std::string& address = kMeter) {
    return c_.AsOperator(
        MakeBody(c_.Key("control"), now(), absl::StrCat("meter:", address), [&](auto body) {
          auto command = body.initControlCommanded();
          command.setMeterAddress(address);
          command.setCircuit(1);
          command.setReason("operator test");
          command.setOrigin("operator");
          command.setRelay(action);
        }));
  }

  absl::StatusOr<ledger::AppendResult> Tick() {
    int64_t due = c_.campus().NextTimerUs();
    EXPECT_NE(due, 0);
    if (now() < due) c_.t().clock().Set(due);
    return c_.AsLedger(MakeBody(absl::StrCat("tick/", due), now(), "clock",
                                [&](auto body) { body.initClockTick().setDueUs(due); }));
  }

  // The events appended after `after`, decoded.
  std::vector<Logged> Since(uint64_t after) {
    std::vector<Logged> out;
    for (uint64_t seq = after + 1; seq <= c_.head_seq(); ++seq) {
      auto stored = testing::ReadStoredEvent(c_.ledger().store(), seq);
      EXPECT_TRUE(stored.ok()) << stored.status();
      out.push_back(Logged{.seq = seq, .signer = stored->signer, .body = stored->body});
    }
    return out;
  }
  // The relay commands derived after `after`, as (action, origin, reason).
  struct Derived {
    uint64_t seq;
    std::string address;
    RelayAction action;
    std::string origin;
    std::string reason;
  };
  std::vector<Derived> RelayCommands(uint64_t after) {
    std::vector<Derived> out;
    for (const Logged& e : Since(after)) {
      auto body = e.get();
      if (!body.isControlCommanded() || e.signer != c_.t().ledger_key().key_id()) continue;
      auto command = body.getControlCommanded();
      if (command.which() != schema::ControlCommanded::RELAY) continue;
      out.push_back({e.seq, command.getMeterAddress(), command.getRelay(), command.getOrigin(),
                     command.getReason()});
    }
    return out;
  }
  std::vector<ArrearsLevel> Levels(uint64_t after) {
    std::vector<ArrearsLevel> out;
    for (const Logged& e : Since(after)) {
      if (e.get().isArrearsLevelChanged())
        out.push_back(e.get().getArrearsLevelChanged().getLevel());
    }
    return out;
  }
  std::vector<Logged> Violations(uint64_t after) {
    std::vector<Logged> out;
    for (Logged& e : Since(after)) {
      if (e.get().isViolationRecorded()) out.push_back(std::move(e));
    }
    return out;
  }
  RoomControl Room(const std::string& room = kRoom) {
    auto found = c_.campus().policies().ForRoom(room);
    return found.value_or(RoomControl{});
  }
  void ExpectReplays() {
    auto replayed = c_.ReplayAndReopen();
    ASSERT_TRUE(replayed.ok()) << replayed.status();
  }

  testing::CampusLedger<Domain> c_;
  std::map<std::string, int64_t> totals_;
};

TEST_F(ControlPoliciesTest, ArrearsWalkFourLevelsCutAndRestoreByDeposit) {
  Ok(c_.t().Deposit(kRoom, 1200));
  Ok(Use(0));  // the baseline reading
  uint64_t start = c_.head_seq();
  Ok(Use(10'000));  // 5.00 CNY: 7.00 left, below the 10.00 reminder
  Ok(Use(10'000));  // 2.00 left, below the 3.00 warning
  EXPECT_TRUE(RelayCommands(start).empty());
  uint64_t before_cut = c_.head_seq();
  Ok(Use(10'000));  // -3.00: below the overdraft limit 0
  EXPECT_EQ(Levels(start), (std::vector<ArrearsLevel>{ArrearsLevel::LOW, ArrearsLevel::WARNING,
                                                      ArrearsLevel::CUT_OFF}));
  auto cut = RelayCommands(before_cut);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].action, RelayAction::TRIP);
  EXPECT_EQ(cut[0].origin, "arrears");
  EXPECT_TRUE(absl::StrContains(cut[0].reason, "balance -3.00 CNY fell below the overdraft limit"))
      << cut[0].reason;
  // The control book holds the derived command at the seq it was logged at.
  auto pending = c_.campus().control().Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, cut[0].seq);
  EXPECT_EQ(Room().origin, "arrears");

  // More use while cut changes nothing; a deposit restores at once.
  Ok(Use(0));
  uint64_t before_deposit = c_.head_seq();
  Ok(c_.t().Deposit(kRoom, 1000));
  auto restore = RelayCommands(before_deposit);
  ASSERT_EQ(restore.size(), 1u);
  EXPECT_EQ(restore[0].action, RelayAction::CLOSE_DIRECT);
  EXPECT_EQ(restore[0].origin, "arrears");
  EXPECT_EQ(Levels(before_deposit), (std::vector<ArrearsLevel>{ArrearsLevel::LOW}));
  EXPECT_EQ(c_.campus().control().Pending().back().seq, restore[0].seq);
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, NoCutWindowDefersTheCutUntilItEnds) {
  // 23:00-07:00 campus time: start at 22:00 today.
  c_.t().clock().Set(DayStartUs(now()) + kMicrosPerDay + 22 * kHour);
  Ok(SetPolicy("campus", [](auto policy) {
    auto windows = policy.initNoCutWindows(1);
    windows[0].setLabel("night");
    windows[0].setStartMinute(23 * 60);
    windows[0].setEndMinute(7 * 60);
  }));
  Ok(Use(0));  // 01:00
  uint64_t start = c_.head_seq();
  Ok(Use(1'000));  // 04:00: -0.50 CNY, inside the window
  EXPECT_TRUE(RelayCommands(start).empty());
  RoomControl room = Room();
  EXPECT_EQ(room.level, ArrearsLevel::CUT_OFF);
  EXPECT_FALSE(room.arrears_cut);
  const int64_t seven = DayStartUs(now()) + 7 * kHour;
  EXPECT_EQ(room.cut_deferred_until_us, seven);
  EXPECT_EQ(c_.campus().NextTimerUs(), seven);
  for (const Logged& e : Since(start)) {
    if (e.get().isArrearsLevelChanged()) {
      EXPECT_TRUE(absl::StrContains(e.get().getArrearsLevelChanged().getReason().cStr(),
                                    "no-cut window \"night\" to end at"));
    }
  }
  uint64_t before_tick = c_.head_seq();
  Ok(Tick());
  auto cut = RelayCommands(before_tick);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].action, RelayAction::TRIP);
  EXPECT_TRUE(absl::StrContains(cut[0].reason, "no-cut window ended")) << cut[0].reason;
  EXPECT_EQ(c_.campus().NextTimerUs(), 0);
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, KeepPowerOverridesArrearsAndOperatorRestoreDoesNot) {
  Ok(Use(0));
  Ok(Use(1'000));  // -0.50: cut
  ASSERT_TRUE(Room().arrears_cut);
  uint64_t start = c_.head_seq();
  Ok(Operator(RelayAction::KEEP_POWER));
  auto kept = RelayCommands(start);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].action, RelayAction::CLOSE_DIRECT);
  EXPECT_EQ(kept[0].origin, "keep-power");
  // Under keep-power more use cuts nothing.
  start = c_.head_seq();
  Ok(Use(1'000));
  EXPECT_TRUE(RelayCommands(start).empty());
  // Clearing it lets the arrears cut act again.
  start = c_.head_seq();
  Ok(Operator(RelayAction::KEEP_POWER_CLEAR));
  auto cut = RelayCommands(start);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].action, RelayAction::TRIP);
  EXPECT_EQ(cut[0].origin, "arrears");
  // An operator's restore does not lift an arrears cut: it is cut again.
  start = c_.head_seq();
  Ok(Operator(RelayAction::CLOSE_DIRECT));
  cut = RelayCommands(start);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].action, RelayAction::TRIP);
  EXPECT_EQ(cut[0].origin, "arrears");
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, ACommandThatFailedIsSentAgainWithLaterReadings) {
  Ok(c_.t().Deposit(kRoom, 5000));
  auto cut = Operator(RelayAction::TRIP);
  Ok(cut);
  Ok(c_.AsIngest(MakeBody(c_.Key("failed"), now(), absl::StrCat("meter:", kMeter), [&](auto body) {
    auto failed = body.initControlFailed();
    failed.setCommandSeq(cut->seq);
    failed.setAttempts(5);
    failed.setMeterAddress(kMeter);
    failed.setReason("no reply after 5 attempts");
  })));
  uint64_t start = c_.head_seq();
  Ok(Readings({Read{}}, 5 * kMinute));  // too soon
  EXPECT_TRUE(RelayCommands(start).empty());
  Ok(Readings({Read{}}, 6 * kMinute));
  auto again = RelayCommands(start);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].action, RelayAction::TRIP);
  EXPECT_EQ(again[0].origin, "operator");
  EXPECT_TRUE(c_.campus().control().FailedRelays().empty());
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, OperatorCutHoldsAgainstADepositUntilAnOperatorRestores) {
  Ok(c_.t().Deposit(kRoom, 5000));
  Ok(Operator(RelayAction::TRIP));
  EXPECT_TRUE(Room().operator_cut);
  uint64_t start = c_.head_seq();
  Ok(c_.t().Deposit(kRoom, 5000));
  EXPECT_TRUE(RelayCommands(start).empty());
  EXPECT_EQ(Room().origin, "operator");
  Ok(Operator(RelayAction::CLOSE_DIRECT));
  EXPECT_FALSE(Room().operator_cut);
  EXPECT_TRUE(RelayCommands(start).empty());  // the operator's own close stands
  ExpectReplays();
}

class RecoveryDelayTest : public ControlPoliciesTest, public ::testing::WithParamInterface<int> {};

TEST_P(RecoveryDelayTest, SustainedOverloadTripsAndRecoversAfterTheDelay) {
  const int delay = GetParam();
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(SetPolicy("room:B01-101", [&](auto policy) {
    policy.setLoadLimitW(2000);
    policy.setRecoveryDelayMinutes(static_cast<uint8_t>(delay));
  }));
  Ok(Readings({Read{.power_w = 500}}));
  uint64_t start = c_.head_seq();
  Ok(Readings({Read{.power_w = 2600}}));  // one reading above: not sustained yet
  EXPECT_TRUE(Violations(start).empty());
  Ok(Readings({Read{.power_w = 2700}}));
  auto violations = Violations(start);
  ASSERT_EQ(violations.size(), 1u);
  auto violation = violations[0].get().getViolationRecorded();
  EXPECT_EQ(violation.getKind(), ViolationKind::LOAD_LIMIT);
  EXPECT_EQ(violation.getPowerAfterW(), 2700);
  EXPECT_EQ(violation.getLimit(), 2000);
  EXPECT_EQ(violation.getAction(), "trip commanded");
  auto trip = RelayCommands(start);
  ASSERT_EQ(trip.size(), 1u);
  EXPECT_EQ(trip[0].action, RelayAction::TRIP);
  EXPECT_EQ(trip[0].origin, "load");
  const int64_t tripped_at = now();
  if (delay == 0) {
    EXPECT_EQ(violation.getRecoveryAtUs(), 0);
    EXPECT_EQ(c_.campus().NextTimerUs(), 0);
    Advance(300 * kMinute);
    Ok(Readings({Read{.power_w = 0, .relay_open = true}}));
    EXPECT_TRUE(Room().WantsOpen(now()));
  } else {
    EXPECT_EQ(violation.getRecoveryAtUs(), tripped_at + delay * kMinute);
    EXPECT_EQ(c_.campus().NextTimerUs(), tripped_at + delay * kMinute);
    start = c_.head_seq();
    Ok(Tick());
    auto recovered = RelayCommands(start);
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].action, RelayAction::CLOSE_DIRECT);
    EXPECT_EQ(recovered[0].origin, "recovery");
    EXPECT_EQ(now(), tripped_at + delay * kMinute);
  }
  ExpectReplays();
}

INSTANTIATE_TEST_SUITE_P(Delays, RecoveryDelayTest, ::testing::Values(0, 1, 255));

TEST_F(ControlPoliciesTest, TheLedgersTickerAppendsTheClockTickOnceARecoveryIsDue) {
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(SetPolicy("room:B01-101", [](auto policy) {
    policy.setLoadLimitW(2000);
    policy.setRecoveryDelayMinutes(5);
  }));
  Ok(Readings({Read{.power_w = 2500}}));
  Ok(Readings({Read{.power_w = 2500}}));
  const int64_t due = c_.campus().NextTimerUs();
  ASSERT_EQ(due, now() + 5 * kMinute);
  ledger::PeriodTicker ticker(
      c_.ledger(),
      ledger::Calendar{.day_start = DayStartUs,
                       .next_day_start = [](int64_t t) { return DayStartUs(t) + kMicrosPerDay; },
                       .is_month_start = [](int64_t t) { return MonthStartUs(t) == t; },
                       .next_timer_us = [&] { return c_.campus().NextTimerUs(); }},
      absl::Hours(24));  // this test calls TickDue itself
  auto ticks = [&] {
    int n = 0;
    for (const Logged& e : Since(0)) n += e.get().isClockTick() ? 1 : 0;
    return n;
  };
  Advance(4 * kMinute);
  ASSERT_TRUE(ticker.TickDue().ok());
  EXPECT_EQ(ticks(), 0);
  uint64_t start = c_.head_seq();
  Advance(kMinute);
  ASSERT_TRUE(ticker.TickDue().ok());
  ASSERT_TRUE(ticker.TickDue().ok());  // nothing more is due
  EXPECT_EQ(ticks(), 1);
  auto recovered = RelayCommands(start);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_EQ(recovered[0].origin, "recovery");
  EXPECT_EQ(c_.campus().NextTimerUs(), 0);
}

TEST_F(ControlPoliciesTest, MaliciousStepTripsUnlessTheApplianceIsWhitelisted) {
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(c_.t().Deposit(kOther, 100'000));
  Ok(SetPolicy("building:B01", [](auto policy) {
    policy.setMaliciousStepW(800);
    policy.setMaliciousPfMilli(950);
    policy.setRecoveryDelayMinutes(5);
  }));
  Ok(SetPolicy("room:B01-102", [](auto policy) {
    policy.setMaliciousStepW(800);
    policy.setRecoveryDelayMinutes(5);
    auto list = policy.initWhitelist(1);
    list[0].setName("medical humidifier");
    list[0].setPowerW(1000);
  }));
  Ok(Readings({Read{.power_w = 120}, Read{.address = kOtherMeter, .power_w = 120}}));
  uint64_t start = c_.head_seq();
  Ok(Readings({Read{.power_w = 1620, .pf_milli = 990},
               Read{.address = kOtherMeter, .power_w = 1080, .pf_milli = 990}}));
  auto violations = Violations(start);
  ASSERT_EQ(violations.size(), 1u);
  auto v = violations[0].get().getViolationRecorded();
  EXPECT_EQ(v.getRoomId(), kRoom);
  EXPECT_EQ(v.getKind(), ViolationKind::MALICIOUS_LOAD);
  EXPECT_EQ(v.getPowerBeforeW(), 120);
  EXPECT_EQ(v.getPowerAfterW(), 1620);
  EXPECT_EQ(v.getPowerFactorMilli(), 990);
  EXPECT_TRUE(absl::StrContains(v.getDetail().cStr(), "a resistive step from 120 W to 1620 W"))
      << v.getDetail().cStr();
  auto trip = RelayCommands(start);
  ASSERT_EQ(trip.size(), 1u);
  EXPECT_EQ(trip[0].address, kMeter);
  // The whitelisted room's meter was given a threshold above its appliance.
  bool found = false;
  for (const ControlEntry& entry : c_.campus().control().ForMeter(kOtherMeter)) {
    if (entry.is_relay) continue;
    auto command =
        ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(entry.command, 1 << 16);
    ASSERT_TRUE(command.ok());
    EXPECT_EQ(command->get().getParameters().getMaliciousStepW(), 1101);
    EXPECT_EQ(command->get().getOrigin(), "policy");
    found = true;
  }
  EXPECT_TRUE(found);
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, RepeatedViolationsEscalateToALockoutOnlyAnOperatorClears) {
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(SetPolicy("room:B01-101", [](auto policy) {
    policy.setMaliciousStepW(800);
    policy.setRecoveryDelayMinutes(1);
    policy.setEscalateAfter(2);
    policy.setEscalateWindowMinutes(120);
  }));
  Ok(Readings({Read{.power_w = 100}}));
  Ok(Readings({Read{.power_w = 1500, .pf_milli = 1000}}));  // first: trip, recover in 1 min
  Ok(Tick());
  EXPECT_FALSE(Room().WantsOpen(now()));
  Ok(Readings({Read{.power_w = 100}}));
  uint64_t start = c_.head_seq();
  Ok(Readings({Read{.power_w = 1500, .pf_milli = 1000}}));  // second within 2 h: lockout
  auto violations = Violations(start);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_TRUE(violations[0].get().getViolationRecorded().getLockout());
  EXPECT_EQ(violations[0].get().getViolationRecorded().getCountInWindow(), 2u);
  auto trip = RelayCommands(start);
  ASSERT_EQ(trip.size(), 1u);
  EXPECT_EQ(trip[0].origin, "lockout");
  // The recovery timer passes; the lockout holds.
  start = c_.head_seq();
  Ok(Tick());
  EXPECT_TRUE(RelayCommands(start).empty());
  EXPECT_TRUE(Room().lockout);
  Ok(Operator(RelayAction::CLOSE_DIRECT));
  EXPECT_FALSE(Room().lockout);
  EXPECT_FALSE(Room().WantsOpen(now()));
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, MeterSelfTripIsReconciledWithItsEvidence) {
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(SetPolicy("room:B01-101", [](auto policy) {
    policy.setMaliciousStepW(800);
    policy.setRecoveryDelayMinutes(3);
  }));
  Ok(Readings({Read{.power_w = 110}}));
  uint64_t start = c_.head_seq();
  Ok(Readings({Read{.power_w = 0,
                    .relay_open = true,
                    .trip = schema::MeterTripReason::MALICIOUS_LOAD,
                    .trip_before_w = 110,
                    .trip_power_w = 1610}}));
  auto violations = Violations(start);
  ASSERT_EQ(violations.size(), 1u);
  auto v = violations[0].get().getViolationRecorded();
  EXPECT_EQ(v.getKind(), ViolationKind::MALICIOUS_LOAD);
  EXPECT_EQ(v.getAction(), "tripped by the meter");
  EXPECT_EQ(v.getPowerBeforeW(), 110);
  EXPECT_EQ(v.getPowerAfterW(), 1610);
  EXPECT_EQ(v.getRecoveryAtUs(), v.getAtUs() + 3 * kMinute);
  EXPECT_TRUE(RelayCommands(start).empty());  // the meter recovers by itself
  // Still open in the next sweep: nothing more.
  start = c_.head_seq();
  Ok(Readings({Read{.power_w = 0, .relay_open = true}}));
  EXPECT_TRUE(Violations(start).empty());
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, AntiRestrictionSocketIsRecordedFromTheReadingSeries) {
  Ok(c_.t().Deposit(kRoom, 100'000));
  Ok(SetPolicy("room:B01-101", [](auto policy) { policy.setLoadLimitW(1500); }));
  uint64_t start = c_.head_seq();
  for (int32_t power : {100, 1100, 120, 1080, 110, 1090}) {
    Ok(Readings({Read{.power_w = power, .pf_milli = 1000}}));
  }
  auto violations = Violations(start);
  ASSERT_EQ(violations.size(), 1u);
  auto v = violations[0].get().getViolationRecorded();
  EXPECT_EQ(v.getKind(), ViolationKind::ANTI_RESTRICTION);
  EXPECT_EQ(v.getAction(), "recorded");
  EXPECT_TRUE(RelayCommands(start).empty());
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, PoliciesAreDeliveredOnceAndToNewMeters) {
  uint64_t start = c_.head_seq();
  Ok(SetPolicy("building:B01", [](auto policy) {
    policy.setLoadLimitW(3000);
    auto periods = policy.initWorkdayPeriods(2);
    periods[0].setStartMinute(6 * 60);
    periods[0].setMode(schema::PeriodMode::ON);
    periods[1].setStartMinute(23 * 60);
    periods[1].setMode(schema::PeriodMode::OFF);
  }));
  int parameters = 0;
  for (const Logged& e : Since(start)) {
    if (e.get().isControlCommanded()) ++parameters;
  }
  EXPECT_EQ(parameters, 2);  // one per meter of the building
  // The same policy again: nothing to deliver.
  start = c_.head_seq();
  Ok(SetPolicy("building:B01", [](auto policy) {
    policy.setLoadLimitW(3000);
    auto periods = policy.initWorkdayPeriods(2);
    periods[0].setStartMinute(6 * 60);
    periods[0].setMode(schema::PeriodMode::ON);
    periods[1].setStartMinute(23 * 60);
    periods[1].setMode(schema::PeriodMode::OFF);
  }));
  for (const Logged& e : Since(start)) EXPECT_FALSE(e.get().isControlCommanded());
  // A new room's meter gets the building's parameters when installed.
  Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), "B01-103", "B01", 4)));
  start = c_.head_seq();
  Ok(c_.AsOperator(
      testing::MeterBody(c_.Key("m"), now(), MeterSpec{"000000010003", "G1", "B01-103"})));
  parameters = 0;
  for (const Logged& e : Since(start)) {
    if (e.get().isControlCommanded()) {
      ++parameters;
      EXPECT_EQ(e.get().getControlCommanded().getParameters().getWorkdayPeriods().size(), 2u);
    }
  }
  EXPECT_EQ(parameters, 1);
  ExpectReplays();
}

TEST_F(ControlPoliciesTest, BadPoliciesAreRefusedWithNothingAppended) {
  uint64_t head = c_.head_seq();
  auto refused = SetPolicy("room:B09-999", [](auto) {});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "no room")) << refused.status();
  refused = SetPolicy("campus", [](auto policy) {
    auto windows = policy.initNoCutWindows(1);
    windows[0].setStartMinute(0);
    windows[0].setEndMinute(0);
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "all-day")) << refused.status();
  refused = SetPolicy("campus", [](auto policy) { policy.setEscalateAfter(3); });
  ASSERT_FALSE(refused.ok());
  refused = SetPolicy("campus", [](auto policy) {
    auto periods = policy.initWorkdayPeriods(9);
    for (unsigned i = 0; i < 9; ++i) periods[i].setStartMinute(static_cast<uint16_t>(i * 60));
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(c_.head_seq(), head);
}

}  // namespace
}  // namespace wattledger::projections
