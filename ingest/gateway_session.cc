#include "ingest/gateway_session.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ingest/command_delivery.h"
#include "ingest/dlt645/error.h"
#include "ingest/ingest_events.h"
#include "ingest/ingest_service.h"
#include "ledger/structured_log.h"

namespace wattledger::ingest {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
                                  uint32_t failures) {
  std::chrono::milliseconds delay = min * (int64_t{1} << std::min<uint32_t>(failures, 20));
  return std::min<std::chrono::milliseconds>(delay, max);
}

// "host:port" -> endpoint; numeric addresses only (collectors are configured by IP).
absl::StatusOr<asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address) {
  size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway address ", address, " is not host:port"));
  }
  error_code ec;
  auto ip = asio::ip::make_address(address.substr(0, colon), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway address ", address, ": ", ec.message()));
  }
  return asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(port));
}

}  // namespace

GatewaySession::GatewaySession(IngestService& service, GatewayConfig config)
    : service_(service), config_(std::move(config)), wake_(service.io()) {
  auto recorded = service_.domain().devices().Gateway(config_.gateway_id);
  if (recorded.has_value()) recorded_ = recorded->state;
}

void GatewaySession::SetMeters(std::shared_ptr<const std::vector<MeterCircuit>> meters) {
  meters_ = std::move(meters);
}

void GatewaySession::SetConfig(const GatewayConfig& config) {
  bool moved = config.address != config_.address || config.mode != config_.mode;
  config_ = config;
  if (moved && link_ != nullptr) link_->Close();  // reconnect at the new address
}

void GatewaySession::Offer(asio::ip::tcp::socket socket, std::vector<uint8_t> extra_bytes) {
  // A collector that registers again has reconnected: its old link is dead.
  if (link_ != nullptr) link_->Close();
  offered_.emplace(std::move(socket), std::move(extra_bytes));
  Wake();
}

void GatewaySession::Wake() {
  woken_ = true;
  wake_.cancel();
  if (link_ != nullptr) link_->Interrupt();
}

void GatewaySession::RequestSweep() {
  sweep_requested_ = true;
  Wake();
}

void GatewaySession::Stop() {
  stopping_ = true;
  if (link_ != nullptr) link_->Close();
  wake_.cancel();
}

