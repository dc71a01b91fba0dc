// The meter side of wattd: one GatewaySession per registered gateway on one
// Asio executor (its own thread), the listener client-mode collectors
// connect and register to, and the supervisor that keeps sessions in step
// with the registry (the campus projection) and wakes them when the control
// book has new commands. Everything it learns is appended to the ledger
// signed by the ingest key; it reads the projections and never writes them.
//
// Counters (sweeps, readings, requests and their errors, commands) are kept
// for monitoring and logged as an "ingest_stats" line every minute.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "ingest/gateway_session.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "projections/domain.h"

namespace wattledger::ingest {

struct IngestOptions {
  // Where client-mode collectors connect ("127.0.0.1:9700"; port 0 picks
  // one; empty: no listener).
  std::string collector_listen;
  IngestSettings settings;
  // How often pending commands are looked for, and the registry re-read
  // (when the log moved since).
  std::chrono::milliseconds supervise_every{250};
  std::chrono::milliseconds registry_every{2'000};
  std::chrono::seconds stats_every{60};
};

struct IngestStats {
  std::atomic<uint64_t> sweeps{0};
  std::atomic<uint64_t> readings{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> checksum_errors{0};
  std::atomic<uint64_t> garbled_replies{0};
  std::atomic<uint64_t> abnormal_replies{0};
  std::atomic<uint64_t> commands_delivered{0};
  std::atomic<uint64_t> commands_failed{0};
  std::atomic<uint64_t> append_errors{0};
  std::atomic<uint64_t> gateways_online{0};
  std::atomic<uint64_t> gateways{0};
  std::atomic<uint64_t> meter_circuits{0};  // registered, as the sessions see them
};

// The counters as Prometheus text (wattd's /metrics), appended to `out`.
void AppendPrometheus(const IngestStats& stats, std::string& out);

class IngestService {
 public:
  static absl::StatusOr<std::unique_ptr<IngestService>> Start(ledger::Ledger& ledger,
                                                              const projections::Domain& domain,
                                                              ledger::SigningKey ingest_key,
                                                              IngestOptions options);
  ~IngestService();  // Stop()
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // Closes every connection and joins the thread; appends in flight finish first.
  void Stop();
  // Every connected gateway starts a sweep now (then keeps its interval).
  void RequestSweep();
  // The collector listener's port (0 when there is none).
  uint16_t collector_port() const { return collector_port_; }
  const IngestStats& stats() const { return stats_; }
  std::string StatsJson() const;

  // For sessions (on the service's executor).
  Awaitable<absl::StatusOr<ledger::AppendResult>> Append(std::string body);
  const IngestSettings& settings() const { return options_.settings; }
  // "<what>/<run id>/<n>": unique per run (a random run id) and call.
  std::string UniqueKey(absl::string_view what);
  const ledger::Clock& clock() const { return ledger_.clock(); }
  const projections::Domain& domain() const { return domain_; }
  uint64_t durable_seq() const { return ledger_.head().seq; }
  IngestStats& mutable_stats() { return stats_; }
  boost::asio::io_context& io() { return io_; }

 private:
  IngestService(ledger::Ledger& ledger, const projections::Domain& domain,
                ledger::SigningKey ingest_key, IngestOptions options);
  absl::Status Listen();
  Awaitable<void> Supervise();
  Awaitable<void> Accept();
  Awaitable<void> Register(boost::asio::ip::tcp::socket socket);
  void RefreshRegistry();

  ledger::Ledger& ledger_;
  const projections::Domain& domain_;
  ledger::SigningKey ingest_key_;
  IngestOptions options_;
  IngestStats stats_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t collector_port_ = 0;
  std::map<std::string, std::unique_ptr<GatewaySession>> sessions_;  // by gateway id
  uint64_t seen_generation_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> appends_in_flight_{0};
  std::string run_id_;
  uint64_t next_key_ = 0;  // on the executor
  std::thread thread_;
};

}  // namespace wattledger::ingest
