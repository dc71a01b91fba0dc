// meter_sim_benchmark: how many energy reads per second the simulator
// answers across many collectors. Starts a generated building in-process
// (server collectors on loopback), connects one closed-loop master link per
// collector (one outstanding request per bus, as the protocol allows), reads
// the forward active energy of each meter in turn for --seconds, and prints
// one JSON line. The master side runs in the same process, so the figure is
// what both ends together reach on this machine.
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "ingest/dlt645/messages.h"
#include "tools/meter-sim/simulator.h"

ABSL_FLAG(int32_t, gateways, 157, "collectors");
ABSL_FLAG(int32_t, meters_per_gateway, 128, "meters per collector");
ABSL_FLAG(double, seconds, 5, "how long to read");
ABSL_FLAG(int32_t, sim_threads, 1, "the simulator's io threads");
ABSL_FLAG(int32_t, master_threads, 1, "the benchmark master's io threads");
ABSL_FLAG(std::string, external, "",
          "read a running `meter-sim --gateways N` stdout file (its collector_listening lines) "
          "and poll that process instead of starting one in-process");

namespace wattledger::meter_sim {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// One master link: sends a read, waits for the whole reply frame, sends the next.
class Link {
 public:
  Link(asio::io_context& io, std::vector<std::vector<uint8_t>> requests,
       std::atomic<uint64_t>& reads, std::atomic<uint64_t>& errors, const std::atomic<bool>& stop)
      : socket_(io), requests_(std::move(requests)), reads_(reads), errors_(errors), stop_(stop) {}

  bool Connect(const std::string& host_port) {
    const size_t colon = host_port.rfind(':');
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address(host_port.substr(0, colon)),
                                  static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)))),
                    ec);
    if (!ec) socket_.set_option(tcp::no_delay(true), ec);
    return !ec;
  }

  void Next() {
    if (stop_.load(std::memory_order_relaxed)) return;
    const std::vector<uint8_t>& request = requests_[next_++ % requests_.size()];
    asio::async_write(socket_, asio::buffer(request), [this](boost::system::error_code ec, size_t) {
      if (ec) {
        ++errors_;
        return;
      }
      Receive();
    });
  }

 private:
  void Receive() {
    socket_.async_read_some(asio::buffer(buffer_), [this](boost::system::error_code ec, size_t n) {
      if (ec) {
        ++errors_;
        return;
      }
      decoder_.Append(absl::MakeConstSpan(buffer_.data(), n));
      bool got = false;
      while (auto frame = decoder_.Next()) {
        if (frame->ok()) {
          got = true;
        } else {
          ++errors_;
        }
      }
      if (!got) {
        Receive();
        return;
      }
      reads_.fetch_add(1, std::memory_order_relaxed);
      Next();
    });
  }

  tcp::socket socket_;
  std::vector<std::vector<uint8_t>> requests_;
  std::atomic<uint64_t>& reads_;
  std::atomic<uint64_t>& errors_;
  const std::atomic<bool>& stop_;
  size_t next_ = 0;
  std::array<uint8_t, 512> buffer_{};
  dlt645::FrameDecoder decoder_;
};

// gateway id -> address, from collector_listening lines.
std::map<std::string, std::string> ListeningAddresses(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  auto field = [&](const std::string& name) {
    const std::string key = "\"" + name + "\":\"";
    const size_t at = line.find(key);
    if (at == std::string::npos) return std::string();
    const size_t start = at + key.size();
    return line.substr(start, line.find('"', start) - start);
  };
  while (std::getline(in, line)) {
    if (line.find("collector_listening") != std::string::npos)
      out[field("gateway")] = field("address");
  }
  return out;
}

int Run() {
  SimulatorOptions options;
  options.building =
      GeneratedBuilding(absl::GetFlag(FLAGS_gateways), absl::GetFlag(FLAGS_meters_per_gateway),
                        CollectorMode::kServer, "127.0.0.1", 0);
  options.simulation.start_us = 1'772'416'800'000'000;
  options.threads = absl::GetFlag(FLAGS_sim_threads);
  EventLog quiet(nullptr);
  std::unique_ptr<Simulator> simulator;
  std::map<std::string, std::string> addresses;
  if (!absl::GetFlag(FLAGS_external).empty()) {
    addresses = ListeningAddresses(absl::GetFlag(FLAGS_external));
  } else {
    auto created = Simulator::Create(options, quiet);
    if (!created.ok() || !(*created)->Start().ok()) {
      std::fprintf(stderr, "cannot start the simulator\n");
      return 1;
    }
    simulator = *std::move(created);
    for (const GatewaySpec& gateway : options.building.gateways) {
      addresses[gateway.id] = simulator->collector(gateway.id)->address();
    }
  }
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> stop{false};
  const int master_threads = std::max(1, absl::GetFlag(FLAGS_master_threads));
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int i = 0; i < master_threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  std::vector<std::unique_ptr<Link>> links;
  for (size_t g = 0; g < options.building.gateways.size(); ++g) {
    const std::string& id = options.building.gateways[g].id;
    std::vector<std::vector<uint8_t>> requests;
    for (const MeterSpec& meter : options.building.meters) {
      if (meter.gateway_id != id) continue;
      requests.push_back(*dlt645::EncodeFrame(
          dlt645::ReadRequest(*dlt645::Address::Parse(meter.address), dlt645::kForwardActiveEnergy),
          4));
    }
    links.push_back(
        std::make_unique<Link>(*ios[g % ios.size()], std::move(requests), reads, errors, stop));
    if (!links.back()->Connect(addresses[id])) {
      std::fprintf(stderr, "cannot connect to %s\n", id.c_str());
      return 1;
    }
  }
  for (auto& link : links) link->Next();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
  std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  const uint64_t total = reads.load();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& io : ios) io->stop();
  for (std::thread& thread : threads) thread.join();
  if (simulator) simulator->Stop();
  std::printf(
      "{\"collectors\":%zu,\"meters\":%zu,\"seconds\":%.2f,\"reads\":%llu,\"reads_per_second\":%."
      "0f,"
      "\"errors\":%llu,\"sim_threads\":%d,\"master_threads\":%d}\n",
      options.building.gateways.size(), options.building.meters.size(), elapsed,
      static_cast<unsigned long long>(total), static_cast<double>(total) / elapsed,
      static_cast<unsigned long long>(errors.load()), options.threads, master_threads);
  return 0;
}

}  // namespace
}  // namespace wattledger::meter_sim

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return wattledger::meter_sim::Run();
}
