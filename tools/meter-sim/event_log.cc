#include "tools/meter-sim/event_log.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/meter-sim/meter_model.h"

namespace wattledger::meter_sim {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string LocalTimeText(int64_t local_s) {
  const dlt645::DateTime t = DateTimeFromLocalSeconds(local_s);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute,
                         t.second);
}

void EventLog::Emit(const std::string& json_object) {
  absl::MutexLock lock(&mu_);
  ++lines_;
  if (out_ == nullptr) return;
  std::fwrite(json_object.data(), 1, json_object.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void EventLog::EmitMeterEvent(const SimEvent& event, int32_t utc_offset_s) {
  const MeterEvent& e = event.event;
  std::string line = absl::StrCat(
      "{\"event\":", JsonString(EventKindName(e.kind)), ",\"gateway\":", JsonString(event.gateway),
      ",\"meter\":", JsonString(event.address), ",\"circuit\":", event.circuit);
  if (e.kind == MeterEvent::Kind::kSelfTrip || e.kind == MeterEvent::Kind::kSelfRecovery) {
    absl::StrAppend(&line, ",\"reason\":", JsonString(TripReasonName(e.reason)));
  }
  absl::StrAppend(&line, ",\"power_w\":", e.power_w, ",\"at_us\":", e.at_us,
                  ",\"at\":", JsonString(LocalTimeText(e.at_us / 1'000'000 + utc_offset_s)),
                  ",\"meter_time\":", JsonString(LocalTimeText(e.meter_local_s)), "}");
  Emit(line);
}

uint64_t EventLog::lines() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

}  // namespace wattledger::meter_sim
