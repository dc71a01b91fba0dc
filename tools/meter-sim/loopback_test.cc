// The collectors over real loopback sockets: a test master connects (server
// mode) or accepts (client mode), sends encoded frames and checks the bytes
// that come back, the registration and heartbeat packets, reconnects, the
// control port and the truth file; the last test runs the meter-sim binary.
// Every wait is bounded; every port is picked by the kernel.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/values.h"
#include "tools/meter-sim/sim_random.h"
#include "tools/meter-sim/simulator.h"

namespace wattledger::meter_sim {
namespace {

using Clock = std::chrono::steady_clock;
using dlt645::Address;
using dlt645::Frame;

constexpr int64_t kSecondUs = 1'000'000;
const int64_t kStartUs =
    (LocalSecondsFromDateTime(
         {.year = 2026, .month = 3, .day = 2, .hour = 10, .minute = 0, .second = 0}) -
     8 * 3600) *
    kSecondUs;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// A blocking-with-deadlines TCP peer: the test's side of a collector link.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Peer() {
    if (fd_ >= 0) close(fd_);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  static std::unique_ptr<Peer> Connect(const std::string& host_port) {
    const size_t colon = host_port.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
    inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &address.sin_addr);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd);
      return nullptr;
    }
    return std::make_unique<Peer>(fd);
  }

  bool Send(const std::vector<uint8_t>& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  bool SendFrame(const Frame& frame) { return Send(*dlt645::EncodeFrame(frame, 4)); }

  // Reads what arrives until `timeout_ms`; false once the peer has closed.
  bool Fill(int timeout_ms) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, timeout_ms) <= 0) return true;
    uint8_t chunk[4096];
    const ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
    if (got <= 0) return false;
    raw_.append(reinterpret_cast<char*>(chunk), static_cast<size_t>(got));
    decoder_.Append(absl::MakeConstSpan(chunk, static_cast<size_t>(got)));
    return true;
  }

  // The next frame within `timeout_ms` (bad frames are counted and skipped).
  std::optional<Frame> ReadFrame(int timeout_ms) {
    const auto start = Clock::now();
    for (;;) {
      while (auto next = decoder_.Next()) {
        if (next->ok()) return **next;
        ++bad_frames_;
      }
      const int64_t left = timeout_ms - MsSince(start);
      if (left <= 0 || !Fill(static_cast<int>(left))) return std::nullopt;
    }
  }

  // Waits until the raw bytes received (from offset `from` on) contain `needle`.
  bool WaitFor(const std::string& needle, int timeout_ms, size_t from = 0) {
    const auto start = Clock::now();
    while (raw_.find(needle, from) == std::string::npos) {
      const int64_t left = timeout_ms - MsSince(start);
      if (left <= 0 || !Fill(static_cast<int>(left))) return false;
    }
    return true;
  }

  // True when the other side closes within `timeout_ms`.
  bool ClosedWithin(int timeout_ms) {
    const auto start = Clock::now();
    while (MsSince(start) < timeout_ms) {
      if (!Fill(static_cast<int>(timeout_ms - MsSince(start)))) return true;
    }
    return false;
  }

  const std::string& raw() const { return raw_; }
  int bad_frames() const { return bad_frames_; }

 private:
  int fd_;
  std::string raw_;
  dlt645::FrameDecoder decoder_;
  int bad_frames_ = 0;
};

// The master's collector port, for client-mode collectors.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 8);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }
  std::unique_ptr<Peer> Accept(int timeout_ms) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, timeout_ms) <= 0) return nullptr;
    const int fd = accept(fd_, nullptr, nullptr);
    return fd < 0 ? nullptr : std::make_unique<Peer>(fd);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// G1: a server collector of `meters` meters (port 0); G2: a client collector
