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

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// The most energy a circuit can pass: rated current x nominal voltage x time.
int64_t MaxPlausibleWh(const Meter& meter, int64_t elapsed_us) {
  int64_t watts = meter.rated_current_ma * meter.nominal_voltage_dv / 10'000;
  return static_cast<int64_t>(static_cast<__int128>(watts) * elapsed_us / 3'600'000'000LL) +
         kPlausibilitySlackWh;
}

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

}  // namespace

std::string Campus::DeriveDeductions(const ledger::PendingEvent& event) {
  auto batch = event.body.getReadingsBatch();
  std::vector<Line> lines;
  std::vector<Anomaly> anomalies;
  for (auto reading : batch.getReadings()) {
    std::string address = Str(reading.getMeterAddress());
    uint8_t circuit = reading.getCircuit();
    meter_key_.assign(address).push_back('/');
    meter_key_.push_back(static_cast<char>('0' + circuit));
    auto found = circuit <= 9 ? meters_.find(meter_key_) : meters_.end();
    if (found == meters_.end() || found->second.retired) {
      anomalies.push_back(
          {address, circuit, schema::AnomalyKind::UNKNOWN_METER, 0, reading.getTotalWh(), 0, 0});
      continue;
    }
    Meter& meter = found->second;
    int64_t read_at = reading.getReadAtUs();
    if (read_at > event.appended_at_us + kReadingClockSkewMaxUs) {
      anomalies.push_back({address, circuit, schema::AnomalyKind::FUTURE_READING,
                           found->second.last_wh, reading.getTotalWh(), 0, 0});
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
      anomalies.push_back({address, circuit, kind, from, to, elapsed, max_wh});
      continue;
    }
    if (delta == 0) continue;
    if (meter.room == nullptr) meter.room = &rooms_.at(meter.room_id);
    Room& room = *meter.room;
    const TariffVersion* tariff = RoomTariffLocked(room, read_at);
    Charge charge;
    if (tariff == nullptr) {
      anomalies.push_back(
          {address, circuit, schema::AnomalyKind::NO_TARIFF, from, to, elapsed, max_wh});
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
    MarkDirty(room);
    CheckInvariant(room);
    lines.push_back({room.room_id, address, circuit, from, to, delta, charge, room.balance_fen});
  }

  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("deductions/", event.seq));
  body.setIssuedAtUs(event.appended_at_us);
  body.setStream(event.body.getStream());
  auto applied = body.initDeductionsApplied();
  applied.setSourceSeq(event.seq);
  auto deductions = applied.initDeductions(static_cast<unsigned>(lines.size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
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
    const Anomaly& anomaly = anomalies[i];
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
