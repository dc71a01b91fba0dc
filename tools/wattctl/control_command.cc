// wattctl's control commands: an operator's relay command, parameters for one
// meter, or a control policy, signed with --key and submitted to wattd
// (which delivers it to the meter and records the outcome). What is pending
// and why are queries (query_command.cc).
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ingest/dlt645/parameters.h"
#include "ledger/structured_log.h"
#include "projections/control/control_book.h"
#include "projections/control/policy_rules.h"
#include "projections/monitoring/device_status.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(int32_t, load_limit_w, 0, "control params: sustained power that trips (W; 0 = none)");
ABSL_FLAG(int32_t, malicious_step_w, 0, "control params: resistive step that trips (W; 0 = off)");
ABSL_FLAG(int32_t, malicious_pf_milli, 950,
          "control params: power factor (0.001) at or above which a step counts as resistive");
ABSL_FLAG(int32_t, recovery_minutes, 0, "control params: automatic recovery after a trip (0-255)");
ABSL_FLAG(int64_t, overdraft_fen, 0, "control params: the meter's own overdraft allowance");
ABSL_FLAG(std::string, workday, "",
          "control params: workday periods 'hh:mm,on|off|night[,W];...' (at most 8)");
ABSL_FLAG(std::string, holiday, "", "control params: holiday periods, like --workday");
ABSL_FLAG(std::string, scope, "", "control policy: campus, building:<id> or room:<id>");
ABSL_FLAG(int64_t, reminder_below_fen, wattledger::projections::kDefaultReminderBelowFen,
          "control policy: a low-balance reminder below this balance (fen)");
ABSL_FLAG(int64_t, warning_below_fen, wattledger::projections::kDefaultWarningBelowFen,
          "control policy: a pre-trip warning below this balance (fen)");
ABSL_FLAG(std::string, no_cut, "",
          "control policy: no-cut windows 'label,hh:mm-hh:mm[,YYYY-MM-DD..YYYY-MM-DD];...' "
          "(campus time; equal times: all day, dates required)");
ABSL_FLAG(int32_t, current_limit_ma, 0, "control policy: current that trips (mA; 0 = none)");
ABSL_FLAG(int32_t, escalate_after, 0,
          "control policy: violations within --escalate_window_minutes that lock out (0 = never)");
ABSL_FLAG(int32_t, escalate_window_minutes, 0, "control policy: the escalation window");
ABSL_FLAG(
    std::string, schedule_dates, "",
    "control policy: the schedule is in force 'YYYY-MM-DD..YYYY-MM-DD' (either side may be empty)");
ABSL_FLAG(std::string, whitelist, "",
          "control policy: approved appliances 'name:W;name:W' (not malicious loads)");

