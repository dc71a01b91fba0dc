// Device status through the real ledger: the meter side records link changes
// of registered gateways and meters; they survive a reopen and replay.
#include "projections/monitoring/device_status.h"

#include <gtest/gtest.h>

#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using schema::LinkState;
using testing::MakeBody;

constexpr char kMeter[] = "000000010001";

class DeviceStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), c_.now_us(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), c_.now_us(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), c_.now_us(), "B01-101", "B01", 4)));
    Ok(c_.AsOperator(
        testing::MeterBody(c_.Key("m"), c_.now_us(), testing::MeterSpec{kMeter, "G1", "B01-101"})));
  }
  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }
  std::string Gateway(const std::string& id, LinkState state) {
    return MakeBody(
        c_.Key("gw"), c_.now_us(), "gateway:" + id, [&](schema::EventBody::Builder body) {
          auto out = body.initGatewayStatusChanged();
          out.setGatewayId(id);
          out.setState(state);
          out.setDetail(state == LinkState::ONLINE ? "connected" : "connection refused");
          out.setPeer("127.0.0.1:9601");
        });
  }
  std::string Meter(const std::string& address, LinkState state, uint64_t timeouts) {
    return MakeBody(c_.Key("mt"), c_.now_us(), "meter:" + address,
                    [&](schema::EventBody::Builder body) {
                      auto out = body.initMeterStatusChanged();
                      out.setMeterAddress(address);
                      out.setGatewayId("G1");
                      out.setState(state);
                      out.setDetail("3 timeouts in a row");
                      out.setRequests(40);
                      out.setTimeouts(timeouts);
                    });
  }
  testing::CampusLedger<Domain> c_;
};

TEST_F(DeviceStatusTest, RecordsChangesOfRegisteredDevices) {
  Ok(c_.AsIngest(Gateway("G1", LinkState::ONLINE)));
  Ok(c_.AsIngest(Meter(kMeter, LinkState::OFFLINE, 3)));
  auto gateway = c_.campus().devices().Gateway("G1");
  ASSERT_TRUE(gateway.has_value());
  EXPECT_EQ(gateway->state, LinkState::ONLINE);
  EXPECT_EQ(gateway->peer, "127.0.0.1:9601");
  auto meter = c_.campus().devices().Meter(kMeter);
  ASSERT_TRUE(meter.has_value());
  EXPECT_EQ(meter->state, LinkState::OFFLINE);
  EXPECT_EQ(meter->timeouts, 3u);
  EXPECT_EQ(meter->requests, 40u);
}

TEST_F(DeviceStatusTest, RefusesUnknownDevicesAndOtherSigners) {
  uint64_t head = c_.ledger().head().seq;
  auto unknown_gateway = c_.AsIngest(Gateway("G9", LinkState::ONLINE));
  ASSERT_FALSE(unknown_gateway.ok());
  EXPECT_EQ(unknown_gateway.status().code(), absl::StatusCode::kFailedPrecondition);
  auto unknown_meter = c_.AsIngest(Meter("000000099999", LinkState::ONLINE, 0));
  ASSERT_FALSE(unknown_meter.ok());
  EXPECT_EQ(unknown_meter.status().code(), absl::StatusCode::kFailedPrecondition);
  auto operator_signed = c_.AsOperator(Gateway("G1", LinkState::ONLINE));
  ASSERT_FALSE(operator_signed.ok());
  EXPECT_EQ(operator_signed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c_.ledger().head().seq, head);
}

TEST_F(DeviceStatusTest, SurvivesReopenAndReplaysByteForByte) {
  Ok(c_.AsIngest(Gateway("G1", LinkState::ONLINE)));
  Ok(c_.AsIngest(Meter(kMeter, LinkState::FAULT, 1)));
  Ok(c_.AsIngest(Gateway("G1", LinkState::OFFLINE)));
  auto gateways = c_.campus().devices().Gateways();
  auto meters = c_.campus().devices().Meters();
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->devices().Gateways(), gateways);
  EXPECT_EQ((*replayed)->devices().Meters(), meters);
  EXPECT_EQ(c_.campus().devices().Gateways(), gateways);
  EXPECT_EQ(c_.campus().devices().Gateways()[0].state, LinkState::OFFLINE);
}

}  // namespace
}  // namespace wattledger::projections
