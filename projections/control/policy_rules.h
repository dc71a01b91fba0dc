// The control policies' rules as pure functions of a policy, a time and the
// readings, so each can be tested alone (projections/control/README.md
// states them in words). Times are Unix µs; "campus time" is UTC+8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ledger/schema/event.capnp.h"
#include "projections/texts.h"

namespace wattledger::projections {

inline constexpr int32_t kDefaultMaliciousPfMilli = 950;
inline constexpr int64_t kDefaultReminderBelowFen = 1000;  // 10.00 CNY
inline constexpr int64_t kDefaultWarningBelowFen = 300;    // 3.00 CNY
inline constexpr size_t kWhitelistMax = 16;
inline constexpr size_t kNoCutWindowsMax = 16;
// A whitelisted appliance matches a step within this share of its power.
inline constexpr int32_t kWhitelistTolerancePercent = 10;
// Anti-restriction sockets: among the last kAntiRestrictionReadings readings,
// at least kAntiRestrictionSwings alternating swings of similar size (within
// 25% of their mean), each at least kAntiRestrictionSwingMinW.
inline constexpr size_t kAntiRestrictionReadings = 8;
inline constexpr size_t kAntiRestrictionSwings = 4;
inline constexpr int32_t kAntiRestrictionSwingMinW = 300;
// "Sustained": this many consecutive readings above the load or current limit.
inline constexpr uint32_t kSustainedReadings = 2;
// A relay command that failed is sent again with the first readings this
// long after it was given (while the room still needs it).
inline constexpr int64_t kRetryFailedAfterUs = 10 * 60'000'000LL;
// Recovery "until an operator restores".
inline constexpr int64_t kUntilOperator = INT64_MAX;

struct NoCutWindow {
  std::string label;
  int start_minute = 0;
  int end_minute = 0;  // == start_minute: all day
  int64_t from_us = 0;
  int64_t until_us = 0;  // 0: no end
};

struct SchedulePeriod {
  int start_minute = 0;
  schema::PeriodMode mode = schema::PeriodMode::ON;
  int32_t night_limit_w = 0;
};

// One scope's policy, decoded. `bytes` is its canonical ControlPolicy.
struct Policy {
  std::string bytes;
  int64_t reminder_below_fen = kDefaultReminderBelowFen;
  int64_t warning_below_fen = kDefaultWarningBelowFen;
  std::vector<NoCutWindow> no_cut;
  int32_t load_limit_w = 0;
  int32_t current_limit_ma = 0;
  int32_t malicious_step_w = 0;
  int32_t malicious_pf_milli = kDefaultMaliciousPfMilli;
  uint8_t recovery_delay_minutes = 0;
  uint8_t escalate_after = 0;
  uint32_t escalate_window_minutes = 0;
  std::vector<SchedulePeriod> workday;
  std::vector<SchedulePeriod> holiday;
  bool has_schedule = false;
  int64_t schedule_from_us = 0;
  int64_t schedule_until_us = 0;
  std::vector<int32_t> whitelist_w;

  bool explicit_policy() const { return !bytes.empty(); }
  // Whether readings must be watched for load rules and self-trips.
  bool watches_load() const {
    return load_limit_w > 0 || current_limit_ma > 0 || malicious_step_w > 0 || has_schedule;
  }
  bool schedule_in_force(int64_t t) const {
    return has_schedule && t >= schedule_from_us &&
           (schedule_until_us == 0 || t < schedule_until_us);
  }
};

// Refuses a policy a meter or the rules cannot hold.
absl::Status CheckPolicy(schema::ControlPolicy::Reader policy);
Policy DecodePolicy(schema::ControlPolicy::Reader policy);

// The arrears level of a balance, and the bound it is below (0 for normal).
struct Level {
  schema::ArrearsLevel level = schema::ArrearsLevel::NORMAL;
  int64_t threshold_fen = 0;
};
Level ArrearsLevelOf(const Policy& policy, int64_t balance_fen, int64_t overdraft_limit_fen);

// When `t` is inside a no-cut window, the first time after it that is in
// none (windows chained back to back count as one); else 0.
int64_t NoCutUntil(const Policy& policy, int64_t t, std::string* label = nullptr);

// The schedule's mode at `t` (workday or holiday periods by the campus day
// of the week: Saturday and Sunday are holidays); ON when none is in force.
schema::PeriodMode ScheduleModeAt(const Policy& policy, int64_t t);

// Whether a step of `step_w` is an appliance on the room's whitelist.
bool Whitelisted(const Policy& policy, int32_t step_w);

// The malicious-load threshold the meter is given: the policy's, raised just
// above the largest whitelisted appliance so the meter lets it through.
int32_t MeterMaliciousStepW(const Policy& policy);

// Whether these powers (oldest first) show an anti-restriction socket.
bool AntiRestrictionPattern(const std::vector<int32_t>& powers_w);

// Texts for people.
std::string ArrearsLevelName(schema::ArrearsLevel level);
std::string ViolationKindName(schema::ViolationKind kind);

}  // namespace wattledger::projections
