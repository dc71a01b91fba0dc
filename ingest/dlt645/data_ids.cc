// The DI table of values.h (FindDataId, CheckValueSize, ValueToJson), apart
// from the format codecs so the table reads as one list.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/frame.h"
#include "ingest/dlt645/parameters.h"
#include "ingest/dlt645/values.h"

namespace wattledger::ingest::dlt645 {
namespace {

enum class Kind {
  kEnergy,
  kEnergySigned,
  kVoltage,
  kCurrent,
  kPower,
  kPowerFactor,
  kFrequency,
  kAmount,
  kDate,
  kTime,
  kAddress,
  kStatus3,
  kPowerLimit,
  kPowerFactorThreshold,
  kMinutes,
  kSchedulePeriod,
  kSnapshot,
  kSelfTrip,
};

struct Entry {
  DataIdInfo info;
  Kind kind;
  size_t item_bytes;  // == info.value_bytes, or the size of one item of a block
};

constexpr Entry kEntries[] = {
    {{kCombinedActiveEnergy, "combined_active_energy", "Wh", 4, false}, Kind::kEnergySigned, 4},
    {{kForwardActiveEnergy, "forward_active_energy", "Wh", 4, false}, Kind::kEnergy, 4},
    {{kForwardActiveEnergyBlock, "forward_active_energy_block", "Wh", 20, false}, Kind::kEnergy, 4},
    {{kReverseActiveEnergy, "reverse_active_energy", "Wh", 4, false}, Kind::kEnergy, 4},
    {{kCombinedReactive1Energy, "combined_reactive1_energy", "varh", 4, false},
     Kind::kEnergySigned,
     4},
    {{kCombinedReactive2Energy, "combined_reactive2_energy", "varh", 4, false},
     Kind::kEnergySigned,
     4},
    {{kVoltageA, "voltage_a", "dV", 2, false}, Kind::kVoltage, 2},
    {{0x02010200, "voltage_b", "dV", 2, false}, Kind::kVoltage, 2},
    {{0x02010300, "voltage_c", "dV", 2, false}, Kind::kVoltage, 2},
    {{kVoltageBlock, "voltage_block", "dV", 6, false}, Kind::kVoltage, 2},
    {{kCurrentA, "current_a", "mA", 3, false}, Kind::kCurrent, 3},
    {{0x02020200, "current_b", "mA", 3, false}, Kind::kCurrent, 3},
    {{0x02020300, "current_c", "mA", 3, false}, Kind::kCurrent, 3},
    {{0x0202FF00, "current_block", "mA", 9, false}, Kind::kCurrent, 3},
    {{kActivePower, "active_power", "W", 3, false}, Kind::kPower, 3},
    {{0x02030100, "active_power_a", "W", 3, false}, Kind::kPower, 3},
    {{0x02030200, "active_power_b", "W", 3, false}, Kind::kPower, 3},
    {{0x02030300, "active_power_c", "W", 3, false}, Kind::kPower, 3},
    {{kActivePowerBlock, "active_power_block", "W", 12, false}, Kind::kPower, 3},
    {{kPowerFactor, "power_factor", "0.001", 2, false}, Kind::kPowerFactor, 2},
    {{kFrequency, "frequency", "0.01Hz", 2, false}, Kind::kFrequency, 2},
    {{kRemainingAmount, "remaining_amount", "fen", 4, false}, Kind::kAmount, 4},
    {{kOverdraftAmount, "overdraft_amount", "fen", 4, false}, Kind::kAmount, 4},
    {{kDate, "date", "", 4, false}, Kind::kDate, 4},
    {{kTime, "time", "", 3, false}, Kind::kTime, 3},
    {{kCommunicationAddress, "communication_address", "", 6, false}, Kind::kAddress, 6},
    {{kRunStatusWord3, "run_status_word_3", "", 2, false}, Kind::kStatus3, 2},
    {{kReadingSnapshot, "reading_snapshot", "", kReadingSnapshotBytes, false},
     Kind::kSnapshot,
     kReadingSnapshotBytes},
};
// Keyed by circuit 1's DI; SelfTripCircuit() resolves the others.
constexpr Entry kSelfTripEntry = {
    {kLastSelfTrip, "last_self_trip", "", kSelfTripRecordBytes, false},
    Kind::kSelfTrip,
    kSelfTripRecordBytes};

// Parameters, keyed by the circuit-1 DI (ParameterDataId of circuit 1, period 1).
struct ParameterEntry {
  Parameter parameter;
  Entry entry;
};
constexpr ParameterEntry kParameterEntries[] = {
    {Parameter::kLoadLimit, {{0x04000E01, "load_limit", "W", 3, true}, Kind::kPowerLimit, 3}},
    {Parameter::kMaliciousLoadPower,
     {{0x04A00201, "malicious_load_power", "W", 3, true}, Kind::kPowerLimit, 3}},
    {Parameter::kMaliciousLoadPowerFactor,
     {{0x04A00301, "malicious_load_power_factor", "0.001", 2, true},
      Kind::kPowerFactorThreshold,
      2}},
    {Parameter::kRecoveryDelay,
     {{0x04A00401, "recovery_delay", "min", 2, true}, Kind::kMinutes, 2}},
    {Parameter::kOverdraftLimit,
     {{0x04001003, "overdraft_limit", "fen", 4, true}, Kind::kAmount, 4}},
    {Parameter::kWorkdayPeriod,
     {{0x04A10101, "workday_period", "", 6, true}, Kind::kSchedulePeriod, 6}},
    {Parameter::kHolidayPeriod,
     {{0x04A20101, "holiday_period", "", 6, true}, Kind::kSchedulePeriod, 6}},
};
constexpr Entry kWorkdayBlock = {
    {0x04A1FF01, "workday_schedule", "", 48, false}, Kind::kSchedulePeriod, 6};
constexpr Entry kHolidayBlock = {
    {0x04A2FF01, "holiday_schedule", "", 48, false}, Kind::kSchedulePeriod, 6};

struct Found {
  const Entry* entry = nullptr;
  int circuit = 1;
  int period = 0;
};

Found Find(DataId id) {
  CircuitDataIdParts parts = ResolveCircuit(id);
  for (const Entry& entry : kEntries) {
    if (entry.info.id == parts.standard) return {&entry, parts.circuit, 0};
  }
  if (std::optional<int> circuit = SelfTripCircuit(id)) return {&kSelfTripEntry, *circuit, 0};
  if (auto parameter = ResolveParameter(id); parameter.ok()) {
    for (const ParameterEntry& candidate : kParameterEntries) {
      if (candidate.parameter == parameter->parameter) {
        return {&candidate.entry, parameter->circuit, parameter->period};
      }
    }
  }
  for (int circuit = 1; circuit <= kCircuitsMax; ++circuit) {
    if (id == *ScheduleBlockDataId(Parameter::kWorkdayPeriod, circuit)) {
      return {&kWorkdayBlock, circuit, 0};
    }
    if (id == *ScheduleBlockDataId(Parameter::kHolidayPeriod, circuit)) {
      return {&kHolidayBlock, circuit, 0};
    }
  }
  return {};
}

std::string Quote(absl::string_view text) { return absl::StrCat("\"", text, "\""); }

// One item of `kind` as a JSON value.
absl::StatusOr<std::string> ItemToJson(Kind kind, absl::Span<const uint8_t> bytes) {
  auto number = [](auto value) -> absl::StatusOr<std::string> {
    if (!value.ok()) return value.status();
    return absl::StrCat(*value);
  };
  switch (kind) {
    case Kind::kEnergy:
      return number(DecodeEnergyWh(bytes, false));
    case Kind::kEnergySigned:
      return number(DecodeEnergyWh(bytes, true));
    case Kind::kVoltage:
      return number(DecodeVoltageDv(bytes));
    case Kind::kCurrent:
      return number(DecodeCurrentMa(bytes));
    case Kind::kPower:
      return number(DecodePowerW(bytes));
    case Kind::kPowerFactor:
      return number(DecodePowerFactorMilli(bytes));
    case Kind::kFrequency:
      return number(DecodeFrequencyCentiHz(bytes));
    case Kind::kAmount:
      return number(DecodeAmountFen(bytes));
    case Kind::kPowerLimit:
      return number(DecodeScalarParameter(Parameter::kLoadLimit, bytes));
    case Kind::kPowerFactorThreshold:
      return number(DecodeScalarParameter(Parameter::kMaliciousLoadPowerFactor, bytes));
    case Kind::kMinutes:
      return number(DecodeScalarParameter(Parameter::kRecoveryDelay, bytes));
    case Kind::kDate: {
      auto date = DecodeDate(bytes);
      if (!date.ok()) return date.status();
      return Quote(FormatDateTime(*date).substr(0, 10));
    }
    case Kind::kTime: {
      auto time = DecodeTime(bytes);
      if (!time.ok()) return time.status();
      return Quote(FormatDateTime(*time).substr(11));
    }
    case Kind::kAddress: {
      auto address = Address::FromWire(bytes);
      if (!address.ok()) return address.status();
      return Quote(address->ToString());
    }
    case Kind::kStatus3: {
      auto status = DecodeRunStatus3(bytes);
      if (!status.ok()) return status.status();
      auto flag = [](bool on) { return on ? "true" : "false"; };
      uint8_t raw[2] = {static_cast<uint8_t>(status->raw >> 8),
                        static_cast<uint8_t>(status->raw & 0xFF)};
      return absl::StrCat("{\"relay_open\":", flag(status->relay_open),
                          ",\"relay_command_open\":", flag(status->relay_command_open),
                          ",\"pre_trip_alarm\":", flag(status->pre_trip_alarm),
                          ",\"keep_power\":", flag(status->keep_power), ",\"raw\":\"", ToHex(raw),
                          "\"}");
    }
    case Kind::kSnapshot: {
      auto snapshot = DecodeReadingSnapshot(bytes);
      if (!snapshot.ok()) return snapshot.status();
      return absl::StrCat(
          "{\"energy_wh\":", snapshot->energy_wh, ",\"voltage_dv\":", snapshot->voltage_dv,
          ",\"current_ma\":", snapshot->current_ma, ",\"power_w\":", snapshot->power_w,
          ",\"power_factor_milli\":", snapshot->power_factor_milli,
          ",\"relay_open\":", snapshot->status.relay_open ? "true" : "false",
          ",\"keep_power\":", snapshot->status.keep_power ? "true" : "false", "}");
    }
    case Kind::kSelfTrip: {
      auto record = DecodeSelfTripRecord(bytes);
      if (!record.ok()) return record.status();
      std::string at = record->at.has_value() ? Quote(FormatDateTime(*record->at)) : "null";
      return absl::StrCat("{\"reason\":\"", SelfTripReasonName(record->reason), "\",\"at\":", at,
                          ",\"power_before_w\":", record->power_before_w,
                          ",\"power_w\":", record->power_w,
                          ",\"power_factor_milli\":", record->power_factor_milli,
                          ",\"trip_count\":", record->trip_count, "}");
    }
    case Kind::kSchedulePeriod: {
      auto period = DecodeSchedulePeriod(bytes);
      if (!period.ok()) return period.status();
      char start[8];
      std::snprintf(start, sizeof(start), "%02d:%02d", period->hour, period->minute);
      return absl::StrCat("{\"start\":\"", start, "\",\"action\":\"",
                          ScheduleActionName(period->action),
                          "\",\"night_power_w\":", period->night_power_w, "}");
    }
  }
  return MakeError(Error::kUnknownDataId, "no format");
}

}  // namespace

const DataIdInfo* FindDataId(DataId id) {
  const Entry* entry = Find(id).entry;
  return entry == nullptr ? nullptr : &entry->info;
}

absl::Status CheckValueSize(DataId id, size_t value_bytes) {
  const Entry* entry = Find(id).entry;
  if (entry == nullptr) return absl::OkStatus();
  bool block = entry->item_bytes != entry->info.value_bytes;
  bool ok = block ? value_bytes > 0 && value_bytes % entry->item_bytes == 0 &&
                        value_bytes <= kDataBytesMax
                  : value_bytes == entry->info.value_bytes;
  if (ok) return absl::OkStatus();
  return MakeError(Error::kBadLength,
                   absl::StrCat(DataIdToString(id), " (", entry->info.name, ") value has ",
                                value_bytes, " bytes, expected ",
                                block ? absl::StrCat("a multiple of ", entry->item_bytes)
                                      : absl::StrCat(entry->info.value_bytes)));
}

absl::StatusOr<std::string> ValueToJson(DataId id, absl::Span<const uint8_t> bytes) {
  Found found = Find(id);
  if (found.entry == nullptr) {
    return MakeError(Error::kUnknownDataId, absl::StrCat(DataIdToString(id), " is not known"));
  }
  if (absl::Status size = CheckValueSize(id, bytes.size()); !size.ok()) return size;
  const Entry& entry = *found.entry;
  std::string value;
  if (entry.item_bytes == entry.info.value_bytes) {
    auto item = ItemToJson(entry.kind, bytes);
    if (!item.ok()) return item.status();
    value = *item;
  } else {
    std::vector<std::string> items;
    for (size_t at = 0; at < bytes.size(); at += entry.item_bytes) {
      auto item = ItemToJson(entry.kind, bytes.subspan(at, entry.item_bytes));
      if (!item.ok()) return item.status();
      items.push_back(*item);
    }
    value = absl::StrCat("[", absl::StrJoin(items, ","), "]");
  }
  std::string out = absl::StrCat("{\"di\":\"", DataIdToString(id), "\",\"name\":\"",
                                 entry.info.name, "\",\"circuit\":", found.circuit);
  if (found.period != 0) absl::StrAppend(&out, ",\"period\":", found.period);
  if (!entry.info.unit.empty()) absl::StrAppend(&out, ",\"unit\":\"", entry.info.unit, "\"");
  absl::StrAppend(&out, ",\"value\":", value, "}");
  return out;
}

}  // namespace wattledger::ingest::dlt645
