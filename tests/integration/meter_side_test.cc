// The meter side as it runs for real: wattd and meter-sim as processes on
// loopback, the registry imported with wattctl, 10% garbled replies, both
// collectors power-cycled (the simulator's control port), and wattd
// SIGKILLed mid-sweep and restarted. Afterwards: the log verifies, no reading is counted twice
// (each room's energy is exactly its meter's rise in the log), no reading runs ahead of its meter,
// a confirmed cut was carried out by the meter once, and the gateways' recorded link changes match
// what happened.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

const std::string kWattctl = WL_WATTCTL_PATH;
const std::string kWattd = WL_WATTD_PATH;
const std::string kMeterSim = WL_METER_SIM_PATH;
constexpr int kMeters = 8;  // 4 behind G7 (server mode), 4 behind G8 (client mode)

std::string Address(int n) { return absl::StrFormat("%012d", 90001 + n); }
int64_t InitialWh(int n) { return 2'000'000 + 1'000 * n; }

// The number after "key": in the object that follows `"<object>":{` in `json`.
int64_t JsonNumber(const std::string& json, const std::string& object, const std::string& key) {
  size_t at = json.find("\"" + object + "\":{");
  if (at == std::string::npos) return -1;
  at = json.find("\"" + key + "\":", at);
  if (at == std::string::npos) return -1;
  at += key.size() + 3;
  int64_t value = -1;
  std::string digits;
  while (at < json.size() && (std::isdigit(json[at]) || json[at] == '-')) digits += json[at++];
  return absl::SimpleAtoi(digits, &value) ? value : -1;
}

std::string Field(const std::string& line, const std::string& key) {
  size_t at = line.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return line.substr(at, line.find('"', at) - at);
}

template <typename Done>
bool WaitFor(Done done, absl::Duration timeout = absl::Seconds(30)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return done();
}

class MeterSide : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    ASSERT_EQ(Wattctl({"init", "--data", data_}).exit_code, 0);
    StartWattd("127.0.0.1:0");
    // The demo's G1 at a port nothing listens on: this test's collectors are its own.
    ASSERT_EQ(
        Wattctl({"seed-demo", "--data", data_, "--server", server_, "--g1_address", "127.0.0.1:1"})
            .exit_code,
        0);
    std::string started = wattd_->WaitForStderrLine("ingest_started", absl::Seconds(20));
    collector_listen_ = Field(started, "collector_listening");
    ASSERT_FALSE(collector_listen_.empty()) << wattd_->stderr_text();

    std::ofstream meters(dir_.Sub("meters.csv"));
    meters << "meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma\n";
    std::ofstream rooms(dir_.Sub("rooms.csv"));
    rooms << "room_id,building_id,floor,number,capacity,tariff_class\n";
    for (int n = 0; n < kMeters; ++n) {
      meters << Address(n) << "," << (n < kMeters / 2 ? "G7" : "G8") << ",B01-9" << 10 + n << ",1,"
             << InitialWh(n) << ",100000\n";
      rooms << "B01-9" << 10 + n << ",B01,9,9" << 10 + n << ",4,staff\n";
    }
    meters.close();
    rooms.close();
    StartSimulator("127.0.0.1:0");

    std::ofstream gateways(dir_.Sub("gateways.csv"));
    gateways << "gateway_id,address,location,mode\n"
             << "G7,127.0.0.1:" << g7_port_ << ",riser 9 east,server\n"
             << "G8,G8,riser 9 west,client\n";
    gateways.close();
    CommandResult imported =
        Signed("operator", {"import", "--gateways", dir_.Sub("gateways.csv"), "--rooms",
                            dir_.Sub("rooms.csv"), "--meters", dir_.Sub("meters.csv")});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    for (int n = 0; n < kMeters; ++n) {
      ASSERT_EQ(Signed("cashier", {"deposit", "--room", absl::StrCat("B01-9", 10 + n),
                                   "--amount-fen", "100000", "--card", "C9", "--cashier", "t"})
                    .exit_code,
                0);
    }
  }

  void StartWattd(const std::string& collector_listen) {
    RunningWattd wattd =
        testing::StartWattd(kWattd, data_,
                            {"--collector_listen", collector_listen, "--sweep_seconds", "1",
                             "--poll_timeout_ms", "200", "--checkpoint_every_seconds", "1"});
    wattd_ = std::move(wattd.process);
    server_ = wattd.address;
    ASSERT_FALSE(server_.empty()) << wattd_->stderr_text();
  }

  // meter-sim writes its JSON lines to stdout; BackgroundProcess reads stderr.
  void StartSimulator(const std::string& g7_listen) {
    simulator_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/bin/sh",
                                 "-c",
                                 "exec \"$0\" \"$@\" 1>&2",
                                 kMeterSim,
                                 "--meters",
                                 dir_.Sub("meters.csv"),
                                 "--gateway",
                                 "G7=server:" + g7_listen,
                                 "--gateway",
                                 "G8=client:G8@" + collector_listen_,
                                 "--seed",
                                 "11",
                                 "--speed",
                                 "20",
                                 "--garble-rate",
                                 "0.1",
                                 "--truth",
                                 dir_.Sub("truth.json"),
                                 "--truth-interval-ms",
                                 "200",
                                 "--heartbeat-s",
                                 "1",
                                 "--control",
                                 "127.0.0.1:0"});
    std::string line = simulator_->WaitForStderrLine("collector_listening", absl::Seconds(20));
    std::string address = Field(line, "address");
    ASSERT_FALSE(address.empty()) << simulator_->stderr_text();
    g7_port_ = address.substr(address.rfind(':') + 1);
    control_ =
        Field(simulator_->WaitForStderrLine("control_listening", absl::Seconds(20)), "address");
    ASSERT_FALSE(control_.empty()) << simulator_->stderr_text();
    ASSERT_FALSE(simulator_->WaitForStderrLine("\"ready\"", absl::Seconds(20)).empty());
  }

  CommandResult Wattctl(std::vector<std::string> args) {
    args.insert(args.begin(), kWattctl);
    return RunCommand(args);
  }
  CommandResult Signed(const std::string& key, std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_, "--key", data_ + "/keys/" + key + ".pem"});
    return Wattctl(args);
  }
  // Lines of `wattctl log` for a stream, read from the data directory.
  std::vector<std::string> Log(const std::string& stream) {
    CommandResult log = Wattctl({"log", "--data", data_, "--stream", stream, "--limit", "100000"});
    return absl::StrSplit(log.out, '\n', absl::SkipEmpty());
  }
  size_t Count(const std::string& stream, const std::string& kind) {
    size_t count = 0;
    for (const std::string& line : Log(stream)) count += absl::StrContains(line, kind) ? 1 : 0;
    return count;
  }
  std::string Truth() {
    std::ifstream in(dir_.Sub("truth.json"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir dir_;
  std::string data_;
  std::string server_;
  std::string collector_listen_;
  std::string g7_port_;
  std::string control_;  // the simulator's control port
  std::unique_ptr<BackgroundProcess> wattd_;
  std::unique_ptr<BackgroundProcess> simulator_;
};

TEST_F(MeterSide, SurvivesGarbleAndKillsWithoutLosingOrDoubleCounting) {
  auto sweeps = [&] {
    return Count("gateway:G7", "readingsBatch") + Count("gateway:G8", "readingsBatch");
  };
  ASSERT_TRUE(WaitFor([&] { return sweeps() >= 6; })) << wattd_->stderr_text();

  // An operator's cut reaches its meter and is confirmed.
  const std::string cut_meter = Address(1);
  ASSERT_EQ(
      Signed("operator", {"control", "cut", "--meter", cut_meter, "--reason", "wiring inspection"})
          .exit_code,
      0);
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(
        Wattctl({"control", "show", "--data", data_, "--meter", cut_meter}).out,
        "\"state\":\"delivered\"");
  })) << wattd_->stderr_text();

  // Both collectors lose power for two seconds and come back on the same
  // addresses (their meters keep counting).
  EXPECT_TRUE(absl::StrContains(SimulatorControl(control_, "restart G7 2"), "\"ok\":true"));
  EXPECT_TRUE(absl::StrContains(SimulatorControl(control_, "restart G8 2"), "\"ok\":true"));
  size_t before = sweeps();
  ASSERT_TRUE(WaitFor([&] { return sweeps() >= before + 4; })) << wattd_->stderr_text();

  // wattd dies mid-sweep (sweeps run back to back, one a second per gateway)
  // and comes back on the same collector port.
  wattd_->Stop(SIGKILL);
  StartWattd(collector_listen_);
  before = sweeps();
  ASSERT_TRUE(WaitFor([&] { return sweeps() >= before + 6; })) << wattd_->stderr_text();

  EXPECT_EQ(wattd_->Stop(SIGTERM), 0);
  ASSERT_EQ(simulator_->Stop(SIGTERM), 0);
  std::string truth = Truth();

  CommandResult verified = Wattctl({"verify", "--data", data_});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  // The cut was confirmed once and carried out by the meter once, though
  // wattd restarted after it.
  EXPECT_EQ(Count("meter:" + cut_meter, "controlDelivered"), 1u);
  EXPECT_EQ(JsonNumber(truth, "bus", "remote_controls"), 1) << "G7 carried out one command";
  std::string relay = truth.substr(truth.find("\"" + cut_meter + "\":{"));
  EXPECT_TRUE(absl::StartsWith(relay.substr(relay.find("\"relay\":")), "\"relay\":\"open\""));

  for (int n = 0; n < kMeters; ++n) {
    std::string room = absl::StrCat("B01-9", 10 + n);
    std::string shown = Wattctl({"room", "show", "--data", data_, "--room", room}).out;
    int64_t energy_wh = JsonNumber("{\"room\":" + shown, "room", "energyWh");
    // The last reading in the log for this meter.
    int64_t last_wh = -1;
    std::regex reading("\"meterAddress\":\"" + Address(n) +
                       "\",\"circuit\":1,\"readAtUs\":\"?[0-9]+\"?,\"totalWh\":\"?([0-9]+)");
    for (const char* gateway : {"gateway:G7", "gateway:G8"}) {
      for (const std::string& line : Log(gateway)) {
        for (std::sregex_iterator it(line.begin(), line.end(), reading), end; it != end; ++it) {
          last_wh = std::stoll((*it)[1]);
        }
      }
    }
    ASSERT_GE(last_wh, InitialWh(n)) << Address(n);
    EXPECT_EQ(energy_wh, last_wh - InitialWh(n)) << room << ": " << shown;
    EXPECT_LE(last_wh, JsonNumber(truth, Address(n), "register_wh")) << Address(n);
  }
  // Both went offline with their collector and online again (wattd's own
  // restart is no change of theirs): every recorded change alternates.
  for (const char* gateway : {"gateway:G7", "gateway:G8"}) {
    std::vector<std::string> states;
    for (const std::string& line : Log(gateway)) {
      if (!absl::StrContains(line, "gatewayStatusChanged")) continue;
      states.push_back(absl::StrContains(line, "\"state\":\"online\"") ? "online" : "offline");
    }
    ASSERT_GE(states.size(), 3u) << gateway;
    EXPECT_EQ(states.front(), "online") << gateway;
    for (size_t i = 1; i < states.size(); ++i) EXPECT_NE(states[i], states[i - 1]) << gateway;
  }
}

}  // namespace
}  // namespace wattledger::testing
