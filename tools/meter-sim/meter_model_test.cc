#include "tools/meter-sim/meter_model.h"

#include <gtest/gtest.h>

#include "tools/meter-sim/sim_random.h"

namespace wattledger::meter_sim {
namespace {

using dlt645::RemoteAction;
using dlt645::ScheduleAction;
using dlt645::SchedulePeriod;

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kMinuteUsTest = 60 * kSecondUs;
constexpr int64_t kHourUs = 60 * kMinuteUsTest;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr int32_t kChinaOffsetS = 8 * 3600;
// 2026-03-02 00:00:00 in China (a Monday), as Unix microseconds.
const int64_t kMondayMidnightUs =
    (LocalSecondsFromDateTime(
         {.year = 2026, .month = 3, .day = 2, .hour = 0, .minute = 0, .second = 0}) -
     kChinaOffsetS) *
    kSecondUs;
constexpr int64_t kFarDeadline = 4'000'000'000;  // local seconds, year 2096

MeterConfig Config(int64_t start_us, uint64_t seed = 7) {
  return MeterConfig{.room_seed = Hash({seed, 1}),
                     .supply_seed = Hash({seed, 2}),
                     .start_us = start_us,
                     .initial_wh = 1'000'000,
                     .rated_current_ma = 40'000,
                     .nominal_voltage_dv = 2200,
                     .clock_offset_us = 0,
                     .clock_drift_us_per_day = 0,
                     .profile = {},
                     .power_failures = {}};
}

Load Resistive(int32_t w) { return Load{.active_w = w, .reactive_var = 0}; }

std::vector<MeterEvent::Kind> Kinds(const std::vector<MeterEvent>& events) {
  std::vector<MeterEvent::Kind> kinds;
  for (const MeterEvent& event : events) kinds.push_back(event.kind);
  return kinds;
}

TEST(MeterModel, EnergyIsComputedExactlyFromTime) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.ForceLoad(Resistive(1000));
  const int64_t start_wh = meter.register_wh();
  meter.Advance(kMondayMidnightUs + kHourUs);
  EXPECT_EQ(meter.register_wh(), start_wh + 1000);
  EXPECT_EQ(meter.consumed_wh(), 1000);
  // 360 W for 9.999999 s is just under 1 Wh; one more microsecond completes it.
  meter.ForceLoad(Resistive(360));
  meter.Advance(kMondayMidnightUs + kHourUs + 10 * kSecondUs - 1);
  EXPECT_EQ(meter.register_wh(), start_wh + 1000);
  meter.Advance(kMondayMidnightUs + kHourUs + 10 * kSecondUs);
  EXPECT_EQ(meter.register_wh(), start_wh + 1001);
  // 1 W for an hour in one-second steps: the remainder carries, nothing is lost.
  meter.ForceLoad(Resistive(1));
  const int64_t before = meter.register_wh();
  for (int i = 1; i <= 3600; ++i) meter.Advance(meter.now_us() + kSecondUs);
  EXPECT_EQ(meter.register_wh(), before + 1);
}

TEST(MeterModel, DisplayedRegisterCountsTenWattHourSteps) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.SetRegisterWh(123'459);
  EXPECT_EQ(meter.register_wh(), 123'459);
  EXPECT_EQ(meter.displayed_wh(), 123'450);
}

TEST(MeterModel, RegisterRollsOverAfter999999_99Kwh) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.ForceLoad(Resistive(3600));  // 1 Wh per second
  meter.SetRegisterWh(kRegisterModulusWh - 15);
  meter.Advance(kMondayMidnightUs + 5 * kSecondUs);
  EXPECT_EQ(meter.displayed_wh(), 999'999'990);
  meter.Advance(kMondayMidnightUs + 15 * kSecondUs);
  EXPECT_EQ(meter.register_wh(), 0);
  meter.Advance(kMondayMidnightUs + 27 * kSecondUs);
  EXPECT_EQ(meter.register_wh(), 12);
  EXPECT_EQ(meter.displayed_wh(), 10);
  EXPECT_EQ(meter.consumed_wh(), 27);  // the true count does not roll over
}

TEST(MeterModel, StateDoesNotDependOnHowOftenItIsAdvanced) {
  MeterParameters parameters;
  parameters.load_limit_w = 1200;
  parameters.malicious_power_w = 700;
  parameters.recovery_delay_min = 3;
  parameters.workday[0] = {
      .hour = 23, .minute = 30, .action = ScheduleAction::kNight, .night_power_w = 150};
  parameters.workday[1] = {
      .hour = 7, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  MeterConfig config = Config(kMondayMidnightUs + 17 * kSecondUs, 99);
  config.profile.resistive_ppm = 60'000;
  config.clock_offset_us = 12'345'678;
  config.clock_drift_us_per_day = 40'000'000;
  config.power_failures = {.chance_ppm_per_hour = 20'000, .duration_min = 7};
  MeterModel coarse(config);
  MeterModel fine(config);
  coarse.SetParameters(parameters);
  fine.SetParameters(parameters);

  SimRandom random(5);
  const int64_t end_us = config.start_us + 3 * kDayUs;
  while (fine.now_us() < end_us) {
    fine.Advance(
        std::min(end_us, fine.now_us() + 1 + static_cast<int64_t>(random.Below(97 * kSecondUs))));
  }
  coarse.Advance(end_us);

  EXPECT_EQ(coarse.register_wh(), fine.register_wh());
  EXPECT_EQ(coarse.consumed_wh(), fine.consumed_wh());
  EXPECT_EQ(coarse.relay_closed(), fine.relay_closed());
  EXPECT_EQ(coarse.trip_count(), fine.trip_count());
  EXPECT_GT(coarse.trip_count(), 0u);  // the autonomy was exercised
  const std::vector<MeterEvent> a = coarse.TakeEvents();
  const std::vector<MeterEvent> b = fine.TakeEvents();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind) << i;
    EXPECT_EQ(a[i].reason, b[i].reason) << i;
    EXPECT_EQ(a[i].at_us, b[i].at_us) << i;
  }
}

TEST(MeterModel, LoadLimitTripsAfterTheHoldAndRecoversAfterTheDelay) {
  MeterModel meter(Config(kMondayMidnightUs));
  MeterParameters parameters;
  parameters.load_limit_w = 1000;
  parameters.recovery_delay_min = 2;
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(1500));
  const int64_t t0 = meter.now_us();
  meter.Advance(t0 + kLoadLimitHoldUs - 1);
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(t0 + kLoadLimitHoldUs);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.self_trip(), TripReason::kLoadLimit);
  EXPECT_FALSE(meter.remote_open());  // the command state still says closed
  EXPECT_EQ(meter.status_word3(), dlt645::kStatus3RelayOpenBit);
  EXPECT_EQ(meter.power_w(), 0);
  EXPECT_EQ(meter.current_ma(), 0);
  const int64_t register_at_trip = meter.register_wh();
  // Open: nothing is counted.
  meter.Advance(t0 + kLoadLimitHoldUs + 2 * kMinuteUsTest - 1);
  EXPECT_EQ(meter.register_wh(), register_at_trip);
  EXPECT_FALSE(meter.relay_closed());
  // Recovered after 2 minutes, still overloaded: trips again after the hold.
  meter.Advance(t0 + kLoadLimitHoldUs + 2 * kMinuteUsTest);
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(t0 + 2 * kLoadLimitHoldUs + 2 * kMinuteUsTest);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.trip_count(), 2u);
  const std::vector<MeterEvent> events = meter.TakeEvents();
  ASSERT_EQ(Kinds(events), (std::vector<MeterEvent::Kind>{MeterEvent::Kind::kSelfTrip,
                                                          MeterEvent::Kind::kSelfRecovery,
                                                          MeterEvent::Kind::kSelfTrip}));
  EXPECT_EQ(events[0].at_us, t0 + kLoadLimitHoldUs);
  EXPECT_EQ(events[0].power_w, 1500);
  EXPECT_EQ(events[0].reason, TripReason::kLoadLimit);
  EXPECT_EQ(meter.recent_trips().size(), 2u);
}