Awaitable<void> GatewaySession::Sleep(Clock::time_point until) {
  if (woken_ || stopping_) co_return;
  wake_.expires_at(until);
  error_code ec;
  co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

LinkHealth& GatewaySession::HealthOf(const std::string& address) {
  auto it = health_.find(address);
  if (it != health_.end()) return it->second;
  std::optional<schema::LinkState> recorded;
  auto status = service_.domain().devices().Meter(address);
  if (status.has_value()) recorded = status->state;
  return health_.emplace(address, LinkHealth(recorded, service_.settings().failed_polls_max))
      .first->second;
}

Awaitable<void> GatewaySession::RecordGateway(schema::LinkState state, const std::string& detail,
                                              const std::string& peer) {
  if (recorded_ == state) co_return;
  auto appended = co_await service_.Append(GatewayStatusBody(service_.UniqueKey("link"),
                                                             config_.gateway_id, state, detail,
                                                             peer, service_.clock().NowMicros()));
  if (appended.ok()) recorded_ = state;
  ledger::LogEvent(
      "info", "gateway_link",
      {{"gateway", config_.gateway_id},
       {"state", std::string(state == schema::LinkState::ONLINE ? "online" : "offline")},
       {"detail", detail},
       {"peer", peer}});
}

Awaitable<std::unique_ptr<BusLink>> GatewaySession::Connect() {
  uint32_t failures = 0;
  while (!stopping_) {
    if (config_.mode == schema::GatewayMode::CLIENT) {
      if (offered_.has_value()) {
        auto offered = std::move(*offered_);
        offered_.reset();
        co_return std::make_unique<BusLink>(std::move(offered.first), std::move(offered.second));
      }
      woken_ = false;
      co_await Sleep(Clock::now() + std::chrono::hours(1));
      continue;
    }
    auto endpoint = ParseEndpoint(config_.address);
    std::string failure;
    if (endpoint.ok()) {
      asio::ip::tcp::socket socket(service_.io());
      error_code ec;
      // Bounded: a black-holed address must not hold the session forever.
      asio::steady_timer limit(service_.io());
      limit.expires_after(service_.settings().reconnect_max);
      // Shared: the handler may run after this frame is gone.
      auto timed_out = std::make_shared<bool>(false);
      auto done = std::make_shared<bool>(false);
      limit.async_wait([&socket, timed_out, done](const error_code& e) {
        if (e || *done) return;
        *timed_out = true;
        error_code ignored;
        socket.close(ignored);
      });
      co_await socket.async_connect(*endpoint, asio::redirect_error(asio::use_awaitable, ec));
      *done = true;
      limit.cancel();
      if (!ec && !*timed_out) co_return std::make_unique<BusLink>(std::move(socket));
      failure = *timed_out ? "connect timed out" : ec.message();
    } else {
      failure = std::string(endpoint.status().message());
    }
    ++failures;
    if (failures == 1 || recorded_ != schema::LinkState::OFFLINE) {
      co_await RecordGateway(schema::LinkState::OFFLINE, failure, config_.address);
    }
    woken_ = false;
    co_await Sleep(Clock::now() + Backoff(service_.settings().reconnect_min,
                                          service_.settings().reconnect_max, failures - 1));
  }
  co_return nullptr;
}

Awaitable<void> GatewaySession::Run() {
  while (!stopping_) {
    link_ = co_await Connect();
    if (link_ == nullptr) break;
    service_.mutable_stats().gateways_online.fetch_add(1);
    co_await RecordGateway(schema::LinkState::ONLINE, "connected", link_->peer());
    co_await SyncTime();
    auto next_sweep = Clock::now();
    while (!stopping_ && link_->is_open()) {
      co_await Sweep();
      next_sweep += service_.settings().sweep_interval;
      if (next_sweep < Clock::now()) next_sweep = Clock::now();  // a sweep longer than the interval
      co_await WaitForNextSweep(next_sweep);
    }
    service_.mutable_stats().gateways_online.fetch_sub(1);
    std::string peer = link_->peer();
    link_.reset();
    if (!stopping_) co_await RecordGateway(schema::LinkState::OFFLINE, "connection lost", peer);
  }
}

Awaitable<void> GatewaySession::SyncTime() {
  last_time_sync_ = Clock::now();
  auto request = dlt645::BroadcastTimeRequest(CampusDateTime(service_.clock().NowMicros()));
  if (!request.ok()) co_return;
  absl::Status sent = co_await link_->Send(*request);
  if (!sent.ok()) {
    ledger::LogEvent("warning", "time_sync_failed",
                     {{"gateway", config_.gateway_id}, {"status", sent.ToString()}});
  }
}

// How soon to look again at a command the ledger has not made durable yet.
constexpr std::chrono::milliseconds kDurablePoll{5};

Awaitable<void> GatewaySession::WaitForNextSweep(Clock::time_point next) {
  while (!stopping_ && link_->is_open() && Clock::now() < next && !sweep_requested_) {
    woken_ = false;  // before delivering: a wake-up while we deliver must not be lost
    co_await DeliverDue();
    if (stopping_ || !link_->is_open()) break;
    // Sleep until the sweep, or the earliest delivery retry, or a wake-up.
    Clock::time_point until = next;
    for (const auto& [seq, delivery] : deliveries_) until = std::min(until, delivery.next_attempt);
    if (awaiting_durable_) until = std::min(until, Clock::now() + kDurablePoll);
    if (until > Clock::now() && !sweep_requested_ && !woken_) {
      absl::Status idle = co_await link_->Idle(until);  // notices a dropped connection
      if (!idle.ok()) break;
    }
  }
  if (!stopping_ && link_->is_open() &&
      Clock::now() - last_time_sync_ >= service_.settings().time_sync_every) {
    co_await SyncTime();
  }
}

Awaitable<void> GatewaySession::DeliverDue() {
  if (meters_ == nullptr) co_return;
  const projections::ControlBook& book = service_.domain().control();
  uint64_t generation = book.generation();
  bool retry_due = false;
  for (const auto& [seq, delivery] : deliveries_)
    retry_due |= delivery.next_attempt <= Clock::now();
  if (generation == delivered_generation_ && !retry_due && !awaiting_durable_) co_return;
  delivered_generation_ = generation;
  awaiting_durable_ = false;

  uint64_t durable = service_.durable_seq();  // never act on a command not yet durable
  std::vector<projections::ControlEntry> ours;
  for (projections::ControlEntry& entry : book.Pending()) {
    if (entry.seq > durable) {
      awaiting_durable_ = true;
      continue;
    }
    bool on_this_gateway =
        std::any_of(meters_->begin(), meters_->end(), [&](const MeterCircuit& meter) {
          return meter.address == entry.meter_address && meter.circuit == entry.circuit;
        });
    if (on_this_gateway) ours.push_back(std::move(entry));
  }
  // Forget the attempts of commands no longer pending (superseded, recorded).
  std::erase_if(deliveries_, [&](const auto& item) {
    return std::none_of(ours.begin(), ours.end(),
                        [&](const projections::ControlEntry& e) { return e.seq == item.first; });
  });
  std::vector<projections::ControlEntry> due;
  for (projections::ControlEntry& entry : ours) {
    auto delivery = deliveries_.find(entry.seq);
    if (delivery != deliveries_.end() && delivery->second.next_attempt > Clock::now()) continue;
    due.push_back(std::move(entry));
  }

  const IngestSettings& settings = service_.settings();
  for (const projections::ControlEntry& entry : due) {
    if (stopping_ || !link_->is_open()) co_return;
    Delivery& delivery = deliveries_[entry.seq];
    ++delivery.attempts;
    LinkCounters& counters = HealthOf(entry.meter_address).counters();
    DeliveryResult result =
        co_await DeliverCommand(*link_, entry, settings.poll, service_.clock(), counters);
    if (result.link_lost) {
      --delivery.attempts;  // not the meter's fault: try again on reconnect
      co_return;
    }
    int64_t now_us = service_.clock().NowMicros();
    if (result.confirmed) {
      auto appended = co_await service_.Append(ControlDeliveredBody(
          entry.seq, entry.meter_address, delivery.attempts, result.relay_open, now_us));
      if (appended.ok()) service_.mutable_stats().commands_delivered.fetch_add(1);
      ledger::LogEvent("info", "control_delivered",
                       {{"command_seq", entry.seq},
                        {"meter", entry.meter_address},
                        {"attempts", static_cast<uint64_t>(delivery.attempts)},
                        {"relay_open", result.relay_open}});
      deliveries_.erase(entry.seq);
    } else if (delivery.attempts >= static_cast<uint32_t>(settings.delivery_attempts_max)) {
      auto appended = co_await service_.Append(ControlFailedBody(
          entry.seq, entry.meter_address, delivery.attempts, result.failure, now_us));
      if (appended.ok()) service_.mutable_stats().commands_failed.fetch_add(1);
      ledger::LogEvent("warning", "control_failed",
                       {{"command_seq", entry.seq},
                        {"meter", entry.meter_address},
                        {"attempts", static_cast<uint64_t>(delivery.attempts)},
                        {"reason", result.failure}});
      deliveries_.erase(entry.seq);
    } else {
      delivery.next_attempt =
          Clock::now() +
          Backoff(settings.delivery_retry_min, settings.delivery_retry_max, delivery.attempts - 1);
    }
  }
}

Awaitable<void> GatewaySession::ObservePoll(const MeterCircuit& meter, const PollResult& result) {
  LinkHealth& health = HealthOf(meter.address);
  std::optional<LinkChange> change = health.Observe(result.outcome);
  if (!change.has_value()) co_return;
  std::string detail = change->detail;
  if (!result.error.ok()) {
    detail = absl::StrCat(detail, "; last: ", dlt645::ErrorName(dlt645::ErrorOf(result.error)));
  }
  auto appended = co_await service_.Append(
      MeterStatusBody(service_.UniqueKey("link"), meter.address, config_.gateway_id, change->state,
                      detail, health.counters(), service_.clock().NowMicros()));
  if (appended.ok()) health.Recorded(change->state);
}

Awaitable<bool> GatewaySession::ReadTripIfNewlyOpen(const MeterCircuit& meter,
                                                    const std::string& circuit_key,
                                                    MeterSample& sample, LinkCounters& counters) {
  if (!sample.relay_open) {
    relay_open_.erase(circuit_key);
    co_return true;
  }
  const bool was_open = !relay_open_.insert(circuit_key).second;
  if (was_open || without_trip_record_.contains(circuit_key)) co_return true;
  auto record = co_await ReadLastSelfTrip(*link_, meter.wire, meter.circuit,
                                          service_.settings().poll, counters);
  if (record.ok()) {
    sample.last_trip = *record;
    co_return true;
  }
  if (record.status().code() == absl::StatusCode::kUnavailable) co_return false;
  // Evidence is a bonus: a meter without the record, or silent, leaves it absent.
  if (dlt645::ErrorOf(record.status()) == dlt645::Error::kAbnormalReply &&
      (dlt645::MeterErrorWordOf(record.status()) & dlt645::kMeterErrorNoData) != 0) {
    without_trip_record_.insert(circuit_key);
  }
  ledger::LogEvent("info", "self_trip_unread",
                   {{"gateway", config_.gateway_id},
                    {"meter", meter.address},
                    {"circuit", static_cast<uint64_t>(meter.circuit)},
                    {"status", record.status().ToString()}});
  co_return true;
}

Awaitable<void> GatewaySession::Sweep() {
  sweep_requested_ = false;
  if (meters_ == nullptr || meters_->empty()) co_return;
  std::shared_ptr<const std::vector<MeterCircuit>> meters = meters_;  // this sweep's registry
  // Strictly increasing: it names the sweep (the batch's idempotency key).
  int64_t started_us = std::max(service_.clock().NowMicros(), last_sweep_started_us_ + 1);
  last_sweep_started_us_ = started_us;
  std::vector<MeterSample> samples;
  samples.reserve(meters->size());
  IngestStats& stats = service_.mutable_stats();
  for (const MeterCircuit& meter : *meters) {
    if (stopping_ || !link_->is_open()) break;
    co_await DeliverDue();  // an operator's command does not wait for the sweep to end
    if (stopping_ || !link_->is_open()) break;
    LinkCounters& counters = HealthOf(meter.address).counters();
    LinkCounters before = counters;
    std::string circuit_key = absl::StrCat(meter.address, "/", meter.circuit);
    bool snapshot = !without_snapshot_.contains(circuit_key);
    PollResult result =
        co_await PollCircuit(*link_, meter.wire, meter.address, meter.circuit,
                             service_.settings().poll, service_.clock(), counters, snapshot);
    if (!snapshot) without_snapshot_.insert(circuit_key);
    bool link_lost = result.error.code() == absl::StatusCode::kUnavailable;
    if (result.sample.has_value()) {
      link_lost = !co_await ReadTripIfNewlyOpen(meter, circuit_key, *result.sample, counters);
    }
    stats.requests.fetch_add(counters.requests - before.requests);
    stats.timeouts.fetch_add(counters.timeouts - before.timeouts);
    stats.checksum_errors.fetch_add(counters.checksum_errors - before.checksum_errors);
    stats.garbled_replies.fetch_add(counters.garbled_replies - before.garbled_replies);
    stats.abnormal_replies.fetch_add(counters.abnormal_replies - before.abnormal_replies);
    if (result.error.code() == absl::StatusCode::kUnavailable) break;  // the link is gone
    if (result.sample.has_value()) samples.push_back(std::move(*result.sample));
    co_await ObservePoll(meter, result);
    if (link_lost) break;  // lost while reading the trip record: the reading stands
  }
  if (samples.empty()) co_return;
  // The batch is appended even when the link dropped mid-sweep: what was
  // read is true. Its idempotency key (the sweep's start) makes a retry safe.
  auto appended = co_await service_.Append(
      ReadingsBatchBody(config_.gateway_id, started_us, service_.clock().NowMicros(), samples));
  if (appended.ok()) {
    stats.sweeps.fetch_add(1);
    stats.readings.fetch_add(samples.size());
  } else {
    ledger::LogEvent("error", "readings_not_appended",
                     {{"gateway", config_.gateway_id},
                      {"readings", static_cast<uint64_t>(samples.size())},
                      {"status", appended.status().ToString()}});
  }
}

}  // namespace wattledger::ingest
