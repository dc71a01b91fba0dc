// meter-sim: a dormitory building of DL/T 645-2007 meters behind TCP
// collectors, for wattd to poll in demos, tests and benchmarks. Deterministic
// from --seed. Prints one JSON line per collector, then {"event":"ready"},
// then the meters' self-trips and the links' events; writes --truth every
// second, on SIGUSR1 and at exit; stops on SIGINT/SIGTERM. See README.md.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ingest/dlt645/messages.h"
#include "ledger/limits.h"
#include "tools/meter-sim/simulator.h"

ABSL_FLAG(
    bool, demo, false,
    "the demo building of `wattctl seed-demo`: G1 server 127.0.0.1:9601, G2 client to --master");
ABSL_FLAG(std::string, demo_g1, "127.0.0.1:9601",
          "with --demo: where collector G1 listens (seed-demo --g1_address must match)");
ABSL_FLAG(std::string, master, "127.0.0.1:9700", "the master's collector port (client collectors)");
ABSL_FLAG(std::string, meters, "",
          "meters CSV in the import format "
          "(meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma[,voltage_dv])");
ABSL_FLAG(std::vector<std::string>, gateway, {},
          "collector spec, repeatable: ID=server:HOST:PORT or ID=client:[REGID@]HOST:PORT");
ABSL_FLAG(int32_t, gateways, 0, "generate this many collectors G1..GN");
ABSL_FLAG(int32_t, meters_per_gateway, 128, "meters per generated collector");
ABSL_FLAG(std::string, generated_mode, "server", "mode of generated collectors: server or client");
ABSL_FLAG(std::string, generated_host, "127.0.0.1",
          "generated server collectors listen here (port 0); clients connect to --master");
ABSL_FLAG(std::string, export_meters, "", "also write the building's meters CSV here");
ABSL_FLAG(uint64_t, seed, 1, "seed of everything random");
ABSL_FLAG(double, speed, 1, "the meters' clocks run this many times faster than real time");
ABSL_FLAG(std::string, start_time, "",
          "simulated start, RFC 3339 (2026-03-02T08:00:00+08:00) or Unix seconds; default now");
ABSL_FLAG(int32_t, utc_offset_minutes, 480, "the meters' local time zone (China: 480)");
ABSL_FLAG(std::string, truth, "", "truth file, rewritten atomically every second");
ABSL_FLAG(int64_t, truth_interval_ms, 1000, "how often to rewrite --truth");
ABSL_FLAG(double, heartbeat_s, 30, "client collectors send @HB after this long idle");
ABSL_FLAG(bool, bus_timing, false, "2400 baud 8E1 serial time plus 20-50 ms meter turnaround");
ABSL_FLAG(int32_t, baud, 2400, "bus speed with --bus_timing");
ABSL_FLAG(int32_t, threads, 1, "io threads (collectors are spread over them)");
ABSL_FLAG(std::string, password, "02000000", "PA P0 P1 P2 the meters accept (8 hex digits)");
ABSL_FLAG(int32_t, reply_preamble, 4, "FE bytes before each reply (0..4)");
ABSL_FLAG(bool, reading_snapshot, true,
          "answer the vendor reading snapshot 04C10000 (false: meters without it)");
ABSL_FLAG(int64_t, broadcast_time_limit_s, 300,
          "broadcast time moves a clock by at most this much (0 = any)");
ABSL_FLAG(std::string, control, "", "HOST:PORT of a line-command control port (port 0 = free)");
ABSL_FLAG(double, resistive_rate, 0.01,
          "chance per 5 minutes that an occupied room switches on a kettle/heater");
ABSL_FLAG(double, drop_rate, 0, "fault: chance a reply is dropped");
ABSL_FLAG(double, garble_rate, 0, "fault: chance one byte of a reply is changed");
ABSL_FLAG(double, bad_checksum_rate, 0, "fault: chance a reply has a wrong checksum");
ABSL_FLAG(double, wrong_address_rate, 0, "fault: chance a reply carries another meter's address");
ABSL_FLAG(double, delay_rate, 0, "fault: chance a reply is delayed by --delay_ms");
ABSL_FLAG(int32_t, delay_ms, 0, "fault: the delay of a delayed reply");
ABSL_FLAG(double, disconnect_every_s, 0, "fault: drop every collector connection this often");
ABSL_FLAG(double, power_failure_rate, 0,
          "fault: chance per meter per simulated hour of a supply failure");
ABSL_FLAG(int32_t, power_failure_minutes, 5, "fault: how long a supply failure lasts");
ABSL_FLAG(double, clock_drift_s_per_day, 0, "fault: each clock drifts by up to +-this");
ABSL_FLAG(double, clock_offset_s, 0, "fault: each clock starts off by up to +-this");
ABSL_FLAG(int32_t, near_rollover_count, 0,
          "fault: the first N meters start just below 999999.99 kWh");
