#include "ingest/ingest_events.h"

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"

namespace wattledger::ingest {
namespace {

template <typename Fill>
std::string Body(const std::string& idempotency_key, int64_t issued_at_us,
                 const std::string& stream, Fill fill) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(idempotency_key);
  body.setIssuedAtUs(issued_at_us);
  body.setStream(stream);
  fill(body);
  return ledger::Canonical(body.asReader());
}

}  // namespace

std::string ReadingsBatchBody(const std::string& gateway_id, int64_t sweep_started_us,
                              int64_t issued_at_us, const std::vector<MeterSample>& samples) {
  return Body(absl::StrCat("readings/", gateway_id, "/", sweep_started_us), issued_at_us,
              absl::StrCat("gateway:", gateway_id), [&](schema::EventBody::Builder body) {
                auto batch = body.initReadingsBatch();
                batch.setGatewayId(gateway_id);
                batch.setSweepStartedUs(sweep_started_us);
                auto readings = batch.initReadings(static_cast<unsigned>(samples.size()));
                for (unsigned i = 0; i < samples.size(); ++i) {
                  const MeterSample& sample = samples[i];
                  auto reading = readings[i];
                  reading.setMeterAddress(sample.meter_address);
                  reading.setCircuit(sample.circuit);
                  reading.setReadAtUs(sample.read_at_us);
                  reading.setTotalWh(sample.total_wh);
                  reading.setVoltageDv(sample.voltage_dv);
                  reading.setCurrentMa(sample.current_ma);
                  reading.setPowerW(sample.power_w);
                  reading.setPowerFactorMilli(sample.power_factor_milli);
                  reading.setRelayOpen(sample.relay_open);
                  if (sample.last_trip.has_value()) {
                    const MeterTripRecord& record = *sample.last_trip;
                    auto trip = reading.initLastTrip();
                    trip.setReason(record.reason);
                    trip.setAtUs(record.at_us);
                    trip.setPowerBeforeW(record.power_before_w);
                    trip.setPowerW(record.power_w);
                    trip.setPowerFactorMilli(record.power_factor_milli);
                    trip.setTripCount(record.trip_count);
                  }
                }
              });
}

std::string GatewayStatusBody(const std::string& idempotency_key, const std::string& gateway_id,
                              schema::LinkState state, const std::string& detail,
                              const std::string& peer, int64_t issued_at_us) {
  return Body(idempotency_key, issued_at_us, absl::StrCat("gateway:", gateway_id),
              [&](schema::EventBody::Builder body) {
                auto changed = body.initGatewayStatusChanged();
                changed.setGatewayId(gateway_id);
                changed.setState(state);
                changed.setDetail(detail);
                changed.setPeer(peer);
              });
}

std::string MeterStatusBody(const std::string& idempotency_key, const std::string& meter_address,
                            const std::string& gateway_id, schema::LinkState state,
                            const std::string& detail, const LinkCounters& counters,
                            int64_t issued_at_us) {
  return Body(idempotency_key, issued_at_us, absl::StrCat("meter:", meter_address),
              [&](schema::EventBody::Builder body) {
                auto changed = body.initMeterStatusChanged();
                changed.setMeterAddress(meter_address);
                changed.setGatewayId(gateway_id);
                changed.setState(state);
                changed.setDetail(detail);
                changed.setRequests(counters.requests);
                changed.setTimeouts(counters.timeouts);
                changed.setChecksumErrors(counters.checksum_errors);
                changed.setGarbledReplies(counters.garbled_replies);
                changed.setAbnormalReplies(counters.abnormal_replies);
              });
}

std::string ControlDeliveredBody(uint64_t command_seq, const std::string& meter_address,
                                 uint32_t attempts, bool relay_open, int64_t issued_at_us) {
  return Body(absl::StrCat("control/", command_seq, "/outcome"), issued_at_us,
              absl::StrCat("meter:", meter_address), [&](schema::EventBody::Builder body) {
                auto delivered = body.initControlDelivered();
                delivered.setCommandSeq(command_seq);
                delivered.setAttempts(attempts);
                delivered.setMeterAddress(meter_address);
                delivered.setRelayOpen(relay_open);
              });
}

std::string ControlFailedBody(uint64_t command_seq, const std::string& meter_address,
                              uint32_t attempts, const std::string& reason, int64_t issued_at_us) {
  return Body(absl::StrCat("control/", command_seq, "/outcome"), issued_at_us,
              absl::StrCat("meter:", meter_address), [&](schema::EventBody::Builder body) {
                auto failed = body.initControlFailed();
                failed.setCommandSeq(command_seq);
                failed.setAttempts(attempts);
                failed.setMeterAddress(meter_address);
                failed.setReason(reason);
              });
}

}  // namespace wattledger::ingest