// of `meters` meters to `master_port` (none when 0).
Building SmallBuilding(int meters, uint16_t master_port) {
  Building building;
  building.gateways.push_back(*ParseGatewaySpec("G1=server:127.0.0.1:0"));
  if (master_port != 0) {
    building.gateways.push_back(
        *ParseGatewaySpec(absl::StrCat("G2=client:G2@127.0.0.1:", master_port)));
  }
  for (int n = 0; n < meters * static_cast<int>(building.gateways.size()); ++n) {
    building.meters.push_back(MeterSpec{.address = absl::StrCat("0000000", 10001 + n),
                                        .gateway_id = n < meters ? "G1" : "G2",
                                        .room_id = absl::StrCat("R", n),
                                        .circuit = 1,
                                        .initial_wh = 1'000'000 + 10 * n,
                                        .rated_current_ma = 40'000,
                                        .voltage_dv = 2200});
  }
  return building;
}

struct Running {
  std::unique_ptr<EventLog> log = std::make_unique<EventLog>(nullptr);
  std::unique_ptr<Simulator> simulator;
};

Running Start(SimulatorOptions options, const SimClock* clock) {
  Running running;
  auto simulator = Simulator::Create(std::move(options), *running.log, clock);
  EXPECT_TRUE(simulator.ok()) << simulator.status();
  running.simulator = *std::move(simulator);
  absl::Status started = running.simulator->Start();
  EXPECT_TRUE(started.ok()) << started;
  return running;
}

SimulatorOptions BaseOptions(Building building) {
  SimulatorOptions options;
  options.building = std::move(building);
  options.simulation.seed = 11;
  options.simulation.start_us = kStartUs;
  options.tick_interval_ms = 100;
  options.collector.heartbeat_interval_ms = 200;
  options.collector.backoff_initial_ms = 100;
  return options;
}

int64_t ReadEnergy(Peer& peer, const std::string& address, int timeout_ms = 2000) {
  const Frame request = dlt645::ReadRequest(*Address::Parse(address), dlt645::kForwardActiveEnergy);
  if (!peer.SendFrame(request)) return -2;
  std::optional<Frame> reply = peer.ReadFrame(timeout_ms);
  if (!reply) return -1;
  auto parsed = dlt645::ParseReadReply(request, *reply);
  if (!parsed.ok()) return -3;
  return *dlt645::DecodeEnergyWh(parsed->value, false);
}

TEST(Loopback, ServerCollectorAnswersRealFramesToEveryConnection) {
  ManualSimClock clock(kStartUs);
  Running run = Start(BaseOptions(SmallBuilding(4, 0)), &clock);
  Collector* g1 = run.simulator->collector("G1");
  ASSERT_NE(g1, nullptr);
  auto master = Peer::Connect(g1->address());
  ASSERT_NE(master, nullptr);

  clock.Advance(30 * kSecondUs);
  const int64_t energy = ReadEnergy(*master, "000000010003");
  const std::vector<CircuitTruth> truth = run.simulator->bus("G1")->Snapshot(clock.NowUs());
  EXPECT_EQ(energy, truth[2].displayed_wh);
  EXPECT_EQ(truth[2].answered_wh, energy);
  EXPECT_EQ(truth[2].answered_energy_reads, 1u);

  // Another meter's address, broadcast time, a garbled frame, junk: silence.
  EXPECT_EQ(ReadEnergy(*master, "000000099999", 300), -1);
  ASSERT_TRUE(master->SendFrame(*dlt645::BroadcastTimeRequest(
      {.year = 2026, .month = 3, .day = 2, .hour = 10, .minute = 1, .second = 0})));
  EXPECT_FALSE(master->ReadFrame(300).has_value());
  std::vector<uint8_t> garbled = *dlt645::EncodeFrame(
      dlt645::ReadRequest(*Address::Parse("000000010001"), dlt645::kForwardActiveEnergy), 0);
  garbled[garbled.size() - 2] ^= 0x5A;
  ASSERT_TRUE(master->Send(garbled));
  ASSERT_TRUE(master->Send({'@', 'x', 0x68, 0x00, 0x16, 0xFF}));
  EXPECT_FALSE(master->ReadFrame(300).has_value());
  // Still answering, and to every connection at once.
  auto second = Peer::Connect(g1->address());
  ASSERT_NE(second, nullptr);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (g1->open_connections() < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ReadEnergy(*master, "000000010001"), 1'000'000);
  std::optional<Frame> copy = second->ReadFrame(2000);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->address.ToString(), "000000010001");
  EXPECT_GE(g1->stats().bad_frames, 1u);

  // A burst of noise with frame fragments in it: ignored, and still answering.
  SimRandom noise(5);
  std::vector<uint8_t> junk;
  for (int i = 0; i < 64 * 1024; ++i) {
    junk.push_back(noise.Below(16) == 0 ? 0x68 : static_cast<uint8_t>(noise.Next()));
  }
  ASSERT_TRUE(master->Send(junk));
  ASSERT_TRUE(master->Send({0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16,
                            0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16,
                            0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16}));
  while (master->ReadFrame(300)) {
    // Junk may hold frames that happen to be valid: drain whatever they caused.
  }
  EXPECT_EQ(ReadEnergy(*master, "000000010004"), 1'000'030);
  while (second->ReadFrame(100)) {
  }

  // Four connections at most: the fifth is closed at once.
  auto third = Peer::Connect(g1->address());
  auto fourth = Peer::Connect(g1->address());
  auto fifth = Peer::Connect(g1->address());
  ASSERT_NE(fifth, nullptr);
  EXPECT_TRUE(fifth->ClosedWithin(2000));
  EXPECT_FALSE(fourth->ClosedWithin(100));
  EXPECT_EQ(g1->stats().refused, 1u);
}