namespace wattledger::wattctl {
namespace {

using ledger::JsonEscape;

// `init(parameters, n)` makes the list of n periods to fill.
template <typename Builder, typename Init>
absl::Status FillPeriods(const std::string& text, Init init, Builder parameters) {
  std::vector<std::string> items = absl::StrSplit(text, ';', absl::SkipEmpty());
  auto periods = init(parameters, static_cast<unsigned>(items.size()));
  for (unsigned i = 0; i < items.size(); ++i) {
    WL_ASSIGN_OR_RETURN(auto period, ingest::dlt645::ParseSchedulePeriod(items[i]));
    periods[i].setStartMinute(static_cast<uint16_t>(period.hour * 60 + period.minute));
    switch (period.action) {
      case ingest::dlt645::ScheduleAction::kOff:
        periods[i].setMode(schema::PeriodMode::OFF);
        break;
      case ingest::dlt645::ScheduleAction::kNight:
        periods[i].setMode(schema::PeriodMode::NIGHT);
        periods[i].setNightLimitW(period.night_power_w);
        break;
      default:
        periods[i].setMode(schema::PeriodMode::ON);
        break;
    }
  }
  return absl::OkStatus();
}

int SubmitCommand(const std::function<absl::Status(schema::ControlCommanded::Builder)>& fill) {
  std::string meter = absl::GetFlag(FLAGS_meter);
  if (meter.empty()) return Usage("control needs --meter ADDRESS");
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control needs --reason TEXT");
  return SignAndSubmit("meter:" + meter, [&](schema::EventBody::Builder body) {
    auto command = body.initControlCommanded();
    command.setMeterAddress(meter);
    command.setCircuit(static_cast<uint8_t>(absl::GetFlag(FLAGS_circuit)));
    command.setRoomId(absl::GetFlag(FLAGS_room));
    command.setReason(absl::GetFlag(FLAGS_reason));
    command.setOrigin("operator");
    return fill(command);
  });
}

// An operator's relay command, built as the web console builds it.
int Relay(const std::string& action) {
  if (absl::GetFlag(FLAGS_meter).empty()) return Usage("control needs --meter ADDRESS");
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control needs --reason TEXT");
  return SignAndSubmitCommand("control", {{"meter", absl::GetFlag(FLAGS_meter)},
                                          {"circuit", absl::StrCat(absl::GetFlag(FLAGS_circuit))},
                                          {"room", absl::GetFlag(FLAGS_room)},
                                          {"action", action},
                                          {"reason", absl::GetFlag(FLAGS_reason)}});
}

}  // namespace

int ControlCut() { return Relay("trip"); }
int ControlRestore() { return Relay("close-direct"); }
int ControlClosePermit() { return Relay("close-permit"); }
int ControlKeepPower() { return Relay("keep-power"); }
int ControlKeepPowerClear() { return Relay("keep-power-clear"); }

namespace {

// "YYYY-MM-DD" in campus time to the µs it starts; "" to 0.
absl::StatusOr<int64_t> CampusDay(absl::string_view text) {
  if (text.empty()) return 0;
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(absl::StrCat("not a date (YYYY-MM-DD): ", text));
  }
  return absl::ToUnixMicros(absl::FromCivil(day, absl::FixedTimeZone(8 * 3600)));
}

absl::StatusOr<std::pair<int64_t, int64_t>> DateRange(absl::string_view text) {
  std::vector<std::string> ends = absl::StrSplit(text, "..");
  if (ends.size() != 2) return absl::InvalidArgumentError("a date range is FROM..UNTIL");
  WL_ASSIGN_OR_RETURN(int64_t from, CampusDay(ends[0]));
  WL_ASSIGN_OR_RETURN(int64_t until, CampusDay(ends[1]));
  return std::make_pair(from, until);
}

absl::StatusOr<int> MinuteOf(absl::string_view hhmm) {
  std::vector<std::string> parts = absl::StrSplit(hhmm, ':');
  int h = 0;
  int m = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &h) || !absl::SimpleAtoi(parts[1], &m) ||
      h < 0 || h > 23 || m < 0 || m > 59) {
    return absl::InvalidArgumentError(absl::StrCat("not a time of day (hh:mm): ", hhmm));
  }
  return h * 60 + m;
}

