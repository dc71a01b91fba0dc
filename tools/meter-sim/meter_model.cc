#include "tools/meter-sim/meter_model.h"

#include <algorithm>

#include "absl/time/civil_time.h"
#include "tools/meter-sim/sim_random.h"

namespace wattledger::meter_sim {
namespace {

enum Salt : uint64_t {
  kSaltVoltage = 101,
  kSaltFrequency = 102,
  kSaltFailure = 103,
  kSaltFailureMinute = 104,
  kSaltUserDelay = 105,
};

constexpr int64_t kUsPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

bool AnyUsed(const std::array<dlt645::SchedulePeriod, dlt645::kSchedulePeriodsMax>& table) {
  return std::any_of(table.begin(), table.end(), [](const dlt645::SchedulePeriod& period) {
    return period.action != dlt645::ScheduleAction::kUnused;
  });
}

}  // namespace

std::string_view TripReasonName(TripReason reason) {
  switch (reason) {
    case TripReason::kLoadLimit:
      return "load_limit";
    case TripReason::kMaliciousLoad:
      return "malicious_load";
    case TripReason::kSchedule:
      return "schedule";
    case TripReason::kNightLimit:
      return "night_limit";
  }
  return "unknown";
}

std::string_view EventKindName(MeterEvent::Kind kind) {
  switch (kind) {
    case MeterEvent::Kind::kSelfTrip:
      return "self_trip";
    case MeterEvent::Kind::kSelfRecovery:
      return "self_recovery";
    case MeterEvent::Kind::kPowerLost:
      return "power_lost";
    case MeterEvent::Kind::kPowerRestored:
      return "power_restored";
  }
  return "unknown";
}

int64_t LocalSecondsFromDateTime(const dlt645::DateTime& time) {
  return absl::CivilSecond(time.year, time.month, time.day, time.hour, time.minute, time.second) -
         absl::CivilSecond(1970, 1, 1, 0, 0, 0);
}

dlt645::DateTime DateTimeFromLocalSeconds(int64_t local_s) {
  const absl::CivilSecond civil = absl::CivilSecond(1970, 1, 1, 0, 0, 0) + local_s;
  return dlt645::DateTime{.year = static_cast<int>(civil.year()),
                          .month = civil.month(),
                          .day = civil.day(),
                          .hour = civil.hour(),
                          .minute = civil.minute(),
                          .second = civil.second()};
}

int WeekdayOfLocalSeconds(int64_t local_s) {
  // 1970-01-01 was a Thursday (4 when Sunday is 0).
  return static_cast<int>(FloorMod(FloorDiv(local_s, kSecondsPerDay) + 4, 7));
}

MeterModel::MeterModel(const MeterConfig& config)
    : config_(config),
      now_us_(config.start_us),
      minute_(FloorDiv(config.start_us, kMinuteUs)),
      register_wh_(FloorMod(config.initial_wh, kRegisterModulusWh)),
      clock_offset_us_(config.clock_offset_us),
      clock_drift_origin_us_(config.start_us) {
  powered_ = !PlannedFailureAt(minute_);
  room_load_ = RoomLoad(config_.room_seed, minute_, config_.profile);
  UpdateSchedule();
  relay_closed_ = RelayShouldBeClosed();
  // The meter starts without a step: whatever the room draws is already on.
  metered_ = powered_ && relay_closed_ ? room_load_ : Load{};
  Settle();
  events_.clear();
}

void MeterModel::Advance(int64_t to_us) {
  ProcessDue();
  while (now_us_ < to_us) {
    const int64_t next_us = NextEventUs(to_us);
    Integrate(next_us - now_us_);
    now_us_ = next_us;
    if (now_us_ == (minute_ + 1) * kMinuteUs) {
      ++minute_;
      OnMinute();
    }
    ProcessDue();
  }
}

int64_t MeterModel::NextEventUs(int64_t limit_us) const {
  int64_t next = std::min(limit_us, (minute_ + 1) * kMinuteUs);
  auto consider = [&](std::optional<int64_t> at_us) {
    if (at_us && *at_us > now_us_ && *at_us < next) next = *at_us;
  };
  if (overload_since_us_) consider(*overload_since_us_ + kLoadLimitHoldUs);
  if (powered_) {
    if (self_trip_) consider(self_trip_->recover_at_us);
    consider(user_close_at_us_);
  }
  if (power_fail_until_us_ > now_us_) consider(power_fail_until_us_);
  return next;
}

void MeterModel::Integrate(int64_t duration_us) {
  // A step never spans a minute boundary, so power_w * duration_us stays below
  // 2^31 * 6 * 10^7, far inside int64.
  if (metered_.active_w <= 0 || duration_us <= 0) return;
  remainder_wus_ += static_cast<int64_t>(metered_.active_w) * duration_us;
  const int64_t whole_wh = remainder_wus_ / kWattMicrosecondsPerWh;
  remainder_wus_ -= whole_wh * kWattMicrosecondsPerWh;
  consumed_wh_ += whole_wh;
  register_wh_ = (register_wh_ + whole_wh) % kRegisterModulusWh;
}

void MeterModel::OnMinute() {
  room_load_ = forced_load_ ? *forced_load_ : RoomLoad(config_.room_seed, minute_, config_.profile);
  UpdateSchedule();
  Settle();
}

void MeterModel::ProcessDue() {
  const bool supply_up = !PlannedFailureAt(minute_) && now_us_ >= power_fail_until_us_;
  if (supply_up != powered_) {
    powered_ = supply_up;
    Record(powered_ ? MeterEvent::Kind::kPowerRestored : MeterEvent::Kind::kPowerLost,
           TripReason::kLoadLimit, room_load_);
    Settle();
  }
  // Without supply the meter cannot move its relay: its timers wait.
  if (!powered_) return;
  if (user_close_at_us_ && *user_close_at_us_ <= now_us_) {
    user_close_at_us_.reset();
    Settle();
  }
  if (self_trip_ && self_trip_->recover_at_us && *self_trip_->recover_at_us <= now_us_) {
    const TripReason reason = self_trip_->reason;
    self_trip_.reset();
    Record(MeterEvent::Kind::kSelfRecovery, reason, room_load_);
    Settle();
  }
  if (overload_since_us_ && *overload_since_us_ + kLoadLimitHoldUs <= now_us_) {
    TripReason reason = TripReason::kLoadLimit;
    EffectiveLimitW(reason);
    Trip(reason, metered_.active_w, overload_power_before_w_, PowerFactorMilli(metered_));
  }
}

bool MeterModel::RelayShouldBeClosed() const {
  if (remote_open_ || user_close_at_us_ || self_trip_) return false;
  return !(schedule_action_ == dlt645::ScheduleAction::kOff && !keep_power_);
}

void MeterModel::Settle() {
  const int32_t metered_before_w = metered_.active_w;
  // At most two passes: a malicious-load trip opens the relay, and opening
  // never steps the load up.
  for (int pass = 0; pass < 2; ++pass) {
    relay_closed_ = RelayShouldBeClosed();
    const Load next = powered_ && relay_closed_ ? room_load_ : Load{};
    const Load step{.active_w = next.active_w - metered_.active_w,
                    .reactive_var = next.reactive_var - metered_.reactive_var};
    metered_ = next;
    if (parameters_.malicious_power_w > 0 && step.active_w > parameters_.malicious_power_w &&
        IsResistive(step, parameters_.malicious_power_factor_milli)) {
      Trip(TripReason::kMaliciousLoad, next.active_w, next.active_w - step.active_w,
           PowerFactorMilli(step));
      continue;
    }
    break;
  }
  TripReason reason = TripReason::kLoadLimit;
  const int32_t limit_w = EffectiveLimitW(reason);
  if (limit_w > 0 && metered_.active_w > limit_w) {
    if (!overload_since_us_) {
      overload_since_us_ = now_us_;
      overload_power_before_w_ = metered_before_w;
    }
  } else {
    overload_since_us_.reset();
  }
}

int32_t MeterModel::EffectiveLimitW(TripReason& reason) const {
  int32_t limit_w = parameters_.load_limit_w;
  reason = TripReason::kLoadLimit;
  if (schedule_action_ == dlt645::ScheduleAction::kNight && !keep_power_ && night_power_w_ > 0 &&
      (limit_w <= 0 || night_power_w_ < limit_w)) {
    limit_w = night_power_w_;
    reason = TripReason::kNightLimit;
  }
  return limit_w;
}

void MeterModel::Trip(TripReason reason, int32_t power_w, int32_t power_before_w,
                      int32_t power_factor_milli) {
  self_trip_ = SelfTripState{.reason = reason, .recover_at_us = std::nullopt};
  if (parameters_.recovery_delay_min > 0) {
    self_trip_->recover_at_us = now_us_ + parameters_.recovery_delay_min * kMinuteUs;
  }
  overload_since_us_.reset();
  ++trip_count_;
  Record(MeterEvent::Kind::kSelfTrip, reason, power_w, power_before_w, power_factor_milli);
  Settle();
}

void MeterModel::Record(MeterEvent::Kind kind, TripReason reason, const Load& load) {
  Record(kind, reason, load.active_w, load.active_w, PowerFactorMilli(load));
}

void MeterModel::Record(MeterEvent::Kind kind, TripReason reason, int32_t power_w,
                        int32_t power_before_w, int32_t power_factor_milli) {
  const MeterEvent event{.kind = kind,
                         .reason = reason,
                         .at_us = now_us_,
                         .meter_local_s = LocalSeconds(),
                         .power_w = power_w,
                         .power_before_w = power_before_w,
                         .power_factor_milli = power_factor_milli};
  if (kind == MeterEvent::Kind::kSelfTrip) {
    if (recent_trips_.size() == kTripsKept) recent_trips_.pop_front();
    recent_trips_.push_back(event);
  }
  if (events_.size() >= kEventsQueuedMax) {
    ++events_dropped_;
    return;
  }
  events_.push_back(event);
}

bool MeterModel::PlannedFailureAt(int64_t minute) const {
  const PowerFailurePlan& plan = config_.power_failures;
  if (plan.chance_ppm_per_hour == 0 || plan.duration_min <= 0) return false;
  // A failure starting in hour h begins at minute h*60 + [0, 60); look back
  // over every hour whose failure could still be running.
  const int64_t first_hour = FloorDiv(minute - plan.duration_min - 59, 60);
  const int64_t last_hour = FloorDiv(minute, 60);
  for (int64_t hour = first_hour; hour <= last_hour; ++hour) {
    const auto h = static_cast<uint64_t>(hour);
    if (!ChancePpm(Hash({config_.supply_seed, kSaltFailure, h}), plan.chance_ppm_per_hour)) {
      continue;
    }
    const int64_t start = hour * 60 + static_cast<int64_t>(Below(
                                          Hash({config_.supply_seed, kSaltFailureMinute, h}), 60));
    if (start <= minute && minute < start + plan.duration_min) return true;
  }
  return false;
}

void MeterModel::UpdateSchedule() {
  const int64_t local_s = LocalSeconds();
  const int weekday = WeekdayOfLocalSeconds(local_s);
  const bool holiday = (weekday == 0 || weekday == 6) && AnyUsed(parameters_.holiday);
  const auto& table = holiday ? parameters_.holiday : parameters_.workday;
  const int minute_of_day = static_cast<int>(FloorMod(local_s, kSecondsPerDay) / 60);
  // The period in force started last at or before now; before the day's
  // first start, the day's last period carries over from the night before.
  const dlt645::SchedulePeriod* today = nullptr;
  const dlt645::SchedulePeriod* latest = nullptr;
  for (const dlt645::SchedulePeriod& period : table) {
    if (period.action == dlt645::ScheduleAction::kUnused) continue;
    const int start = period.hour * 60 + period.minute;
    if (latest == nullptr || start > latest->hour * 60 + latest->minute) latest = &period;
    if (start <= minute_of_day && (today == nullptr || start > today->hour * 60 + today->minute)) {
      today = &period;
    }
  }
  const dlt645::SchedulePeriod* in_force = today != nullptr ? today : latest;
  const dlt645::ScheduleAction action =
      in_force != nullptr ? in_force->action : dlt645::ScheduleAction::kUnused;
  const int32_t night_w = action == dlt645::ScheduleAction::kNight ? in_force->night_power_w : 0;
  if (action == schedule_action_ && night_w == night_power_w_) return;

  const bool was_closed = relay_closed_;
  const bool held_before = schedule_action_ == dlt645::ScheduleAction::kOff && !keep_power_;
  const bool was_night = schedule_action_ == dlt645::ScheduleAction::kNight;
  schedule_action_ = action;
  night_power_w_ = night_w;
  // A night-limit trip ends with the night.
  if (was_night && action != dlt645::ScheduleAction::kNight && self_trip_ &&
      self_trip_->reason == TripReason::kNightLimit && powered_) {
    self_trip_.reset();
    Record(MeterEvent::Kind::kSelfRecovery, TripReason::kNightLimit, room_load_);
  }
  const Load before = metered_;
  Settle();
  const bool held_after = schedule_action_ == dlt645::ScheduleAction::kOff && !keep_power_;
  if (!held_before && held_after && was_closed && !relay_closed_) {
    ++trip_count_;
    Record(MeterEvent::Kind::kSelfTrip, TripReason::kSchedule, before.active_w, before.active_w,
           PowerFactorMilli(before));
  } else if (held_before && !held_after && !was_closed && relay_closed_) {
    Record(MeterEvent::Kind::kSelfRecovery, TripReason::kSchedule, room_load_);
  }
}

int64_t MeterModel::MeterClockUs() const {
  const __int128 drift = static_cast<__int128>(now_us_ - clock_drift_origin_us_) *
                         config_.clock_drift_us_per_day / kUsPerDay;
  return now_us_ + clock_offset_us_ + static_cast<int64_t>(drift);
}

int64_t MeterModel::LocalSeconds() const {
  return FloorDiv(MeterClockUs(), kUsPerSecond) + config_.profile.utc_offset_s;
}

std::optional<TripReason> MeterModel::self_trip() const {
  if (!self_trip_) return std::nullopt;
  return self_trip_->reason;
}

int32_t MeterModel::voltage_dv() const {
  const auto second = static_cast<uint64_t>(FloorDiv(now_us_, kUsPerSecond));
  const auto noise_dv =
      static_cast<int32_t>(Below(Hash({config_.supply_seed, kSaltVoltage, second}), 81)) - 40;
  // The riser's resistance: about 1 V less per kW drawn.
  return config_.nominal_voltage_dv + noise_dv - metered_.active_w / 100;
}

int32_t MeterModel::current_ma() const {
  const int32_t voltage = voltage_dv();
  if (voltage <= 0) return 0;
  return static_cast<int32_t>(ApparentVa(metered_) * 10'000 / voltage);
}

int32_t MeterModel::frequency_centihz() const {
  const auto tens = static_cast<uint64_t>(FloorDiv(now_us_, 10 * kUsPerSecond));
  return 5000 + static_cast<int32_t>(Below(Hash({config_.supply_seed, kSaltFrequency, tens}), 11)) -
         5;
}

uint16_t MeterModel::status_word3() const {
  uint16_t word = 0;
  if (!relay_closed_) word |= dlt645::kStatus3RelayOpenBit;
  if (remote_open_) word |= dlt645::kStatus3RelayCommandBit;
  if (alarm_) word |= dlt645::kStatus3PreTripAlarmBit;
  if (keep_power_) word |= dlt645::kStatus3KeepPowerBit;
  return word;
}

ControlOutcome MeterModel::Control(dlt645::RemoteAction action, int64_t deadline_local_s) {
  if (deadline_local_s < LocalSeconds()) return ControlOutcome::kExpired;
  switch (action) {
    case dlt645::RemoteAction::kTrip:
      if (keep_power_) return ControlOutcome::kRefusedKeepPower;
      remote_open_ = true;
      user_close_at_us_.reset();
      break;
    case dlt645::RemoteAction::kClosePermit: {
      const bool was_open = !relay_closed_;
      remote_open_ = false;
      self_trip_.reset();
      if (was_open && !user_close_at_us_) {
        // The student presses the button a little later.
        const uint64_t h =
            Hash({config_.supply_seed, kSaltUserDelay, static_cast<uint64_t>(now_us_)});
        user_close_at_us_ = now_us_ + (5 + static_cast<int64_t>(Below(h, 56))) * kUsPerSecond;
      }
      break;
    }
    case dlt645::RemoteAction::kCloseDirect:
      remote_open_ = false;
      self_trip_.reset();
      user_close_at_us_.reset();
      break;
    case dlt645::RemoteAction::kAlarm:
      alarm_ = true;
      break;
    case dlt645::RemoteAction::kAlarmClear:
      alarm_ = false;
      break;
    case dlt645::RemoteAction::kKeepPower:
      // Keep-power also lifts a remote trip: the supply is to stay on.
      keep_power_ = true;
      remote_open_ = false;
      user_close_at_us_.reset();
      break;
    case dlt645::RemoteAction::kKeepPowerClear:
      keep_power_ = false;
      break;
  }
  Settle();
  return ControlOutcome::kDone;
}

void MeterModel::SetParameters(const MeterParameters& parameters) {
  parameters_ = parameters;
  UpdateSchedule();
  Settle();
}

void MeterModel::SetClockLocalSeconds(int64_t local_s) {
  clock_offset_us_ = (local_s - config_.profile.utc_offset_s) * kUsPerSecond - now_us_;
  clock_drift_origin_us_ = now_us_;
  UpdateSchedule();
  Settle();
}

void MeterModel::ForceLoad(std::optional<Load> load) {
  forced_load_ = load;
  room_load_ = forced_load_ ? *forced_load_ : RoomLoad(config_.room_seed, minute_, config_.profile);
  Settle();
}

void MeterModel::SetRegisterWh(int64_t register_wh) {
  register_wh_ = FloorMod(register_wh, kRegisterModulusWh);
}

void MeterModel::FailPower(int64_t until_us) {
  power_fail_until_us_ = std::max(power_fail_until_us_, until_us);
  ProcessDue();
}

std::vector<MeterEvent> MeterModel::TakeEvents() {
  std::vector<MeterEvent> out;
  out.swap(events_);
  return out;
}

}  // namespace wattledger::meter_sim
