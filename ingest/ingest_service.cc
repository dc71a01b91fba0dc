#include "ingest/ingest_service.h"

#include <openssl/rand.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "ingest/collector_packets.h"
#include "ledger/status_macros.h"
#include "ledger/structured_log.h"

namespace wattledger::ingest {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// A coroutine that ends with an exception is a bug: say so and stop.
void Crash(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    ledger::LogEvent("error", "ingest_crashed", {{"what", std::string(e.what())}});
  }
  std::abort();
}

}  // namespace

IngestService::IngestService(ledger::Ledger& ledger, const projections::Domain& domain,
                             ledger::SigningKey ingest_key, IngestOptions options)
    : ledger_(ledger),
      domain_(domain),
      ingest_key_(std::move(ingest_key)),
      options_(std::move(options)) {
  std::array<uint8_t, 8> run{};
  WL_CHECK(RAND_bytes(run.data(), run.size()) == 1);
  run_id_ = ledger::ToHex(absl::MakeConstSpan(run));
}

std::string IngestService::UniqueKey(absl::string_view what) {
  return absl::StrCat(what, "/", run_id_, "/", ++next_key_);
}

absl::StatusOr<std::unique_ptr<IngestService>> IngestService::Start(
    ledger::Ledger& ledger, const projections::Domain& domain, ledger::SigningKey ingest_key,
    IngestOptions options) {
  std::unique_ptr<IngestService> service(
      new IngestService(ledger, domain, std::move(ingest_key), std::move(options)));
  if (!service->options_.collector_listen.empty()) {
    absl::Status listening = service->Listen();
    if (!listening.ok()) return listening;
  }
  IngestService* self = service.get();
  asio::co_spawn(self->io_, self->Supervise(), Crash);
  if (self->acceptor_ != nullptr) asio::co_spawn(self->io_, self->Accept(), Crash);
  self->thread_ = std::thread([self] { self->io_.run(); });
  return service;
}

absl::Status IngestService::Listen() {
  const std::string& listen = options_.collector_listen;
  size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("collector listen address ", listen, " is not host:port"));
  }
  error_code ec;
  auto ip = asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("collector listen address: ", ec.message()));
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(io_);
  asio::ip::tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("collector listener on ", listen, ": ", ec.message()));
  }
  collector_port_ = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  return absl::OkStatus();
}

IngestService::~IngestService() { Stop(); }

void IngestService::Stop() {
  if (stopping_.exchange(true)) return;
  absl::Notification closed;
  asio::post(io_, [this, &closed] {
    error_code ignored;
    if (acceptor_ != nullptr) acceptor_->close(ignored);
    for (auto& [id, session] : sessions_) session->Stop();
    closed.Notify();
  });
  closed.WaitForNotificationWithTimeout(absl::Seconds(10));
  // Appends already submitted complete on the ledger's threads and post back
  // here: let them land before the executor goes away.
  for (int i = 0; i < 1000 && appends_in_flight_.load() > 0; ++i)
    absl::SleepFor(absl::Milliseconds(10));
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void IngestService::RequestSweep() {
  asio::post(io_, [this] {
    for (auto& [id, session] : sessions_) session->RequestSweep();
  });
}

Awaitable<absl::StatusOr<ledger::AppendResult>> IngestService::Append(std::string body) {
  ledger::SignedRequest request = ledger::SignBodyBytes(std::move(body), ingest_key_);
  appends_in_flight_.fetch_add(1);
  auto result = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                              void(absl::StatusOr<ledger::AppendResult>)>(
      [this](auto handler, ledger::SignedRequest request) {
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        ledger_.Submit(std::move(request),
                       [this, shared, executor](absl::StatusOr<ledger::AppendResult> result) {
                         asio::post(executor, [shared, result = std::move(result)]() mutable {
                           (*shared)(std::move(result));
                         });
                         appends_in_flight_.fetch_sub(1);
                       });
      },
      asio::use_awaitable, std::move(request));
  if (!result.ok()) {
    stats_.append_errors.fetch_add(1);
    if (result.status().code() != absl::StatusCode::kUnavailable) {
      ledger::LogEvent("warning", "ingest_append_refused",
                       {{"status", result.status().ToString()}});
    }
  }
  co_return result;
}

void IngestService::RefreshRegistry() {
  std::map<std::string, std::vector<MeterCircuit>> by_gateway;
  for (const projections::Meter& meter : domain_.campus().Meters()) {
    if (meter.retired) continue;
    auto wire = dlt645::Address::Parse(meter.address);
    if (!wire.ok()) continue;
    by_gateway[meter.gateway_id].push_back(MeterCircuit{meter.address, *wire, meter.circuit});
  }
  uint64_t circuits = 0;
  for (const auto& [gateway, meters] : by_gateway) circuits += meters.size();
  stats_.meter_circuits.store(circuits);
  std::vector<projections::Gateway> gateways = domain_.campus().Gateways();
  stats_.gateways.store(gateways.size());
  for (const projections::Gateway& gateway : gateways) {
    GatewayConfig config{gateway.gateway_id, gateway.address, gateway.mode};
    auto& session = sessions_[gateway.gateway_id];
    if (session == nullptr) {
      session = std::make_unique<GatewaySession>(*this, config);
      asio::co_spawn(io_, session->Run(), Crash);
    } else if (session->config().address != config.address ||
               session->config().mode != config.mode) {
      session->SetConfig(config);
    }
    auto meters = by_gateway.find(gateway.gateway_id);
    session->SetMeters(std::make_shared<const std::vector<MeterCircuit>>(
        meters == by_gateway.end() ? std::vector<MeterCircuit>{} : std::move(meters->second)));
  }
}

Awaitable<void> IngestService::Supervise() {
  asio::steady_timer timer(io_);
  auto next_registry = std::chrono::steady_clock::now();
  auto next_stats = std::chrono::steady_clock::now() + options_.stats_every;
  uint64_t registry_head = ~0ull;
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    uint64_t head = ledger_.head().seq;
    // The registry changes rarely: re-read it when the log moved, now and then.
    if (now >= next_registry && head != registry_head) {
      registry_head = head;
      next_registry = now + options_.registry_every;
      RefreshRegistry();
    }
    uint64_t generation = domain_.control().generation();
    if (generation != seen_generation_) {
      seen_generation_ = generation;
      for (auto& [id, session] : sessions_) session->Wake();
    }
    if (now >= next_stats) {
      next_stats = now + options_.stats_every;
      ledger::LogEvent("info", "ingest_stats", {{"stats", StatsJson()}});
    }
    timer.expires_after(options_.supervise_every);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Awaitable<void> IngestService::Accept() {
  while (!stopping_) {
    error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      continue;
    }
    asio::co_spawn(io_, Register(std::move(socket)), Crash);
  }
}

Awaitable<void> IngestService::Register(asio::ip::tcp::socket socket) {
  // The registration packet must come first and soon; anything else is refused.
  asio::steady_timer limit(io_);
  limit.expires_after(options_.settings.registration_timeout);
  auto done = std::make_shared<bool>(false);  // the handler may run after this frame is gone
  limit.async_wait([&socket, done](const error_code& ec) {
    if (ec || *done) return;
    error_code ignored;
    socket.close(ignored);
  });
  std::vector<uint8_t> bytes;
  std::array<uint8_t, kCollectorPacketBytesMax> buffer{};
  CollectorPacket packet;
  PacketScan scan = PacketScan::kNeedMore;
  while (scan == PacketScan::kNeedMore) {
    error_code ec;
    size_t read = co_await socket.async_read_some(asio::buffer(buffer),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      *done = true;
      co_return;
    }
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + static_cast<long>(read));
    scan = ScanCollectorPacket(bytes, packet);
  }
  *done = true;
  limit.cancel();
  std::string peer = "unknown";
  error_code ignored;
  auto endpoint = socket.remote_endpoint(ignored);
  if (!ignored) peer = absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
  GatewaySession* session = nullptr;
  if (scan == PacketScan::kPacket && packet.kind == CollectorPacket::Kind::kRegistration) {
    for (auto& [id, candidate] : sessions_) {
      if (candidate->config().mode == schema::GatewayMode::CLIENT &&
          candidate->config().address == packet.id) {
        session = candidate.get();
      }
    }
  }
  if (session == nullptr) {
    ledger::LogEvent("warning", "collector_refused",
                     {{"peer", peer},
                      {"registration", packet.id},
                      {"reason", std::string(scan == PacketScan::kPacket
                                                 ? "no client-mode gateway has this registration id"
                                                 : "no registration packet")}});
    socket.close(ignored);
    co_return;
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<long>(packet.bytes));
  session->Offer(std::move(socket), std::move(bytes));
}