TEST(MeterModel, LoadThatFallsBeforeTheHoldEndsDoesNotTrip) {
  MeterModel meter(Config(kMondayMidnightUs));
  MeterParameters parameters;
  parameters.load_limit_w = 1000;
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(1500));
  meter.Advance(meter.now_us() + kLoadLimitHoldUs - kSecondUs);
  meter.ForceLoad(Resistive(900));
  meter.Advance(meter.now_us() + kHourUs);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.trip_count(), 0u);
}

TEST(MeterModel, RecoveryDelayZeroStaysOpenUntilACloseCommand) {
  MeterModel meter(Config(kMondayMidnightUs));
  MeterParameters parameters;
  parameters.load_limit_w = 1000;
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(2000));
  meter.Advance(meter.now_us() + kDayUs);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.trip_count(), 1u);
  meter.ForceLoad(Resistive(500));
  EXPECT_EQ(meter.Control(RemoteAction::kCloseDirect, kFarDeadline), ControlOutcome::kDone);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_FALSE(meter.self_trip().has_value());
}

TEST(MeterModel, ResistiveStepAboveTheThresholdTripsAtOnce) {
  MeterModel meter(Config(kMondayMidnightUs));
  MeterParameters parameters;
  parameters.malicious_power_w = 800;
  parameters.recovery_delay_min = 1;
  meter.SetParameters(parameters);
  const Load base{.active_w = 100, .reactive_var = 117};  // laptops, pf 0.65
  meter.ForceLoad(base);
  meter.Advance(meter.now_us() + kMinuteUsTest);
  // An inductive step (air conditioner, pf 0.9) of 1500 W: not malicious.
  meter.ForceLoad(Load{.active_w = 1600, .reactive_var = 117 + 726});
  EXPECT_TRUE(meter.relay_closed());
  meter.ForceLoad(base);
  // A resistive step below the threshold: not malicious either.
  meter.ForceLoad(Load{.active_w = 800, .reactive_var = 117});
  EXPECT_TRUE(meter.relay_closed());
  meter.ForceLoad(base);
  // A kettle: 1800 W at pf 1.
  const int64_t at = meter.now_us();
  meter.ForceLoad(Load{.active_w = 1900, .reactive_var = 117});
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.self_trip(), TripReason::kMaliciousLoad);
  std::vector<MeterEvent> events = meter.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at_us, at);
  EXPECT_EQ(events[0].power_w, 1900);
  // Recovery after a minute onto the kettle still on: the step trips again.
  meter.Advance(at + kMinuteUsTest);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(Kinds(meter.TakeEvents()),
            (std::vector<MeterEvent::Kind>{MeterEvent::Kind::kSelfRecovery,
                                           MeterEvent::Kind::kSelfTrip}));
  // Kettle off: the next recovery holds.
  meter.ForceLoad(base);
  meter.Advance(at + 2 * kMinuteUsTest);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.power_w(), 100);
}

