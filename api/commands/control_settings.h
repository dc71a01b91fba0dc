// The control commands an operator signs, built from named text arguments
// (wattctl's flags, the console's form): a relay command and parameters for
// one meter circuit (ControlCommanded) and a control policy for the campus, a
// building or a room (ControlPolicySet). Texts use wattctl's notation:
//   workday, holiday  "hh:mm,on|off|night[,W];..." (at most 8 periods)
//   noCut             "label,hh:mm-hh:mm[,YYYY-MM-DD..YYYY-MM-DD];..."
//   scheduleDates     "YYYY-MM-DD..YYYY-MM-DD" (either side may be empty)
//   whitelist         "name:W;name:W"
// Dates are campus days (UTC+8). kInvalidArgument names what is malformed.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::commands {

// meter, circuit (1-4), room, action (trip|close-permit|close-direct|
// keep-power|keep-power-clear), reason.
absl::Status BuildRelayCommand(const std::map<std::string, std::string>& args,
                               schema::EventBody::Builder body);

// meter, circuit, room, reason, loadLimitW, maliciousStepW, maliciousPfMilli,
// recoveryMinutes, overdraftFen, workday, holiday.
absl::Status BuildMeterParams(const std::map<std::string, std::string>& args,
                              schema::EventBody::Builder body);

// scope (campus|building:B|room:R), reason, reminderBelowFen,
// warningBelowFen, noCut, loadLimitW, currentLimitMa, maliciousStepW,
// maliciousPfMilli, recoveryMinutes, escalateAfter, escalateWindowMinutes,
// workday, holiday, scheduleDates, whitelist.
absl::Status BuildControlPolicy(const std::map<std::string, std::string>& args,
                                schema::EventBody::Builder body);

}  // namespace wattledger::commands