std::string IngestService::StatsJson() const {
  return absl::StrFormat(
      "{\"sweeps\":%d,\"readings\":%d,\"requests\":%d,\"timeouts\":%d,\"checksumErrors\":%d,"
      "\"garbledReplies\":%d,\"abnormalReplies\":%d,\"commandsDelivered\":%d,"
      "\"commandsFailed\":%d,\"appendErrors\":%d,\"gatewaysOnline\":%d,\"gateways\":%d,"
      "\"meterCircuits\":%d}",
      stats_.sweeps.load(), stats_.readings.load(), stats_.requests.load(), stats_.timeouts.load(),
      stats_.checksum_errors.load(), stats_.garbled_replies.load(), stats_.abnormal_replies.load(),
      stats_.commands_delivered.load(), stats_.commands_failed.load(), stats_.append_errors.load(),
      stats_.gateways_online.load(), stats_.gateways.load(), stats_.meter_circuits.load());
}

void AppendPrometheus(const IngestStats& stats, std::string& out) {
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                    value, "\n");
  };
  counter("wattledger_ingest_sweeps_total", "Gateway sweeps completed.", stats.sweeps.load());
  counter("wattledger_ingest_readings_total", "Meter readings taken.", stats.readings.load());
  counter("wattledger_ingest_requests_total", "DL/T 645 requests sent to meters.",
          stats.requests.load());
  absl::StrAppend(&out,
                  "# HELP wattledger_ingest_comm_errors_total Meter requests that failed, by "
                  "kind.\n# TYPE wattledger_ingest_comm_errors_total counter\n");
  for (const auto& [kind, value] :
       std::vector<std::pair<const char*, uint64_t>>{{"timeout", stats.timeouts.load()},
                                                     {"checksum", stats.checksum_errors.load()},
                                                     {"garbled", stats.garbled_replies.load()},
                                                     {"abnormal", stats.abnormal_replies.load()}}) {
    absl::StrAppend(&out, "wattledger_ingest_comm_errors_total{kind=\"", kind, "\"} ", value, "\n");
  }
  counter("wattledger_ingest_commands_delivered_total", "Control commands delivered to meters.",
          stats.commands_delivered.load());
  counter("wattledger_ingest_commands_failed_total", "Control commands given up on.",
          stats.commands_failed.load());
  counter("wattledger_ingest_append_errors_total", "Readings batches the ledger refused.",
          stats.append_errors.load());
}

}  // namespace wattledger::ingest