TEST(MeterModel, SelfTripsKeepThePowerBeforeAndThePowerFactorAsEvidence) {
  // Malicious load: the load before the step, and the step's own power factor.
  MeterModel meter(Config(kMondayMidnightUs));
  MeterParameters parameters;
  parameters.malicious_power_w = 800;
  parameters.load_limit_w = 2500;
  parameters.recovery_delay_min = 1;
  meter.SetParameters(parameters);
  const Load base{.active_w = 100, .reactive_var = 117};  // laptops, pf 0.65
  meter.ForceLoad(base);
  meter.Advance(meter.now_us() + kMinuteUsTest);
  meter.TakeEvents();
  meter.ForceLoad(Load{.active_w = 1600, .reactive_var = 117});  // a 1500 W kettle
  std::vector<MeterEvent> events = meter.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, TripReason::kMaliciousLoad);
  EXPECT_EQ(events[0].power_before_w, 100);
  EXPECT_EQ(events[0].power_w, 1600);
  EXPECT_EQ(events[0].power_factor_milli, 1000);
  EXPECT_EQ(events[0].meter_local_s, meter.LocalSeconds());
  ASSERT_EQ(meter.recent_trips().size(), 1u);
  EXPECT_EQ(meter.recent_trips().back().power_before_w, 100);

  // Load limit: the load just before it went above the limit, and the
  // power factor of the load at the trip.
  meter.ForceLoad(base);
  meter.Advance(meter.now_us() + kMinuteUsTest);  // recovered
  ASSERT_TRUE(meter.relay_closed());
  meter.TakeEvents();
  meter.ForceLoad(Load{.active_w = 2400, .reactive_var = 117 + 1200});  // no malicious step
  ASSERT_TRUE(meter.relay_closed());
  meter.ForceLoad(Load{.active_w = 3000, .reactive_var = 117 + 1200});
  meter.Advance(meter.now_us() + kLoadLimitHoldUs);
  events = meter.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, TripReason::kLoadLimit);
  EXPECT_EQ(events[0].power_before_w, 2400);
  EXPECT_EQ(events[0].power_w, 3000);
  EXPECT_EQ(events[0].power_factor_milli, PowerFactorMilli(Load{3000, 1317}));
  EXPECT_EQ(meter.trip_count(), 2u);
}

