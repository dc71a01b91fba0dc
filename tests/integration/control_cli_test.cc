// The README's control walk-through, as a new user runs it, with real
// processes on loopback: `wattctl init`, wattd, `wattctl seed-demo` and
// `meter-sim --demo` with its control port. Through wattctl the user sees
// the vacant, unpaid room B01-832 cut for arrears once its meter counts a
// 3 kW load, and restored by a deposit; a building policy's parameters
// delivered, then a kettle on B01-101 tripped by the meter itself with its
// evidence in `wattctl violations`; and a cut that collector G1 loses raised
// as a control-failure alarm, cleared once the cut gets through. Then the
// log verifies.
//
// Every port is chosen free: wattd's RPC and collector ports, the
// simulator's control port, and where the demo's collector G1 listens
// (`seed-demo --g1_address` and `meter-sim --demo_g1`). The simulator runs at twice real time, so 3
// kW stays a plausible delta for a 40 A meter and the one-minute recovery takes 30 s, and with no
// random kettles, so only the test's loads trip anything.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

const std::string kWattctl = WL_WATTCTL_PATH;
const std::string kWattd = WL_WATTD_PATH;
const std::string kMeterSim = WL_METER_SIM_PATH;

// The demo campus (tools/wattctl/seed_demo.cc).
constexpr char kVacantRoom[] = "B01-832";        // no occupants, no first deposit
constexpr char kVacantMeter[] = "000000010256";  // on G2 (client mode)
constexpr char kKettleRoom[] = "B01-101";
constexpr char kKettleMeter[] = "000000010001";   // on G1 (server mode)
constexpr char kLostCutMeter[] = "000000010002";  // on G1

// The string value of "key" in a JSON line, or "".
std::string Field(const std::string& line, const std::string& key) {
  size_t at = line.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return line.substr(at, line.find('"', at) - at);
}

// The integer value of "key" in a JSON line, or -1.
int64_t Number(const std::string& line, const std::string& key) {
  size_t at = line.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  at += key.size() + 3;
  size_t end = line.find_first_not_of("-0123456789", at);
  int64_t value = -1;
  return absl::SimpleAtoi(line.substr(at, end - at), &value) ? value : -1;
}

// The lines of `text` that contain every one of `needles`.
std::vector<std::string> LinesWith(const std::string& text,
                                   const std::vector<std::string>& needles) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    bool all = true;
    for (const std::string& needle : needles) all = all && absl::StrContains(line, needle);
    if (all) found.emplace_back(line);
  }
  return found;
}

