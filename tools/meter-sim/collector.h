// A transparent TCP collector (serial device server) in front of one bus,
// in either mode of the collector protocol (README.md):
//
//  - server: listens on host:port (loopback); the master connects; up to
//    kConnectionsMax connections, further ones are closed at once; a reply
//    goes to every connected client, as serial servers do.
//  - client: connects to the master, sends "@REG <id>\r\n" first, then
//    "@HB <id>\r\n" whenever the bus has been idle for the heartbeat interval
//    (never inside a reply); reconnects with capped exponential backoff
//    (0.5 s doubling to 30 s; reset once the master sends something).
//
// Everything else is transparent DL/T 645 bytes. Frames are taken from each
// connection's byte stream (junk and garbled frames are dropped, as a meter
// ignores them) and put on the bus one at a time, queued while it is busy.
// With bus timing, each exchange takes the serial time of the request, the
// meter's turnaround and the serial time of the reply at the bus's baud
// rate; without, the reply is written as soon as it is computed.
//
// Runs on one io_context (one thread): every handler of a collector runs on
// it. Start() and the accessors may be called from elsewhere as noted.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ingest/dlt645/frame.h"
#include "tools/meter-sim/building.h"
#include "tools/meter-sim/bus.h"
#include "tools/meter-sim/event_log.h"
#include "tools/meter-sim/sim_clock.h"

namespace wattledger::meter_sim {

inline constexpr size_t kConnectionsMax = 4;
// Requests waiting for the bus; more are dropped (a serial server's buffer overflows).
inline constexpr size_t kPendingRequestsMax = 64;
// Bytes written but not yet sent to one connection before it is closed as stuck.
inline constexpr size_t kOutboxBytesMax = 1 << 20;

struct CollectorOptions {
  int64_t heartbeat_interval_ms = 30'000;
  bool bus_timing = false;
  int64_t backoff_initial_ms = 500;
  int64_t backoff_max_ms = 30'000;
  int64_t disconnect_every_ms = 0;  // fault injection: drop every connection this often
  // FE bytes the master is assumed to send before a request (bus timing only).
  size_t request_preamble_bytes = 4;
};

struct CollectorStats {
  uint64_t connections = 0;  // accepted (server) or established (client)
  uint64_t refused = 0;      // accepted beyond kConnectionsMax and closed
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;  // connections that ended, injected ones included
  uint64_t frames = 0;       // request frames taken from the stream
  uint64_t bad_frames = 0;   // garbled frames ignored
  uint64_t overflowed = 0;   // frames dropped with the queue full
  uint64_t heartbeats = 0;
  uint64_t replies = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

class Collector {
 public:
  Collector(boost::asio::io_context& io, GatewaySpec spec, Bus& bus, const SimClock& clock,
            CollectorOptions options, EventLog& log);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Server: binds and listens (kUnavailable if the address is taken), then
  // logs collector_listening. Client: logs collector_connecting and starts
  // connecting. Call once, before the io_context runs or on its thread.
  absl::Status Start();
  // Closes everything and stops reconnecting. Posts to the io_context; safe from any thread.
  void Stop();
  // Drops every connection now (fault injection); a client reconnects. Thread-safe (posts).
  void DropConnections();
  // The collector loses power for `down_ms`: its connections and listener
  // go, then it starts again on the same address (the meters behind it keep
  // counting). Thread-safe.
  void PowerCycle(int64_t down_ms);

  const GatewaySpec& spec() const { return spec_; }
  // "127.0.0.1:40123" for a server once started; the master's address for a client.
  std::string address() const;
  size_t open_connections() const { return open_connections_.load(); }
  CollectorStats stats() const;  // thread-safe

 private:
  struct Connection;

  void Accept();
  void Connect();
  void ScheduleReconnect();
  void Opened(std::shared_ptr<Connection> connection);
  void Read(std::shared_ptr<Connection> connection);
  void Close(const std::shared_ptr<Connection>& connection, const char* why);
  void Send(std::shared_ptr<const std::vector<uint8_t>> bytes);  // to every connection
  void SendTo(const std::shared_ptr<Connection>& connection,
              std::shared_ptr<const std::vector<uint8_t>> bytes);
  void Write(std::shared_ptr<Connection> connection);
  void Enqueue(dlt645::Frame frame);
  void Pump();
  void Exchange(dlt645::Frame request);
  void ArmHeartbeat();
  void ArmDisconnects();
  void Touch();
  void DoDropConnections(const char* why);
  void Emit(const std::string& event, const std::string& extra);

  boost::asio::io_context& io_;
  GatewaySpec spec_;  // port: the bound one after a power cycle
  Bus& bus_;
  const SimClock& clock_;
  const CollectorOptions options_;
  EventLog& log_;

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer bus_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer power_timer_;
  boost::asio::steady_timer disconnect_timer_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::deque<dlt645::Frame> pending_;
  bool busy_ = false;
  bool stopped_ = false;
  int64_t backoff_ms_;
  std::chrono::steady_clock::time_point last_activity_;
  std::string bound_address_;

  std::atomic<size_t> open_connections_{0};
  struct AtomicStats;
  std::unique_ptr<AtomicStats> stats_;
};

}  // namespace wattledger::meter_sim