absl::Status FillPolicy(schema::ControlPolicy::Builder policy) {
  policy.setReminderBelowFen(absl::GetFlag(FLAGS_reminder_below_fen));
  policy.setWarningBelowFen(absl::GetFlag(FLAGS_warning_below_fen));
  std::vector<std::string> windows =
      absl::StrSplit(absl::GetFlag(FLAGS_no_cut), ';', absl::SkipEmpty());
  auto list = policy.initNoCutWindows(static_cast<unsigned>(windows.size()));
  for (unsigned i = 0; i < windows.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(windows[i], ',');
    std::vector<std::string> times =
        fields.size() >= 2 ? absl::StrSplit(fields[1], '-') : std::vector<std::string>{};
    if (times.size() != 2 || fields.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("a no-cut window is label,hh:mm-hh:mm[,FROM..UNTIL]: ", windows[i]));
    }
    list[i].setLabel(fields[0]);
    WL_ASSIGN_OR_RETURN(int start, MinuteOf(times[0]));
    WL_ASSIGN_OR_RETURN(int end, MinuteOf(times[1]));
    list[i].setStartMinute(static_cast<uint16_t>(start));
    list[i].setEndMinute(static_cast<uint16_t>(end));
    if (fields.size() == 3) {
      WL_ASSIGN_OR_RETURN(auto range, DateRange(fields[2]));
      list[i].setFromUs(range.first);
      list[i].setUntilUs(range.second);
    }
  }
  policy.setLoadLimitW(absl::GetFlag(FLAGS_load_limit_w));
  policy.setCurrentLimitMa(absl::GetFlag(FLAGS_current_limit_ma));
  policy.setMaliciousStepW(absl::GetFlag(FLAGS_malicious_step_w));
  policy.setMaliciousPfMilli(absl::GetFlag(FLAGS_malicious_pf_milli));
  int32_t recovery = absl::GetFlag(FLAGS_recovery_minutes);
  int32_t escalate = absl::GetFlag(FLAGS_escalate_after);
  if (recovery < 0 || recovery > 255 || escalate < 0 || escalate > 255 ||
      absl::GetFlag(FLAGS_escalate_window_minutes) < 0) {
    return absl::InvalidArgumentError(
        "--recovery_minutes and --escalate_after must be 0..255, the window not negative");
  }
  policy.setRecoveryDelayMinutes(static_cast<uint8_t>(recovery));
  policy.setEscalateAfter(static_cast<uint8_t>(escalate));
  policy.setEscalateWindowMinutes(
      static_cast<uint32_t>(absl::GetFlag(FLAGS_escalate_window_minutes)));
  WL_RETURN_IF_ERROR(FillPeriods(
      absl::GetFlag(FLAGS_workday),
      [](schema::ControlPolicy::Builder p, unsigned n) { return p.initWorkdayPeriods(n); },
      policy));
  WL_RETURN_IF_ERROR(FillPeriods(
      absl::GetFlag(FLAGS_holiday),
      [](schema::ControlPolicy::Builder p, unsigned n) { return p.initHolidayPeriods(n); },
      policy));
  if (!absl::GetFlag(FLAGS_schedule_dates).empty()) {
    WL_ASSIGN_OR_RETURN(auto range, DateRange(absl::GetFlag(FLAGS_schedule_dates)));
    policy.setScheduleFromUs(range.first);
    policy.setScheduleUntilUs(range.second);
  }
  std::vector<std::string> appliances =
      absl::StrSplit(absl::GetFlag(FLAGS_whitelist), ';', absl::SkipEmpty());
  auto whitelist = policy.initWhitelist(static_cast<unsigned>(appliances.size()));
  for (unsigned i = 0; i < appliances.size(); ++i) {
    std::vector<std::string> parts = absl::StrSplit(appliances[i], ':');
    int32_t watts = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &watts)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a whitelisted appliance is name:W: ", appliances[i]));
    }
    whitelist[i].setName(parts[0]);
    whitelist[i].setPowerW(watts);
  }
  return absl::OkStatus();
}

}  // namespace

int ControlPolicySet() {
  std::string scope = absl::GetFlag(FLAGS_scope);
  if (scope.empty()) return Usage("control policy needs --scope campus|building:B|room:R");
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control policy needs --reason TEXT");
  return SignAndSubmit("policy:" + scope, [&](schema::EventBody::Builder body) {
    auto set = body.initControlPolicySet();
    set.setScope(scope);
    set.setReason(absl::GetFlag(FLAGS_reason));
    return FillPolicy(set.initPolicy());
  });
}

int ControlParams() {
  return SubmitCommand([](schema::ControlCommanded::Builder command) -> absl::Status {
    auto parameters = command.initParameters();
    parameters.setLoadLimitW(absl::GetFlag(FLAGS_load_limit_w));
    parameters.setMaliciousStepW(absl::GetFlag(FLAGS_malicious_step_w));
    parameters.setMaliciousPfMilli(absl::GetFlag(FLAGS_malicious_pf_milli));
    int32_t recovery = absl::GetFlag(FLAGS_recovery_minutes);
    if (recovery < 0 || recovery > 255) {
      return absl::InvalidArgumentError("--recovery_minutes must be 0..255");
    }
    parameters.setRecoveryDelayMinutes(static_cast<uint8_t>(recovery));
    parameters.setOverdraftFen(absl::GetFlag(FLAGS_overdraft_fen));
    WL_RETURN_IF_ERROR(FillPeriods(
        absl::GetFlag(FLAGS_workday),
        [](schema::MeterParameters::Builder p, unsigned n) { return p.initWorkdayPeriods(n); },
        parameters));
    return FillPeriods(
        absl::GetFlag(FLAGS_holiday),
        [](schema::MeterParameters::Builder p, unsigned n) { return p.initHolidayPeriods(n); },
        parameters);
  });
}

}  // namespace wattledger::wattctl