TEST(MeterModel, PowerFactorThresholdDecidesWhatIsResistive) {
  EXPECT_TRUE(IsResistive(Load{.active_w = 1000, .reactive_var = 0}, 950));
  EXPECT_TRUE(IsResistive(Load{.active_w = 950, .reactive_var = 312}, 950));  // pf 0.9501
  EXPECT_FALSE(IsResistive(Load{.active_w = 950, .reactive_var = 313}, 950));
  EXPECT_FALSE(IsResistive(Load{.active_w = -1000, .reactive_var = 0}, 950));
  EXPECT_EQ(PowerFactorMilli(Load{.active_w = 600, .reactive_var = 800}), 600);
  EXPECT_EQ(PowerFactorMilli(Load{}), 1000);
}

TEST(MeterModel, WorkdayScheduleSwitchesOffAndOnByTheMetersClock) {
  MeterModel meter(Config(kMondayMidnightUs + 12 * kHourUs));
  MeterParameters parameters;
  parameters.workday[0] = {
      .hour = 23, .minute = 0, .action = ScheduleAction::kOff, .night_power_w = 0};
  parameters.workday[3] = {
      .hour = 7, .minute = 30, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(100));
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(kMondayMidnightUs + 23 * kHourUs - 1);
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(kMondayMidnightUs + 23 * kHourUs);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.schedule_action(), ScheduleAction::kOff);
  EXPECT_EQ(meter.status_word3() & dlt645::kStatus3RelayCommandBit, 0);
  const int64_t off_wh = meter.register_wh();
  meter.Advance(kMondayMidnightUs + 31 * kHourUs + 30 * kMinuteUsTest - 1);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.register_wh(), off_wh);
  meter.Advance(kMondayMidnightUs + 31 * kHourUs + 30 * kMinuteUsTest);
  EXPECT_TRUE(meter.relay_closed());
  const std::vector<MeterEvent> events = meter.TakeEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, MeterEvent::Kind::kSelfTrip);
  EXPECT_EQ(events[0].reason, TripReason::kSchedule);
  EXPECT_EQ(events[0].power_w, 100);  // what the schedule cut
  EXPECT_EQ(events[0].power_before_w, 100);
  EXPECT_EQ(events[0].power_factor_milli, 1000);
  EXPECT_EQ(events[1].kind, MeterEvent::Kind::kSelfRecovery);
  EXPECT_EQ(events[1].reason, TripReason::kSchedule);
  EXPECT_EQ(meter.trip_count(), 1u);
}

