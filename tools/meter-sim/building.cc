#include "tools/meter-sim/building.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tools/meter-sim/sim_random.h"

namespace wattledger::meter_sim {
namespace {

enum Salt : uint64_t {
  kSaltRoom = 201,
  kSaltSupply = 202,
  kSaltClockOffset = 203,
  kSaltClockDrift = 204,
};

constexpr int kDemoMeters = 256;
constexpr int kDemoMetersPerGateway = 128;
constexpr int kDemoRoomsPerFloor = 32;

bool IsDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool ParseHostPort(absl::string_view text, std::string& host, uint16_t& port) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &value) || value > 65535) return false;
  host = std::string(text.substr(0, colon));
  port = static_cast<uint16_t>(value);
  // Numeric IPv4 only: four dot-separated numbers.
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4) return false;
  for (absl::string_view part : parts) {
    uint32_t octet = 0;
    if (!IsDigits(part) || !absl::SimpleAtoi(part, &octet) || octet > 255) return false;
  }
  return true;
}

// The signed value in [-max, max] a hash picks.
int64_t Spread(uint64_t h, int64_t max) {
  if (max <= 0) return 0;
  return static_cast<int64_t>(Below(h, static_cast<uint64_t>(2 * max + 1))) - max;
}

}  // namespace

absl::StatusOr<GatewaySpec> ParseGatewaySpec(const std::string& text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway \"", text, "\": ", why,
                     " (expected ID=server:HOST:PORT or ID=client:[REGID@]HOST:PORT)"));
  };
  const size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) return invalid("no ID=");
  GatewaySpec spec;
  spec.id = text.substr(0, equals);
  absl::string_view rest = absl::string_view(text).substr(equals + 1);
  if (absl::ConsumePrefix(&rest, "server:")) {
    spec.mode = CollectorMode::kServer;
  } else if (absl::ConsumePrefix(&rest, "client:")) {
    spec.mode = CollectorMode::kClient;
    const size_t at = rest.find('@');
    spec.registration_id =
        at == absl::string_view::npos ? spec.id : std::string(rest.substr(0, at));
    if (at != absl::string_view::npos) rest.remove_prefix(at + 1);
    if (spec.registration_id.empty()) return invalid("empty registration id");
    for (char c : spec.registration_id) {
      if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
        return invalid("the registration id must be printable without spaces");
      }
    }
  } else {
    return invalid("mode is neither server nor client");
  }
  if (!ParseHostPort(rest, spec.host, spec.port)) return invalid("bad HOST:PORT");
  if (spec.mode == CollectorMode::kClient && spec.port == 0) return invalid("client needs a port");
  return spec;
}

std::string FormatGatewaySpec(const GatewaySpec& spec) {
  if (spec.mode == CollectorMode::kServer) {
    return absl::StrCat(spec.id, "=server:", spec.host, ":", spec.port);
  }
  return absl::StrCat(spec.id, "=client:", spec.registration_id, "@", spec.host, ":", spec.port);
}

absl::StatusOr<std::vector<MeterSpec>> ParseMetersCsv(const std::string& contents) {
  std::vector<MeterSpec> meters;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line_number == 1 || line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    for (std::string& field : fields) field = std::string(absl::StripAsciiWhitespace(field));
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("meters line ", line_number, ": ", why));
    };
    if (fields.size() < 6 || fields.size() > 7) return bad("expected 6 or 7 fields");
    MeterSpec meter;
    meter.address = fields[0];
    if (meter.address.size() != 12 || !IsDigits(meter.address)) {
      return bad("meter_address must be 12 digits");
    }
    meter.gateway_id = fields[1];
    meter.room_id = fields[2];
    if (meter.gateway_id.empty()) return bad("empty gateway_id");
    if (!absl::SimpleAtoi(fields[3], &meter.circuit) || meter.circuit < 1 ||
        meter.circuit > dlt645::kCircuitsMax) {
      return bad("circuit must be 1..4");
    }
    if (!absl::SimpleAtoi(fields[4], &meter.initial_wh) || meter.initial_wh < 0) {
      return bad("initial_wh must be a number >= 0");
    }
    if (!absl::SimpleAtoi(fields[5], &meter.rated_current_ma) || meter.rated_current_ma <= 0) {
      return bad("rated_current_ma must be a number > 0");
    }
    if (fields.size() == 7 &&
        (!absl::SimpleAtoi(fields[6], &meter.voltage_dv) || meter.voltage_dv <= 0)) {
      return bad("voltage_dv must be a number > 0");
    }
    meters.push_back(std::move(meter));
  }
  return meters;
}

std::string FormatMetersCsv(const std::vector<MeterSpec>& meters) {
  std::string out =
      "meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma,voltage_dv\n";
  for (const MeterSpec& m : meters) {
    absl::StrAppend(&out, m.address, ",", m.gateway_id, ",", m.room_id, ",", m.circuit, ",",
                    m.initial_wh, ",", m.rated_current_ma, ",", m.voltage_dv, "\n");
  }
  return out;
}

Building DemoBuilding(const std::string& master_host, uint16_t master_port) {
  Building building;
  building.gateways.push_back(GatewaySpec{.id = "G1",
                                          .mode = CollectorMode::kServer,
                                          .host = "127.0.0.1",
                                          .port = 9601,
                                          .registration_id = ""});
  building.gateways.push_back(GatewaySpec{.id = "G2",
                                          .mode = CollectorMode::kClient,
                                          .host = master_host,
                                          .port = master_port,
                                          .registration_id = "G2"});
  for (int n = 0; n < kDemoMeters; ++n) {
    const int floor = n / kDemoRoomsPerFloor + 1;
    const int index = n % kDemoRoomsPerFloor;
    building.meters.push_back(MeterSpec{.address = absl::StrFormat("%012d", 10001 + n),
                                        .gateway_id = n < kDemoMetersPerGateway ? "G1" : "G2",
                                        .room_id = absl::StrFormat("B01-%d%02d", floor, index + 1),
                                        .circuit = 1,
                                        .initial_wh = 1'000'000 + 7919 * n % 500'000,
                                        .rated_current_ma = 40'000,
                                        .voltage_dv = 2200});
  }
  return building;
}

