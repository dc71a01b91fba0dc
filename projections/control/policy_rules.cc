#include "projections/control/policy_rules.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/control/control_book.h"

namespace wattledger::projections {
namespace {

constexpr int64_t kUsPerMinute = 60'000'000;

int MinuteOfDay(int64_t t) { return static_cast<int>((t - DayStartUs(t)) / kUsPerMinute); }

bool ActiveOn(const NoCutWindow& window, int64_t t) {
  return t >= window.from_us && (window.until_us == 0 || t < window.until_us);
}

// The end of `window`'s occurrence containing `t`, or 0 when none does.
int64_t WindowEnd(const NoCutWindow& window, int64_t t) {
  if (!ActiveOn(window, t)) return 0;
  const int64_t day = DayStartUs(t);
  const int m = MinuteOfDay(t);
  int64_t end = 0;
  if (window.start_minute == window.end_minute) {
    end = day + kMicrosPerDay;
  } else if (window.start_minute < window.end_minute) {
    if (m < window.start_minute || m >= window.end_minute) return 0;
    end = day + window.end_minute * kUsPerMinute;
  } else if (m >= window.start_minute) {
    end = day + kMicrosPerDay + window.end_minute * kUsPerMinute;
  } else if (m < window.end_minute) {
    end = day + window.end_minute * kUsPerMinute;
  } else {
    return 0;
  }
  if (window.until_us != 0) end = std::min(end, window.until_us);
  return end;
}

}  // namespace

absl::Status CheckPolicy(schema::ControlPolicy::Reader policy) {
  if (policy.getWarningBelowFen() > policy.getReminderBelowFen()) {
    return absl::InvalidArgumentError("the warning bound must not be above the reminder bound");
  }
  if (policy.getLoadLimitW() < 0 || policy.getLoadLimitW() > kLoadLimitWMax ||
      policy.getMaliciousStepW() < 0 || policy.getMaliciousStepW() > kLoadLimitWMax ||
      policy.getCurrentLimitMa() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("power limits must be 0..", kLoadLimitWMax, " W, currents not negative"));
  }
  if (policy.getMaliciousPfMilli() < 0 || policy.getMaliciousPfMilli() > 1000) {
    return absl::InvalidArgumentError("the malicious-load power factor must be 0..1000 (0.001)");
  }
  if (policy.getEscalateAfter() > 0 && policy.getEscalateWindowMinutes() == 0) {
    return absl::InvalidArgumentError("escalation needs a window in minutes");
  }
  if (policy.getNoCutWindows().size() > kNoCutWindowsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kNoCutWindowsMax, " no-cut windows"));
  }
  for (auto window : policy.getNoCutWindows()) {
    if (window.getStartMinute() >= 1440 || window.getEndMinute() >= 1440) {
      return absl::InvalidArgumentError("no-cut window minutes are 0..1439");
    }
    if (window.getStartMinute() == window.getEndMinute() && window.getUntilUs() == 0) {
      return absl::InvalidArgumentError(
          "an all-day no-cut window needs an end date, or power could never be cut");
    }
    if (window.getUntilUs() != 0 && window.getUntilUs() <= window.getFromUs()) {
      return absl::InvalidArgumentError("a no-cut window must end after it starts");
    }
  }
  if (policy.getWhitelist().size() > kWhitelistMax) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kWhitelistMax, " appliances"));
  }
  for (auto appliance : policy.getWhitelist()) {
    if (appliance.getPowerW() <= 0 || appliance.getPowerW() > kLoadLimitWMax ||
        appliance.getName().size() == 0) {
      return absl::InvalidArgumentError("a whitelisted appliance needs a name and a power in W");
    }
  }
  if (policy.getScheduleUntilUs() != 0 &&
      policy.getScheduleUntilUs() <= policy.getScheduleFromUs()) {
    return absl::InvalidArgumentError("a schedule must end after it starts");
  }
  WL_RETURN_IF_ERROR(CheckPeriods(policy.getWorkdayPeriods(), "workday"));
  return CheckPeriods(policy.getHolidayPeriods(), "holiday");
}

Policy DecodePolicy(schema::ControlPolicy::Reader policy) {
  Policy out;
  out.bytes = ledger::Canonical(policy);
  out.reminder_below_fen = policy.getReminderBelowFen();
  out.warning_below_fen = policy.getWarningBelowFen();
  for (auto window : policy.getNoCutWindows()) {
    out.no_cut.push_back(NoCutWindow{.label = window.getLabel(),
                                     .start_minute = window.getStartMinute(),
                                     .end_minute = window.getEndMinute(),
                                     .from_us = window.getFromUs(),
                                     .until_us = window.getUntilUs()});
  }
  out.load_limit_w = policy.getLoadLimitW();
  out.current_limit_ma = policy.getCurrentLimitMa();
  out.malicious_step_w = policy.getMaliciousStepW();
  out.malicious_pf_milli =
      policy.getMaliciousPfMilli() == 0 ? kDefaultMaliciousPfMilli : policy.getMaliciousPfMilli();
  out.recovery_delay_minutes = policy.getRecoveryDelayMinutes();
  out.escalate_after = policy.getEscalateAfter();
  out.escalate_window_minutes = policy.getEscalateWindowMinutes();
  for (auto period : policy.getWorkdayPeriods()) {
    out.workday.push_back({period.getStartMinute(), period.getMode(), period.getNightLimitW()});
  }
  for (auto period : policy.getHolidayPeriods()) {
    out.holiday.push_back({period.getStartMinute(), period.getMode(), period.getNightLimitW()});
  }
  out.has_schedule = !out.workday.empty() || !out.holiday.empty();
  out.schedule_from_us = policy.getScheduleFromUs();
  out.schedule_until_us = policy.getScheduleUntilUs();
  for (auto appliance : policy.getWhitelist()) out.whitelist_w.push_back(appliance.getPowerW());
  return out;
}