TEST(MeterModel, ScheduleFollowsADriftingClock) {
  MeterConfig config = Config(kMondayMidnightUs + 12 * kHourUs);
  config.clock_offset_us = 5 * kMinuteUsTest;  // five minutes fast
  MeterModel meter(config);
  MeterParameters parameters;
  parameters.workday[0] = {
      .hour = 23, .minute = 0, .action = ScheduleAction::kOff, .night_power_w = 0};
  parameters.workday[1] = {
      .hour = 7, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  meter.Advance(kMondayMidnightUs + 23 * kHourUs - 5 * kMinuteUsTest);
  EXPECT_FALSE(meter.relay_closed());
  // Setting the clock right puts the meter back before 23:00.
  meter.SetClockLocalSeconds(meter.now_us() / kSecondUs + kChinaOffsetS);
  EXPECT_TRUE(meter.relay_closed());
}

TEST(MeterModel, HolidayTableAppliesOnWeekends) {
  // Saturday 2026-03-07 10:00.
  MeterModel meter(Config(kMondayMidnightUs + 5 * kDayUs + 10 * kHourUs));
  MeterParameters parameters;
  parameters.workday[0] = {
      .hour = 8, .minute = 0, .action = ScheduleAction::kOff, .night_power_w = 0};
  parameters.workday[1] = {
      .hour = 12, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  // Without a holiday table the workday table applies every day.
  EXPECT_FALSE(meter.relay_closed());
  parameters.holiday[0] = {
      .hour = 0, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  EXPECT_TRUE(meter.relay_closed());
  // Monday 10:00 is a workday again.
  meter.Advance(kMondayMidnightUs + 7 * kDayUs + 10 * kHourUs);
  EXPECT_FALSE(meter.relay_closed());
}

TEST(MeterModel, NightModeLimitsPowerAndItsTripEndsWithTheNight) {
  MeterModel meter(Config(kMondayMidnightUs + 22 * kHourUs));
  MeterParameters parameters;
  parameters.load_limit_w = 3000;
  parameters.workday[0] = {
      .hour = 23, .minute = 30, .action = ScheduleAction::kNight, .night_power_w = 200};
  parameters.workday[1] = {
      .hour = 6, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(500));
  const int64_t night_us = kMondayMidnightUs + 23 * kHourUs + 30 * kMinuteUsTest;
  meter.Advance(night_us);
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(night_us + kLoadLimitHoldUs);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.self_trip(), TripReason::kNightLimit);
  meter.Advance(kMondayMidnightUs + 30 * kHourUs - 1);
  EXPECT_FALSE(meter.relay_closed());
  meter.Advance(kMondayMidnightUs + 30 * kHourUs);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.power_w(), 500);
}

TEST(MeterModel, RemoteTripClosePermitAndCloseDirect) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.ForceLoad(Resistive(400));
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, kFarDeadline), ControlOutcome::kDone);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_TRUE(meter.remote_open());
  EXPECT_EQ(meter.status_word3(), dlt645::kStatus3RelayOpenBit | dlt645::kStatus3RelayCommandBit);
  const int64_t frozen = meter.register_wh();
  meter.Advance(meter.now_us() + kHourUs);
  EXPECT_EQ(meter.register_wh(), frozen);
  // Close permitted: the command state clears at once, the student closes
  // the relay 5..60 s later.
  EXPECT_EQ(meter.Control(RemoteAction::kClosePermit, kFarDeadline), ControlOutcome::kDone);
  EXPECT_FALSE(meter.remote_open());
  EXPECT_FALSE(meter.relay_closed());
  meter.Advance(meter.now_us() + 5 * kSecondUs - 1);
  EXPECT_FALSE(meter.relay_closed());
  meter.Advance(meter.now_us() + 56 * kSecondUs);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.status_word3(), 0);
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, kFarDeadline), ControlOutcome::kDone);
  EXPECT_EQ(meter.Control(RemoteAction::kCloseDirect, kFarDeadline), ControlOutcome::kDone);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.Control(RemoteAction::kAlarm, kFarDeadline), ControlOutcome::kDone);
  EXPECT_EQ(meter.status_word3(), dlt645::kStatus3PreTripAlarmBit);
  EXPECT_EQ(meter.Control(RemoteAction::kAlarmClear, kFarDeadline), ControlOutcome::kDone);
  EXPECT_EQ(meter.status_word3(), 0);
  EXPECT_TRUE(meter.TakeEvents().empty());  // commands are not self-trips
}

TEST(MeterModel, ExpiredCommandChangesNothing) {
  MeterModel meter(Config(kMondayMidnightUs));
  const int64_t now_local_s = meter.LocalSeconds();
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, now_local_s - 1), ControlOutcome::kExpired);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, now_local_s), ControlOutcome::kDone);
  EXPECT_FALSE(meter.relay_closed());
}

