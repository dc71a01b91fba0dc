#include "tools/meter-sim/simulator.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wattledger::meter_sim {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kControlLineBytesMax = 1024;
constexpr size_t kControlSessionsMax = 8;

// "ADDRESS" or "ADDRESS/CIRCUIT" (circuit 0 = every circuit).
bool ParseMeterRef(const std::string& text, std::string& address, int& circuit) {
  const size_t slash = text.find('/');
  address = text.substr(0, slash);
  circuit = 0;
  if (slash == std::string::npos) return !address.empty();
  return absl::SimpleAtoi(text.substr(slash + 1), &circuit) && circuit >= 1 && circuit <= 4;
}

}  // namespace

struct Simulator::ControlPort {
  explicit ControlPort(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  // Open sessions; shared with them, as they may outlive the port at shutdown.
  std::shared_ptr<size_t> sessions = std::make_shared<size_t>(0);
};

namespace {

// One control connection: reads a line, answers it, repeats until the peer
// closes or sends a line over kControlLineBytesMax.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(tcp::socket socket, Simulator& simulator, std::shared_ptr<size_t> sessions)
      : socket_(std::move(socket)),
        input_(kControlLineBytesMax),
        simulator_(simulator),
        sessions_(std::move(sessions)) {}
  ~ControlSession() { --*sessions_; }

  void Read() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, input_, '\n',
                           [self](boost::system::error_code ec, size_t bytes) {
                             if (!ec) self->Answer(bytes);
                           });
  }

 private:
  void Answer(size_t bytes) {
    const auto begin = asio::buffers_begin(input_.data());
    const std::string line(begin, begin + static_cast<std::ptrdiff_t>(bytes));
    input_.consume(bytes);
    reply_ = simulator_.Command(line) + "\n";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(reply_), [self](boost::system::error_code ec, size_t) {
      if (!ec) self->Read();
    });
  }

  tcp::socket socket_;
  asio::streambuf input_;
  std::string reply_;
  Simulator& simulator_;
  std::shared_ptr<size_t> sessions_;
};

}  // namespace

Simulator::Simulator(SimulatorOptions options, EventLog& log)
    : options_(std::move(options)), log_(log) {}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Create(SimulatorOptions options,
                                                             EventLog& log, const SimClock* clock) {
  if (absl::Status ok = CheckBuilding(options.building, options.meters_per_gateway_max); !ok.ok()) {
    return ok;
  }
  if (options.speed <= 0 || options.threads < 1 || options.threads > 64 ||
      options.tick_interval_ms <= 0 || options.truth_interval_ms <= 0) {
    return absl::InvalidArgumentError("speed, threads or intervals out of range");
  }
  std::unique_ptr<Simulator> sim(new Simulator(std::move(options), log));
  if (clock == nullptr) {
    sim->own_clock_ =
        std::make_unique<ScaledSimClock>(sim->options_.simulation.start_us, sim->options_.speed);
    clock = sim->own_clock_.get();
  }
  sim->clock_ = clock;
  for (int i = 0; i < sim->options_.threads; ++i) {
    sim->ios_.push_back(std::make_unique<asio::io_context>(1));
  }
  const int32_t utc_offset_s = sim->options_.simulation.profile.utc_offset_s;
  EventLog* log_ptr = &log;
  EventSink sink = [log_ptr, utc_offset_s](const SimEvent& event) {
    log_ptr->EmitMeterEvent(event, utc_offset_s);
  };
  BusOptions bus_options = sim->options_.bus;
  bus_options.seed = sim->options_.simulation.seed;
  size_t index = 0;
  std::map<std::string, std::vector<DeviceConfig>> devices =
      DevicesByGateway(sim->options_.building, sim->options_.simulation);
  for (const GatewaySpec& gateway : sim->options_.building.gateways) {
    auto bus = Bus::Create(gateway.id, bus_options, std::move(devices[gateway.id]), sink);
    if (!bus.ok()) return bus.status();
    asio::io_context& io = *sim->ios_[index++ % sim->ios_.size()];
    sim->collectors_.push_back(std::make_unique<Collector>(io, gateway, **bus, *sim->clock_,
                                                           sim->options_.collector, log));
    sim->buses_.push_back(*std::move(bus));
  }
  return sim;
}

Simulator::~Simulator() { Stop(); }

size_t Simulator::meter_count() const {
  size_t count = 0;
  for (const auto& bus : buses_) count += bus->meter_count();
  return count;
}