ABSL_FLAG(int64_t, near_rollover_wh, 200, "fault: that far below the rollover");

namespace wattledger::meter_sim {
namespace {

uint32_t Ppm(double rate) {
  if (rate <= 0) return 0;
  if (rate >= 1) return 1'000'000;
  return static_cast<uint32_t>(rate * 1'000'000 + 0.5);
}

// absl flags spell names with '_': accept the README's '-' spelling too, and
// gather repeated --gateway into one comma-separated value.
std::vector<std::string> NormaliseArguments(int argc, char** argv) {
  std::vector<std::string> out = {argv[0]};
  std::vector<std::string> gateways;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (; i < argc; ++i) out.emplace_back(argv[i]);
      break;
    }
    if (arg.rfind("--", 0) == 0) {
      const size_t end = std::min(arg.find('='), arg.size());
      for (size_t k = 2; k < end; ++k) {
        if (arg[k] == '-') arg[k] = '_';
      }
      if (arg == "--gateway" && i + 1 < argc) {
        gateways.emplace_back(argv[++i]);
        continue;
      }
      if (arg.rfind("--gateway=", 0) == 0) {
        gateways.push_back(arg.substr(10));
        continue;
      }
    }
    out.push_back(arg);
  }
  if (!gateways.empty()) out.push_back("--gateway=" + absl::StrJoin(gateways, ","));
  return out;
}

absl::StatusOr<int64_t> StartUs() {
  const std::string text = absl::GetFlag(FLAGS_start_time);
  if (text.empty()) return absl::ToUnixMicros(absl::Now());
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) return seconds * 1'000'000;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("--start_time: ", error));
  }
  return absl::ToUnixMicros(time);
}

absl::StatusOr<Building> BuildingFromFlags() {
  const std::string master_text = absl::GetFlag(FLAGS_master);
  auto master = ParseGatewaySpec("master=client:" + master_text);
  if (!master.ok()) return absl::InvalidArgumentError("--master must be IPv4:PORT");
  Building building;
  if (absl::GetFlag(FLAGS_demo)) {
    building = DemoBuilding(master->host, master->port);
    auto g1 = ParseGatewaySpec("G1=server:" + absl::GetFlag(FLAGS_demo_g1));
    if (!g1.ok()) return absl::InvalidArgumentError("--demo_g1 must be IPv4:PORT");
    building.gateways[0].host = g1->host;
    building.gateways[0].port = g1->port;
  } else if (absl::GetFlag(FLAGS_gateways) > 0) {
    const std::string mode = absl::GetFlag(FLAGS_generated_mode);
    if (mode != "server" && mode != "client") {
      return absl::InvalidArgumentError("--generated_mode is server or client");
    }
    const bool server = mode == "server";
    building = GeneratedBuilding(
        absl::GetFlag(FLAGS_gateways), absl::GetFlag(FLAGS_meters_per_gateway),
        server ? CollectorMode::kServer : CollectorMode::kClient,
        server ? absl::GetFlag(FLAGS_generated_host) : master->host, master->port);
  } else if (!absl::GetFlag(FLAGS_meters).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_meters));
    if (!in) return absl::NotFoundError("cannot read --meters");
    std::stringstream contents;
    contents << in.rdbuf();
    auto meters = ParseMetersCsv(contents.str());
    if (!meters.ok()) return meters.status();
    building.meters = *std::move(meters);
    for (const std::string& text : absl::GetFlag(FLAGS_gateway)) {
      auto spec = ParseGatewaySpec(text);
      if (!spec.ok()) return spec.status();
      building.gateways.push_back(*std::move(spec));
    }
  } else {
    return absl::InvalidArgumentError("give --demo, --gateways N, or --meters FILE with --gateway");
  }
  return building;
}

