// Meters and gateways: commands and their delivery, link status, alarms and
// the reminder outbox.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/query/views.h"
#include "ledger/event_format.h"
#include "ledger/structured_log.h"
#include "projections/domain.h"
#include "projections/texts.h"

namespace wattledger::query::views {
namespace {

using ledger::JsonEscape;
using projections::Alarm;

std::string CommandJson(const projections::ControlEntry& entry) {
  auto command =
      ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(entry.command, 1 << 16);
  std::string what = "parameters";
  std::string reason;
  std::string origin;
  if (command.ok()) {
    reason = command->get().getReason();
    origin = command->get().getOrigin();
    if (entry.is_relay) {
      auto names = capnp::Schema::from<schema::RelayAction>().getEnumerants();
      what = names[static_cast<uint16_t>(entry.relay)].getProto().getName();
    }
  }
  return absl::StrCat("{\"seq\":", entry.seq, ",\"meter\":", JsonEscape(entry.meter_address),
                      ",\"circuit\":", entry.circuit, ",\"command\":", JsonEscape(what),
                      ",\"reason\":", JsonEscape(reason), ",\"origin\":", JsonEscape(origin),
                      ",\"state\":\"", projections::CommandStateName(entry.state),
                      "\",\"attempts\":", entry.attempts, ",\"outcomeSeq\":", entry.outcome_seq,
                      ",\"relayOpen\":", entry.relay_open ? "true" : "false",
                      ",\"failure\":", JsonEscape(entry.outcome_reason), "}");
}

// `last_seen_us`: the last reading applied (meters); `errorRate` the share
// of requests that timed out or came back bad.
std::string LinkJson(absl::string_view kind, const projections::LinkStatus& status,
                     int64_t last_seen_us = 0) {
  const uint64_t errors =
      status.timeouts + status.checksum_errors + status.garbled_replies + status.abnormal_replies;
  const double error_rate =
      status.requests == 0 ? 0.0
                           : static_cast<double>(errors) / static_cast<double>(status.requests);
  return absl::StrCat(
      "{\"", kind, "\":", JsonEscape(status.id), ",\"gateway\":", JsonEscape(status.gateway_id),
      ",\"state\":\"", projections::LinkStateName(status.state),
      "\",\"detail\":", JsonEscape(status.detail), ",\"peer\":", JsonEscape(status.peer),
      ",\"changedSeq\":", status.changed_seq, ",\"changedAtUs\":", status.changed_at_us,
      ",\"lastSeenUs\":", last_seen_us, ",\"errorRate\":", absl::StrFormat("%.4f", error_rate),
      ",\"requests\":", status.requests, ",\"timeouts\":", status.timeouts,
      ",\"checksumErrors\":", status.checksum_errors,
      ",\"garbledReplies\":", status.garbled_replies,
      ",\"abnormalReplies\":", status.abnormal_replies, "}");
}

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

std::string NotificationJson(const projections::Notification& n) {
  return absl::StrCat("{\"id\":", JsonEscape(n.id), ",\"person\":", JsonEscape(n.person_id),
                      ",\"room\":", JsonEscape(n.room_id), ",\"card\":", JsonEscape(n.card_no),
                      ",\"kind\":\"", projections::NotificationKindName(n.kind), "\",\"state\":\"",
                      projections::DeliveryStateName(n.state), "\",\"queuedSeq\":", n.queued_seq,
                      ",\"queuedAtUs\":", n.queued_at_us, ",\"attempts\":", n.attempts,
                      ",\"sender\":", JsonEscape(n.sender), ",\"outcomeSeq\":", n.outcome_seq,
                      ",\"failure\":", JsonEscape(n.reason), ",\"text\":", JsonEscape(n.text), "}");
}

}  // namespace

absl::StatusOr<Answer> Commands(const QuerySource& source, const Args& args) {
  std::string meter = Arg(args, "meter");
  Answer out;
  for (const projections::ControlEntry& entry : source.domain->control().All()) {
    if (!meter.empty() && entry.meter_address != meter) continue;
    out.lines.push_back(CommandJson(entry));
  }
  return out;
}

absl::StatusOr<Answer> Devices(const QuerySource& source, const Args& args) {
  const projections::Domain& domain = *source.domain;
  std::map<std::string, int64_t> last_seen;  // by meter address, its newest circuit
  for (const projections::Meter& m : domain.campus().Meters()) {
    last_seen[m.address] = std::max(last_seen[m.address], m.last_read_at_us);
  }
  std::string gateway = Arg(args, "gateway");
  std::string meter = Arg(args, "meter");
  Answer out;
  if (meter.empty()) {
    for (const auto& status : domain.devices().Gateways()) {
      if (gateway.empty() || status.id == gateway) {
        out.lines.push_back(LinkJson("gatewayId", status));
      }
    }
  }
  for (const auto& status : domain.devices().Meters()) {
    if (!gateway.empty() && status.gateway_id != gateway) continue;
    if (!meter.empty() && status.id != meter) continue;
    out.lines.push_back(LinkJson("meterAddress", status, last_seen[status.id]));
  }
  return out;
}

absl::StatusOr<Answer> Alarms(const QuerySource& source, const Args& args) {
  std::string format = Arg(args, "format");
  if (!format.empty() && format != "text" && format != "json") {
    return absl::InvalidArgumentError("alarms: format is text or json");
  }
  const bool json = format == "json";
  const bool all = FlagArg(args, "all");
  const projections::AlarmBook& book = source.domain->alarms();
  std::vector<Alarm> alarms = all ? book.History(projections::kAlarmHistoryMax * 2) : book.Open();
  // Open ones first; then the most severe, then the oldest.
  std::stable_sort(alarms.begin(), alarms.end(), [](const Alarm& a, const Alarm& b) {
    if (a.open() != b.open()) return a.open();
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.raised_seq != b.raised_seq) return a.raised_seq < b.raised_seq;
    return a.cleared_seq < b.cleared_seq;
  });
  Answer out;
  for (const Alarm& alarm : alarms) out.lines.push_back(json ? AlarmJson(alarm) : AlarmLine(alarm));
  if (!json && alarms.empty()) out.lines.push_back(all ? "no alarms" : "no open alarms");
  return out;
}