TEST(Loopback, ClientCollectorRegistersHeartbeatsAndReconnects) {
  Listener master_port;
  ManualSimClock clock(kStartUs);
  Running run = Start(BaseOptions(SmallBuilding(2, master_port.port())), &clock);
  std::unique_ptr<Peer> link = master_port.Accept(3000);
  ASSERT_NE(link, nullptr);
  ASSERT_TRUE(link->WaitFor("@REG G2\r\n", 2000));
  EXPECT_EQ(link->raw().rfind("@REG G2\r\n", 0), 0u) << "the registration comes first";
  // G2's meters answer on G2's link; G1's do not.
  EXPECT_EQ(ReadEnergy(*link, "000000010003"), 1'000'020);
  // Idle for the interval (200 ms): a heartbeat, and never inside a frame.
  const size_t after_reply = link->raw().size();
  const auto idle = Clock::now();
  ASSERT_TRUE(link->WaitFor("@HB G2\r\n", 2000, after_reply));
  EXPECT_GE(MsSince(idle), 150);
  const std::string raw = link->raw();
  const size_t heartbeat = raw.find("@HB G2\r\n", after_reply);
  EXPECT_EQ(raw[heartbeat - 1], 0x16) << "a heartbeat follows a whole reply";
  EXPECT_EQ(ReadEnergy(*link, "000000010001", 300), -1);
  EXPECT_GE(run.simulator->collector("G2")->stats().heartbeats, 1u);

  // The master drops the link: the collector comes back and registers again.
  link.reset();
  std::unique_ptr<Peer> again = master_port.Accept(5000);
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->WaitFor("@REG G2\r\n", 2000));
  EXPECT_EQ(ReadEnergy(*again, "000000010004"), 1'000'030);
  EXPECT_GE(run.simulator->collector("G2")->stats().connections, 2u);
}

TEST(Loopback, ClientCollectorBacksOffWhileTheMasterIsAway) {
  uint16_t closed_port = 0;
  {
    Listener probe;  // a port nobody listens on once it closes
    closed_port = probe.port();
  }
  SimulatorOptions options = BaseOptions(SmallBuilding(1, closed_port));
  options.collector.backoff_initial_ms = 50;
  options.collector.backoff_max_ms = 400;
  ManualSimClock clock(kStartUs);
  Running run = Start(std::move(options), &clock);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // 50+100+200+400+400 ms... about 5..8 attempts in 1.5 s, not hundreds.
  const uint64_t failures = run.simulator->collector("G2")->stats().connect_failures;
  EXPECT_GE(failures, 4u);
  EXPECT_LE(failures, 10u);
}

