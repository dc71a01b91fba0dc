// The whole simulated building: one Bus and one Collector per gateway, the
// io_contexts and threads that run them, the one-second tick that keeps the
// meters counting (and logging their self-trips) while nobody asks, the truth
// file, and the control port. main.cc is a thin layer of flags over this;
// the loopback tests start it in-process.
//
// Control port (optional, loopback): one command per line, one JSON reply
// per line ({"ok":true,...} or {"ok":false,"error":"..."}):
//   disconnect GATEWAY                 drop the collector's connections now
//   restart GATEWAY SECONDS            the collector is down for SECONDS, then starts again
//   drop-commands GATEWAY on|off       the collector loses every write and remote control
//   power-fail ADDRESS SECONDS         the meter's supply fails for SECONDS of simulated time
//   load ADDRESS[/CIRCUIT] WATTS [VAR] force the room's load (VAR default 0: resistive)
//   load ADDRESS[/CIRCUIT] profile     back to the profile
//   register ADDRESS[/CIRCUIT] WH      overwrite the register
//   truth                              write the truth file now
//   stats                              bus and link counters per gateway
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/meter-sim/building.h"
#include "tools/meter-sim/bus.h"
#include "tools/meter-sim/collector.h"
#include "tools/meter-sim/event_log.h"
#include "tools/meter-sim/sim_clock.h"
#include "tools/meter-sim/truth.h"

namespace wattledger::meter_sim {

struct SimulatorOptions {
  Building building;
  SimulationOptions simulation;
  BusOptions bus;  // bus.seed is replaced by simulation.seed
  CollectorOptions collector;
  double speed = 1;
  std::string truth_path;  // "" = no truth file
  int64_t truth_interval_ms = 1000;
  int64_t tick_interval_ms = 1000;  // advance every meter (they count while nobody asks)
  std::string control_address;      // "127.0.0.1:0" for a control port; "" = none
  int threads = 1;
  size_t meters_per_gateway_max = 128;
};

class Simulator {
 public:
  // Checks the building and builds the buses. `clock` (not owned, may be
  // null) replaces the scaled real-time clock, for tests.
  static absl::StatusOr<std::unique_ptr<Simulator>> Create(SimulatorOptions options, EventLog& log,
                                                           const SimClock* clock = nullptr);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds the server collectors and the control port (logging their
  // addresses), starts the client collectors, starts the threads, then logs
  // {"event":"ready",...}. kUnavailable when an address is taken.
  absl::Status Start();
  // Stops the collectors and threads and writes the final truth file.
  // Idempotent; the destructor calls it.
  void Stop();

  // Rewrites the truth file now (no-op without one). Thread-safe.
  absl::Status WriteTruth();
  std::string TruthText();
  // One control-port command; the JSON reply line. Thread-safe.
  std::string Command(const std::string& line);

  Bus* bus(const std::string& gateway_id);
  Collector* collector(const std::string& gateway_id);
  const std::string& control_address() const { return control_bound_; }
  const SimClock& clock() const { return *clock_; }
  size_t meter_count() const;

 private:
  explicit Simulator(SimulatorOptions options, EventLog& log);
  void ArmTick();
  void AcceptControl();
  absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& words);

  SimulatorOptions options_;
  EventLog& log_;
  std::unique_ptr<SimClock> own_clock_;
  const SimClock* clock_ = nullptr;
  std::vector<std::unique_ptr<boost::asio::io_context>> ios_;
  std::vector<std::unique_ptr<Bus>> buses_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::unique_ptr<boost::asio::steady_timer> tick_timer_;
  std::chrono::steady_clock::time_point last_truth_;
  struct ControlPort;
  std::unique_ptr<ControlPort> control_;
  std::string control_bound_;
  std::vector<std::thread> threads_;
  absl::Mutex truth_mu_;  // one truth writer at a time
  bool started_ = false;
  std::atomic<bool> stopped_{false};  // read by the control port's handlers
};

}  // namespace wattledger::meter_sim