Level ArrearsLevelOf(const Policy& policy, int64_t balance_fen, int64_t overdraft_limit_fen) {
  if (balance_fen < -overdraft_limit_fen) {
    return {schema::ArrearsLevel::CUT_OFF, -overdraft_limit_fen};
  }
  if (balance_fen < policy.warning_below_fen) {
    return {schema::ArrearsLevel::WARNING, policy.warning_below_fen};
  }
  if (balance_fen < policy.reminder_below_fen) {
    return {schema::ArrearsLevel::LOW, policy.reminder_below_fen};
  }
  return {};
}

int64_t NoCutUntil(const Policy& policy, int64_t t, std::string* label) {
  int64_t at = t;
  // Back-to-back windows count as one; the bound only guards a loop.
  for (int hops = 0; hops < 64; ++hops) {
    int64_t end = 0;
    for (const NoCutWindow& window : policy.no_cut) {
      int64_t e = WindowEnd(window, at);
      if (e > end) {
        end = e;
        if (label != nullptr && hops == 0) *label = window.label;
      }
    }
    if (end == 0) break;
    at = end;
  }
  return at == t ? 0 : at;
}

schema::PeriodMode ScheduleModeAt(const Policy& policy, int64_t t) {
  if (!policy.schedule_in_force(t)) return schema::PeriodMode::ON;
  absl::CivilDay day = absl::ToCivilDay(
      absl::FromUnixMicros(t), absl::FixedTimeZone(static_cast<int>(kCampusUtcOffsetSeconds)));
  absl::Weekday weekday = absl::GetWeekday(day);
  bool holiday = weekday == absl::Weekday::saturday || weekday == absl::Weekday::sunday;
  const std::vector<SchedulePeriod>& periods = holiday ? policy.holiday : policy.workday;
  if (periods.empty()) return schema::PeriodMode::ON;
  const int m = MinuteOfDay(t);
  schema::PeriodMode mode = periods.back().mode;  // from the day before
  for (const SchedulePeriod& period : periods) {
    if (period.start_minute <= m) mode = period.mode;
  }
  return mode;
}

bool Whitelisted(const Policy& policy, int32_t step_w) {
  for (int32_t power : policy.whitelist_w) {
    if (std::abs(step_w - power) * 100 <= power * kWhitelistTolerancePercent) return true;
  }
  return false;
}

int32_t MeterMaliciousStepW(const Policy& policy) {
  if (policy.malicious_step_w == 0) return 0;
  int32_t step = policy.malicious_step_w;
  for (int32_t power : policy.whitelist_w) {
    step = std::max(step, power + power * kWhitelistTolerancePercent / 100 + 1);
  }
  return std::min(step, kLoadLimitWMax);
}

bool AntiRestrictionPattern(const std::vector<int32_t>& powers_w) {
  const size_t n = powers_w.size();
  if (n < kAntiRestrictionSwings + 1) return false;
  size_t first = n > kAntiRestrictionReadings ? n - kAntiRestrictionReadings : 0;
  std::vector<int64_t> swings;
  for (size_t i = first + 1; i < n; ++i) {
    int64_t swing = int64_t{powers_w[i]} - powers_w[i - 1];
    if (std::abs(swing) < kAntiRestrictionSwingMinW) continue;
    if (!swings.empty() && (swings.back() > 0) == (swing > 0)) return false;  // not alternating
    swings.push_back(swing);
  }
  if (swings.size() < kAntiRestrictionSwings) return false;
  int64_t sum = 0;
  for (int64_t swing : swings) sum += std::abs(swing);
  const int64_t mean = sum / static_cast<int64_t>(swings.size());
  for (int64_t swing : swings) {
    if (std::abs(std::abs(swing) - mean) * 4 > mean) return false;
  }
  return true;
}

std::string ArrearsLevelName(schema::ArrearsLevel level) {
  switch (level) {
    case schema::ArrearsLevel::NORMAL:
      return "normal";
    case schema::ArrearsLevel::LOW:
      return "low";
    case schema::ArrearsLevel::WARNING:
      return "warning";
    case schema::ArrearsLevel::CUT_OFF:
      return "cut-off";
  }
  return "unknown";
}

std::string ViolationKindName(schema::ViolationKind kind) {
  switch (kind) {
    case schema::ViolationKind::LOAD_LIMIT:
      return "load limit";
    case schema::ViolationKind::CURRENT_LIMIT:
      return "current limit";
    case schema::ViolationKind::MALICIOUS_LOAD:
      return "malicious load";
    case schema::ViolationKind::ANTI_RESTRICTION:
      return "anti-restriction socket";
    case schema::ViolationKind::NIGHT_LIMIT:
      return "night limit";
    case schema::ViolationKind::METER_TRIP:
      return "meter self-trip";
  }
  return "unknown";
}

}  // namespace wattledger::projections
