// wattctl's read-only views (rooms, room status, control why/show, device
// status, violations, alarms, notifications, reports), all one query of
// api/query/ answered either
//  - by wattd over RPC, in a session opened with --key (when --key is given
//    or --server is not the default), as an operator on another machine
//    would; or
//  - from a data directory (--data, default "data") read beside a running
//    wattd through a RocksDB secondary.
// Both run the same code, so they print the same lines; notes (a report
// behind the log) go to stderr.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "api/query/query.h"
#include "projections/domain.h"
#include "projections/reports/reports.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(bool, all, false, "alarms: the recently cleared alarms too");
ABSL_FLAG(bool, json, false, "alarms: one JSON object per line instead of text");
ABSL_FLAG(bool, notifications_pending, false,
          "notifications: only those not yet sent (nor given up on)");

namespace wattledger::wattctl {
namespace {

// Whether `flag` was set to something other than its default.
bool FlagChanged(absl::string_view flag) {
  const absl::CommandLineFlag* found = absl::FindCommandLineFlag(flag);
  return found != nullptr && found->CurrentValue() != found->DefaultValue();
}

absl::StatusOr<query::Answer> AskWattd(const query::Query& q) {
  if (absl::GetFlag(FLAGS_key).empty()) {
    return absl::InvalidArgumentError("a query to wattd needs --key (your registered key)");
  }
  WL_ASSIGN_OR_RETURN(auto client, ConnectAsReader());
  return client->Query(q);
}

absl::StatusOr<query::Answer> AskDataDirectory(const query::Query& q) {
  const query::QueryInfo* info = query::FindQuery(q.name);
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) data = "data";
  ledger::StoreOptions options = SecondaryOptions();
  // The reports' families that wattd has built (a report query says so when
  // its family is missing).
  std::vector<std::string> existing;
  rocksdb::Status listed =
      rocksdb::DB::ListColumnFamilies(rocksdb::Options(), DataLedgerDir(data), &existing);
  if (listed.ok()) {
    for (const std::string& family : projections::reports::ReportFamilies()) {
      if (std::find(existing.begin(), existing.end(), family) != existing.end()) {
        options.projection_families.push_back(family);
      }
    }
  }
  WL_ASSIGN_OR_RETURN(auto store, ledger::EventStore::Open(DataLedgerDir(data), options));
  WL_RETURN_IF_ERROR(store->Refresh());
  projections::Domain domain;
  if (info != nullptr && info->needs_domain) WL_RETURN_IF_ERROR(domain.Load(*store));
  return query::RunQuery(
      query::QuerySource{
          .domain = &domain, .store = store.get(), .now_us = absl::ToUnixMicros(absl::Now())},
      q);
}

}  // namespace

int RunQuery(const query::Query& q) {
  const bool remote = absl::GetFlag(FLAGS_data).empty() &&
                      (!absl::GetFlag(FLAGS_key).empty() || FlagChanged("server"));
  absl::StatusOr<query::Answer> answer = remote ? AskWattd(q) : AskDataDirectory(q);
  if (!answer.ok()) {
    if (answer.status().code() == absl::StatusCode::kInvalidArgument) {
      return Usage(answer.status().message());
    }
    return Fail(answer.status());
  }
  for (const std::string& note : answer->notes) {
    std::fprintf(stderr, "wattctl: note: %s\n", note.c_str());
  }
  for (const std::string& line : answer->lines) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

namespace {

// The flags' values as a query's arguments, leaving out the empty ones.
query::Query QueryOf(std::string name,
                     std::initializer_list<std::pair<const char*, std::string>> args) {
  query::Query q{.name = std::move(name)};
  for (const auto& [arg, value] : args) {
    if (!value.empty()) q.args[arg] = value;
  }
  return q;
}

std::string TrueOrEmpty(bool value) { return value ? "true" : ""; }

}  // namespace

int RoomShow() { return RunQuery(QueryOf("rooms", {{"room", absl::GetFlag(FLAGS_room)}})); }

int RoomBalance() { return RunQuery(QueryOf("balance", {{"room", absl::GetFlag(FLAGS_room)}})); }

int RoomStatus() { return RunQuery(QueryOf("room-status", {{"room", absl::GetFlag(FLAGS_room)}})); }

int ControlWhy() { return RunQuery(QueryOf("control-why", {{"room", absl::GetFlag(FLAGS_room)}})); }

int ControlShow() { return RunQuery(QueryOf("commands", {{"meter", absl::GetFlag(FLAGS_meter)}})); }

int DeviceStatusShow() {
  return RunQuery(QueryOf("devices", {{"gateway", absl::GetFlag(FLAGS_gateway)},
                                      {"meter", absl::GetFlag(FLAGS_meter)}}));
}

int ViolationList() {
  return RunQuery(QueryOf("violations", {{"room", absl::GetFlag(FLAGS_room)}}));
}

int AlarmList() {
  return RunQuery(QueryOf("alarms", {{"all", TrueOrEmpty(absl::GetFlag(FLAGS_all))},
                                     {"format", absl::GetFlag(FLAGS_json) ? "json" : "text"}}));
}

int NotificationList() {
  return RunQuery(QueryOf("notifications",
                          {{"person", absl::GetFlag(FLAGS_person)},
                           {"pending", TrueOrEmpty(absl::GetFlag(FLAGS_notifications_pending))}}));
}

int Report(const std::string& which) {
  std::string seq = absl::GetFlag(FLAGS_seq) == 0 ? "" : absl::StrCat(absl::GetFlag(FLAGS_seq));
  const bool balances = which == "balances";
  return RunQuery(QueryOf(
      "report." + which,
      {{"since", balances ? "" : absl::GetFlag(FLAGS_since)},
       {"until", absl::GetFlag(FLAGS_until)},
       {"by",
        balances || which == "refunds" || which == "settlement" ? "" : absl::GetFlag(FLAGS_by)},
       {"period",
        which == "consumption" || which == "violations" ? absl::GetFlag(FLAGS_period) : ""},
       {"seq", balances ? seq : ""},
       {"format", absl::GetFlag(FLAGS_format)}}));
}

}  // namespace wattledger::wattctl
