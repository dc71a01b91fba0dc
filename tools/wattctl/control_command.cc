// wattctl's control commands: an operator's relay command, parameters for one
// meter, or a control policy, signed with --key and submitted to wattd
// (which delivers it to the meter and records the outcome). What is pending
// and why are queries (query_command.cc).
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "projections/control/policy_rules.h"
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

// The flags every control setting shares, as the builders' arguments.
std::map<std::string, std::string> SettingArgs() {
  return {{"reason", absl::GetFlag(FLAGS_reason)},
          {"loadLimitW", absl::StrCat(absl::GetFlag(FLAGS_load_limit_w))},
          {"maliciousStepW", absl::StrCat(absl::GetFlag(FLAGS_malicious_step_w))},
          {"maliciousPfMilli", absl::StrCat(absl::GetFlag(FLAGS_malicious_pf_milli))},
          {"recoveryMinutes", absl::StrCat(absl::GetFlag(FLAGS_recovery_minutes))},
          {"workday", absl::GetFlag(FLAGS_workday)},
          {"holiday", absl::GetFlag(FLAGS_holiday)}};
}

}  // namespace

int ControlCut() { return Relay("trip"); }
int ControlRestore() { return Relay("close-direct"); }
int ControlClosePermit() { return Relay("close-permit"); }
int ControlKeepPower() { return Relay("keep-power"); }
int ControlKeepPowerClear() { return Relay("keep-power-clear"); }

int ControlPolicySet() {
  if (absl::GetFlag(FLAGS_scope).empty()) {
    return Usage("control policy needs --scope campus|building:B|room:R");
  }
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control policy needs --reason TEXT");
  auto args = SettingArgs();
  args.insert(
      {{"scope", absl::GetFlag(FLAGS_scope)},
       {"reminderBelowFen", absl::StrCat(absl::GetFlag(FLAGS_reminder_below_fen))},
       {"warningBelowFen", absl::StrCat(absl::GetFlag(FLAGS_warning_below_fen))},
       {"noCut", absl::GetFlag(FLAGS_no_cut)},
       {"currentLimitMa", absl::StrCat(absl::GetFlag(FLAGS_current_limit_ma))},
       {"escalateAfter", absl::StrCat(absl::GetFlag(FLAGS_escalate_after))},
       {"escalateWindowMinutes", absl::StrCat(absl::GetFlag(FLAGS_escalate_window_minutes))},
       {"scheduleDates", absl::GetFlag(FLAGS_schedule_dates)},
       {"whitelist", absl::GetFlag(FLAGS_whitelist)}});
  return SignAndSubmitCommand("policy", args);
}

int ControlParams() {
  if (absl::GetFlag(FLAGS_meter).empty()) return Usage("control needs --meter ADDRESS");
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control needs --reason TEXT");
  auto args = SettingArgs();
  args.insert({{"meter", absl::GetFlag(FLAGS_meter)},
               {"circuit", absl::StrCat(absl::GetFlag(FLAGS_circuit))},
               {"room", absl::GetFlag(FLAGS_room)},
               {"overdraftFen", absl::StrCat(absl::GetFlag(FLAGS_overdraft_fen))}});
  return SignAndSubmitCommand("params", args);
}

}  // namespace wattledger::wattctl
