#include "ingest/meter_poller.h"

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/values.h"
#include "projections/calendar.h"

namespace wattledger::ingest {
namespace {

using dlt645::Error;

void Count(const absl::Status& status, LinkCounters& counters) {
  switch (dlt645::ErrorOf(status)) {
    case Error::kTimeout:
      ++counters.timeouts;
      break;
    case Error::kBadChecksum:
      ++counters.checksum_errors;
      break;
    case Error::kAbnormalReply:
      ++counters.abnormal_replies;
      break;
    case Error::kNone:
      break;
    default:
      ++counters.garbled_replies;
      break;
  }
}

// Reads the DI `id` and returns its value bytes.
Awaitable<absl::StatusOr<std::vector<uint8_t>>> ReadDataId(BusLink& link,
                                                           const dlt645::Address& address,
                                                           dlt645::DataId id,
                                                           const PollSettings& settings,
                                                           LinkCounters& counters) {
  dlt645::Frame request = dlt645::ReadRequest(address, id);
  auto reply = co_await Transact(link, request, settings, counters);
  if (!reply.ok()) co_return reply.status();
  auto parsed = dlt645::ParseReadReply(request, *reply);
  if (!parsed.ok()) {
    Count(parsed.status(), counters);
    co_return parsed.status();
  }
  co_return std::move(parsed->value);
}

// Reads the standard DI `standard` of `circuit` and returns its value bytes.
Awaitable<absl::StatusOr<std::vector<uint8_t>>> ReadValue(BusLink& link,
                                                          const dlt645::Address& address,
                                                          dlt645::DataId standard, uint8_t circuit,
                                                          const PollSettings& settings,
                                                          LinkCounters& counters) {
  auto id = dlt645::CircuitDataId(standard, circuit);
  if (!id.ok()) co_return id.status();
  co_return co_await ReadDataId(link, address, *id, settings, counters);
}

schema::MeterTripReason LedgerReason(dlt645::SelfTripReason reason) {
  switch (reason) {
    case dlt645::SelfTripReason::kLoadLimit:
      return schema::MeterTripReason::LOAD_LIMIT;
    case dlt645::SelfTripReason::kMaliciousLoad:
      return schema::MeterTripReason::MALICIOUS_LOAD;
    case dlt645::SelfTripReason::kScheduleOff:
      return schema::MeterTripReason::SCHEDULE;
    case dlt645::SelfTripReason::kNightLimit:
      return schema::MeterTripReason::NIGHT_LIMIT;
    case dlt645::SelfTripReason::kNone:
      break;
  }
  return schema::MeterTripReason::UNKNOWN;
}

}  // namespace

dlt645::DateTime CampusDateTime(int64_t unix_us) {
  absl::CivilSecond civil = absl::ToCivilSecond(
      absl::FromUnixMicros(unix_us), absl::FixedTimeZone(projections::kCampusUtcOffsetSeconds));
  return dlt645::DateTime{.year = static_cast<int>(civil.year()),
                          .month = civil.month(),
                          .day = civil.day(),
                          .hour = civil.hour(),
                          .minute = civil.minute(),
                          .second = civil.second()};
}

int64_t CampusUnixMicros(const dlt645::DateTime& time) {
  absl::CivilSecond civil(time.year, time.month, time.day, time.hour, time.minute, time.second);
  return absl::ToUnixMicros(
      absl::FromCivil(civil, absl::FixedTimeZone(projections::kCampusUtcOffsetSeconds)));
}

Awaitable<absl::StatusOr<std::optional<MeterTripRecord>>> ReadLastSelfTrip(
    BusLink& link, const dlt645::Address& address, uint8_t circuit, const PollSettings& settings,
    LinkCounters& counters) {
  auto id = dlt645::SelfTripDataId(circuit);
  if (!id.ok()) co_return id.status();
  auto value = co_await ReadDataId(link, address, *id, settings, counters);
  if (!value.ok()) co_return value.status();
  auto decoded = dlt645::DecodeSelfTripRecord(*value);
  if (!decoded.ok()) co_return decoded.status();
  if (decoded->reason == dlt645::SelfTripReason::kNone || !decoded->at.has_value()) {
    co_return std::optional<MeterTripRecord>();
  }
  co_return std::optional<MeterTripRecord>(
      MeterTripRecord{.reason = LedgerReason(decoded->reason),
                      .at_us = CampusUnixMicros(*decoded->at),
                      .power_before_w = decoded->power_before_w,
                      .power_w = decoded->power_w,
                      .power_factor_milli = decoded->power_factor_milli,
                      .trip_count = decoded->trip_count});
}

Awaitable<absl::StatusOr<dlt645::Frame>> Transact(BusLink& link, const dlt645::Frame& request,
                                                  const PollSettings& settings,
                                                  LinkCounters& counters) {
  absl::Status last;
  for (int attempt = 0; attempt <= settings.retries; ++attempt) {
    ++counters.requests;
    auto reply = co_await link.Exchange(request, settings.timeout);
    if (reply.ok()) co_return reply;
    last = reply.status();
    if (last.code() == absl::StatusCode::kUnavailable) co_return last;  // the link is gone
    Count(last, counters);
    if (dlt645::ErrorOf(last) == Error::kAbnormalReply) co_return last;  // the meter's answer
  }
  co_return last;
}

Awaitable<absl::StatusOr<dlt645::RunStatus3>> ReadRunStatus(BusLink& link,
                                                            const dlt645::Address& address,
                                                            uint8_t circuit,
                                                            const PollSettings& settings,
                                                            LinkCounters& counters) {
  auto value =
      co_await ReadValue(link, address, dlt645::kRunStatusWord3, circuit, settings, counters);
  if (!value.ok()) co_return value.status();
  co_return dlt645::DecodeRunStatus3(*value);
}

Awaitable<PollResult> PollCircuit(BusLink& link, const dlt645::Address& address,
                                  const std::string& meter_address, uint8_t circuit,
                                  const PollSettings& settings, const ledger::Clock& clock,
                                  LinkCounters& counters, bool& snapshot) {
  PollResult result;
  MeterSample sample;
  sample.meter_address = meter_address;
  sample.circuit = circuit;
  // Fails the poll with the outcome its error implies.
  auto fail = [&](const absl::Status& status) {
    result.error = status;
    Error error = dlt645::ErrorOf(status);
    result.outcome = error == Error::kTimeout ? PollOutcome::kNoReply : PollOutcome::kBadReplies;
    return result;
  };

  if (snapshot) {
    auto value =
        co_await ReadValue(link, address, dlt645::kReadingSnapshot, circuit, settings, counters);
    if (value.ok()) {
      sample.read_at_us = clock.NowMicros();
      auto decoded = dlt645::DecodeReadingSnapshot(*value);
      if (!decoded.ok()) co_return fail(decoded.status());
      sample.total_wh = decoded->energy_wh;
      sample.voltage_dv = decoded->voltage_dv;
      sample.current_ma = decoded->current_ma;
      sample.power_w = decoded->power_w;
      sample.power_factor_milli = decoded->power_factor_milli;
      sample.relay_open = decoded->status.relay_open;
      result.outcome = PollOutcome::kOk;
      result.sample = std::move(sample);
      co_return result;
    }
    bool lacks_it = dlt645::ErrorOf(value.status()) == Error::kAbnormalReply &&
                    (dlt645::MeterErrorWordOf(value.status()) & dlt645::kMeterErrorNoData) != 0;
    if (!lacks_it) co_return fail(value.status());
    snapshot = false;  // an older meter: the six standard reads, from now on
  }

  auto energy =
      co_await ReadValue(link, address, dlt645::kForwardActiveEnergy, circuit, settings, counters);
  if (!energy.ok()) co_return fail(energy.status());
  sample.read_at_us = clock.NowMicros();
  auto total_wh = dlt645::DecodeEnergyWh(*energy, /*is_signed=*/false);
  if (!total_wh.ok()) co_return fail(total_wh.status());
  sample.total_wh = *total_wh;

  auto voltage = co_await ReadValue(link, address, dlt645::kVoltageA, circuit, settings, counters);
  if (!voltage.ok()) co_return fail(voltage.status());
  auto voltage_dv = dlt645::DecodeVoltageDv(*voltage);
  if (!voltage_dv.ok()) co_return fail(voltage_dv.status());
  sample.voltage_dv = *voltage_dv;

  auto current = co_await ReadValue(link, address, dlt645::kCurrentA, circuit, settings, counters);
  if (!current.ok()) co_return fail(current.status());
  auto current_ma = dlt645::DecodeCurrentMa(*current);
  if (!current_ma.ok()) co_return fail(current_ma.status());
  sample.current_ma = *current_ma;

  auto power = co_await ReadValue(link, address, dlt645::kActivePower, circuit, settings, counters);
  if (!power.ok()) co_return fail(power.status());
  auto power_w = dlt645::DecodePowerW(*power);
  if (!power_w.ok()) co_return fail(power_w.status());
  sample.power_w = *power_w;

  auto factor =
      co_await ReadValue(link, address, dlt645::kPowerFactor, circuit, settings, counters);
  if (!factor.ok()) co_return fail(factor.status());
  auto factor_milli = dlt645::DecodePowerFactorMilli(*factor);
  if (!factor_milli.ok()) co_return fail(factor_milli.status());
  sample.power_factor_milli = *factor_milli;

  auto status = co_await ReadRunStatus(link, address, circuit, settings, counters);
  if (!status.ok()) co_return fail(status.status());
  sample.relay_open = status->relay_open;

  result.outcome = PollOutcome::kOk;
  result.sample = std::move(sample);
  co_return result;
}

}  // namespace wattledger::ingest
