// The simulated building's layout: which collectors exist, in which mode,
// and which meters (and circuits) hang on each — from the demo campus
// (`wattctl seed-demo`), from an import CSV, or generated for benchmarks —
// and how a layout becomes per-meter model configurations (seeds, clock
// offsets, drift, near-rollover registers). Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/meter-sim/bus.h"

namespace wattledger::meter_sim {

enum class CollectorMode : uint8_t { kServer = 1, kClient = 2 };

struct GatewaySpec {
  std::string id;
  CollectorMode mode = CollectorMode::kServer;
  std::string host;             // server: where to listen; client: the master to connect to
  uint16_t port = 0;            // server: 0 picks a free port
  std::string registration_id;  // client: sent in @REG / @HB
  friend bool operator==(const GatewaySpec&, const GatewaySpec&) = default;
};

// One row of the meter import format.
struct MeterSpec {
  std::string address;  // 12 digits
  std::string gateway_id;
  std::string room_id;
  int circuit = 1;
  int64_t initial_wh = 0;
  int32_t rated_current_ma = 40'000;
  int32_t voltage_dv = 2200;
  friend bool operator==(const MeterSpec&, const MeterSpec&) = default;
};

struct Building {
  std::vector<GatewaySpec> gateways;
  std::vector<MeterSpec> meters;
};

// "G1=server:127.0.0.1:0" or "G2=client:G2@127.0.0.1:9700" (the registration
// id defaults to the gateway id: "G2=client:127.0.0.1:9700"). Hosts are
// numeric IPv4 addresses. kInvalidArgument otherwise.
absl::StatusOr<GatewaySpec> ParseGatewaySpec(const std::string& text);
std::string FormatGatewaySpec(const GatewaySpec& spec);

// The import CSV (`wattctl import --meters`): a header line, then
// meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma[,voltage_dv];
// blank lines and lines starting with '#' are skipped. kInvalidArgument
// naming the line for a bad row.
absl::StatusOr<std::vector<MeterSpec>> ParseMetersCsv(const std::string& contents);
std::string FormatMetersCsv(const std::vector<MeterSpec>& meters);

// Exactly what `wattctl seed-demo` registers: G1 (server, 127.0.0.1:9601)
// and G2 (client, registration id "G2", to `master_host`:`master_port`), 256
// meters 000000010001.. with n < 128 on G1, rooms B01-101..B01-832.
Building DemoBuilding(const std::string& master_host, uint16_t master_port);

// `gateways` collectors G1..GN of `meters_per_gateway` meters each; meter n
// (0-based, in gateway order) has address %012d of 10001 + n, room R%05d of n
// and the demo's initial register formula. Server collectors listen on
// `host`:0; client collectors connect to `host`:`master_port`.
Building GeneratedBuilding(int gateways, int meters_per_gateway, CollectorMode mode,
                           const std::string& host, uint16_t master_port);

// Every gateway id is unique, every meter names a known gateway, (address,
// circuit) pairs are unique, an address stays on one gateway, at most
// `meters_per_gateway_max` addresses per gateway. kInvalidArgument otherwise.
absl::Status CheckBuilding(const Building& building, size_t meters_per_gateway_max);

// How a layout becomes models.
struct SimulationOptions {
  uint64_t seed = 1;
  int64_t start_us = 0;  // simulated time at start
  LoadProfileOptions profile = {};
  PowerFailurePlan power_failures = {};
  int64_t clock_offset_max_s = 0;         // each meter's clock starts off by up to ±this
  int64_t clock_drift_max_s_per_day = 0;  // and drifts by up to ±this per day
  int near_rollover_count = 0;            // the first N meters start just below 999 999.99 kWh
  int64_t near_rollover_wh = 200;         // this far below
};

// The meters of every gateway (keyed by gateway id), each with its circuits'
// model configurations, in building order.
std::map<std::string, std::vector<DeviceConfig>> DevicesByGateway(const Building& building,
                                                                  const SimulationOptions& options);
// The meters of one gateway (DevicesByGateway()[gateway_id]).
std::vector<DeviceConfig> DevicesOf(const Building& building, const std::string& gateway_id,
                                    const SimulationOptions& options);

}  // namespace wattledger::meter_sim
