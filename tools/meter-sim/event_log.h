// The simulator's stdout: one JSON object per line, for people and for tests
// that parse them (collector_listening, collector_connecting, ready, the
// meters' self_trip / self_recovery / power_lost / power_restored, link
// events). Thread-safe; each line is written and flushed whole.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tools/meter-sim/bus.h"

namespace wattledger::meter_sim {

// `text` as a JSON string literal, quotes included.
std::string JsonString(std::string_view text);

// Local civil seconds as "2026-03-01T12:00:00".
std::string LocalTimeText(int64_t local_s);

class EventLog {
 public:
  // Writes to `out` (not owned; stdout in the binary); nullptr discards.
  explicit EventLog(std::FILE* out) : out_(out) {}
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Writes `json_object` and a newline.
  void Emit(const std::string& json_object);
  // A meter's own event as a line.
  void EmitMeterEvent(const SimEvent& event, int32_t utc_offset_s);
  uint64_t lines() const;

 private:
  std::FILE* const out_;
  mutable absl::Mutex mu_;
  uint64_t lines_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wattledger::meter_sim