Bus* Simulator::bus(const std::string& gateway_id) {
  for (auto& bus : buses_) {
    if (bus->gateway_id() == gateway_id) return bus.get();
  }
  return nullptr;
}

Collector* Simulator::collector(const std::string& gateway_id) {
  for (auto& collector : collectors_) {
    if (collector->spec().id == gateway_id) return collector.get();
  }
  return nullptr;
}

absl::Status Simulator::Start() {
  if (started_) return absl::FailedPreconditionError("already started");
  started_ = true;
  for (auto& collector : collectors_) {
    if (absl::Status ok = collector->Start(); !ok.ok()) return ok;
  }
  if (!options_.control_address.empty()) {
    std::string host;
    uint16_t port = 0;
    auto spec = ParseGatewaySpec("control=server:" + options_.control_address);
    if (!spec.ok()) return absl::InvalidArgumentError("--control must be HOST:PORT");
    host = spec->host;
    port = spec->port;
    control_ = std::make_unique<ControlPort>(*ios_[0]);
    boost::system::error_code ec;
    const tcp::endpoint endpoint(asio::ip::make_address(host, ec), port);
    control_->acceptor.open(endpoint.protocol(), ec);
    if (!ec) control_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) control_->acceptor.bind(endpoint, ec);
    if (!ec) control_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("control port: ", ec.message()));
    const tcp::endpoint bound = control_->acceptor.local_endpoint(ec);
    control_bound_ = absl::StrCat(bound.address().to_string(), ":", bound.port());
    log_.Emit(absl::StrCat(
        "{\"event\":\"control_listening\",\"address\":", JsonString(control_bound_), "}"));
    AcceptControl();
  }
  tick_timer_ = std::make_unique<asio::steady_timer>(*ios_[0]);
  last_truth_ = std::chrono::steady_clock::now();
  ArmTick();
  for (auto& io : ios_) {
    asio::io_context* context = io.get();
    threads_.emplace_back([context] {
      auto guard = asio::make_work_guard(*context);
      context->run();
    });
  }
  if (absl::Status ok = WriteTruth(); !ok.ok()) return ok;
  log_.Emit(absl::StrCat("{\"event\":\"ready\",\"collectors\":", collectors_.size(),
                         ",\"meters\":", meter_count(), ",\"seed\":", options_.simulation.seed,
                         ",\"speed\":", options_.speed, ",\"sim_time_us\":", clock_->NowUs(),
                         ",\"truth\":", JsonString(options_.truth_path), "}"));
  return absl::OkStatus();
}

void Simulator::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& io : ios_) io->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  if (started_) {
    if (absl::Status ok = WriteTruth(); !ok.ok()) {
      log_.Emit(
          absl::StrCat("{\"event\":\"truth_failed\",\"error\":", JsonString(ok.ToString()), "}"));
    }
    log_.Emit("{\"event\":\"stopped\"}");
  }
}

void Simulator::ArmTick() {
  tick_timer_->expires_after(std::chrono::milliseconds(options_.tick_interval_ms));
  tick_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const int64_t now_us = clock_->NowUs();
    for (auto& bus : buses_) bus->AdvanceAll(now_us);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_truth_ >= std::chrono::milliseconds(options_.truth_interval_ms)) {
      last_truth_ = now;
      if (absl::Status ok = WriteTruth(); !ok.ok()) {
        log_.Emit(
            absl::StrCat("{\"event\":\"truth_failed\",\"error\":", JsonString(ok.ToString()), "}"));
      }
    }
    ArmTick();
  });
}

std::string Simulator::TruthText() {
  const int64_t now_us = clock_->NowUs();
  std::vector<GatewayTruth> gateways;
  for (size_t i = 0; i < buses_.size(); ++i) {
    gateways.push_back(GatewayTruth{.spec = collectors_[i]->spec(),
                                    .address = collectors_[i]->address(),
                                    .connections = collectors_[i]->open_connections(),
                                    .bus = buses_[i]->stats(),
                                    .link = collectors_[i]->stats(),
                                    .circuits = buses_[i]->Snapshot(now_us)});
  }
  return TruthJson(TruthHeader{.seed = options_.simulation.seed,
                               .speed = options_.speed,
                               .sim_now_us = now_us,
                               .utc_offset_s = options_.simulation.profile.utc_offset_s},
                   gateways);
}