TEST(MeterModel, KeepPowerRefusesTripsAndOverridesTheScheduleButNotSafety) {
  MeterModel meter(Config(kMondayMidnightUs + 22 * kHourUs));
  MeterParameters parameters;
  parameters.load_limit_w = 1000;
  parameters.workday[0] = {
      .hour = 23, .minute = 0, .action = ScheduleAction::kOff, .night_power_w = 0};
  parameters.workday[1] = {
      .hour = 7, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  meter.SetParameters(parameters);
  meter.ForceLoad(Resistive(300));
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, kFarDeadline), ControlOutcome::kDone);
  // Keep-power lifts the trip and refuses the next one.
  EXPECT_EQ(meter.Control(RemoteAction::kKeepPower, kFarDeadline), ControlOutcome::kDone);
  EXPECT_TRUE(meter.relay_closed());
  EXPECT_TRUE(meter.status_word3() & dlt645::kStatus3KeepPowerBit);
  EXPECT_EQ(meter.Control(RemoteAction::kTrip, kFarDeadline), ControlOutcome::kRefusedKeepPower);
  EXPECT_TRUE(meter.relay_closed());
  meter.Advance(kMondayMidnightUs + 23 * kHourUs + kMinuteUsTest);
  EXPECT_TRUE(meter.relay_closed());  // schedule off ignored
  // The load limit still protects the wiring.
  meter.ForceLoad(Resistive(1500));
  meter.Advance(meter.now_us() + kLoadLimitHoldUs);
  EXPECT_EQ(meter.self_trip(), TripReason::kLoadLimit);
  meter.ForceLoad(Resistive(300));
  EXPECT_EQ(meter.Control(RemoteAction::kCloseDirect, kFarDeadline), ControlOutcome::kDone);
  EXPECT_TRUE(meter.relay_closed());
  // Clearing keep-power lets the schedule's off period act again.
  EXPECT_EQ(meter.Control(RemoteAction::kKeepPowerClear, kFarDeadline), ControlOutcome::kDone);
  EXPECT_FALSE(meter.relay_closed());
  EXPECT_EQ(meter.status_word3(), dlt645::kStatus3RelayOpenBit);
}

TEST(MeterModel, PowerFailureFreezesTheRegisterAndDelaysRecovery) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.ForceLoad(Resistive(3600));
  const int64_t t0 = meter.now_us();
  meter.FailPower(t0 + 5 * kMinuteUsTest);
  EXPECT_FALSE(meter.powered());
  const int64_t frozen = meter.register_wh();
  meter.Advance(t0 + 5 * kMinuteUsTest - 1);
  EXPECT_EQ(meter.register_wh(), frozen);
  meter.Advance(t0 + 5 * kMinuteUsTest + 10 * kSecondUs);
  EXPECT_TRUE(meter.powered());
  EXPECT_EQ(meter.register_wh(), frozen + 10);
  EXPECT_EQ(Kinds(meter.TakeEvents()),
            (std::vector<MeterEvent::Kind>{MeterEvent::Kind::kPowerLost,
                                           MeterEvent::Kind::kPowerRestored}));

  // A recovery due while the supply is down happens when it returns.
  MeterParameters parameters;
  parameters.load_limit_w = 1000;
  parameters.recovery_delay_min = 1;
  meter.SetParameters(parameters);
  meter.Advance(meter.now_us() + kLoadLimitHoldUs);
  ASSERT_EQ(meter.self_trip(), TripReason::kLoadLimit);
  meter.ForceLoad(Resistive(500));
  const int64_t trip_us = meter.now_us();
  meter.FailPower(trip_us + 10 * kMinuteUsTest);
  meter.Advance(trip_us + 9 * kMinuteUsTest);
  EXPECT_FALSE(meter.relay_closed());
  meter.Advance(trip_us + 10 * kMinuteUsTest);
  EXPECT_TRUE(meter.relay_closed());
}

