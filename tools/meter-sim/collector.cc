#include "tools/meter-sim/collector.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wattledger::meter_sim {

namespace asio = boost::asio;
using asio::ip::tcp;
using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

struct Collector::AtomicStats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> bad_frames{0};
  std::atomic<uint64_t> overflowed{0};
  std::atomic<uint64_t> heartbeats{0};
  std::atomic<uint64_t> replies{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

struct Collector::Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::array<uint8_t, 4096> buffer{};
  dlt645::FrameDecoder decoder;
  std::deque<Bytes> outbox;
  size_t outbox_bytes = 0;
  bool writing = false;
  bool open = true;
  bool heard_master = false;
  std::string peer;
};

namespace {

Bytes Packet(absl::string_view kind, const std::string& registration_id) {
  const std::string text = absl::StrCat("@", kind, " ", registration_id, "\r\n");
  return std::make_shared<const std::vector<uint8_t>>(text.begin(), text.end());
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace

Collector::Collector(asio::io_context& io, GatewaySpec spec, Bus& bus, const SimClock& clock,
                     CollectorOptions options, EventLog& log)
    : io_(io),
      spec_(std::move(spec)),
      bus_(bus),
      clock_(clock),
      options_(options),
      log_(log),
      acceptor_(io),
      bus_timer_(io),
      heartbeat_timer_(io),
      reconnect_timer_(io),
      power_timer_(io),
      disconnect_timer_(io),
      backoff_ms_(options.backoff_initial_ms),
      last_activity_(std::chrono::steady_clock::now()),
      stats_(std::make_unique<AtomicStats>()) {}

Collector::~Collector() {
  // The io_context no longer runs handlers here: close what is left.
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (const std::shared_ptr<Connection>& connection : connections_) {
    connection->open = false;
    connection->socket.close(ignored);
  }
}

void Collector::Emit(const std::string& event, const std::string& extra) {
  log_.Emit(absl::StrCat("{\"event\":", JsonString(event), ",\"gateway\":", JsonString(spec_.id),
                         extra, "}"));
}

std::string Collector::address() const {
  if (spec_.mode == CollectorMode::kServer) return bound_address_;
  return absl::StrCat(spec_.host, ":", spec_.port);
}

CollectorStats Collector::stats() const {
  const AtomicStats& s = *stats_;
  return CollectorStats{.connections = s.connections.load(),
                        .refused = s.refused.load(),
                        .connect_failures = s.connect_failures.load(),
                        .disconnects = s.disconnects.load(),
                        .frames = s.frames.load(),
                        .bad_frames = s.bad_frames.load(),
                        .overflowed = s.overflowed.load(),
                        .heartbeats = s.heartbeats.load(),
                        .replies = s.replies.load(),
                        .bytes_in = s.bytes_in.load(),
                        .bytes_out = s.bytes_out.load()};
}

absl::Status Collector::Start() {
  boost::system::error_code ec;
  const asio::ip::address host = asio::ip::make_address(spec_.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("gateway ", spec_.id, ": bad host"));
  if (spec_.mode == CollectorMode::kServer) {
    const tcp::endpoint endpoint(host, spec_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("gateway ", spec_.id, ": cannot listen on ",
                                                 EndpointText(endpoint), ": ", ec.message()));
    }
    bound_address_ = EndpointText(acceptor_.local_endpoint(ec));
    Emit("collector_listening", absl::StrCat(",\"address\":", JsonString(bound_address_),
                                             ",\"meters\":", bus_.meter_count()));
    Accept();
  } else {
    Emit("collector_connecting",
         absl::StrCat(",\"master\":", JsonString(address()), ",\"registration\":",
                      JsonString(spec_.registration_id), ",\"meters\":", bus_.meter_count()));
    Connect();
  }
  ArmDisconnects();
  return absl::OkStatus();
}

void Collector::Stop() {
  asio::post(io_, [this] {
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    bus_timer_.cancel();
    heartbeat_timer_.cancel();
    reconnect_timer_.cancel();
    disconnect_timer_.cancel();
    DoDropConnections("stopped");
  });
}

void Collector::PowerCycle(int64_t down_ms) {
  asio::post(io_, [this, down_ms] {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    heartbeat_timer_.cancel();
    reconnect_timer_.cancel();
    DoDropConnections("power_cycle");
    Emit("collector_down", absl::StrCat(",\"down_ms\":", down_ms));
    power_timer_.expires_after(std::chrono::milliseconds(down_ms));
    power_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      stopped_ = false;
      if (spec_.mode == CollectorMode::kServer && !bound_address_.empty()) {
        spec_.port =
            static_cast<uint16_t>(std::stoi(bound_address_.substr(bound_address_.rfind(':') + 1)));
      }
      absl::Status started = Start();
      if (!started.ok()) {
        Emit("collector_restart_failed",
             absl::StrCat(",\"error\":", JsonString(started.ToString())));
      }
    });
  });
}

