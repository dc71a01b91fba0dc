// The packets a transparent collector in TCP client mode adds to the byte
// stream besides DL/T 645 frames (ingest/README.md, "Collector protocol"):
//
//   registration  "@REG <registration id>\r\n"   first thing after connecting
//   heartbeat     "@HB <registration id>\r\n"    whenever its bus is idle
//
// A packet starts with '@' (never a frame's first byte: frames start with FE
// or 68), ends at CRLF, and is at most kCollectorPacketBytesMax bytes. It is
// recognised only between frames. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/types/span.h"

namespace wattledger::ingest {

inline constexpr size_t kCollectorPacketBytesMax = 64;
inline constexpr uint8_t kCollectorPacketStart = '@';

struct CollectorPacket {
  enum class Kind { kRegistration, kHeartbeat, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string id;    // the registration id it names
  size_t bytes = 0;  // its length on the wire, CRLF included
};

std::string RegistrationPacket(std::string_view registration_id);
std::string HeartbeatPacket(std::string_view registration_id);

enum class PacketScan { kPacket, kNeedMore, kNotAPacket };
// Looks at the start of `bytes` (which must begin with '@' to be a packet):
// kPacket fills `packet`; kNeedMore when it may still become one; kNotAPacket
// when it cannot (no '@', a non-printable byte, or no CRLF within the limit).
PacketScan ScanCollectorPacket(absl::Span<const uint8_t> bytes, CollectorPacket& packet);

}  // namespace wattledger::ingest
