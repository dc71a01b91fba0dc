// One gateway (collector) as wattd sees it: its connection, its poll
// schedule and the delivery of its meters' commands, as one coroutine on the
// ingest service's executor, so a slow or dead gateway never delays another.
//
//   connect     server mode: wattd connects to host:port, with capped
//               exponential backoff; client mode: waits for the collector to
//               connect and register (IngestService hands the socket over)
//   on connect  GatewayStatusChanged online (on change), broadcast time
//   sweep       every meter circuit in registry order: poll, record link
//               changes; then one ReadingsBatch for the sweep
//   between     pending commands first (before each meter of a sweep and
//               while waiting for the next one), each confirmed by reading
//               the status word back, retried with backoff, recorded once
//   on loss     GatewayStatusChanged offline (on change), reconnect
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ingest/bus_link.h"
#include "ingest/link_health.h"
#include "ingest/meter_poller.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::ingest {

class IngestService;

struct IngestSettings {
  PollSettings poll;
  std::chrono::milliseconds sweep_interval{60'000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  std::chrono::milliseconds registration_timeout{10'000};
  int failed_polls_max = 3;       // polls in a row before a meter is offline or faulty
  int delivery_attempts_max = 5;  // then ControlFailed
  std::chrono::milliseconds delivery_retry_min{1'000};
  std::chrono::milliseconds delivery_retry_max{60'000};
  std::chrono::seconds time_sync_every{24 * 3600};
};

struct MeterCircuit {
  std::string address;  // 12 digits
  dlt645::Address wire;
  uint8_t circuit = 1;
};

struct GatewayConfig {
  std::string gateway_id;
  std::string address;  // host:port (server mode) or registration id (client mode)
  schema::GatewayMode mode = schema::GatewayMode::SERVER;
};

class GatewaySession {
 public:
  GatewaySession(IngestService& service, GatewayConfig config);
  GatewaySession(const GatewaySession&) = delete;
  GatewaySession& operator=(const GatewaySession&) = delete;

  Awaitable<void> Run();
  // All of these run on the service's executor.
  void SetMeters(std::shared_ptr<const std::vector<MeterCircuit>> meters);
  void SetConfig(const GatewayConfig& config);
  // A client-mode collector registered with this gateway's id.
  void Offer(boost::asio::ip::tcp::socket socket, std::vector<uint8_t> extra_bytes);
  // Something new to deliver: stop waiting.
  void Wake();
  // Start the next sweep now (an operator's "read now"; tests).
  void RequestSweep();
  void Stop();

  const GatewayConfig& config() const { return config_; }
  bool online() const { return link_ != nullptr && link_->is_open(); }

 private:
  struct Delivery {
    uint32_t attempts = 0;
    std::chrono::steady_clock::time_point next_attempt{};
  };

  Awaitable<std::unique_ptr<BusLink>> Connect();
  Awaitable<void> Sweep();
  Awaitable<void> WaitForNextSweep(std::chrono::steady_clock::time_point next);
  Awaitable<void> DeliverDue();
  Awaitable<void> SyncTime();
  Awaitable<void> RecordGateway(schema::LinkState state, const std::string& detail,
                                const std::string& peer);
  Awaitable<void> ObservePoll(const MeterCircuit& meter, const PollResult& result);
  // Keeps the circuit's relay state; when `sample` shows the relay newly
  // open, reads the meter's last self-trip record into it (left absent when
  // the meter has none or does not answer). False when the link was lost.
  Awaitable<bool> ReadTripIfNewlyOpen(const MeterCircuit& meter, const std::string& circuit_key,
                                      MeterSample& sample, LinkCounters& counters);
  // Sleeps until `until` or Wake()/Stop().
  Awaitable<void> Sleep(std::chrono::steady_clock::time_point until);
  LinkHealth& HealthOf(const std::string& address);

  IngestService& service_;
  GatewayConfig config_;
  std::shared_ptr<const std::vector<MeterCircuit>> meters_;
  std::unique_ptr<BusLink> link_;
  std::optional<std::pair<boost::asio::ip::tcp::socket, std::vector<uint8_t>>> offered_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  bool woken_ = false;
  bool sweep_requested_ = false;
  std::optional<schema::LinkState> recorded_;  // the gateway's, as the ledger has it
  std::map<std::string, LinkHealth> health_;   // by meter address
  std::map<uint64_t, Delivery> deliveries_;    // by command seq
  std::set<std::string> without_snapshot_;     // "<address>/<circuit>" read with six DIs
  // "<address>/<circuit>" whose last reading showed the relay open; unknown
  // (after a restart) counts as closed, so the first open reading reads the
  // trip record.
  std::set<std::string> relay_open_;
  std::set<std::string> without_trip_record_;  // answered "no requested data" for 04C200cc
  uint64_t delivered_generation_ = ~0ull;
  // A pending command was skipped because the ledger had not made it durable
  // yet: nothing else will wake the session for it, so look again soon.
  bool awaiting_durable_ = false;
  int64_t last_sweep_started_us_ = 0;
  std::chrono::steady_clock::time_point last_time_sync_{};
};

}  // namespace wattledger::ingest