absl::StatusOr<Answer> Notifications(const QuerySource& source, const Args& args) {
  const projections::NotificationOutbox& outbox = source.domain->outbox();
  std::string person = Arg(args, "person");
  const bool pending_only = FlagArg(args, "pending");
  Answer out;
  for (const projections::Notification& n :
       person.empty() ? outbox.All() : outbox.ForPerson(person)) {
    if (pending_only && n.state != projections::DeliveryState::kPending) continue;
    out.lines.push_back(NotificationJson(n));
  }
  return out;
}

}  // namespace wattledger::query::views

namespace wattledger::query::views {

// Each building's load now: the sum of P over the latest sweep of every
// gateway (one readings batch reads all its meters), with when it was read.
absl::StatusOr<Answer> Power(const QuerySource& source, const Args& args) {
  const projections::Campus& campus = source.domain->campus();
  std::map<std::string, std::string> building_of_room;
  for (const auto& room : campus.Rooms()) building_of_room[room.room_id] = room.building_id;
  std::map<std::pair<std::string, uint8_t>, std::string> building_of_meter;
  for (const auto& meter : campus.Meters()) {
    building_of_meter[{meter.address, meter.circuit}] = building_of_room[meter.room_id];
  }
  struct Load {
    int64_t power_w = 0;
    int meters = 0;
    int64_t read_at_us = 0;
  };
  std::map<std::string, Load> loads;
  const std::string only = Arg(args, "building");
  for (const auto& gateway : campus.Gateways()) {
    const std::string stream = absl::StrCat("gateway:", gateway.gateway_id);
    auto version = source.store->StreamVersion(stream);
    if (!version.ok() || *version == 0) continue;
    // The latest readings batch among the stream's last events (status
    // changes and deductions share the stream).
    constexpr uint64_t kBack = 16;
    auto seqs =
        source.store->ReadStreamSeqs(stream, *version > kBack ? *version - kBack + 1 : 1, kBack);
    if (!seqs.ok()) continue;
    std::optional<ledger::ParsedBody> body;  // a copy: independent of its envelope
    for (auto seq = seqs->rbegin(); seq != seqs->rend() && !body.has_value(); ++seq) {
      auto bytes = source.store->GetEvent(*seq);
      if (!bytes.ok()) continue;
      auto parsed = ledger::ParsedEnvelope::ParseTrusted(*bytes, ledger::kEnvelopeBytesMax);
      if (!parsed.ok()) continue;
      auto parsed_body = ledger::ParsedBody::ParseTrusted(ledger::AsView(parsed->get().getBody()),
                                                          ledger::kEventBodyBytesMax);
      if (!parsed_body.ok() || !parsed_body->get().isReadingsBatch()) continue;
      body = std::move(*parsed_body);
    }
    if (!body.has_value()) continue;
    for (auto r : body->get().getReadingsBatch().getReadings()) {
      auto it = building_of_meter.find({std::string(r.getMeterAddress().cStr()), r.getCircuit()});
      if (it == building_of_meter.end() || it->second.empty()) continue;
      if (!only.empty() && it->second != only) continue;
      Load& load = loads[it->second];
      load.power_w += r.getPowerW();
      ++load.meters;
      load.read_at_us = std::max(load.read_at_us, r.getReadAtUs());
    }
  }
  Answer out;
  for (const auto& [building, load] : loads) {
    out.lines.push_back(absl::StrCat(
        "{\"building\":", JsonEscape(building), ",\"powerW\":", load.power_w,
        ",\"meters\":", load.meters, ",\"readAtUs\":", load.read_at_us,
        ",\"readAt\":", JsonEscape(projections::CampusTimeText(load.read_at_us)), "}"));
  }
  return out;
}

}  // namespace wattledger::query::views