TEST(Loopback, InjectedDisconnectsDropsAndDelays) {
  SimulatorOptions options = BaseOptions(SmallBuilding(2, 0));
  options.bus.faults.drop_ppm = 1'000'000;  // every reply lost
  options.control_address = "127.0.0.1:0";
  ManualSimClock clock(kStartUs);
  Running run = Start(std::move(options), &clock);
  auto master = Peer::Connect(run.simulator->collector("G1")->address());
  ASSERT_NE(master, nullptr);
  EXPECT_EQ(ReadEnergy(*master, "000000010001", 300), -1);
  EXPECT_EQ(run.simulator->bus("G1")->stats().dropped, 1u);
  // The control port drops the link on demand.
  auto control = Peer::Connect(run.simulator->control_address());
  ASSERT_NE(control, nullptr);
  const std::string command = "disconnect G1\n";
  ASSERT_TRUE(control->Send({command.begin(), command.end()}));
  ASSERT_TRUE(control->WaitFor("{\"ok\":true}\n", 2000));
  EXPECT_TRUE(master->ClosedWithin(2000));
  const std::string bad = "frobnicate\n";
  ASSERT_TRUE(control->Send({bad.begin(), bad.end()}));
  EXPECT_TRUE(control->WaitFor("{\"ok\":false", 2000));

  SimulatorOptions delayed = BaseOptions(SmallBuilding(1, 0));
  delayed.bus.faults.delay_ppm = 1'000'000;
  delayed.bus.faults.delay_ms = 300;
  delayed.collector.disconnect_every_ms = 1500;
  Running slow = Start(std::move(delayed), &clock);
  auto peer = Peer::Connect(slow.simulator->collector("G1")->address());
  ASSERT_NE(peer, nullptr);
  const auto sent = Clock::now();
  EXPECT_EQ(ReadEnergy(*peer, "000000010001", 2000), 1'000'000);
  EXPECT_GE(MsSince(sent), 280);
  EXPECT_TRUE(peer->ClosedWithin(3000));  // the periodic disconnect
}

TEST(Loopback, BusTimingMakesAnExchangeTakeSerialTime) {
  SimulatorOptions options = BaseOptions(SmallBuilding(2, 0));
  options.collector.bus_timing = true;
  ManualSimClock clock(kStartUs);
  Running run = Start(std::move(options), &clock);
  auto master = Peer::Connect(run.simulator->collector("G1")->address());
  ASSERT_NE(master, nullptr);
  const auto sent = Clock::now();
  EXPECT_EQ(ReadEnergy(*master, "000000010002", 3000), 1'000'010);
  // 20 B request (92 ms) + 20..50 ms turnaround + 24 B reply (110 ms).
  const int64_t elapsed = MsSince(sent);
  EXPECT_GE(elapsed, 215);
  EXPECT_LE(elapsed, 1500);
}