absl::Status Simulator::WriteTruth() {
  if (options_.truth_path.empty()) return absl::OkStatus();
  absl::MutexLock lock(&truth_mu_);
  return WriteFileAtomically(options_.truth_path, TruthText());
}

void Simulator::AcceptControl() {
  control_->acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (!ec && *control_->sessions < kControlSessionsMax) {
      ++*control_->sessions;
      std::make_shared<ControlSession>(std::move(socket), *this, control_->sessions)->Read();
    }
    AcceptControl();
  });
}

std::string Simulator::Command(const std::string& line) {
  std::vector<std::string> words =
      absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipEmpty());
  absl::StatusOr<std::string> result = RunCommand(words);
  if (!result.ok()) {
    return absl::StrCat(
        "{\"ok\":false,\"error\":", JsonString(std::string(result.status().message())), "}");
  }
  return absl::StrCat("{\"ok\":true", *result, "}");
}

absl::StatusOr<std::string> Simulator::RunCommand(const std::vector<std::string>& words) {
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  const std::string& verb = words[0];
  if (verb == "truth") {
    if (absl::Status ok = WriteTruth(); !ok.ok()) return ok;
    return std::string();
  }
  if (verb == "stats") {
    std::string out = ",\"gateways\":{";
    for (size_t i = 0; i < buses_.size(); ++i) {
      const BusStats b = buses_[i]->stats();
      const CollectorStats l = collectors_[i]->stats();
      absl::StrAppend(&out, i == 0 ? "" : ",", JsonString(buses_[i]->gateway_id()),
                      ":{\"requests\":", b.requests, ",\"replies\":", b.replies,
                      ",\"dropped\":", b.dropped, ",\"frames\":", l.frames,
                      ",\"connections\":", collectors_[i]->open_connections(),
                      ",\"heartbeats\":", l.heartbeats, "}");
    }
    return out + "}";
  }
  if (verb == "disconnect" && words.size() == 2) {
    Collector* target = collector(words[1]);
    if (target == nullptr) return absl::NotFoundError("no such gateway");
    target->DropConnections();
    return std::string();
  }
  if (verb == "restart" && words.size() == 3) {
    Collector* target = collector(words[1]);
    int64_t seconds = 0;
    if (target == nullptr) return absl::NotFoundError("no such gateway");
    if (!absl::SimpleAtoi(words[2], &seconds) || seconds < 0 || seconds > 3600) {
      return absl::InvalidArgumentError("restart GATEWAY SECONDS (0..3600)");
    }
    target->PowerCycle(seconds * 1000);
    return std::string();
  }
  if (verb == "drop-commands" && words.size() == 3 && (words[2] == "on" || words[2] == "off")) {
    Bus* target = bus(words[1]);
    if (target == nullptr) return absl::NotFoundError("no such gateway");
    target->SetDropCommands(words[2] == "on");
    return std::string();
  }
  if ((verb == "power-fail" || verb == "load" || verb == "register") && words.size() >= 3) {
    std::string address;
    int circuit = 0;
    if (!ParseMeterRef(words[1], address, circuit)) {
      return absl::InvalidArgumentError("meter must be ADDRESS or ADDRESS/CIRCUIT");
    }
    Bus* target = nullptr;
    for (auto& bus : buses_) {
      if (bus->HasMeter(address)) target = bus.get();
    }
    if (target == nullptr) return absl::NotFoundError("no such meter");
    const int64_t now_us = clock_->NowUs();
    int64_t a = 0;
    int64_t b = 0;
    const bool profile = verb == "load" && words[2] == "profile";
    if (!profile && (!absl::SimpleAtoi(words[2], &a) ||
                     (words.size() > 3 && !absl::SimpleAtoi(words[3], &b)))) {
      return absl::InvalidArgumentError("expected numbers");
    }
    absl::Status ok = target->WithMeter(address, circuit, now_us, [&](MeterModel& meter) {
      if (verb == "power-fail") {
        meter.FailPower(now_us + a * 1'000'000);
      } else if (verb == "register") {
        meter.SetRegisterWh(a);
      } else if (profile) {
        meter.ForceLoad(std::nullopt);
      } else {
        meter.ForceLoad(
            Load{.active_w = static_cast<int32_t>(a), .reactive_var = static_cast<int32_t>(b)});
      }
    });
    if (!ok.ok()) return ok;
    return std::string();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", verb, "\""));
}

}  // namespace wattledger::meter_sim
