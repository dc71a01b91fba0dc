// wattctl's alarm list: the open alarms (with --all, the recently cleared
// ones too) read from a data directory beside a running wattd, one line per
// alarm, most severe first, then oldest first; `--json` prints one JSON
// object per line instead.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "ledger/structured_log.h"
#include "projections/campus.h"
#include "projections/control/control_book.h"
#include "projections/monitoring/alarm_book.h"
#include "projections/monitoring/device_status.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(bool, all, false, "alarms: the recently cleared alarms too");

ABSL_FLAG(bool, json, false, "alarms: one JSON object per line instead of text");

namespace wattledger::wattctl {
namespace {

using ledger::JsonEscape;
using projections::Alarm;

std::string AlarmJson(const Alarm& alarm) {
  return absl::StrCat(
      "{\"id\":", JsonEscape(alarm.id), ",\"kind\":", JsonEscape(alarm.kind),
      ",\"subject\":", JsonEscape(alarm.subject), ",\"severity\":\"",
      projections::AlarmSeverityName(alarm.severity),
      "\",\"open\":", alarm.open() ? "true" : "false", ",\"text\":", JsonEscape(alarm.text),
      ",\"raisedSeq\":", alarm.raised_seq, ",\"raisedAtUs\":", alarm.raised_at_us,
      ",\"raisedAt\":", JsonEscape(projections::CampusTimeText(alarm.raised_at_us)),
      ",\"clearedSeq\":", alarm.cleared_seq, ",\"clearedAtUs\":", alarm.cleared_at_us,
      ",\"clearText\":", JsonEscape(alarm.clear_text), "}");
}

// "MAJOR     2026-09-23 10:15  controlFailure/meter:000000010001  Cut-off of ..."
std::string AlarmLine(const Alarm& alarm) {
  std::string severity(projections::AlarmSeverityName(alarm.severity));
  std::transform(severity.begin(), severity.end(), severity.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  severity.resize(std::max<size_t>(severity.size(), 8), ' ');
  std::string line = absl::StrCat(severity, "  ", projections::CampusTimeText(alarm.raised_at_us),
                                  "  ", alarm.id, "  ", alarm.text);
  if (!alarm.open()) {
    absl::StrAppend(&line, "  [cleared ", projections::CampusTimeText(alarm.cleared_at_us), ": ",
                    alarm.clear_text, "]");
  }
  return line;
}

}  // namespace

int AlarmList() {
  const bool json = absl::GetFlag(FLAGS_json);
  auto store = OpenDataStore();
  if (!store.ok()) return Fail(store.status());
  // The book reads only its own rows; the parts it consults when applying
  // events are not needed to list them.
  projections::Campus campus;
  projections::ControlBook control(campus);
  projections::DeviceStatus devices(campus);
  projections::AlarmBook book(campus, control, devices);
  absl::Status loaded = book.Load(**store);
  if (!loaded.ok()) return Fail(loaded);

  bool all = absl::GetFlag(FLAGS_all);
  std::vector<Alarm> alarms = all ? book.History(projections::kAlarmHistoryMax * 2) : book.Open();
  // Open ones first; then the most severe, then the oldest.
  std::stable_sort(alarms.begin(), alarms.end(), [](const Alarm& a, const Alarm& b) {
    if (a.open() != b.open()) return a.open();
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.raised_seq != b.raised_seq) return a.raised_seq < b.raised_seq;
    return a.cleared_seq < b.cleared_seq;
  });
  for (const Alarm& alarm : alarms) {
    std::printf("%s\n", (json ? AlarmJson(alarm) : AlarmLine(alarm)).c_str());
  }
  if (!json && alarms.empty()) std::printf(all ? "no alarms\n" : "no open alarms\n");
  return 0;
}

}  // namespace wattledger::wattctl