// The value of "field": in the object of `key` in the truth text.
int64_t TruthField(const std::string& truth, const std::string& key, const std::string& field) {
  const size_t at = truth.find("\"" + key + "\":{");
  if (at == std::string::npos) return -999;
  const size_t value = truth.find("\"" + field + "\":", at);
  if (value == std::string::npos) return -998;
  int64_t out = 0;
  const size_t start = value + field.size() + 3;
  const size_t end = truth.find_first_of(",}", start);
  if (!absl::SimpleAtoi(truth.substr(start, end - start), &out)) return -997;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(Loopback, SpeedRunsTheMetersFasterAndTheTruthFileFollows) {
  const std::string truth_path =
      (std::filesystem::temp_directory_path() / absl::StrCat("meter_sim_truth_", getpid(), ".json"))
          .string();
  SimulatorOptions options = BaseOptions(SmallBuilding(2, 0));
  options.speed = 3600;  // an hour a second
  options.truth_path = truth_path;
  options.truth_interval_ms = 200;
  options.control_address = "127.0.0.1:0";
  Running run = Start(std::move(options), nullptr);
  auto control = Peer::Connect(run.simulator->control_address());
  ASSERT_NE(control, nullptr);
  const std::string command =
      "load 000000010002 1000\nregister 000000010001 999999900\nload 000000010001 2000\n";
  ASSERT_TRUE(control->Send({command.begin(), command.end()}));
  ASSERT_TRUE(control->WaitFor("{\"ok\":true}\n{\"ok\":true}\n{\"ok\":true}\n", 2000));
  // 1 kW at 3600x is 1 Wh per real millisecond: bound the real time between
  // the two snapshots from both sides.
  const auto a0 = Clock::now();
  const int64_t before = TruthField(run.simulator->TruthText(), "000000010002", "register_wh");
  const auto a1 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const auto b0 = Clock::now();
  const std::string truth = run.simulator->TruthText();
  const auto b1 = Clock::now();
  const int64_t after = TruthField(truth, "000000010002", "register_wh");
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
  };
  EXPECT_GE(after - before, static_cast<int64_t>(ms(b0 - a1)) - 1);
  EXPECT_LE(after - before, static_cast<int64_t>(ms(b1 - a0)) + 1);
  EXPECT_GE(after - before, 990);
  // The near-rollover register went round.
  EXPECT_LT(TruthField(truth, "000000010001", "register_wh"), 100'000);
  EXPECT_GT(TruthField(truth, "000000010001", "consumed_wh"), 100);

  // The file is rewritten on its own, and on demand.
  auto master = Peer::Connect(run.simulator->collector("G1")->address());
  ASSERT_NE(master, nullptr);
  const int64_t answered = ReadEnergy(*master, "000000010002");
  ASSERT_GT(answered, 0);
  ASSERT_TRUE(run.simulator->WriteTruth().ok());
  const std::string file = ReadFile(truth_path);
  EXPECT_EQ(TruthField(file, "000000010002", "answered_wh"), answered);
  EXPECT_EQ(TruthField(file, "000000010002", "answered_energy_reads"), 1);
  EXPECT_NE(file.find("\"relay\":\"closed\""), std::string::npos);
  EXPECT_NE(file.find("\"parameters\":{\"load_limit_w\":0"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(truth_path + ".tmp"));
  run.simulator->Stop();
  std::filesystem::remove(truth_path);
}

// ---- The binary ------------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string text;
  size_t scanned = 0;

  // The next stdout line containing `needle`, within `timeout_ms`; "" otherwise.
  std::string WaitLine(const std::string& needle, int timeout_ms) {
    const auto start = Clock::now();
    for (;;) {
      size_t end;
      while ((end = text.find('\n', scanned)) != std::string::npos) {
        std::string line = text.substr(scanned, end - scanned);
        scanned = end + 1;
        if (line.find(needle) != std::string::npos) return line;
      }
      const int64_t left = timeout_ms - MsSince(start);
      if (left <= 0) return "";
      pollfd p{.fd = out, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      const ssize_t got = read(out, chunk, sizeof(chunk));
      if (got <= 0) return "";
      text.append(chunk, static_cast<size_t>(got));
    }
  }

  // Reads the rest of stdout (until the child closes it), within `timeout_ms`.
  void Drain(int timeout_ms) {
    const auto start = Clock::now();
    while (MsSince(start) < timeout_ms) {
      pollfd p{.fd = out, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      const ssize_t got = read(out, chunk, sizeof(chunk));
      if (got <= 0) return;
      text.append(chunk, static_cast<size_t>(got));
    }
  }

  int Wait(int timeout_ms) {
    const auto start = Clock::now();
    while (MsSince(start) < timeout_ms) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -2;
  }

  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out >= 0) close(out);
  }
};

std::unique_ptr<Child> Spawn(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return nullptr;
  auto child = std::make_unique<Child>();
  child->pid = fork();
  if (child->pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  child->out = pipe_fds[0];
  return child;
}

// "address":"127.0.0.1:40123" from a collector_listening line.
std::string AddressIn(const std::string& line) {
  const std::string key = "\"address\":\"";
  const size_t at = line.find(key);
  if (at == std::string::npos) return "";
  return line.substr(at + key.size(), line.find('"', at + key.size()) - at - key.size());
}

TEST(MeterSimBinary, PrintsItsCollectorsAnswersAndWritesTruthOnSignals) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("meter_sim_bin_", getpid());
  std::filesystem::create_directories(dir);
  const std::string meters = (dir / "meters.csv").string();
  {
    std::ofstream out(meters);
    out << "meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma,voltage_dv\n"
        << "000000010001,G1,B01-101,1,1000000,40000,2200\n"
        << "000000010002,G1,B01-102,1,1007919,40000\n"
        << "000000010129,G2,B01-501,1,1013632,40000,2200\n";
  }
  Listener master_port;
  const std::string truth = (dir / "truth.json").string();
  std::unique_ptr<Child> sim = Spawn(
      {WL_METER_SIM_PATH, "--meters", meters, "--gateway", "G1=server:127.0.0.1:0", "--gateway",
       absl::StrCat("G2=client:G2@127.0.0.1:", master_port.port()), "--truth", truth, "--seed", "7",
       "--heartbeat-s", "0.2", "--start-time", "2026-03-02T10:00:00+08:00"});
  ASSERT_NE(sim, nullptr);
  const std::string listening = sim->WaitLine("collector_listening", 5000);
  ASSERT_NE(listening, "") << sim->text;
  EXPECT_NE(listening.find("\"gateway\":\"G1\""), std::string::npos);
  const std::string connecting = sim->WaitLine("collector_connecting", 5000);
  EXPECT_NE(connecting.find("\"gateway\":\"G2\""), std::string::npos);
  EXPECT_NE(sim->WaitLine("{\"event\":\"ready\"", 5000), "") << sim->text;

  auto master = Peer::Connect(AddressIn(listening));
  ASSERT_NE(master, nullptr);
  const int64_t energy = ReadEnergy(*master, "000000010002");
  EXPECT_GE(energy, 1'007'910);
  std::unique_ptr<Peer> g2 = master_port.Accept(5000);
  ASSERT_NE(g2, nullptr);
  EXPECT_TRUE(g2->WaitFor("@REG G2\r\n", 2000));
  EXPECT_GE(ReadEnergy(*g2, "000000010129"), 1'013'630);

  ASSERT_EQ(kill(sim->pid, SIGUSR1), 0);
  // The signal's rewrite lands within a moment; poll the file (bounded).
  int64_t answered = -1;
  for (int i = 0; i < 100 && answered != energy; ++i) {
    answered = TruthField(ReadFile(truth), "000000010002", "answered_wh");
    if (answered != energy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(answered, energy);
  ASSERT_EQ(kill(sim->pid, SIGTERM), 0);
  EXPECT_EQ(sim->Wait(10'000), 0);
  sim->Drain(2000);
  EXPECT_NE(sim->text.find("\"event\":\"stopped\""), std::string::npos);
  const std::string final_truth = ReadFile(truth);
  EXPECT_EQ(TruthField(final_truth, "000000010129", "answered_energy_reads"), 1);
  EXPECT_NE(final_truth.find("\"registration\":\"G2\""), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(MeterSimBinary, RefusesABadLayoutWithAnErrorLine) {
  std::unique_ptr<Child> sim =
      Spawn({WL_METER_SIM_PATH, "--gateway", "G1=serial:127.0.0.1:0", "--meters", "/nonexistent"});
  ASSERT_NE(sim, nullptr);
  EXPECT_NE(sim->WaitLine("\"event\":\"error\"", 5000), "");
  EXPECT_EQ(sim->Wait(5000), 1);
}

}  // namespace
}  // namespace wattledger::meter_sim
