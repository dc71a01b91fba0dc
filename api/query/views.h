// The queries' implementations (query.cc dispatches to them), one family per
// file: room_views.cc, device_views.cc, report_views.cc. Internal to the
// query library.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "api/query/query.h"
#include "ledger/status_macros.h"

namespace wattledger::query::views {

using Args = std::map<std::string, std::string>;

// The value of `name` in `args`, "" when absent.
inline std::string Arg(const Args& args, const std::string& name) {
  auto it = args.find(name);
  return it == args.end() ? std::string() : it->second;
}
// "true", "1" and "yes" are true; "" and anything else false.
inline bool FlagArg(const Args& args, const std::string& name) {
  std::string value = Arg(args, name);
  return value == "true" || value == "1" || value == "yes";
}

// room_views.cc
absl::StatusOr<Answer> Rooms(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Balance(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> RoomStatus(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> ControlWhy(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Violations(const QuerySource& source, const Args& args);
// device_views.cc
absl::StatusOr<Answer> Commands(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Devices(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Alarms(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Notifications(const QuerySource& source, const Args& args);
absl::StatusOr<Answer> Power(const QuerySource& source, const Args& args);
// report_views.cc: `which` is consumption, violations, deposits, refunds,
// settlement or balances.
absl::StatusOr<Answer> Report(const QuerySource& source, const std::string& which,
                              const Args& args);

}  // namespace wattledger::query::views
