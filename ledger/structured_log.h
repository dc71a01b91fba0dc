// One JSON line per notable event on stderr, so operators can grep and ship
// logs: {"ts":"2026-11-26T06:40:01.123456Z","level":"info","event":"started",...}.
// Thread-safe; each line is written with one write(2).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"

namespace wattledger::ledger {

using LogValue = std::variant<std::string, int64_t, uint64_t, bool>;
struct LogField {
  absl::string_view key;
  LogValue value;
};

void LogEvent(absl::string_view level, absl::string_view event,
              std::initializer_list<LogField> fields = {});

std::string JsonEscape(absl::string_view text);

}  // namespace wattledger::ledger