void Collector::DropConnections() {
  asio::post(io_, [this] { DoDropConnections("injected"); });
}

void Collector::DoDropConnections(const char* why) {
  std::vector<std::shared_ptr<Connection>> all = connections_;
  for (const std::shared_ptr<Connection>& connection : all) Close(connection, why);
}

void Collector::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or similar: try again a little later.
      reconnect_timer_.expires_after(std::chrono::milliseconds(100));
      reconnect_timer_.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec && !stopped_) Accept();
      });
      return;
    }
    if (connections_.size() >= kConnectionsMax) {
      ++stats_->refused;
      boost::system::error_code ignored;
      socket.close(ignored);
      Emit("master_refused", absl::StrCat(",\"connections\":", connections_.size()));
    } else {
      Opened(std::make_shared<Connection>(std::move(socket)));
    }
    Accept();
  });
}

void Collector::Connect() {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(spec_.host, ec), spec_.port);
  auto connection = std::make_shared<Connection>(tcp::socket(io_));
  connection->socket.async_connect(endpoint, [this, connection](boost::system::error_code ec) {
    if (stopped_) return;
    if (ec) {
      ++stats_->connect_failures;
      boost::system::error_code ignored;
      connection->socket.close(ignored);
      Emit("collector_connect_failed",
           absl::StrCat(",\"error\":", JsonString(ec.message()), ",\"retry_in_ms\":", backoff_ms_));
      ScheduleReconnect();
      return;
    }
    Opened(connection);
    SendTo(connection, Packet("REG", spec_.registration_id));
    ArmHeartbeat();
  });
}

void Collector::ScheduleReconnect() {
  if (stopped_) return;
  reconnect_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  reconnect_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) Connect();
  });
}

void Collector::Opened(std::shared_ptr<Connection> connection) {
  boost::system::error_code ec;
  connection->socket.set_option(tcp::no_delay(true), ec);
  connection->peer = EndpointText(connection->socket.remote_endpoint(ec));
  connections_.push_back(connection);
  open_connections_.store(connections_.size());
  ++stats_->connections;
  Touch();
  if (spec_.mode == CollectorMode::kServer) {
    Emit("master_connected", absl::StrCat(",\"peer\":", JsonString(connection->peer),
                                          ",\"connections\":", connections_.size()));
  } else {
    Emit("collector_connected", absl::StrCat(",\"master\":", JsonString(connection->peer)));
  }
  Read(std::move(connection));
}

void Collector::Read(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  c.socket.async_read_some(
      asio::buffer(c.buffer), [this, connection](boost::system::error_code ec, size_t bytes) {
        if (!connection->open) return;
        if (ec) {
          Close(connection, ec == asio::error::eof ? "closed_by_master" : "read_error");
          return;
        }
        stats_->bytes_in += bytes;
        Touch();
        if (!connection->heard_master) {
          connection->heard_master = true;
          backoff_ms_ = options_.backoff_initial_ms;  // an accepted session: start over
        }
        connection->decoder.Append(absl::MakeConstSpan(connection->buffer.data(), bytes));
        while (std::optional<absl::StatusOr<dlt645::Frame>> next = connection->decoder.Next()) {
          if (next->ok()) {
            Enqueue(*std::move(*next));
          } else {
            ++stats_->bad_frames;  // a meter ignores what it cannot read
          }
        }
        Read(connection);
      });
}

void Collector::Close(const std::shared_ptr<Connection>& connection, const char* why) {
  if (!connection->open) return;
  connection->open = false;
  boost::system::error_code ignored;
  connection->socket.shutdown(tcp::socket::shutdown_both, ignored);
  connection->socket.close(ignored);
  connections_.erase(std::remove(connections_.begin(), connections_.end(), connection),
                     connections_.end());
  open_connections_.store(connections_.size());
  ++stats_->disconnects;
  if (spec_.mode == CollectorMode::kServer) {
    Emit("master_disconnected",
         absl::StrCat(",\"peer\":", JsonString(connection->peer), ",\"reason\":", JsonString(why)));
    return;
  }
  heartbeat_timer_.cancel();
  Emit("collector_disconnected",
       absl::StrCat(",\"reason\":", JsonString(why), ",\"retry_in_ms\":", backoff_ms_));
  ScheduleReconnect();
}

void Collector::Send(Bytes bytes) {
  Touch();
  // Copy: a write error may close (and remove) a connection while iterating.
  std::vector<std::shared_ptr<Connection>> all = connections_;
  for (const std::shared_ptr<Connection>& connection : all) SendTo(connection, bytes);
}

