#include "tools/meter-sim/truth.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/meter-sim/event_log.h"

namespace wattledger::meter_sim {
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

void AppendSchedule(std::string& out,
                    const std::array<dlt645::SchedulePeriod, dlt645::kSchedulePeriodsMax>& table) {
  out += "[";
  bool first = true;
  for (size_t slot = 0; slot < table.size(); ++slot) {
    const dlt645::SchedulePeriod& p = table[slot];
    if (p.action == dlt645::ScheduleAction::kUnused) continue;
    absl::StrAppendFormat(
        &out, "%s{\"slot\":%d,\"time\":\"%02d:%02d\",\"action\":%s,\"night_power_w\":%d}",
        first ? "" : ",", slot + 1, p.hour, p.minute,
        JsonString(std::string(dlt645::ScheduleActionName(p.action))), p.night_power_w);
    first = false;
  }
  out += "]";
}

void AppendParameters(std::string& out, const MeterParameters& p) {
  absl::StrAppend(&out, "{\"load_limit_w\":", p.load_limit_w,
                  ",\"malicious_power_w\":", p.malicious_power_w,
                  ",\"malicious_power_factor_milli\":", p.malicious_power_factor_milli,
                  ",\"recovery_delay_min\":", p.recovery_delay_min,
                  ",\"overdraft_limit_fen\":", p.overdraft_limit_fen, ",\"workday\":");
  AppendSchedule(out, p.workday);
  out += ",\"holiday\":";
  AppendSchedule(out, p.holiday);
  out += "}";
}

void AppendCircuit(std::string& out, const std::string& gateway, const CircuitTruth& c,
                   int32_t utc_offset_s) {
  const std::string key = c.circuit == 1 ? c.address : absl::StrCat(c.address, "/", c.circuit);
  absl::StrAppend(
      &out, JsonString(key), ":{\"gateway\":", JsonString(gateway),
      ",\"room\":", JsonString(c.room_id), ",\"circuit\":", c.circuit,
      ",\"register_wh\":", c.register_wh, ",\"displayed_wh\":", c.displayed_wh,
      ",\"consumed_wh\":", c.consumed_wh, ",\"answered_wh\":", c.answered_wh,
      ",\"answered_energy_reads\":", c.answered_energy_reads,
      ",\"answered_at_us\":", c.answered_at_us,
      ",\"relay\":", c.relay_closed ? "\"closed\"" : "\"open\"",
      ",\"relay_command\":", c.remote_open ? "\"open\"" : "\"closed\"",
      ",\"keep_power\":", Bool(c.keep_power), ",\"alarm\":", Bool(c.alarm),
      ",\"powered\":", Bool(c.powered), ",\"awaiting_user_close\":", Bool(c.awaiting_user_close),
      ",\"self_trip\":", c.self_trip ? JsonString(TripReasonName(*c.self_trip)) : "null",
      ",\"schedule_action\":",
      JsonString(std::string(dlt645::ScheduleActionName(c.schedule_action))),
      ",\"power_w\":", c.power_w, ",\"room_power_w\":", c.room_power_w,
      ",\"meter_time\":", JsonString(LocalTimeText(c.meter_local_s)), ",\"parameters\":");
  AppendParameters(out, c.parameters);
  absl::StrAppend(&out, ",\"trip_count\":", c.trip_count, ",\"trips\":[");
  for (size_t i = 0; i < c.trips.size(); ++i) {
    const MeterEvent& t = c.trips[i];
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"reason\":", JsonString(TripReasonName(t.reason)),
                    ",\"at_us\":", t.at_us,
                    ",\"at\":", JsonString(LocalTimeText(t.at_us / 1'000'000 + utc_offset_s)),
                    ",\"meter_time\":", JsonString(LocalTimeText(t.meter_local_s)),
                    ",\"power_w\":", t.power_w, "}");
  }
  out += "]}";
}

void AppendGateway(std::string& out, const GatewayTruth& g) {
  const BusStats& b = g.bus;
  const CollectorStats& l = g.link;
  absl::StrAppend(&out, "{\"id\":", JsonString(g.spec.id),
                  ",\"mode\":", g.spec.mode == CollectorMode::kServer ? "\"server\"" : "\"client\"",
                  ",\"address\":", JsonString(g.address),
                  ",\"registration\":", JsonString(g.spec.registration_id),
                  ",\"meters\":", g.circuits.size(), ",\"connections\":", g.connections);
  absl::StrAppend(
      &out, ",\"bus\":{\"requests\":", b.requests, ",\"replies\":", b.replies,
      ",\"abnormal_replies\":", b.abnormal_replies, ",\"no_meter\":", b.no_meter,
      ",\"collisions\":", b.collisions, ",\"unpowered\":", b.unpowered,
      ",\"broadcasts\":", b.broadcasts, ",\"time_syncs_refused\":", b.time_syncs_refused,
      ",\"dropped\":", b.dropped, ",\"garbled\":", b.garbled, ",\"bad_checksum\":", b.bad_checksum,
      ",\"wrong_address\":", b.wrong_address, ",\"delayed\":", b.delayed,
      ",\"energy_answers\":", b.energy_answers, ",\"remote_controls\":", b.remote_controls, "}");
  absl::StrAppend(&out, ",\"link\":{\"connections\":", l.connections, ",\"refused\":", l.refused,
                  ",\"connect_failures\":", l.connect_failures, ",\"disconnects\":", l.disconnects,
                  ",\"frames\":", l.frames, ",\"bad_frames\":", l.bad_frames,
                  ",\"overflowed\":", l.overflowed, ",\"heartbeats\":", l.heartbeats,
                  ",\"replies\":", l.replies, ",\"bytes_in\":", l.bytes_in,
                  ",\"bytes_out\":", l.bytes_out, "}}");
}

}  // namespace

std::string TruthJson(const TruthHeader& header, const std::vector<GatewayTruth>& gateways) {
  std::string out;
  size_t circuits = 0;
  for (const GatewayTruth& g : gateways) circuits += g.circuits.size();
  out.reserve(1024 + circuits * 900);
  absl::StrAppend(&out, "{\"version\":1,\"seed\":", header.seed,
                  ",\"speed\":", absl::StrFormat("%g", header.speed),
                  ",\"sim_time_us\":", header.sim_now_us, ",\"sim_time\":",
                  JsonString(LocalTimeText(header.sim_now_us / 1'000'000 + header.utc_offset_s)),
                  ",\"gateways\":[");
  for (size_t i = 0; i < gateways.size(); ++i) {
    if (i > 0) out += ",";
    AppendGateway(out, gateways[i]);
  }
  out += "],\"meters\":{";
  bool first = true;
  for (const GatewayTruth& g : gateways) {
    for (const CircuitTruth& c : g.circuits) {
      if (!first) out += ",";
      first = false;
      AppendCircuit(out, g.spec.id, c, header.utc_offset_s);
    }
  }
  out += "}}\n";
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("open ", temporary, ": ", std::strerror(errno)));
  }
  const size_t written = std::fwrite(contents.data(), 1, contents.size(), file);
  const bool closed = std::fclose(file) == 0;
  if (written != contents.size() || !closed) {
    std::remove(temporary.c_str());
    return absl::UnavailableError(absl::StrCat("write ", temporary, " failed"));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("rename to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace wattledger::meter_sim
