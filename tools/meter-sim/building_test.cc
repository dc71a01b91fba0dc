#include "tools/meter-sim/building.h"

#include <gtest/gtest.h>

#include <set>

namespace wattledger::meter_sim {
namespace {

TEST(Building, DemoIsWhatSeedDemoRegisters) {
  const Building demo = DemoBuilding("127.0.0.1", 9700);
  ASSERT_EQ(demo.gateways.size(), 2u);
  EXPECT_EQ(FormatGatewaySpec(demo.gateways[0]), "G1=server:127.0.0.1:9601");
  EXPECT_EQ(FormatGatewaySpec(demo.gateways[1]), "G2=client:G2@127.0.0.1:9700");
  ASSERT_EQ(demo.meters.size(), 256u);
  EXPECT_EQ(demo.meters[0].address, "000000010001");
  EXPECT_EQ(demo.meters[0].room_id, "B01-101");
  EXPECT_EQ(demo.meters[0].initial_wh, 1'000'000);
  EXPECT_EQ(demo.meters[127].gateway_id, "G1");
  EXPECT_EQ(demo.meters[128].gateway_id, "G2");
  EXPECT_EQ(demo.meters[128].room_id, "B01-501");
  EXPECT_EQ(demo.meters[255].address, "000000010256");
  EXPECT_EQ(demo.meters[255].room_id, "B01-832");
  EXPECT_EQ(demo.meters[255].initial_wh, 1'000'000 + 7919 * 255 % 500'000);
  EXPECT_EQ(demo.meters[100].rated_current_ma, 40'000);
  EXPECT_EQ(demo.meters[100].voltage_dv, 2200);
  EXPECT_TRUE(CheckBuilding(demo, 128).ok());
}

TEST(Building, GatewaySpecsParseAndBadOnesAreRefused) {
  auto server = ParseGatewaySpec("G1=server:127.0.0.1:0");
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server->mode, CollectorMode::kServer);
  EXPECT_EQ(server->port, 0);
  auto client = ParseGatewaySpec("G2=client:REG-7@127.0.0.1:9700");
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(client->registration_id, "REG-7");
  EXPECT_EQ(client->port, 9700);
  EXPECT_EQ(ParseGatewaySpec("G3=client:127.0.0.1:9700")->registration_id, "G3");
  for (const char* bad :
       {"", "G1", "=server:127.0.0.1:1", "G1=serial:127.0.0.1:1", "G1=server:localhost:1",
        "G1=server:127.0.0.1", "G1=server:127.0.0.1:70000", "G2=client:127.0.0.1:0",
        "G2=client:a b@127.0.0.1:9"}) {
    EXPECT_FALSE(ParseGatewaySpec(bad).ok()) << bad;
  }
}

TEST(Building, MetersCsvRoundTripsAndNamesBadLines) {
  const std::string csv =
      "meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma,voltage_dv\n"
      "000000020001,G1,A-101,1,5000,10000\n"
      "# a comment\n"
      "\n"
      "000000020001,G1,A-102,2,7000,10000,2300\n";
  auto meters = ParseMetersCsv(csv);
  ASSERT_TRUE(meters.ok()) << meters.status();
  ASSERT_EQ(meters->size(), 2u);
  EXPECT_EQ((*meters)[0].voltage_dv, 2200);
  EXPECT_EQ((*meters)[1].voltage_dv, 2300);
  EXPECT_EQ((*meters)[1].circuit, 2);
  EXPECT_EQ(*ParseMetersCsv(FormatMetersCsv(*meters)), *meters);
  for (const char* bad : {"h\n00000002000,G1,A,1,0,1\n", "h\n000000020001,G1,A,5,0,1\n",
                          "h\n000000020001,G1,A,1,-1,1\n", "h\n000000020001,G1,A,1,0\n",
                          "h\n000000020001,,A,1,0,1\n", "h\n000000020001,G1,A,1,0,0\n"}) {
    auto refused = ParseMetersCsv(bad);
    EXPECT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("line 2"), absl::string_view::npos);
  }
}

TEST(Building, CheckRefusesInconsistentLayouts) {
  Building building;
  building.gateways.push_back(*ParseGatewaySpec("G1=server:127.0.0.1:0"));
  building.gateways.push_back(*ParseGatewaySpec("G2=server:127.0.0.1:0"));
  building.meters.push_back({.address = "000000000001",
                             .gateway_id = "G1",
                             .room_id = "r",
                             .circuit = 1,
                             .initial_wh = 0,
                             .rated_current_ma = 1,
                             .voltage_dv = 2200});
  EXPECT_TRUE(CheckBuilding(building, 1).ok());
  Building unknown = building;
  unknown.meters[0].gateway_id = "G9";
  EXPECT_FALSE(CheckBuilding(unknown, 128).ok());
  Building repeated = building;
  repeated.meters.push_back(repeated.meters[0]);
  EXPECT_FALSE(CheckBuilding(repeated, 128).ok());
  Building split = building;
  split.meters.push_back(split.meters[0]);
  split.meters[1].circuit = 2;
  split.meters[1].gateway_id = "G2";
  EXPECT_FALSE(CheckBuilding(split, 128).ok());
  Building full = building;
  full.meters.push_back(full.meters[0]);
  full.meters[1].address = "000000000002";
  EXPECT_FALSE(CheckBuilding(full, 1).ok());
  Building twice = building;
  twice.gateways.push_back(twice.gateways[0]);
  EXPECT_FALSE(CheckBuilding(twice, 128).ok());
}

TEST(Building, GeneratedBenchmarkBuildingHas157CollectorsOf128) {
  const Building big = GeneratedBuilding(157, 128, CollectorMode::kServer, "127.0.0.1", 9700);
  EXPECT_EQ(big.gateways.size(), 157u);
  EXPECT_EQ(big.meters.size(), 157u * 128u);
  EXPECT_TRUE(CheckBuilding(big, 128).ok());
  EXPECT_EQ(big.meters.back().address, "000000030096");
  EXPECT_EQ(big.meters.back().gateway_id, "G157");
  std::set<std::string> addresses;
  for (const MeterSpec& meter : big.meters) addresses.insert(meter.address);
  EXPECT_EQ(addresses.size(), big.meters.size());
  const Building clients = GeneratedBuilding(2, 3, CollectorMode::kClient, "127.0.0.1", 9700);
  EXPECT_EQ(FormatGatewaySpec(clients.gateways[1]), "G2=client:G2@127.0.0.1:9700");
}

TEST(Building, DevicesGroupCircuitsAndTakeSeedsFromTheAddress) {
  Building building;
  building.gateways.push_back(*ParseGatewaySpec("G1=server:127.0.0.1:0"));
  building.meters = {{.address = "000000020001",
                      .gateway_id = "G1",
                      .room_id = "A-101",
                      .circuit = 1,
                      .initial_wh = 5,
                      .rated_current_ma = 1,
                      .voltage_dv = 2200},
                     {.address = "000000020002",
                      .gateway_id = "G1",
                      .room_id = "A-103",
                      .circuit = 1,
                      .initial_wh = 6,
                      .rated_current_ma = 1,
                      .voltage_dv = 2200},
                     {.address = "000000020001",
                      .gateway_id = "G1",
                      .room_id = "A-102",
                      .circuit = 2,
                      .initial_wh = 7,
                      .rated_current_ma = 1,
                      .voltage_dv = 2200}};
  SimulationOptions options;
  options.seed = 3;
  options.clock_offset_max_s = 30;
  options.near_rollover_count = 1;
  options.near_rollover_wh = 150;
  const std::vector<DeviceConfig> devices = DevicesOf(building, "G1", options);
  ASSERT_EQ(devices.size(), 2u);
  ASSERT_EQ(devices[0].circuits.size(), 2u);
  EXPECT_EQ(devices[0].circuits[1].room_id, "A-102");
  // One supply and clock per address, one room (load profile) per circuit.
  EXPECT_EQ(devices[0].circuits[0].model.supply_seed, devices[0].circuits[1].model.supply_seed);
  EXPECT_EQ(devices[0].circuits[0].model.clock_offset_us,
            devices[0].circuits[1].model.clock_offset_us);
  EXPECT_NE(devices[0].circuits[0].model.room_seed, devices[0].circuits[1].model.room_seed);
  EXPECT_NE(devices[0].circuits[0].model.supply_seed, devices[1].circuits[0].model.supply_seed);
  EXPECT_LE(std::abs(devices[0].circuits[0].model.clock_offset_us), 30'000'000);
  // The first meter of the building starts 150 Wh below the rollover.
  EXPECT_EQ(devices[0].circuits[0].model.initial_wh, kRegisterModulusWh - 150);
  EXPECT_EQ(devices[1].circuits[0].model.initial_wh, 6);
  // Another seed, other rooms.
  options.seed = 4;
  EXPECT_NE(DevicesOf(building, "G1", options)[0].circuits[0].model.room_seed,
            devices[0].circuits[0].model.room_seed);
}

}  // namespace
}  // namespace wattledger::meter_sim
