#include "ingest/collector_packets.h"

#include <gtest/gtest.h>

namespace wattledger::ingest {
namespace {

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

TEST(CollectorPacketsTest, RegistrationAndHeartbeatRoundTrip) {
  CollectorPacket packet;
  auto registration = Bytes(RegistrationPacket("G2"));
  ASSERT_EQ(ScanCollectorPacket(registration, packet), PacketScan::kPacket);
  EXPECT_EQ(packet.kind, CollectorPacket::Kind::kRegistration);
  EXPECT_EQ(packet.id, "G2");
  EXPECT_EQ(packet.bytes, registration.size());

  auto heartbeat = Bytes(HeartbeatPacket("G2") + "\x68rest");
  ASSERT_EQ(ScanCollectorPacket(heartbeat, packet), PacketScan::kPacket);
  EXPECT_EQ(packet.kind, CollectorPacket::Kind::kHeartbeat);
  EXPECT_EQ(packet.bytes, HeartbeatPacket("G2").size());  // the frame after it is left alone
}

TEST(CollectorPacketsTest, PartialPacketsWaitAndOthersAreNotPackets) {
  CollectorPacket packet;
  EXPECT_EQ(ScanCollectorPacket(Bytes("@REG G"), packet), PacketScan::kNeedMore);
  EXPECT_EQ(ScanCollectorPacket(Bytes("@REG G2\r"), packet), PacketScan::kNeedMore);
  EXPECT_EQ(ScanCollectorPacket(Bytes("\x68\x01\x02"), packet), PacketScan::kNotAPacket);
  EXPECT_EQ(ScanCollectorPacket(Bytes("@REG G2\rX"), packet), PacketScan::kNotAPacket);
  EXPECT_EQ(ScanCollectorPacket({0x40, 0x68, 0x01}, packet), PacketScan::kNotAPacket);
  EXPECT_EQ(ScanCollectorPacket(Bytes("@" + std::string(kCollectorPacketBytesMax, 'x')), packet),
            PacketScan::kNotAPacket);
  ASSERT_EQ(ScanCollectorPacket(Bytes("@HELLO\r\n"), packet), PacketScan::kPacket);
  EXPECT_EQ(packet.kind, CollectorPacket::Kind::kUnknown);
}

}  // namespace
}  // namespace wattledger::ingest
