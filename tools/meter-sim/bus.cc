#include "tools/meter-sim/bus.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"
#include "ingest/dlt645/values.h"

namespace wattledger::meter_sim {
namespace {

using dlt645::DataId;
using dlt645::Frame;
using dlt645::Function;

// Phase and block DIs values.h has no name for.
constexpr DataId kCurrentBlock = 0x0202FF00;
constexpr DataId kActivePowerA = 0x02030100;
constexpr DataId kPowerFactorA = 0x02060100;

uint64_t AddressKey(const dlt645::Address& address) {
  uint64_t key = 0;
  for (uint8_t byte : address.bytes) key = (key << 8) | byte;
  return key;
}

// The DI's value bytes, or an abnormal error word.
struct Value {
  std::vector<uint8_t> bytes;
  uint8_t error_word = 0;  // != 0: answer abnormally with this word
};

Value Refusal(uint8_t word) { return Value{.bytes = {}, .error_word = word}; }

Value FromStatus(absl::StatusOr<std::vector<uint8_t>> bytes) {
  // A value the format cannot hold (combined energy above 799 999.99 kWh):
  // the meter has no valid answer for it.
  if (!bytes.ok()) return Refusal(dlt645::kMeterErrorOther);
  return Value{.bytes = *std::move(bytes), .error_word = 0};
}

template <size_t N>
Value FromArray(absl::StatusOr<std::array<uint8_t, N>> bytes) {
  if (!bytes.ok()) return Refusal(dlt645::kMeterErrorOther);
  return Value{.bytes = std::vector<uint8_t>(bytes->begin(), bytes->end()), .error_word = 0};
}

Value Concat(std::initializer_list<Value> parts) {
  Value out;
  for (const Value& part : parts) {
    if (part.error_word != 0) return part;
    out.bytes.insert(out.bytes.end(), part.bytes.begin(), part.bytes.end());
  }
  return out;
}

bool IsEnergyDataId(DataId standard) {
  return standard == dlt645::kForwardActiveEnergy || standard == dlt645::kCombinedActiveEnergy ||
         standard == dlt645::kForwardActiveEnergyBlock || standard == dlt645::kReadingSnapshot;
}

struct ScheduleBlock {
  dlt645::Parameter table = dlt645::Parameter::kWorkdayPeriod;
  int circuit = 1;
};

// 04A1FFcc / 04A2FFcc: all eight periods of a table.
std::optional<ScheduleBlock> FindScheduleBlock(DataId id) {
  // Every block DI is 04A1FFcc or 04A2FFcc: skip the search for anything else.
  if ((id & 0xFFFFFF00u) != 0x04A1FF00u && (id & 0xFFFFFF00u) != 0x04A2FF00u) return std::nullopt;
  for (int circuit = 1; circuit <= dlt645::kCircuitsMax; ++circuit) {
    for (dlt645::Parameter table :
         {dlt645::Parameter::kWorkdayPeriod, dlt645::Parameter::kHolidayPeriod}) {
      auto block_id = dlt645::ScheduleBlockDataId(table, circuit);
      if (block_id.ok() && *block_id == id)
        return ScheduleBlock{.table = table, .circuit = circuit};
    }
  }
  return std::nullopt;
}

Value ReadScheduleBlock(
    const std::array<dlt645::SchedulePeriod, dlt645::kSchedulePeriodsMax>& table) {
  Value value;
  for (const dlt645::SchedulePeriod& period : table) {
    value = Concat({value, FromStatus(dlt645::EncodeSchedulePeriod(period))});
  }
  return value;
}

Value ReadParameter(const MeterParameters& p, const dlt645::ParameterId& id) {
  auto scalar = [&](int64_t v) {
    return FromStatus(dlt645::EncodeScalarParameter(id.parameter, v));
  };
  switch (id.parameter) {
    case dlt645::Parameter::kLoadLimit:
      return scalar(p.load_limit_w);
    case dlt645::Parameter::kMaliciousLoadPower:
      return scalar(p.malicious_power_w);
    case dlt645::Parameter::kMaliciousLoadPowerFactor:
      return scalar(p.malicious_power_factor_milli);
    case dlt645::Parameter::kRecoveryDelay:
      return scalar(p.recovery_delay_min);
    case dlt645::Parameter::kOverdraftLimit:
      return scalar(p.overdraft_limit_fen);
    case dlt645::Parameter::kWorkdayPeriod:
      return FromStatus(dlt645::EncodeSchedulePeriod(p.workday[id.period - 1]));
    case dlt645::Parameter::kHolidayPeriod:
      return FromStatus(dlt645::EncodeSchedulePeriod(p.holiday[id.period - 1]));
  }
  return Refusal(dlt645::kMeterErrorNoData);
}

Value Energy(int64_t wh, bool is_signed) {
  return FromStatus(dlt645::EncodeEnergyWh(wh, is_signed));
}

dlt645::RunStatus3 Status3(const MeterModel& m) {
  return dlt645::RunStatus3{.relay_open = !m.relay_closed(),
                            .relay_command_open = m.remote_open(),
                            .pre_trip_alarm = m.alarm(),
                            .keep_power = m.keep_power(),
                            .raw = m.status_word3()};
}

// Energy, instantaneous values, clock, address and status of one circuit.
// Phases B and C of this single-phase meter read 0 in blocks; remaining and
// overdraft amounts (it is not a local-prepay meter) and anything else: no data.
Value ReadMeasurement(const dlt645::Address& address, const MeterModel& m, DataId standard) {
  const int64_t shown_wh = m.displayed_wh();
  switch (standard) {
    case dlt645::kForwardActiveEnergy:
      return Energy(shown_wh, false);
    case dlt645::kCombinedActiveEnergy:
      return Energy(shown_wh, true);
    case dlt645::kForwardActiveEnergyBlock:  // one tariff: total, T1 = total, T2..T4 = 0
      return Concat({Energy(shown_wh, false), Energy(shown_wh, false), Energy(0, false),
                     Energy(0, false), Energy(0, false)});
    case dlt645::kReverseActiveEnergy:
      return Energy(0, false);
    case dlt645::kCombinedReactive1Energy:
    case dlt645::kCombinedReactive2Energy:
      return Energy(0, true);
    case dlt645::kVoltageA:
      return FromStatus(dlt645::EncodeVoltageDv(m.voltage_dv()));
    case dlt645::kVoltageBlock:
      return Concat({FromStatus(dlt645::EncodeVoltageDv(m.voltage_dv())),
                     FromStatus(dlt645::EncodeVoltageDv(0)),
                     FromStatus(dlt645::EncodeVoltageDv(0))});
    case dlt645::kCurrentA:
      return FromStatus(dlt645::EncodeCurrentMa(m.current_ma()));
    case kCurrentBlock:
      return Concat({FromStatus(dlt645::EncodeCurrentMa(m.current_ma())),
                     FromStatus(dlt645::EncodeCurrentMa(0)),
                     FromStatus(dlt645::EncodeCurrentMa(0))});
    case dlt645::kActivePower:
    case kActivePowerA:
      return FromStatus(dlt645::EncodePowerW(m.power_w()));
    case dlt645::kActivePowerBlock:
      return Concat({FromStatus(dlt645::EncodePowerW(m.power_w())),
                     FromStatus(dlt645::EncodePowerW(m.power_w())),
                     FromStatus(dlt645::EncodePowerW(0)), FromStatus(dlt645::EncodePowerW(0))});
    case dlt645::kPowerFactor:
    case kPowerFactorA:
      return FromStatus(dlt645::EncodePowerFactorMilli(m.power_factor_milli()));
    case dlt645::kFrequency:
      return FromStatus(dlt645::EncodeFrequencyCentiHz(m.frequency_centihz()));
    case dlt645::kDate:
      return FromArray(dlt645::EncodeDate(DateTimeFromLocalSeconds(m.LocalSeconds())));
    case dlt645::kTime:
      return FromArray(dlt645::EncodeTime(DateTimeFromLocalSeconds(m.LocalSeconds())));
    case dlt645::kCommunicationAddress:
      return Value{.bytes = {address.bytes.begin(), address.bytes.end()}, .error_word = 0};
    case dlt645::kRunStatusWord3: {
      const std::array<uint8_t, 2> bytes = dlt645::EncodeRunStatus3(Status3(m));
      return Value{.bytes = {bytes.begin(), bytes.end()}, .error_word = 0};
    }
    case dlt645::kReadingSnapshot:
      return FromStatus(dlt645::EncodeReadingSnapshot(
          dlt645::ReadingSnapshot{.energy_wh = shown_wh,
                                  .voltage_dv = m.voltage_dv(),
                                  .current_ma = m.current_ma(),
                                  .power_w = m.power_w(),
                                  .power_factor_milli = m.power_factor_milli(),
                                  .status = Status3(m)}));
    default:
      return Refusal(dlt645::kMeterErrorNoData);
  }
}

dlt645::SelfTripReason WireReason(TripReason reason) {
  switch (reason) {
    case TripReason::kLoadLimit:
      return dlt645::SelfTripReason::kLoadLimit;
    case TripReason::kMaliciousLoad:
      return dlt645::SelfTripReason::kMaliciousLoad;
    case TripReason::kSchedule:
      return dlt645::SelfTripReason::kScheduleOff;
    case TripReason::kNightLimit:
      return dlt645::SelfTripReason::kNightLimit;
  }
  return dlt645::SelfTripReason::kNone;
}

// 04C200cc: the circuit's last self-trip as the meter recorded it (its own
// clock), and how many it has counted; 19 zero bytes if it never tripped.
Value ReadLastSelfTrip(const MeterModel& m) {
  dlt645::SelfTripRecord record;
  if (!m.recent_trips().empty()) {
    const MeterEvent& last = m.recent_trips().back();
    record =
        dlt645::SelfTripRecord{.reason = WireReason(last.reason),
                               .at = DateTimeFromLocalSeconds(last.meter_local_s),
                               .power_before_w = last.power_before_w,
                               .power_w = last.power_w,
                               .power_factor_milli = last.power_factor_milli,
                               // 8 BCD digits: the counter wraps like a register.
                               .trip_count = static_cast<uint32_t>(m.trip_count() % 100'000'000)};
  }
  return FromStatus(dlt645::EncodeSelfTripRecord(record));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Bus>> Bus::Create(std::string gateway_id, const BusOptions& options,
                                                 std::vector<DeviceConfig> devices,
                                                 EventSink sink) {
  std::unique_ptr<Bus> bus(new Bus(std::move(gateway_id), options, std::move(sink)));
  if (options.baud <= 0 || options.turnaround_ms_min < 0 ||
      options.turnaround_ms_max < options.turnaround_ms_min || options.reply_preamble_bytes > 4) {
    return absl::InvalidArgumentError("bus options out of range");
  }
  absl::MutexLock lock(&bus->mu_);
  for (DeviceConfig& config : devices) {
    auto address = dlt645::Address::Parse(config.address);
    if (!address.ok() || address->HasWildcard() || address->IsBroadcast() ||
        config.address.size() != 12) {
      return absl::InvalidArgumentError(
          absl::StrCat("meter address \"", config.address, "\" is not 12 decimal digits"));
    }
    if (config.circuits.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("meter ", config.address, " has no circuit"));
    }
    Device device{.address = *address, .address_text = config.address, .circuits = {}};
    std::sort(config.circuits.begin(), config.circuits.end(),
              [](const CircuitConfig& a, const CircuitConfig& b) { return a.circuit < b.circuit; });
    for (const CircuitConfig& circuit : config.circuits) {
      if (circuit.circuit < 1 || circuit.circuit > dlt645::kCircuitsMax ||
          (!device.circuits.empty() && device.circuits.back().circuit == circuit.circuit)) {
        return absl::InvalidArgumentError(
            absl::StrCat("meter ", config.address, ": circuit ", circuit.circuit,
                         " is repeated or outside 1..", dlt645::kCircuitsMax));
      }
      device.circuits.push_back(Circuit{.circuit = circuit.circuit,
                                        .room_id = circuit.room_id,
                                        .model = MeterModel(circuit.model),
                                        .answered_wh = -1,
                                        .answered_energy_reads = 0,
                                        .answered_at_us = 0});
    }
    if (!bus->by_address_.emplace(AddressKey(*address), bus->devices_.size()).second) {
      return absl::InvalidArgumentError(absl::StrCat("meter ", config.address, " appears twice"));
    }
    bus->devices_.push_back(std::move(device));
  }
  bus->device_count_ = bus->devices_.size();
  return bus;
}

Bus::Bus(std::string gateway_id, const BusOptions& options, EventSink sink)
    : gateway_id_(std::move(gateway_id)),
      options_(options),
      sink_(std::move(sink)),
      fault_random_(Hash({options.seed, HashString(gateway_id_), 1})),
      timing_random_(Hash({options.seed, HashString(gateway_id_), 2})) {}

int64_t Bus::TransmitUs(size_t bytes) const {
  return static_cast<int64_t>(bytes) * 11 * 1'000'000 / options_.baud;
}

int64_t Bus::TurnaroundUs() {
  absl::MutexLock lock(&mu_);
  const auto span =
      static_cast<uint64_t>(options_.turnaround_ms_max - options_.turnaround_ms_min) * 1000 + 1;
  return options_.turnaround_ms_min * int64_t{1000} +
         static_cast<int64_t>(timing_random_.Below(span));
}

bool Bus::HasMeter(const std::string& address) const {
  auto parsed = dlt645::Address::Parse(address);
  if (!parsed.ok()) return false;
  absl::MutexLock lock(&mu_);
  return by_address_.contains(AddressKey(*parsed));
}

Bus::Device* Bus::FindDevice(const dlt645::Address& address) {
  if (!address.HasWildcard()) {
    auto it = by_address_.find(AddressKey(address));
    return it == by_address_.end() ? nullptr : &devices_[it->second];
  }
  Device* found = nullptr;
  for (Device& device : devices_) {
    if (!address.Matches(device.address)) continue;
    if (found != nullptr) {
      ++stats_.collisions;
      return nullptr;
    }
    found = &device;
  }
  return found;
}

Bus::Circuit* Bus::FindCircuit(Device& device, int circuit) {
  for (Circuit& candidate : device.circuits) {
    if (candidate.circuit == circuit) return &candidate;
  }
  return nullptr;
}

void Bus::DrainEvents(Device& device, Circuit& circuit) {
  std::vector<MeterEvent> events = circuit.model.TakeEvents();
  if (!sink_) return;
  for (const MeterEvent& event : events) {
    sink_(SimEvent{.gateway = gateway_id_,
                   .address = device.address_text,
                   .circuit = circuit.circuit,
                   .event = event});
  }
}

void Bus::AdvanceDevice(Device& device, int64_t now_us) {
  for (Circuit& circuit : device.circuits) {
    circuit.model.Advance(now_us);
    DrainEvents(device, circuit);
  }
}

void Bus::AdvanceAll(int64_t now_us) {
  absl::MutexLock lock(&mu_);
  for (Device& device : devices_) AdvanceDevice(device, now_us);
}

void Bus::SetDropCommands(bool drop) {
  absl::MutexLock lock(&mu_);
  drop_commands_ = drop;
}

std::optional<Bus::Reply> Bus::Handle(const Frame& request, int64_t now_us) {
  absl::MutexLock lock(&mu_);
  ++stats_.requests;
  // Another station's reply on the line, or an echo: meters only listen to requests.
  if (request.control.reply) return std::nullopt;
  if (request.control.Is(Function::kBroadcastTime)) {
    HandleBroadcastTime(request, now_us);
    return std::nullopt;
  }
  if (request.address.IsBroadcast()) return std::nullopt;
  if (drop_commands_ &&
      (request.control.Is(Function::kWrite) || request.control.Is(Function::kRemoteControl))) {
    ++stats_.commands_dropped;
    return std::nullopt;
  }
  if (request.control.Is(Function::kReadAddress)) {
    // Everyone on the bus answers a read-address: only a lone meter is heard.
    if (!dlt645::ParseReadAddressRequest(request).ok()) return std::nullopt;
    if (devices_.size() != 1) {
      if (devices_.size() > 1) ++stats_.collisions;
      return std::nullopt;
    }
  }
  Device* device = FindDevice(request.address);
  if (device == nullptr) {
    ++stats_.no_meter;
    return std::nullopt;
  }
  AdvanceDevice(*device, now_us);
  if (!device->circuits.front().model.powered()) {
    ++stats_.unpowered;
    return std::nullopt;
  }
  std::optional<EnergyAnswer> energy;
  Frame reply = Answer(*device, request, energy);
  for (Circuit& circuit : device->circuits) DrainEvents(*device, circuit);
  return Deliver(*device, std::move(reply), energy);
}

void Bus::HandleBroadcastTime(const Frame& request, int64_t now_us) {
  ++stats_.broadcasts;
  if (!request.address.IsBroadcast()) return;
  auto time = dlt645::ParseBroadcastTimeRequest(request);
  if (!time.ok()) return;
  const int64_t target_s = LocalSecondsFromDateTime(*time);
  for (Device& device : devices_) {
    AdvanceDevice(device, now_us);
    if (!device.circuits.front().model.powered()) continue;
    const int64_t difference_s = target_s - device.circuits.front().model.LocalSeconds();
    if (options_.broadcast_time_limit_s > 0 && (difference_s > options_.broadcast_time_limit_s ||
                                                difference_s < -options_.broadcast_time_limit_s)) {
      ++stats_.time_syncs_refused;
      continue;
    }
    for (Circuit& circuit : device.circuits) {
      circuit.model.SetClockLocalSeconds(target_s);
      DrainEvents(device, circuit);
    }
  }
}

Frame Bus::Answer(Device& device, const Frame& request, std::optional<EnergyAnswer>& energy) {
  const uint8_t function = request.control.function;
  if (function == static_cast<uint8_t>(Function::kReadAddress)) {
    return dlt645::ReadAddressReplyFrame(device.address);
  }
  if (function == static_cast<uint8_t>(Function::kRead)) return AnswerRead(device, request, energy);
  if (function == static_cast<uint8_t>(Function::kWrite)) return AnswerWrite(device, request);
  if (function == static_cast<uint8_t>(Function::kRemoteControl)) {
    return AnswerControl(device, request);
  }
  // Follow-up reads (no reply here spans frames), freeze, baud rate,
  // passwords, clearing, security: not offered by this meter.
  if (function == static_cast<uint8_t>(Function::kReadFollowUp)) {
    return dlt645::AbnormalReplyFrame(device.address, Function::kReadFollowUp,
                                      dlt645::kMeterErrorNoData);
  }
  return dlt645::AbnormalReplyFrame(device.address, static_cast<Function>(function),
                                    dlt645::kMeterErrorOther);
}

Frame Bus::AnswerRead(Device& device, const Frame& request, std::optional<EnergyAnswer>& energy) {
  auto id = dlt645::ParseReadRequest(request);
  if (!id.ok()) {
    return dlt645::AbnormalReplyFrame(device.address, Function::kRead, dlt645::kMeterErrorOther);
  }
  Value value = Refusal(dlt645::kMeterErrorNoData);
  // Parameters and schedule tables carry their circuit in the DI; the
  // measurements of circuits 2..4 use the 04C0ccnn identifiers.
  std::optional<ScheduleBlock> block = FindScheduleBlock(*id);
  std::optional<int> trip_circuit = dlt645::SelfTripCircuit(*id);
  auto parameter = dlt645::ResolveParameter(*id);
  if (block) {
    if (Circuit* circuit = FindCircuit(device, block->circuit)) {
      const MeterParameters& p = circuit->model.parameters();
      value = ReadScheduleBlock(block->table == dlt645::Parameter::kWorkdayPeriod ? p.workday
                                                                                  : p.holiday);
    }
  } else if (trip_circuit) {
    if (!options_.self_trip_record) {
      value = Refusal(dlt645::kMeterErrorNoData);  // a meter without the vendor record
    } else if (Circuit* circuit = FindCircuit(device, *trip_circuit)) {
      value = ReadLastSelfTrip(circuit->model);
    }
  } else if (parameter.ok()) {
    if (Circuit* circuit = FindCircuit(device, parameter->circuit)) {
      value = ReadParameter(circuit->model.parameters(), *parameter);
    }
  } else {
    const dlt645::CircuitDataIdParts parts = dlt645::ResolveCircuit(*id);
    if (parts.standard == dlt645::kReadingSnapshot && !options_.reading_snapshot) {
      value = Refusal(dlt645::kMeterErrorNoData);  // an older meter without the vendor block
    } else if (Circuit* circuit = FindCircuit(device, parts.circuit)) {
      value = ReadMeasurement(device.address, circuit->model, parts.standard);
      if (value.error_word == 0 && IsEnergyDataId(parts.standard)) {
        energy = EnergyAnswer{.circuit = circuit, .wh = circuit->model.displayed_wh()};
      }
    }
  }
  if (value.error_word != 0) {
    return dlt645::AbnormalReplyFrame(device.address, Function::kRead, value.error_word);
  }
  auto reply = dlt645::ReadReplyFrame(device.address, *id, value.bytes);
  if (!reply.ok()) {
    energy.reset();
    return dlt645::AbnormalReplyFrame(device.address, Function::kRead, dlt645::kMeterErrorOther);
  }
  return *std::move(reply);
}

Frame Bus::AnswerWrite(Device& device, const Frame& request) {
  auto abnormal = [&](uint8_t word) {
    return dlt645::AbnormalReplyFrame(device.address, Function::kWrite, word);
  };
  auto fields = dlt645::ParseWriteRequest(request);
  if (!fields.ok()) return abnormal(dlt645::kMeterErrorOther);
  if (fields->credentials.password != options_.password) {
    return abnormal(dlt645::kMeterErrorPassword);
  }
  if (fields->id == dlt645::kDate || fields->id == dlt645::kTime) {
    Circuit& first = device.circuits.front();
    dlt645::DateTime now = DateTimeFromLocalSeconds(first.model.LocalSeconds());
    if (fields->id == dlt645::kDate) {
      auto date = dlt645::DecodeDate(fields->value);
      if (!date.ok()) return abnormal(dlt645::kMeterErrorOther);
      now.year = date->year;
      now.month = date->month;
      now.day = date->day;
    } else {
      auto time = dlt645::DecodeTime(fields->value);
      if (!time.ok()) return abnormal(dlt645::kMeterErrorOther);
      now.hour = time->hour;
      now.minute = time->minute;
      now.second = time->second;
    }
    for (Circuit& circuit : device.circuits) {
      circuit.model.SetClockLocalSeconds(LocalSecondsFromDateTime(now));
    }
    return dlt645::AckReplyFrame(device.address, Function::kWrite);
  }
  auto parameter = dlt645::ResolveParameter(fields->id);
  if (!parameter.ok()) return abnormal(dlt645::kMeterErrorNoData);
  Circuit* circuit = FindCircuit(device, parameter->circuit);
  if (circuit == nullptr) return abnormal(dlt645::kMeterErrorNoData);
  MeterParameters p = circuit->model.parameters();
  if (parameter->parameter == dlt645::Parameter::kWorkdayPeriod ||
      parameter->parameter == dlt645::Parameter::kHolidayPeriod) {
    auto period = dlt645::DecodeSchedulePeriod(fields->value);
    if (!period.ok()) return abnormal(dlt645::kMeterErrorOther);
    auto& table = parameter->parameter == dlt645::Parameter::kWorkdayPeriod ? p.workday : p.holiday;
    table[parameter->period - 1] = *period;
  } else {
    auto decoded = dlt645::DecodeScalarParameter(parameter->parameter, fields->value);
    if (!decoded.ok()) return abnormal(dlt645::kMeterErrorOther);
    const int64_t v = *decoded;
    switch (parameter->parameter) {
      case dlt645::Parameter::kLoadLimit:
        p.load_limit_w = static_cast<int32_t>(v);
        break;
      case dlt645::Parameter::kMaliciousLoadPower:
        p.malicious_power_w = static_cast<int32_t>(v);
        break;
      case dlt645::Parameter::kMaliciousLoadPowerFactor:
        p.malicious_power_factor_milli = static_cast<int32_t>(v);
        break;
      case dlt645::Parameter::kRecoveryDelay:
        if (v < 0 || v > kRecoveryDelayMinutesMax) return abnormal(dlt645::kMeterErrorOther);
        p.recovery_delay_min = static_cast<int32_t>(v);
        break;
      case dlt645::Parameter::kOverdraftLimit:
        p.overdraft_limit_fen = v;
        break;
      case dlt645::Parameter::kWorkdayPeriod:
      case dlt645::Parameter::kHolidayPeriod:
        break;
    }
  }
  circuit->model.SetParameters(p);
  return dlt645::AckReplyFrame(device.address, Function::kWrite);
}

Frame Bus::AnswerControl(Device& device, const Frame& request) {
  auto abnormal = [&](uint8_t word) {
    return dlt645::AbnormalReplyFrame(device.address, Function::kRemoteControl, word);
  };
  auto command = dlt645::ParseRemoteControlRequest(request);
  if (!command.ok()) return abnormal(dlt645::kMeterErrorOther);
  if (command->credentials.password != options_.password) {
    return abnormal(dlt645::kMeterErrorPassword);
  }
  // Simulator convention for multi-circuit meters (the standard has none):
  // N2 = 02..04 addresses that circuit, FF every circuit, anything else circuit 1.
  const uint8_t n2 = request.data[9];
  const int64_t deadline_s = LocalSecondsFromDateTime(command->valid_until);
  bool any = false;
  for (Circuit& circuit : device.circuits) {
    const bool selected = n2 == 0xFF || circuit.circuit == ((n2 >= 2 && n2 <= 4) ? n2 : 1);
    if (!selected) continue;
    any = true;
    const ControlOutcome outcome = circuit.model.Control(command->action, deadline_s);
    if (outcome != ControlOutcome::kDone) return abnormal(dlt645::kMeterErrorOther);
  }
  if (!any) return abnormal(dlt645::kMeterErrorNoData);
  ++stats_.remote_controls;
  return dlt645::AckReplyFrame(device.address, Function::kRemoteControl);
}

std::optional<Bus::Reply> Bus::Deliver(const Device& device, Frame reply,
                                       const std::optional<EnergyAnswer>& energy) {
  if (reply.control.abnormal) ++stats_.abnormal_replies;
  const FaultOptions& faults = options_.faults;
  const uint64_t draw = fault_random_.Next();
  uint64_t u = Below(draw, 1'000'000);
  enum class Fault { kNone, kDrop, kGarble, kChecksum, kAddress } fault = Fault::kNone;
  for (auto [ppm, kind] :
       {std::pair{faults.drop_ppm, Fault::kDrop}, std::pair{faults.garble_ppm, Fault::kGarble},
        std::pair{faults.bad_checksum_ppm, Fault::kChecksum},
        std::pair{faults.wrong_address_ppm, Fault::kAddress}}) {
    if (u < ppm) {
      fault = kind;
      break;
    }
    u -= std::min<uint64_t>(u, ppm);
  }
  if (fault == Fault::kDrop) {
    ++stats_.dropped;
    return std::nullopt;
  }
  if (fault == Fault::kAddress) {
    // Another meter of this bus, or (alone on it) a neighbour's address.
    dlt645::Address other = device.address;
    if (devices_.size() > 1) {
      const size_t self = by_address_.at(AddressKey(device.address));
      const size_t pick =
          (self + 1 + Below(Hash({draw, 3}), devices_.size() - 1)) % devices_.size();
      other = devices_[pick].address;
    } else {
      // The lowest two digits plus one (BCD), 99 wrapping to 00.
      const int low = (other.bytes[0] >> 4) * 10 + (other.bytes[0] & 0x0F);
      const int next = (low + 1) % 100;
      other.bytes[0] = static_cast<uint8_t>(((next / 10) << 4) | (next % 10));
    }
    reply.address = other;
    ++stats_.wrong_address;
  }
  auto encoded = dlt645::EncodeFrame(reply, options_.reply_preamble_bytes);
  if (!encoded.ok()) return std::nullopt;  // cannot happen: Answer() builds valid frames
  Reply out{.bytes = *std::move(encoded), .delay_us = 0};
  const size_t body = options_.reply_preamble_bytes;
  if (fault == Fault::kGarble) {
    // Any byte of the frame proper: every single-byte change is detectable.
    const size_t at = body + Below(Hash({draw, 1}), out.bytes.size() - body);
    out.bytes[at] ^= static_cast<uint8_t>(1 + Below(Hash({draw, 2}), 255));
    ++stats_.garbled;
  } else if (fault == Fault::kChecksum) {
    out.bytes[out.bytes.size() - 2] = static_cast<uint8_t>(out.bytes[out.bytes.size() - 2] + 1);
    ++stats_.bad_checksum;
  }
  if (faults.delay_ppm > 0 && ChancePpm(Hash({draw, 4}), faults.delay_ppm)) {
    out.delay_us = int64_t{faults.delay_ms} * 1000;
    ++stats_.delayed;
  }
  ++stats_.replies;
  if (fault == Fault::kNone && energy) {
    energy->circuit->answered_wh = energy->wh;
    ++energy->circuit->answered_energy_reads;
    energy->circuit->answered_at_us = energy->circuit->model.now_us();
    ++stats_.energy_answers;
  }
  return out;
}

std::vector<CircuitTruth> Bus::Snapshot(int64_t now_us) {
  absl::MutexLock lock(&mu_);
  std::vector<CircuitTruth> out;
  for (Device& device : devices_) {
    AdvanceDevice(device, now_us);
    for (Circuit& circuit : device.circuits) {
      const MeterModel& m = circuit.model;
      out.push_back(CircuitTruth{.address = device.address_text,
                                 .circuit = circuit.circuit,
                                 .room_id = circuit.room_id,
                                 .register_wh = m.register_wh(),
                                 .displayed_wh = m.displayed_wh(),
                                 .consumed_wh = m.consumed_wh(),
                                 .answered_wh = circuit.answered_wh,
                                 .answered_energy_reads = circuit.answered_energy_reads,
                                 .answered_at_us = circuit.answered_at_us,
                                 .relay_closed = m.relay_closed(),
                                 .remote_open = m.remote_open(),
                                 .keep_power = m.keep_power(),
                                 .alarm = m.alarm(),
                                 .powered = m.powered(),
                                 .awaiting_user_close = m.awaiting_user_close(),
                                 .self_trip = m.self_trip(),
                                 .schedule_action = m.schedule_action(),
                                 .power_w = m.power_w(),
                                 .room_power_w = m.room_load().active_w,
                                 .meter_local_s = m.LocalSeconds(),
                                 .parameters = m.parameters(),
                                 .trip_count = m.trip_count(),
                                 .trips = {m.recent_trips().begin(), m.recent_trips().end()}});
    }
  }
  return out;
}

BusStats Bus::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status Bus::WithMeter(const std::string& address, int circuit, int64_t now_us,
                            absl::FunctionRef<void(MeterModel&)> change) {
  auto parsed = dlt645::Address::Parse(address);
  if (!parsed.ok()) return absl::NotFoundError(absl::StrCat("no meter \"", address, "\""));
  absl::MutexLock lock(&mu_);
  auto it = by_address_.find(AddressKey(*parsed));
  if (it == by_address_.end()) {
    return absl::NotFoundError(absl::StrCat("no meter ", address, " on ", gateway_id_));
  }
  Device& device = devices_[it->second];
  AdvanceDevice(device, now_us);
  bool any = false;
  for (Circuit& c : device.circuits) {
    if (circuit != 0 && c.circuit != circuit) continue;
    any = true;
    change(c.model);
    DrainEvents(device, c);
  }
  if (!any)
    return absl::NotFoundError(absl::StrCat("meter ", address, " has no circuit ", circuit));
  return absl::OkStatus();
}

}  // namespace wattledger::meter_sim
