// Campus: deductions from a reading batch. Each reading's energy since the
// meter's last accepted reading (across a register rollover, or a meter
// replacement's offset) is charged to its room: free allowance first, then
// the tiers, in exact integers with the room's sub-fen remainder carried.
// A reading that went backwards or exceeds what the circuit could pass in
// the time elapsed charges nothing and is recorded as an anomaly; the
// baseline moves on so one bad reading does not block the next.
#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/campus.h"

namespace wattledger::projections {
namespace {

// The most energy a circuit can pass: rated current x nominal voltage x time.
int64_t MaxPlausibleWh(const Meter& meter, int64_t elapsed_us) {
  int64_t watts = meter.rated_current_ma * meter.nominal_voltage_dv / 10'000;
  constexpr int64_t kMicrosPerHour = 3'600'000'000LL;
  // The same quotient in 64 bits whenever the product fits (every reading a
  // sweep apart does); 128-bit division is several times slower.
  int64_t product = 0;
  if (!__builtin_mul_overflow(watts, elapsed_us, &product)) {
    return product / kMicrosPerHour + kPlausibilitySlackWh;
  }
  return static_cast<int64_t>(static_cast<__int128>(watts) * elapsed_us / kMicrosPerHour) +
         kPlausibilitySlackWh;
}

}  // namespace

struct Campus::DeductionRecord {
  struct Anomaly {
    std::string address;
    uint8_t circuit;
    schema::AnomalyKind kind;
    int64_t from_wh;
    int64_t to_wh;
    int64_t elapsed_us;
    int64_t max_wh;
  };
  struct Line {
    std::string room_id;
    std::string address;
    uint8_t circuit;
    int64_t from_wh;
    int64_t to_wh;
    int64_t energy_wh;
    Charge charge;
    int64_t balance_after_fen;
  };
  std::vector<Line> lines;
  std::vector<Anomaly> anomalies;
};

Meter* Campus::FindMeterLocked(absl::string_view address, uint8_t circuit) {
  // MeterKey's "<address>/<circuit>", built in a reused buffer.
  if (circuit > 9) return nullptr;
  meter_key_.assign(address.data(), address.size());
  meter_key_.push_back('/');
  meter_key_.push_back(static_cast<char>('0' + circuit));
  auto found = meter_index_.find(meter_key_);
  return found == meter_index_.end() ? nullptr : found->second;
}

void Campus::ApplyReadings(const ledger::PendingEvent& event, DeductionRecord* record) {
  auto batch = event.body.getReadingsBatch();
  auto readings = batch.getReadings();
  absl::string_view gateway_id(batch.getGatewayId().cStr(), batch.getGatewayId().size());
  auto cached = batch_meters_.find(gateway_id);
  if (cached == batch_meters_.end()) {
    cached = batch_meters_.emplace(std::string(gateway_id), std::vector<Meter*>()).first;
  }
  std::vector<Meter*>& positions = cached->second;
  if (positions.size() < readings.size()) positions.resize(readings.size(), nullptr);
  batch_charged_.clear();
  ++batch_number_;
  for (unsigned i = 0; i < readings.size(); ++i) {
    auto reading = readings[i];
    capnp::Text::Reader address_text = reading.getMeterAddress();
    absl::string_view address(address_text.cStr(), address_text.size());
    uint8_t circuit = reading.getCircuit();
    // A meter's address and circuit are its key in meters_ and never change,
    // so a remembered meter that matches is the one the lookup would find.
    Meter* found = positions[i];
    if (found == nullptr || found->circuit != circuit || found->address != address) {
      found = FindMeterLocked(address, circuit);
      positions[i] = found;
    }
    if (found == nullptr || found->retired) {
      if (record != nullptr) {
        record->anomalies.push_back({std::string(address), circuit,
                                     schema::AnomalyKind::UNKNOWN_METER, 0, reading.getTotalWh(), 0,
                                     0});
      }
      continue;
    }
    Meter& meter = *found;
    int64_t read_at = reading.getReadAtUs();
    if (read_at > event.appended_at_us + kReadingClockSkewMaxUs) {
      if (record != nullptr) {
        record->anomalies.push_back({std::string(address), circuit,
                                     schema::AnomalyKind::FUTURE_READING, meter.last_wh,
                                     reading.getTotalWh(), 0, 0});
      }
      continue;
    }
    // Readings at or before the baseline were already counted (a resent
    // batch, a restarted collector): they change nothing.
    if (read_at <= meter.last_read_at_us) continue;
    int64_t elapsed = read_at - meter.last_read_at_us;
    int64_t from = meter.last_wh;
    int64_t to = reading.getTotalWh();
    int64_t max_wh = MaxPlausibleWh(meter, elapsed);
    int64_t delta = to - from;
    schema::AnomalyKind kind = schema::AnomalyKind::NEGATIVE_DELTA;
    bool anomalous = false;
    if (delta < 0) {
      int64_t across_rollover = kRegisterModulusWh - from + to;
      if (across_rollover <= max_wh) {
        delta = across_rollover;
      } else {
        anomalous = true;
      }
    } else if (delta > max_wh) {
      kind = schema::AnomalyKind::IMPLAUSIBLE_DELTA;
      anomalous = true;
    }
    meter.last_wh = to;
    meter.last_read_at_us = read_at;
    MarkDirty(meter);
    if (anomalous) {
      if (record != nullptr) {
        record->anomalies.push_back(
            {std::string(address), circuit, kind, from, to, elapsed, max_wh});
      }
      continue;
    }
    if (delta == 0) continue;
    if (meter.room == nullptr) meter.room = &rooms_.at(meter.room_id);
    Room& room = *meter.room;
    const TariffVersion* tariff = ReadingTariffLocked(room, read_at);
    Charge charge;
    if (tariff == nullptr) {
      if (record != nullptr) {
        record->anomalies.push_back({std::string(address), circuit, schema::AnomalyKind::NO_TARIFF,
                                     from, to, elapsed, max_wh});
      }
      charge.charged_wh = delta;
      charge.remainder_after = room.remainder;
      charge.month_energy_after_wh = room.month_energy_wh + delta;
      charge.allowance_left_after_wh = room.allowance_left_wh;
    } else {
      charge = ChargeEnergy(*tariff, delta, room.month_energy_wh, room.allowance_left_wh,
                            room.remainder);
    }
    room.remainder = charge.remainder_after;
    room.month_energy_wh = charge.month_energy_after_wh;
    room.allowance_left_wh = charge.allowance_left_after_wh;
    room.energy_wh += delta;
    room.balance_fen -= charge.amount_fen;
    room.deductions_fen += charge.amount_fen;
    if (charge.amount_fen != 0 && room.charged_in_batch != batch_number_) {
      room.charged_in_batch = batch_number_;
      batch_charged_.push_back(&room);
    }
    MarkDirty(room);
    CheckInvariant(room);
    if (record != nullptr) {
      record->lines.push_back(
          {room.room_id, std::string(address), circuit, from, to, delta, charge, room.balance_fen});
    }
  }
}

std::string Campus::DeriveDeductions(const ledger::PendingEvent& event) {
  if (event.outputs == ledger::ApplyOutputs::kStateOnly) {
    ApplyReadings(event, nullptr);
    return {};
  }
  DeductionRecord record;
  ApplyReadings(event, &record);
  const auto& lines = record.lines;
  const auto& anomalies = record.anomalies;

  // One segment of about the event's size (a line is 11 words and two texts).
  capnp::MallocMessageBuilder message(
      static_cast<unsigned>(64 + 16 * lines.size() + 12 * anomalies.size()));
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("deductions/", event.seq));
  body.setIssuedAtUs(event.appended_at_us);
  body.setStream(event.body.getStream());
  auto applied = body.initDeductionsApplied();
  applied.setSourceSeq(event.seq);
  auto deductions = applied.initDeductions(static_cast<unsigned>(lines.size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    auto out = deductions[i];
    out.setRoomId(line.room_id);
    out.setMeterAddress(line.address);
    out.setCircuit(line.circuit);
    out.setFromWh(line.from_wh);
    out.setToWh(line.to_wh);
    out.setEnergyWh(line.energy_wh);
    out.setFreeWh(line.charge.free_wh);
    out.setChargedWh(line.charge.charged_wh);
    out.setAmountFen(line.charge.amount_fen);
    out.setBalanceAfterFen(line.balance_after_fen);
    out.setRemainderAfter(line.charge.remainder_after);
  }
  auto list = applied.initAnomalies(static_cast<unsigned>(anomalies.size()));
  for (size_t i = 0; i < anomalies.size(); ++i) {
    const auto& anomaly = anomalies[i];
    list[i].setMeterAddress(anomaly.address);
    list[i].setCircuit(anomaly.circuit);
    list[i].setKind(anomaly.kind);
    list[i].setFromWh(anomaly.from_wh);
    list[i].setToWh(anomaly.to_wh);
    list[i].setElapsedUs(anomaly.elapsed_us);
    list[i].setMaxPlausibleWh(anomaly.max_wh);
  }
  return ledger::Canonical(body.asReader());
}

}  // namespace wattledger::projections