TEST(MeterModel, PlannedPowerFailuresComeFromTheSeed) {
  MeterConfig config = Config(kMondayMidnightUs);
  config.power_failures = {.chance_ppm_per_hour = 1'000'000, .duration_min = 10};  // every hour
  MeterModel meter(config);
  meter.ForceLoad(Resistive(600));
  // Failures are minute-aligned: the state at a minute's start holds all minute.
  int unpowered_minutes = 0;
  int64_t powered_minutes = 0;
  for (int minute = 0; minute < 24 * 60; ++minute) {
    meter.Advance(kMondayMidnightUs + minute * kMinuteUsTest);
    if (!meter.powered()) {
      ++unpowered_minutes;
    } else if (minute < 24 * 60 - 1) {
      ++powered_minutes;
    }
  }
  // 10 minutes in each hour, give or take what spills over midnight.
  EXPECT_GE(unpowered_minutes, 230);
  EXPECT_LE(unpowered_minutes, 250);
  EXPECT_EQ(meter.consumed_wh(), 10 * powered_minutes);  // 600 W = 10 Wh a minute
  // Another seed fails at other minutes.
  MeterConfig other = config;
  other.supply_seed = Hash({12345});
  MeterModel second(other);
  int differing = 0;
  MeterModel first(config);
  for (int minute = 0; minute < 24 * 60; ++minute) {
    first.Advance(kMondayMidnightUs + minute * kMinuteUsTest);
    second.Advance(kMondayMidnightUs + minute * kMinuteUsTest);
    if (first.powered() != second.powered()) ++differing;
  }
  EXPECT_GT(differing, 0);
}

TEST(MeterModel, ClockDriftsAndCanBeSet) {
  MeterConfig config = Config(kMondayMidnightUs);
  config.clock_drift_us_per_day = 86'400'000;  // 1000 ppm fast
  MeterModel meter(config);
  const int64_t start_local = meter.LocalSeconds();
  meter.Advance(kMondayMidnightUs + kDayUs);
  EXPECT_EQ(meter.LocalSeconds() - start_local, 86'400 + 86);
  const int64_t right = (kMondayMidnightUs + kDayUs) / kSecondUs + kChinaOffsetS;
  meter.SetClockLocalSeconds(right);
  EXPECT_EQ(meter.LocalSeconds(), right);
  const dlt645::DateTime local = DateTimeFromLocalSeconds(meter.LocalSeconds());
  EXPECT_EQ(local, (dlt645::DateTime{
                       .year = 2026, .month = 3, .day = 3, .hour = 0, .minute = 0, .second = 0}));
  EXPECT_EQ(WeekdayOfLocalSeconds(meter.LocalSeconds()), 2);  // Tuesday
}

TEST(MeterModel, InstantValuesFollowTheLoad) {
  MeterModel meter(Config(kMondayMidnightUs));
  meter.ForceLoad(Load{.active_w = 600, .reactive_var = 800});
  EXPECT_EQ(meter.power_w(), 600);
  EXPECT_EQ(meter.power_factor_milli(), 600);
  const int32_t voltage = meter.voltage_dv();
  EXPECT_GE(voltage, 2200 - 40 - 6);
  EXPECT_LE(voltage, 2200 + 40);
  EXPECT_EQ(meter.current_ma(), 1000 * 10'000 / voltage);
  EXPECT_GE(meter.frequency_centihz(), 4995);
  EXPECT_LE(meter.frequency_centihz(), 5005);
}

TEST(LoadProfile, ADormRoomDrawsAPlausibleDayShapedByTheHour) {
  LoadProfileOptions options;
  int64_t evening_w = 0;
  int64_t small_hours_w = 0;
  for (uint64_t room = 0; room < 64; ++room) {
    int64_t day_wmin = 0;
    const int64_t first_minute = kMondayMidnightUs / kMinuteUsTest;
    for (int64_t minute = 0; minute < 24 * 60; ++minute) {
      const Load load = RoomLoad(Hash({room}), first_minute + minute, options);
      ASSERT_GT(load.active_w, 0);
      ASSERT_LT(load.active_w, 5000);
      EXPECT_EQ(load, RoomLoad(Hash({room}), first_minute + minute, options));
      day_wmin += load.active_w;
      if (minute / 60 >= 19 && minute / 60 < 23) evening_w += load.active_w;
      if (minute / 60 >= 2 && minute / 60 < 6) small_hours_w += load.active_w;
    }
    const int64_t day_wh = day_wmin / 60;
    EXPECT_GT(day_wh, 300) << room;
    EXPECT_LT(day_wh, 25'000) << room;
  }
  EXPECT_GT(evening_w, 2 * small_hours_w);
}

}  // namespace
}  // namespace wattledger::meter_sim
