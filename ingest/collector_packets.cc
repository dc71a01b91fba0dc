#include "ingest/collector_packets.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace wattledger::ingest {

std::string RegistrationPacket(std::string_view registration_id) {
  return absl::StrCat("@REG ", absl::string_view(registration_id.data(), registration_id.size()),
                      "\r\n");
}

std::string HeartbeatPacket(std::string_view registration_id) {
  return absl::StrCat("@HB ", absl::string_view(registration_id.data(), registration_id.size()),
                      "\r\n");
}

PacketScan ScanCollectorPacket(absl::Span<const uint8_t> bytes, CollectorPacket& packet) {
  if (bytes.empty() || bytes[0] != kCollectorPacketStart) return PacketScan::kNotAPacket;
  for (size_t i = 1; i < bytes.size() && i < kCollectorPacketBytesMax; ++i) {
    if (bytes[i] == '\r') {
      if (i + 1 == bytes.size()) return PacketScan::kNeedMore;
      if (bytes[i + 1] != '\n') return PacketScan::kNotAPacket;
      absl::string_view line(reinterpret_cast<const char*>(bytes.data()), i);
      packet = CollectorPacket{};
      packet.bytes = i + 2;
      if (absl::ConsumePrefix(&line, "@REG ")) {
        packet.kind = CollectorPacket::Kind::kRegistration;
      } else if (absl::ConsumePrefix(&line, "@HB ")) {
        packet.kind = CollectorPacket::Kind::kHeartbeat;
      }
      packet.id = std::string(line);
      return PacketScan::kPacket;
    }
    if (bytes[i] < 0x20 || bytes[i] > 0x7E) return PacketScan::kNotAPacket;
  }
  return bytes.size() < kCollectorPacketBytesMax ? PacketScan::kNeedMore : PacketScan::kNotAPacket;
}

}  // namespace wattledger::ingest
