#include "api/commands/control_settings.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "api/commands/command_args.h"
#include "ingest/dlt645/parameters.h"
#include "ledger/status_macros.h"
#include "projections/control/policy_rules.h"

namespace wattledger::commands {
namespace {

// `init(parameters, n)` makes the list of n periods to fill.
template <typename Builder, typename Init>
absl::Status FillPeriods(const std::string& text, Init init, Builder parameters) {
  std::vector<std::string> items = absl::StrSplit(text, ';', absl::SkipEmpty());
  if (items.size() > 8) return absl::InvalidArgumentError("at most 8 periods a day");
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

absl::Status FillNoCutWindows(const std::string& text, schema::ControlPolicy::Builder policy) {
  std::vector<std::string> windows = absl::StrSplit(text, ';', absl::SkipEmpty());
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
  return absl::OkStatus();
}

absl::Status FillWhitelist(const std::string& text, schema::ControlPolicy::Builder policy) {
  std::vector<std::string> appliances = absl::StrSplit(text, ';', absl::SkipEmpty());
  auto whitelist = policy.initWhitelist(static_cast<unsigned>(appliances.size()));
  for (unsigned i = 0; i < appliances.size(); ++i) {
    std::vector<std::string> parts = absl::StrSplit(appliances[i], ':');
    int32_t watts = 0;
    if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &watts) ||
        watts <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("a whitelisted appliance is name:W: ", appliances[i]));
    }
    whitelist[i].setName(parts[0]);
    whitelist[i].setPowerW(watts);
  }
  return absl::OkStatus();
}

// An operator's command for one meter circuit: meter, circuit, room, reason.
absl::StatusOr<schema::ControlCommanded::Builder> OperatorCommand(const Args& args,
                                                                  schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string meter, Required(args, "meter"));
  WL_ASSIGN_OR_RETURN(std::string reason, Required(args, "reason"));
  WL_ASSIGN_OR_RETURN(uint32_t circuit, Number<uint32_t>(args, "circuit", 1, 1, 4));
  body.setStream(absl::StrCat("meter:", meter));
  auto command = body.initControlCommanded();
  command.setMeterAddress(meter);
  command.setCircuit(static_cast<uint8_t>(circuit));
  command.setRoomId(Arg(args, "room"));
  command.setReason(reason);
  command.setOrigin("operator");
  return command;
}

}  // namespace

absl::Status BuildRelayCommand(const Args& args, schema::EventBody::Builder body) {
  static const std::map<std::string, schema::RelayAction> kActions = {
      {"trip", schema::RelayAction::TRIP},
      {"close-permit", schema::RelayAction::CLOSE_PERMIT},
      {"close-direct", schema::RelayAction::CLOSE_DIRECT},
      {"keep-power", schema::RelayAction::KEEP_POWER},
      {"keep-power-clear", schema::RelayAction::KEEP_POWER_CLEAR}};
  auto action = kActions.find(Arg(args, "action"));
  if (action == kActions.end()) {
    return absl::InvalidArgumentError(
        "action is trip, close-permit, close-direct, keep-power or keep-power-clear");
  }
  WL_ASSIGN_OR_RETURN(auto command, OperatorCommand(args, body));
  command.setRelay(action->second);
  return absl::OkStatus();
}

absl::Status BuildMeterParams(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(int32_t load_limit, Number<int32_t>(args, "loadLimitW", 0, 0));
  WL_ASSIGN_OR_RETURN(int32_t step, Number<int32_t>(args, "maliciousStepW", 0, 0));
  WL_ASSIGN_OR_RETURN(int32_t pf, Number<int32_t>(args, "maliciousPfMilli", 950, 0, 1000));
  WL_ASSIGN_OR_RETURN(int32_t recovery, Number<int32_t>(args, "recoveryMinutes", 0, 0, 255));
  WL_ASSIGN_OR_RETURN(int64_t overdraft, Number<int64_t>(args, "overdraftFen", 0, 0));
  WL_ASSIGN_OR_RETURN(auto command, OperatorCommand(args, body));
  auto parameters = command.initParameters();
  parameters.setLoadLimitW(load_limit);
  parameters.setMaliciousStepW(step);
  parameters.setMaliciousPfMilli(pf);
  parameters.setRecoveryDelayMinutes(static_cast<uint8_t>(recovery));
  parameters.setOverdraftFen(overdraft);
  WL_RETURN_IF_ERROR(FillPeriods(
      Arg(args, "workday"),
      [](schema::MeterParameters::Builder p, unsigned n) { return p.initWorkdayPeriods(n); },
      parameters));
  return FillPeriods(
      Arg(args, "holiday"),
      [](schema::MeterParameters::Builder p, unsigned n) { return p.initHolidayPeriods(n); },
      parameters);
}