// The end of a long text (a process's stderr) for a failure message.
std::string Tail(const std::string& text, size_t bytes = 6000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// A port nothing listens on now (bound, read and released: another process
// could take it in between, which a test on loopback can live with).
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

class ControlCli : public ::testing::Test {
 protected:
  void SetUp() override {
    started_ = absl::Now();
    data_ = dir_.Sub("data");
    CommandResult initialised = Wattctl({"init", "--data", data_});
    ASSERT_EQ(initialised.exit_code, 0) << initialised.err;
    RunningWattd wattd = StartWattd(
        kWattd, data_,
        {"--collector_listen", "127.0.0.1:0", "--sweep_seconds", "2", "--poll_timeout_ms", "300",
         "--checkpoint_every_seconds", "1", "--delivery_attempts", "2"});
    wattd_ = std::move(wattd.process);
    server_ = wattd.address;
    ASSERT_FALSE(server_.empty()) << wattd_->stderr_text();
    const std::string g1_address = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
    CommandResult seeded =
        Wattctl({"seed-demo", "--data", data_, "--server", server_, "--g1_address", g1_address});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.out << seeded.err;
    std::string ingest = wattd_->WaitForStderrLine("ingest_started", absl::Seconds(20));
    std::string collector_listen = Field(ingest, "collector_listening");
    ASSERT_FALSE(collector_listen.empty()) << wattd_->stderr_text();

    // meter-sim writes its JSON lines to stdout; BackgroundProcess reads stderr.
    simulator_ =
        std::make_unique<BackgroundProcess>(std::vector<std::string>{"/bin/sh",
                                                                     "-c",
                                                                     "exec \"$0\" \"$@\" 1>&2",
                                                                     kMeterSim,
                                                                     "--demo",
                                                                     "--demo_g1",
                                                                     g1_address,
                                                                     "--master",
                                                                     collector_listen,
                                                                     "--seed",
                                                                     "7",
                                                                     "--speed",
                                                                     "2",
                                                                     "--resistive-rate",
                                                                     "0",
                                                                     "--truth",
                                                                     dir_.Sub("truth.json"),
                                                                     "--truth-interval-ms",
                                                                     "500",
                                                                     "--heartbeat-s",
                                                                     "1",
                                                                     "--control",
                                                                     "127.0.0.1:0"});
    std::string g1 = simulator_->WaitForStderrLine("collector_listening", absl::Seconds(20));
    ASSERT_EQ(Field(g1, "address"), g1_address) << simulator_->stderr_text();
    control_ =
        Field(simulator_->WaitForStderrLine("control_listening", absl::Seconds(20)), "address");
    ASSERT_FALSE(control_.empty()) << simulator_->stderr_text();
    ASSERT_FALSE(simulator_->WaitForStderrLine("\"ready\"", absl::Seconds(20)).empty())
        << simulator_->stderr_text();
    Phase("started");
  }

  // Prints how long the test has run, so a slow step shows in the output.
  void Phase(const std::string& name) {
    std::printf("[ControlCli] %-28s at %5.1f s\n", name.c_str(),
                absl::ToDoubleSeconds(absl::Now() - started_));
    std::fflush(stdout);
  }

  CommandResult Wattctl(std::vector<std::string> args) {
    args.insert(args.begin(), kWattctl);
    return RunCommand(args, absl::Seconds(20));
  }
  // A command signed with one of the demo's keys, sent to the running wattd.
  CommandResult Signed(const std::string& key, std::vector<std::string> args) {
    args.insert(args.end(), {"--key", data_ + "/keys/" + key + ".pem", "--server", server_});
    return Wattctl(args);
  }
  std::string Why(const std::string& room) {
    return Wattctl({"control", "why", "--data", data_, "--room", room}).out;
  }
  std::string Show(const std::string& meter) {
    return Wattctl({"control", "show", "--data", data_, "--meter", meter}).out;
  }
  std::string Alarms(bool all) {
    std::vector<std::string> args{"alarms", "--data", data_};
    if (all) args.push_back("--all");
    return Wattctl(args).out;
  }
  // The simulator's truth about a meter: its relay, "open" or "closed".
  std::string TruthRelay(const std::string& meter) {
    if (!absl::StrContains(SimulatorControl(control_, "truth"), "\"ok\":true")) return "";
    std::ifstream in(dir_.Sub("truth.json"));
    std::string truth(std::istreambuf_iterator<char>(in), {});
    size_t at = truth.find("\"" + meter + "\":{");
    if (at == std::string::npos) return "";
    return Field(truth.substr(at), "relay");
  }

  // Reads what the background processes wrote, so a full pipe never blocks them.
  void Pump() {
    for (BackgroundProcess* process : {wattd_.get(), simulator_.get()}) {
      if (process != nullptr) process->WaitForStderrLine("\x01", absl::Milliseconds(50));
    }
  }
  // Polls `done` until it holds or `timeout` passes.
  template <typename Done>
  bool WaitFor(Done done, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done()) return true;
      Pump();
    }
    return done();
  }

  absl::Time started_;
  TempDir dir_;
  std::string data_;
  std::string server_;
  std::string control_;  // the simulator's control port
  std::unique_ptr<BackgroundProcess> wattd_;
  std::unique_ptr<BackgroundProcess> simulator_;
};