absl::StatusOr<SimulatorOptions> OptionsFromFlags() {
  SimulatorOptions options;
  auto building = BuildingFromFlags();
  if (!building.ok()) return building.status();
  options.building = *std::move(building);
  auto start_us = StartUs();
  if (!start_us.ok()) return start_us.status();
  SimulationOptions& sim = options.simulation;
  sim.seed = absl::GetFlag(FLAGS_seed);
  sim.start_us = *start_us;
  sim.profile = LoadProfileOptions{.resistive_ppm = Ppm(absl::GetFlag(FLAGS_resistive_rate)),
                                   .utc_offset_s = absl::GetFlag(FLAGS_utc_offset_minutes) * 60};
  sim.power_failures = PowerFailurePlan{
      .chance_ppm_per_hour = Ppm(absl::GetFlag(FLAGS_power_failure_rate)),
      .duration_min = std::clamp(absl::GetFlag(FLAGS_power_failure_minutes), 1, 1440)};
  sim.clock_offset_max_s = static_cast<int64_t>(absl::GetFlag(FLAGS_clock_offset_s));
  sim.clock_drift_max_s_per_day = static_cast<int64_t>(absl::GetFlag(FLAGS_clock_drift_s_per_day));
  sim.near_rollover_count = absl::GetFlag(FLAGS_near_rollover_count);
  sim.near_rollover_wh = absl::GetFlag(FLAGS_near_rollover_wh);

  auto password = dlt645::ParseHex4(absl::GetFlag(FLAGS_password));
  if (!password.ok()) return absl::InvalidArgumentError("--password must be 8 hex digits");
  options.bus.password = *password;
  options.bus.faults =
      FaultOptions{.drop_ppm = Ppm(absl::GetFlag(FLAGS_drop_rate)),
                   .garble_ppm = Ppm(absl::GetFlag(FLAGS_garble_rate)),
                   .bad_checksum_ppm = Ppm(absl::GetFlag(FLAGS_bad_checksum_rate)),
                   .wrong_address_ppm = Ppm(absl::GetFlag(FLAGS_wrong_address_rate)),
                   .delay_ppm = Ppm(absl::GetFlag(FLAGS_delay_rate)),
                   .delay_ms = absl::GetFlag(FLAGS_delay_ms)};
  options.bus.broadcast_time_limit_s = absl::GetFlag(FLAGS_broadcast_time_limit_s);
  options.bus.reading_snapshot = absl::GetFlag(FLAGS_reading_snapshot);
  options.bus.reply_preamble_bytes =
      static_cast<size_t>(std::clamp(absl::GetFlag(FLAGS_reply_preamble), 0, 4));
  options.bus.baud = absl::GetFlag(FLAGS_baud);

  options.collector.heartbeat_interval_ms =
      static_cast<int64_t>(absl::GetFlag(FLAGS_heartbeat_s) * 1000);
  options.collector.bus_timing = absl::GetFlag(FLAGS_bus_timing);
  options.collector.disconnect_every_ms =
      static_cast<int64_t>(absl::GetFlag(FLAGS_disconnect_every_s) * 1000);
  options.speed = absl::GetFlag(FLAGS_speed);
  options.truth_path = absl::GetFlag(FLAGS_truth);
  options.truth_interval_ms = absl::GetFlag(FLAGS_truth_interval_ms);
  options.control_address = absl::GetFlag(FLAGS_control);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.meters_per_gateway_max = ledger::kMetersPerGatewayMax;
  return options;
}

int Fail(EventLog& log, const absl::Status& status) {
  log.Emit(absl::StrCat("{\"event\":\"error\",\"error\":", JsonString(status.ToString()), "}"));
  std::fprintf(stderr, "meter-sim: %s\n", status.ToString().c_str());
  return 1;
}

int Run(EventLog& log) {
  auto options = OptionsFromFlags();
  if (!options.ok()) return Fail(log, options.status());
  const std::string export_path = absl::GetFlag(FLAGS_export_meters);
  if (!export_path.empty()) {
    absl::Status written =
        WriteFileAtomically(export_path, FormatMetersCsv(options->building.meters));
    if (!written.ok()) return Fail(log, written);
  }
  // Signals are taken by sigwait below, never by the io threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto simulator = Simulator::Create(*std::move(options), log);
  if (!simulator.ok()) return Fail(log, simulator.status());
  if (absl::Status started = (*simulator)->Start(); !started.ok()) return Fail(log, started);
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGUSR1) {
      if (absl::Status ok = (*simulator)->WriteTruth(); !ok.ok()) Fail(log, ok);
      continue;
    }
    break;
  }
  (*simulator)->Stop();
  return 0;
}

}  // namespace
}  // namespace wattledger::meter_sim

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a dormitory building of DL/T 645 meters behind TCP collectors (tools/meter-sim/README.md)\n"
      "  meter-sim --demo [--master 127.0.0.1:9700] [--truth FILE] [--seed N] [--speed K]\n"
      "  meter-sim --meters FILE.csv --gateway G1=server:127.0.0.1:0 --gateway "
      "G2=client:G2@127.0.0.1:9700\n"
      "  meter-sim --gateways 157 --meters-per-gateway 128 [--threads 2]");
  std::vector<std::string> arguments = wattledger::meter_sim::NormaliseArguments(argc, argv);
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  wattledger::meter_sim::EventLog log(stdout);
  return wattledger::meter_sim::Run(log);
}