void Collector::SendTo(const std::shared_ptr<Connection>& connection, Bytes bytes) {
  if (!connection->open) return;
  if (connection->outbox_bytes + bytes->size() > kOutboxBytesMax) {
    Close(connection, "not_reading");
    return;
  }
  connection->outbox_bytes += bytes->size();
  connection->outbox.push_back(std::move(bytes));
  if (!connection->writing) Write(connection);
}

void Collector::Write(std::shared_ptr<Connection> connection) {
  connection->writing = true;
  Bytes front = connection->outbox.front();
  asio::async_write(connection->socket, asio::buffer(*front),
                    [this, connection, front](boost::system::error_code ec, size_t bytes) {
                      connection->writing = false;
                      if (!connection->open) return;
                      if (ec) {
                        Close(connection, "write_error");
                        return;
                      }
                      stats_->bytes_out += bytes;
                      connection->outbox_bytes -= front->size();
                      connection->outbox.pop_front();
                      if (!connection->outbox.empty()) Write(connection);
                    });
}

void Collector::Enqueue(dlt645::Frame frame) {
  ++stats_->frames;
  if (pending_.size() >= kPendingRequestsMax) {
    ++stats_->overflowed;
    return;
  }
  pending_.push_back(std::move(frame));
  Pump();
}

void Collector::Pump() {
  while (!busy_ && !stopped_ && !pending_.empty()) {
    dlt645::Frame request = std::move(pending_.front());
    pending_.pop_front();
    if (options_.bus_timing) {
      busy_ = true;
      Exchange(std::move(request));
      return;
    }
    std::optional<Bus::Reply> reply = bus_.Handle(request, clock_.NowUs());
    if (!reply) continue;
    auto bytes = std::make_shared<const std::vector<uint8_t>>(std::move(reply->bytes));
    if (reply->delay_us == 0) {
      ++stats_->replies;
      Send(std::move(bytes));
      continue;
    }
    // A late meter holds the line: later requests wait behind it.
    busy_ = true;
    bus_timer_.expires_after(std::chrono::microseconds(reply->delay_us));
    bus_timer_.async_wait([this, bytes](boost::system::error_code ec) {
      if (ec || stopped_) return;
      ++stats_->replies;
      Send(bytes);
      busy_ = false;
      Pump();
    });
    return;
  }
}

void Collector::Exchange(dlt645::Frame request) {
  const size_t request_bytes =
      options_.request_preamble_bytes + dlt645::kFrameOverheadBytes + request.data.size();
  const int64_t wait_us = bus_.TransmitUs(request_bytes) + bus_.TurnaroundUs();
  bus_timer_.expires_after(std::chrono::microseconds(wait_us));
  bus_timer_.async_wait([this, request = std::move(request)](boost::system::error_code ec) {
    if (ec || stopped_) return;
    std::optional<Bus::Reply> reply = bus_.Handle(request, clock_.NowUs());
    if (!reply) {
      busy_ = false;
      Pump();
      return;
    }
    const int64_t reply_us = bus_.TransmitUs(reply->bytes.size()) + reply->delay_us;
    auto bytes = std::make_shared<const std::vector<uint8_t>>(std::move(reply->bytes));
    bus_timer_.expires_after(std::chrono::microseconds(reply_us));
    bus_timer_.async_wait([this, bytes](boost::system::error_code wait_ec) {
      if (wait_ec || stopped_) return;
      ++stats_->replies;
      Send(bytes);
      busy_ = false;
      Pump();
    });
  });
}

void Collector::Touch() { last_activity_ = std::chrono::steady_clock::now(); }

void Collector::ArmHeartbeat() {
  if (spec_.mode != CollectorMode::kClient || options_.heartbeat_interval_ms <= 0) return;
  const auto interval = std::chrono::milliseconds(options_.heartbeat_interval_ms);
  const auto soonest = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  heartbeat_timer_.expires_at(std::max(last_activity_ + interval, soonest));
  heartbeat_timer_.async_wait([this, interval](boost::system::error_code ec) {
    if (ec || stopped_ || connections_.empty()) return;
    const std::shared_ptr<Connection>& connection = connections_.front();
    const auto now = std::chrono::steady_clock::now();
    // Idle: nothing on the line for the interval, no request waiting or in
    // progress, nothing still being written (a reply is never split).
    if (now - last_activity_ >= interval && !busy_ && pending_.empty() && !connection->writing) {
      ++stats_->heartbeats;
      SendTo(connection, Packet("HB", spec_.registration_id));
      Touch();
    }
    ArmHeartbeat();
  });
}

void Collector::ArmDisconnects() {
  if (options_.disconnect_every_ms <= 0) return;
  disconnect_timer_.expires_after(std::chrono::milliseconds(options_.disconnect_every_ms));
  disconnect_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    DoDropConnections("injected");
    ArmDisconnects();
  });
}

}  // namespace wattledger::meter_sim