absl::Status BuildControlPolicy(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string scope, Required(args, "scope"));
  WL_ASSIGN_OR_RETURN(std::string reason, Required(args, "reason"));
  if (scope != "campus" && scope.rfind("building:", 0) != 0 && scope.rfind("room:", 0) != 0) {
    return absl::InvalidArgumentError("scope is campus, building:<id> or room:<id>");
  }
  WL_ASSIGN_OR_RETURN(int64_t reminder, Number<int64_t>(args, "reminderBelowFen",
                                                        projections::kDefaultReminderBelowFen, 0));
  WL_ASSIGN_OR_RETURN(int64_t warning, Number<int64_t>(args, "warningBelowFen",
                                                       projections::kDefaultWarningBelowFen, 0));
  WL_ASSIGN_OR_RETURN(int32_t load_limit, Number<int32_t>(args, "loadLimitW", 0, 0));
  WL_ASSIGN_OR_RETURN(int32_t current_limit, Number<int32_t>(args, "currentLimitMa", 0, 0));
  WL_ASSIGN_OR_RETURN(int32_t step, Number<int32_t>(args, "maliciousStepW", 0, 0));
  WL_ASSIGN_OR_RETURN(int32_t pf, Number<int32_t>(args, "maliciousPfMilli", 950, 0, 1000));
  WL_ASSIGN_OR_RETURN(int32_t recovery, Number<int32_t>(args, "recoveryMinutes", 0, 0, 255));
  WL_ASSIGN_OR_RETURN(int32_t escalate, Number<int32_t>(args, "escalateAfter", 0, 0, 255));
  WL_ASSIGN_OR_RETURN(int64_t window, Number<int64_t>(args, "escalateWindowMinutes", 0, 0,
                                                      std::numeric_limits<uint32_t>::max()));
  body.setStream(absl::StrCat("policy:", scope));
  auto set = body.initControlPolicySet();
  set.setScope(scope);
  set.setReason(reason);
  auto policy = set.initPolicy();
  policy.setReminderBelowFen(reminder);
  policy.setWarningBelowFen(warning);
  WL_RETURN_IF_ERROR(FillNoCutWindows(Arg(args, "noCut"), policy));
  policy.setLoadLimitW(load_limit);
  policy.setCurrentLimitMa(current_limit);
  policy.setMaliciousStepW(step);
  policy.setMaliciousPfMilli(pf);
  policy.setRecoveryDelayMinutes(static_cast<uint8_t>(recovery));
  policy.setEscalateAfter(static_cast<uint8_t>(escalate));
  policy.setEscalateWindowMinutes(static_cast<uint32_t>(window));
  WL_RETURN_IF_ERROR(FillPeriods(
      Arg(args, "workday"),
      [](schema::ControlPolicy::Builder p, unsigned n) { return p.initWorkdayPeriods(n); },
      policy));
  WL_RETURN_IF_ERROR(FillPeriods(
      Arg(args, "holiday"),
      [](schema::ControlPolicy::Builder p, unsigned n) { return p.initHolidayPeriods(n); },
      policy));
  if (!Arg(args, "scheduleDates").empty()) {
    WL_ASSIGN_OR_RETURN(auto range, DateRange(Arg(args, "scheduleDates")));
    policy.setScheduleFromUs(range.first);
    policy.setScheduleUntilUs(range.second);
  }
  return FillWhitelist(Arg(args, "whitelist"), policy);
}

}  // namespace wattledger::commands