Building GeneratedBuilding(int gateways, int meters_per_gateway, CollectorMode mode,
                           const std::string& host, uint16_t master_port) {
  Building building;
  for (int g = 0; g < gateways; ++g) {
    const std::string id = absl::StrCat("G", g + 1);
    building.gateways.push_back(
        GatewaySpec{.id = id,
                    .mode = mode,
                    .host = host,
                    .port = mode == CollectorMode::kServer ? uint16_t{0} : master_port,
                    .registration_id = mode == CollectorMode::kClient ? id : ""});
    for (int i = 0; i < meters_per_gateway; ++i) {
      const int64_t n = int64_t{g} * meters_per_gateway + i;
      building.meters.push_back(MeterSpec{.address = absl::StrFormat("%012d", 10001 + n),
                                          .gateway_id = id,
                                          .room_id = absl::StrFormat("R%05d", n),
                                          .circuit = 1,
                                          .initial_wh = 1'000'000 + 7919 * n % 500'000,
                                          .rated_current_ma = 40'000,
                                          .voltage_dv = 2200});
    }
  }
  return building;
}

absl::Status CheckBuilding(const Building& building, size_t meters_per_gateway_max) {
  std::map<std::string, std::set<std::string>> addresses_by_gateway;
  for (const GatewaySpec& gateway : building.gateways) {
    if (!addresses_by_gateway.emplace(gateway.id, std::set<std::string>{}).second) {
      return absl::InvalidArgumentError(absl::StrCat("gateway ", gateway.id, " appears twice"));
    }
  }
  std::map<std::string, std::string> gateway_of_address;
  std::set<std::pair<std::string, int>> circuits;
  for (const MeterSpec& meter : building.meters) {
    auto gateway = addresses_by_gateway.find(meter.gateway_id);
    if (gateway == addresses_by_gateway.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("meter ", meter.address, " names unknown gateway ", meter.gateway_id));
    }
    auto [it, inserted] = gateway_of_address.emplace(meter.address, meter.gateway_id);
    if (!inserted && it->second != meter.gateway_id) {
      return absl::InvalidArgumentError(absl::StrCat("meter ", meter.address, " is on both ",
                                                     it->second, " and ", meter.gateway_id));
    }
    if (!circuits.emplace(meter.address, meter.circuit).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("meter ", meter.address, " circuit ", meter.circuit, " appears twice"));
    }
    gateway->second.insert(meter.address);
    if (gateway->second.size() > meters_per_gateway_max) {
      return absl::InvalidArgumentError(absl::StrCat("gateway ", meter.gateway_id, " has over ",
                                                     meters_per_gateway_max, " meters"));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::vector<DeviceConfig>> DevicesByGateway(
    const Building& building, const SimulationOptions& options) {
  std::map<std::string, std::vector<DeviceConfig>> devices;
  // Where each address's device sits, and the address's rank in the building
  // (the first near_rollover_count addresses start near the rollover).
  struct Place {
    std::string gateway_id;
    size_t index = 0;
    int rank = 0;
  };
  std::map<std::string, Place> places;
  for (const MeterSpec& meter : building.meters) {
    auto [it, inserted] = places.emplace(meter.address, Place{});
    if (inserted) {
      std::vector<DeviceConfig>& list = devices[meter.gateway_id];
      it->second = Place{.gateway_id = meter.gateway_id,
                         .index = list.size(),
                         .rank = static_cast<int>(places.size() - 1)};
      list.push_back(DeviceConfig{.address = meter.address, .circuits = {}});
    }
    const Place& place = it->second;
    const uint64_t address_hash = HashString(meter.address);
    int64_t initial_wh = meter.initial_wh;
    if (place.rank < options.near_rollover_count) {
      initial_wh = kRegisterModulusWh - options.near_rollover_wh;
    }
    const MeterConfig model{
        .room_seed =
            Hash({options.seed, kSaltRoom, address_hash, static_cast<uint64_t>(meter.circuit)}),
        .supply_seed = Hash({options.seed, kSaltSupply, address_hash}),
        .start_us = options.start_us,
        .initial_wh = initial_wh,
        .rated_current_ma = meter.rated_current_ma,
        .nominal_voltage_dv = meter.voltage_dv,
        .clock_offset_us = Spread(Hash({options.seed, kSaltClockOffset, address_hash}),
                                  options.clock_offset_max_s * 1000) *
                           1000,
        .clock_drift_us_per_day = Spread(Hash({options.seed, kSaltClockDrift, address_hash}),
                                         options.clock_drift_max_s_per_day * 1000) *
                                  1000,
        .profile = options.profile,
        .power_failures = options.power_failures};
    // CheckBuilding() keeps an address on one gateway; devices[] follows the first row.
    devices[place.gateway_id][place.index].circuits.push_back(
        CircuitConfig{.circuit = meter.circuit, .room_id = meter.room_id, .model = model});
  }
  return devices;
}

std::vector<DeviceConfig> DevicesOf(const Building& building, const std::string& gateway_id,
                                    const SimulationOptions& options) {
  std::map<std::string, std::vector<DeviceConfig>> all = DevicesByGateway(building, options);
  auto it = all.find(gateway_id);
  return it == all.end() ? std::vector<DeviceConfig>{} : std::move(it->second);
}

}  // namespace wattledger::meter_sim
