// What the crash test and its child process share: the keys both derive from
// fixed seeds, and the line protocol the child writes to its stdout.
//
//   report   = "ready\n"                       after Ledger::Open succeeded
//            | "ack " seq " " hash " " key "\n"  after an append's future completed OK
//            | "idle\n"                        after the child submitted all it was told to
//   seq      = decimal
//   hash     = 64 lower-case hex digits of H(seq), the chain hash of the envelope
//   key      = the request's idempotency key (no spaces)
//
// Each report is one write(2) of fewer than PIPE_BUF bytes, so a SIGKILL
// never leaves half a line in the pipe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace wattledger::testing::crash {

inline constexpr uint8_t kLedgerKeyTag = 1;
inline constexpr uint8_t kAdminKeyTag = 2;
inline constexpr uint8_t kCashierKeyTag = 3;

struct Ack {
  uint64_t seq = 0;
  std::string chain_hash_hex;
  std::string idempotency_key;
};

// Parses one "ack" line (without its newline); nullopt for anything else.
inline std::optional<Ack> ParseAck(absl::string_view line) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  if (fields.size() != 4 || fields[0] != "ack") return std::nullopt;
  Ack ack;
  if (!absl::SimpleAtoi(fields[1], &ack.seq)) return std::nullopt;
  if (fields[2].size() != 64) return std::nullopt;
  ack.chain_hash_hex = std::string(fields[2]);
  ack.idempotency_key = std::string(fields[3]);
  return ack;
}

}  // namespace wattledger::testing::crash