TEST_F(ControlCli, ArrearsCutDepositRestoreMaliciousTripAndControlFailureAlarm) {
  // B01-101 draws a steady 250 W (100 var) instead of its load profile, so the
  // kettle below is the same step whatever the time of day (an air
  // conditioner in the profile would shrink it, or make it no step at all).
  ASSERT_TRUE(absl::StrContains(
      SimulatorControl(control_, absl::StrCat("load ", kKettleMeter, " 250 100")), "\"ok\":true"));

  // --- Arrears: the vacant, unpaid room is cut once its meter counts. ---
  ASSERT_TRUE(absl::StrContains(
      SimulatorControl(control_, absl::StrCat("load ", kVacantMeter, " 3000")), "\"ok\":true"));
  std::string why;
  ASSERT_TRUE(WaitFor(
      [&] {
        why = Why(kVacantRoom);
        return absl::StrContains(why, "\"power\":\"off\"");
      },
      absl::Seconds(45)))
      << why << "\n"
      << Tail(wattd_->stderr_text());
  EXPECT_EQ(Field(why, "origin"), "arrears") << why;
  EXPECT_EQ(Field(why, "arrearsLevel"), "cut-off") << why;
  Phase("arrears cut decided");
  std::string shown;
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Show(kVacantMeter);
        return !LinesWith(shown, {"\"command\":\"trip\"", "\"state\":\"delivered\""}).empty();
      },
      absl::Seconds(20)))
      << shown;
  EXPECT_EQ(Field(shown, "origin"), "arrears") << shown;
  EXPECT_EQ(TruthRelay(kVacantMeter), "open");
  Phase("arrears cut delivered");

  CommandResult deposit = Signed("cashier", {"deposit", "--room", kVacantRoom, "--amount-fen",
                                             "5000", "--card", "C1", "--cashier", "c1"});
  ASSERT_EQ(deposit.exit_code, 0) << deposit.out << deposit.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        why = Why(kVacantRoom);
        return absl::StrContains(why, "\"power\":\"on\"");
      },
      absl::Seconds(10)))
      << why;
  EXPECT_EQ(Field(why, "origin"), "arrears") << why;
  EXPECT_TRUE(absl::StrContains(Field(why, "why"), "back above the overdraft limit")) << why;
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Show(kVacantMeter);
        return !LinesWith(shown, {"\"command\":\"closeDirect\"", "\"origin\":\"arrears\"",
                                  "\"state\":\"delivered\""})
                    .empty();
      },
      absl::Seconds(20)))
      << shown;
  EXPECT_EQ(TruthRelay(kVacantMeter), "closed");
  EXPECT_TRUE(absl::StrContains(
      SimulatorControl(control_, absl::StrCat("load ", kVacantMeter, " profile")), "\"ok\":true"));
  Phase("arrears restore delivered");

  // --- Malicious load: the meter trips a kettle by itself, with evidence. ---
  CommandResult policy =
      Signed("operator", {"control", "policy", "--scope", "building:B01", "--reason", "no heaters",
                          "--malicious_step_w", "800", "--recovery_minutes", "1"});
  ASSERT_EQ(policy.exit_code, 0) << policy.out << policy.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Show(kKettleMeter);
        return !LinesWith(shown, {"\"command\":\"parameters\"", "\"origin\":\"policy\"",
                                  "\"state\":\"delivered\""})
                    .empty();
      },
      absl::Seconds(30)))
      << shown << "\n"
      << Tail(wattd_->stderr_text());
  Phase("policy delivered to B01-101");
  ASSERT_TRUE(absl::StrContains(
      SimulatorControl(control_, absl::StrCat("load ", kKettleMeter, " 1500")), "\"ok\":true"));
  ASSERT_TRUE(absl::StrContains(
      SimulatorControl(control_, absl::StrCat("load ", kKettleMeter, " profile")), "\"ok\":true"));
  std::vector<std::string> violations;
  ASSERT_TRUE(WaitFor(
      [&] {
        violations = LinesWith(Wattctl({"violations", "--data", data_, "--room", kKettleRoom}).out,
                               {"\"kind\":\"malicious load\""});
        return !violations.empty();
      },
      absl::Seconds(20)));
  ASSERT_EQ(violations.size(), 1u) << absl::StrJoin(violations, "\n");
  const std::string& violation = violations.front();
  EXPECT_EQ(Field(violation, "action"), "tripped by the meter") << violation;
  EXPECT_EQ(Field(violation, "meter"), kKettleMeter) << violation;
  EXPECT_EQ(Number(violation, "powerBeforeW"), 250) << violation;
  EXPECT_EQ(Number(violation, "powerAfterW"), 1500) << violation;
  EXPECT_GE(Number(violation, "powerFactorMilli"), 950) << violation;
  EXPECT_FALSE(Field(violation, "recoveryAt").empty()) << violation;
  EXPECT_EQ(TruthRelay(kKettleMeter), "open") << "recovery is a simulated minute away";
  Phase("malicious load recorded");

  // --- A cut that G1 loses: a control-failure alarm, cleared by a delivery. ---
  // Every parameters command of the policy first, so only the cut meets the
  // lost commands.
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Wattctl({"control", "show", "--data", data_}).out;
        return !absl::StrContains(shown, "\"state\":\"pending\"");
      },
      absl::Seconds(30)))
      << LinesWith(shown, {"\"state\":\"pending\""}).size() << " pending";
  ASSERT_TRUE(absl::StrContains(SimulatorControl(control_, "drop-commands G1 on"), "\"ok\":true"));
  CommandResult cut =
      Signed("operator", {"control", "cut", "--meter", kLostCutMeter, "--reason", "test"});
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  // wattd tries 5 times, 1 s apart doubling (ingest/README.md; no wattd flag sets
  // this): ~20 s, ~30 s when another master polls G1 too.
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Show(kLostCutMeter);
        return !LinesWith(shown, {"\"command\":\"trip\"", "\"state\":\"failed\""}).empty();
      },
      absl::Seconds(60)))
      << shown;
  Phase("cut failed");
  std::string alarms;
  ASSERT_TRUE(WaitFor(
      [&] {
        alarms = Alarms(false);
        return !LinesWith(alarms, {"controlFailure", kLostCutMeter}).empty();
      },
      absl::Seconds(5)))
      << alarms;
  EXPECT_EQ(TruthRelay(kLostCutMeter), "closed") << "the collector lost the cut";

  ASSERT_TRUE(absl::StrContains(SimulatorControl(control_, "drop-commands G1 off"), "\"ok\":true"));
  cut = Signed("operator", {"control", "cut", "--meter", kLostCutMeter, "--reason", "test"});
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = Show(kLostCutMeter);
        return !LinesWith(shown, {"\"command\":\"trip\"", "\"state\":\"delivered\""}).empty();
      },
      absl::Seconds(20)))
      << shown;
  EXPECT_EQ(TruthRelay(kLostCutMeter), "open");
  ASSERT_TRUE(WaitFor(
      [&] {
        alarms = Alarms(false);
        return LinesWith(alarms, {"controlFailure", kLostCutMeter}).empty();
      },
      absl::Seconds(5)))
      << alarms;
  std::string history = Alarms(true);
  std::vector<std::string> cleared = LinesWith(history, {"controlFailure", kLostCutMeter});
  ASSERT_EQ(cleared.size(), 1u) << history;
  EXPECT_TRUE(absl::StrContains(cleared.front(), "cleared")) << cleared.front();
  Phase("alarm cleared");

  // --- The whole log verifies. ---
  EXPECT_EQ(wattd_->Stop(SIGTERM), 0) << Tail(wattd_->stderr_text());
  EXPECT_EQ(simulator_->Stop(SIGTERM), 0) << Tail(simulator_->stderr_text());
  CommandResult verified = Wattctl({"verify", "--data", data_});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  Phase("verified");
}

}  // namespace
}  // namespace wattledger::testing
