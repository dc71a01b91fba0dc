#include "ingest/dlt645/values.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ingest/dlt645/error.h"

namespace wattledger::ingest::dlt645 {
namespace {

constexpr size_t kBcdBytesMax = 8;  // 16 digits fit an int64_t

absl::Status ExpectBytes(absl::Span<const uint8_t> bytes, size_t expected, absl::string_view what) {
  if (bytes.size() == expected) return absl::OkStatus();
  return MakeError(Error::kBadLength,
                   absl::StrCat(what, " takes ", expected, " bytes, not ", bytes.size()));
}

// Shared shape of every scalar format: fixed size, BCD, optional sign, a range.
absl::StatusOr<int64_t> DecodeScalar(absl::Span<const uint8_t> bytes, size_t size, bool is_signed,
                                     absl::string_view what) {
  if (absl::Status size_ok = ExpectBytes(bytes, size, what); !size_ok.ok()) return size_ok;
  return DecodeBcd(bytes, is_signed);
}

absl::StatusOr<std::vector<uint8_t>> EncodeScalar(int64_t value, int64_t min, int64_t max,
                                                  size_t size, bool is_signed,
                                                  absl::string_view what) {
  if (value < min || value > max) {
    return MakeError(Error::kBadValue,
                     absl::StrCat(what, " ", value, " is outside ", min, "..", max));
  }
  return EncodeBcd(value, size, is_signed);
}

// Tenths (of a W) to whole units, half away from zero.
int64_t RoundTenths(int64_t tenths) { return (tenths + (tenths >= 0 ? 5 : -5)) / 10; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) return 29;
  return kDays[month - 1];
}

absl::Status CheckDateTime(const DateTime& time) {
  bool ok = time.year >= 2000 && time.year <= 2099 && time.month >= 1 && time.month <= 12 &&
            time.day >= 1 && time.hour >= 0 && time.hour <= 23 && time.minute >= 0 &&
            time.minute <= 59 && time.second >= 0 && time.second <= 59;
  if (ok) ok = time.day <= DaysInMonth(time.year, time.month);
  if (ok) return absl::OkStatus();
  return MakeError(Error::kBadValue, absl::StrCat("no such time: ", FormatDateTime(time)));
}

absl::StatusOr<int> DecodeBcdByte(uint8_t byte) {
  auto value = DecodeBcd({&byte, 1}, false);
  if (!value.ok()) return value.status();
  return static_cast<int>(*value);
}

uint8_t EncodeBcdByte(int value) {
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

// Decodes `bytes` as BCD bytes into `out`, in order.
absl::Status DecodeBcdBytes(absl::Span<const uint8_t> bytes, absl::Span<int> out) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto value = DecodeBcdByte(bytes[i]);
    if (!value.ok()) return value.status();
    out[i] = *value;
  }
  return absl::OkStatus();
}

struct CircuitItem {
  DataId standard;
  uint8_t item;
};
constexpr CircuitItem kCircuitItems[] = {
    {kForwardActiveEnergy, 0x01},
    {kCombinedActiveEnergy, 0x02},
    {kActivePower, 0x03},
    {kCurrentA, 0x04},
    {kPowerFactor, 0x05},
    {kRunStatusWord3, 0x06},
    {kVoltageA, 0x07},
    {kReadingSnapshot, 0x08},
};
constexpr DataId kCircuitBase = 0x04C00000;

}  // namespace

absl::StatusOr<DataId> DecodeDataId(absl::Span<const uint8_t> bytes) {
  if (bytes.size() < 4) {
    return MakeError(Error::kBadLength, absl::StrCat("a DI takes 4 bytes, only ", bytes.size()));
  }
  return static_cast<DataId>(bytes[0]) | static_cast<DataId>(bytes[1]) << 8 |
         static_cast<DataId>(bytes[2]) << 16 | static_cast<DataId>(bytes[3]) << 24;
}

std::array<uint8_t, 4> EncodeDataId(DataId id) {
  return {static_cast<uint8_t>(id), static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id >> 16),
          static_cast<uint8_t>(id >> 24)};
}

std::string DataIdToString(DataId id) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08X", id);
  return text;
}

absl::StatusOr<DataId> ParseDataId(absl::string_view hex8) {
  uint32_t id = 0;
  bool ok = hex8.size() == 8;
  for (char c : hex8) {
    int digit = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) ok = false;
    id = id << 4 | static_cast<uint32_t>(digit & 0xF);
  }
  if (!ok) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("a DI is 8 hex digits (00010000), not \"", hex8, "\""));
  }
  return id;
}

absl::StatusOr<int64_t> DecodeBcd(absl::Span<const uint8_t> bytes, bool is_signed) {
  if (bytes.empty() || bytes.size() > kBcdBytesMax) {
    return MakeError(Error::kBadLength, absl::StrCat("BCD of ", bytes.size(), " bytes"));
  }
  int64_t value = 0;
  bool negative = false;
  for (size_t i = bytes.size(); i-- > 0;) {
    uint8_t byte = bytes[i];
    if (is_signed && i == bytes.size() - 1) {
      negative = (byte & 0x80) != 0;
      byte &= 0x7F;
    }
    if ((byte >> 4) > 9 || (byte & 0x0F) > 9) {
      return MakeError(Error::kBadBcd, absl::StrCat("byte ", i, " is not BCD"));
    }
    value = value * 100 + (byte >> 4) * 10 + (byte & 0x0F);
  }
  return negative ? -value : value;
}

int64_t BcdMagnitudeMax(size_t bytes, bool is_signed) {
  int64_t power = 1;
  for (size_t i = 0; i + 1 < 2 * bytes; ++i) power *= 10;  // 10^(2n-1)
  return is_signed ? 8 * power - 1 : 10 * power - 1;
}

absl::StatusOr<std::vector<uint8_t>> EncodeBcd(int64_t value, size_t bytes, bool is_signed) {
  if (bytes == 0 || bytes > kBcdBytesMax) {
    return MakeError(Error::kBadLength, absl::StrCat("BCD of ", bytes, " bytes"));
  }
  if (value < 0 && !is_signed) {
    return MakeError(Error::kBadValue, absl::StrCat(value, " is negative in an unsigned format"));
  }
  // -INT64_MIN overflows; every format is far smaller, so bound first.
  int64_t max = BcdMagnitudeMax(bytes, is_signed);
  if (value > max || value < -max) {
    return MakeError(Error::kBadValue,
                     absl::StrCat(value, " does not fit ", bytes, " BCD bytes (max ", max, ")"));
  }
  int64_t magnitude = value < 0 ? -value : value;
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    out[i] = EncodeBcdByte(static_cast<int>(magnitude % 100));
    magnitude /= 100;
  }
  if (value < 0) out.back() |= 0x80;
  return out;
}

absl::StatusOr<int64_t> DecodeEnergyWh(absl::Span<const uint8_t> bytes, bool is_signed) {
  auto steps = DecodeScalar(bytes, 4, is_signed, "energy");
  if (!steps.ok()) return steps.status();
  return *steps * 10;
}

absl::StatusOr<std::vector<uint8_t>> EncodeEnergyWh(int64_t energy_wh, bool is_signed) {
  int64_t max = BcdMagnitudeMax(4, is_signed);
  return EncodeScalar(energy_wh / 10, is_signed ? -max : 0, max, 4, is_signed, "energy (10 Wh)");
}

absl::StatusOr<int32_t> DecodeVoltageDv(absl::Span<const uint8_t> bytes) {
  auto value = DecodeScalar(bytes, 2, false, "voltage");
  if (!value.ok()) return value.status();
  return static_cast<int32_t>(*value);
}

absl::StatusOr<std::vector<uint8_t>> EncodeVoltageDv(int32_t voltage_dv) {
  return EncodeScalar(voltage_dv, 0, BcdMagnitudeMax(2, false), 2, false, "voltage_dv");
}

absl::StatusOr<int32_t> DecodeCurrentMa(absl::Span<const uint8_t> bytes) {
  auto value = DecodeScalar(bytes, 3, true, "current");
  if (!value.ok()) return value.status();
  return static_cast<int32_t>(*value);
}

absl::StatusOr<std::vector<uint8_t>> EncodeCurrentMa(int32_t current_ma) {
  int64_t max = BcdMagnitudeMax(3, true);
  return EncodeScalar(current_ma, -max, max, 3, true, "current_ma");
}

absl::StatusOr<int32_t> DecodePowerW(absl::Span<const uint8_t> bytes) {
  auto tenths = DecodeScalar(bytes, 3, true, "power");
  if (!tenths.ok()) return tenths.status();
  return static_cast<int32_t>(RoundTenths(*tenths));
}

absl::StatusOr<std::vector<uint8_t>> EncodePowerW(int32_t power_w) {
  int64_t max = BcdMagnitudeMax(3, true) / 10;
  if (power_w < -max || power_w > max) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("power_w ", power_w, " is outside ", -max, "..", max));
  }
  return EncodeBcd(int64_t{power_w} * 10, 3, true);
}

absl::StatusOr<int32_t> DecodePowerLimitW(absl::Span<const uint8_t> bytes) {
  auto tenths = DecodeScalar(bytes, 3, false, "power limit");
  if (!tenths.ok()) return tenths.status();
  return static_cast<int32_t>(RoundTenths(*tenths));
}

absl::StatusOr<std::vector<uint8_t>> EncodePowerLimitW(int32_t power_w) {
  int64_t max = BcdMagnitudeMax(3, false) / 10;
  if (power_w < 0 || power_w > max) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("power limit ", power_w, " W is outside 0..", max));
  }
  return EncodeBcd(int64_t{power_w} * 10, 3, false);
}

absl::StatusOr<int32_t> DecodePowerFactorMilli(absl::Span<const uint8_t> bytes) {
  auto value = DecodeScalar(bytes, 2, true, "power factor");
  if (!value.ok()) return value.status();
  if (*value < -1000 || *value > 1000) {
    return MakeError(Error::kBadValue, absl::StrCat("power factor ", *value, "/1000 exceeds 1"));
  }
  return static_cast<int32_t>(*value);
}

absl::StatusOr<std::vector<uint8_t>> EncodePowerFactorMilli(int32_t power_factor_milli) {
  return EncodeScalar(power_factor_milli, -1000, 1000, 2, true, "power_factor_milli");
}

absl::StatusOr<int32_t> DecodeFrequencyCentiHz(absl::Span<const uint8_t> bytes) {
  auto value = DecodeScalar(bytes, 2, false, "frequency");
  if (!value.ok()) return value.status();
  return static_cast<int32_t>(*value);
}

absl::StatusOr<std::vector<uint8_t>> EncodeFrequencyCentiHz(int32_t frequency_centihz) {
  return EncodeScalar(frequency_centihz, 0, BcdMagnitudeMax(2, false), 2, false,
                      "frequency_centihz");
}

absl::StatusOr<int64_t> DecodeAmountFen(absl::Span<const uint8_t> bytes) {
  return DecodeScalar(bytes, 4, false, "amount");
}

absl::StatusOr<std::vector<uint8_t>> EncodeAmountFen(int64_t amount_fen) {
  return EncodeScalar(amount_fen, 0, BcdMagnitudeMax(4, false), 4, false, "amount_fen");
}

absl::StatusOr<DateTime> ParseDateTime(absl::string_view text) {
  // YYYY-MM-DDThh:mm:ss
  auto bad = [&] {
    return MakeError(Error::kBadValue,
                     absl::StrCat("time \"", text, "\" is not YYYY-MM-DDThh:mm:ss"));
  };
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
    return bad();
  }
  auto field = [&](size_t at, size_t size, int& out) {
    absl::string_view digits = text.substr(at, size);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    return absl::SimpleAtoi(digits, &out);
  };
  DateTime time;
  if (!field(0, 4, time.year) || !field(5, 2, time.month) || !field(8, 2, time.day) ||
      !field(11, 2, time.hour) || !field(14, 2, time.minute) || !field(17, 2, time.second)) {
    return bad();
  }
  if (absl::Status checked = CheckDateTime(time); !checked.ok()) return checked;
  return time;
}

std::string FormatDateTime(const DateTime& time) {
  char text[48];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d", time.year, time.month,
                time.day, time.hour, time.minute, time.second);
  return text;
}

int DayOfWeek(int year, int month, int day) {
  static constexpr int kOffsets[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (month < 3) year -= 1;
  return (year + year / 4 - year / 100 + year / 400 + kOffsets[month - 1] + day) % 7;
}

absl::StatusOr<DateTime> DecodeDateTime6(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, 6, "date-time"); !size.ok()) return size;
  int fields[6];
  if (absl::Status bcd = DecodeBcdBytes(bytes, fields); !bcd.ok()) return bcd;
  DateTime time{.year = 2000 + fields[5],
                .month = fields[4],
                .day = fields[3],
                .hour = fields[2],
                .minute = fields[1],
                .second = fields[0]};
  if (absl::Status checked = CheckDateTime(time); !checked.ok()) return checked;
  return time;
}

absl::StatusOr<std::array<uint8_t, 6>> EncodeDateTime6(const DateTime& time) {
  if (absl::Status checked = CheckDateTime(time); !checked.ok()) return checked;
  return std::array<uint8_t, 6>{EncodeBcdByte(time.second), EncodeBcdByte(time.minute),
                                EncodeBcdByte(time.hour),   EncodeBcdByte(time.day),
                                EncodeBcdByte(time.month),  EncodeBcdByte(time.year - 2000)};
}

absl::StatusOr<DateTime> DecodeDate(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, 4, "date"); !size.ok()) return size;
  int fields[4];
  if (absl::Status bcd = DecodeBcdBytes(bytes, fields); !bcd.ok()) return bcd;
  if (fields[0] > 6) return MakeError(Error::kBadValue, absl::StrCat("weekday ", fields[0]));
  DateTime date{.year = 2000 + fields[3],
                .month = fields[2],
                .day = fields[1],
                .hour = 0,
                .minute = 0,
                .second = 0};
  if (absl::Status checked = CheckDateTime(date); !checked.ok()) return checked;
  return date;
}

absl::StatusOr<std::array<uint8_t, 4>> EncodeDate(const DateTime& date) {
  if (absl::Status checked = CheckDateTime(date); !checked.ok()) return checked;
  return std::array<uint8_t, 4>{EncodeBcdByte(DayOfWeek(date.year, date.month, date.day)),
                                EncodeBcdByte(date.day), EncodeBcdByte(date.month),
                                EncodeBcdByte(date.year - 2000)};
}

absl::StatusOr<DateTime> DecodeTime(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, 3, "time"); !size.ok()) return size;
  int fields[3];
  if (absl::Status bcd = DecodeBcdBytes(bytes, fields); !bcd.ok()) return bcd;
  DateTime time{.year = 2000,
                .month = 1,
                .day = 1,
                .hour = fields[2],
                .minute = fields[1],
                .second = fields[0]};
  if (absl::Status checked = CheckDateTime(time); !checked.ok()) return checked;
  return time;
}

absl::StatusOr<std::array<uint8_t, 3>> EncodeTime(const DateTime& time) {
  if (absl::Status checked = CheckDateTime(time); !checked.ok()) return checked;
  return std::array<uint8_t, 3>{EncodeBcdByte(time.second), EncodeBcdByte(time.minute),
                                EncodeBcdByte(time.hour)};
}

absl::StatusOr<RunStatus3> DecodeRunStatus3(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, 2, "run status word 3"); !size.ok()) return size;
  uint16_t raw = static_cast<uint16_t>(bytes[0] | bytes[1] << 8);
  return RunStatus3{.relay_open = (raw & kStatus3RelayOpenBit) != 0,
                    .relay_command_open = (raw & kStatus3RelayCommandBit) != 0,
                    .pre_trip_alarm = (raw & kStatus3PreTripAlarmBit) != 0,
                    .keep_power = (raw & kStatus3KeepPowerBit) != 0,
                    .raw = raw};
}

std::array<uint8_t, 2> EncodeRunStatus3(const RunStatus3& status) {
  uint16_t raw = status.raw;
  auto set = [&raw](uint16_t bit, bool on) {
    raw = static_cast<uint16_t>(on ? (raw | bit) : (raw & ~bit));
  };
  set(kStatus3RelayOpenBit, status.relay_open);
  set(kStatus3RelayCommandBit, status.relay_command_open);
  set(kStatus3PreTripAlarmBit, status.pre_trip_alarm);
  set(kStatus3KeepPowerBit, status.keep_power);
  return {static_cast<uint8_t>(raw & 0xFF), static_cast<uint8_t>(raw >> 8)};
}

absl::StatusOr<ReadingSnapshot> DecodeReadingSnapshot(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, kReadingSnapshotBytes, "reading snapshot");
      !size.ok()) {
    return size;
  }
  ReadingSnapshot snapshot;
  auto energy = DecodeEnergyWh(bytes.subspan(0, 4), false);
  if (!energy.ok()) return energy.status();
  auto voltage = DecodeVoltageDv(bytes.subspan(4, 2));
  if (!voltage.ok()) return voltage.status();
  auto current = DecodeCurrentMa(bytes.subspan(6, 3));
  if (!current.ok()) return current.status();
  auto power = DecodePowerW(bytes.subspan(9, 3));
  if (!power.ok()) return power.status();
  auto factor = DecodePowerFactorMilli(bytes.subspan(12, 2));
  if (!factor.ok()) return factor.status();
  auto status = DecodeRunStatus3(bytes.subspan(14, 2));
  if (!status.ok()) return status.status();
  snapshot.energy_wh = *energy;
  snapshot.voltage_dv = *voltage;
  snapshot.current_ma = *current;
  snapshot.power_w = *power;
  snapshot.power_factor_milli = *factor;
  snapshot.status = *status;
  return snapshot;
}

absl::StatusOr<std::vector<uint8_t>> EncodeReadingSnapshot(const ReadingSnapshot& snapshot) {
  std::vector<uint8_t> out;
  out.reserve(kReadingSnapshotBytes);
  for (auto part : {EncodeEnergyWh(snapshot.energy_wh, false), EncodeVoltageDv(snapshot.voltage_dv),
                    EncodeCurrentMa(snapshot.current_ma), EncodePowerW(snapshot.power_w),
                    EncodePowerFactorMilli(snapshot.power_factor_milli)}) {
    if (!part.ok()) return part.status();
    out.insert(out.end(), part->begin(), part->end());
  }
  std::array<uint8_t, 2> status = EncodeRunStatus3(snapshot.status);
  out.insert(out.end(), status.begin(), status.end());
  return out;
}

absl::string_view SelfTripReasonName(SelfTripReason reason) {
  switch (reason) {
    case SelfTripReason::kNone:
      return "none";
    case SelfTripReason::kLoadLimit:
      return "load_limit";
    case SelfTripReason::kMaliciousLoad:
      return "malicious_load";
    case SelfTripReason::kScheduleOff:
      return "schedule_off";
    case SelfTripReason::kNightLimit:
      return "night_limit";
  }
  return "unknown";
}

absl::StatusOr<SelfTripRecord> DecodeSelfTripRecord(absl::Span<const uint8_t> bytes) {
  if (absl::Status size = ExpectBytes(bytes, kSelfTripRecordBytes, "self-trip record");
      !size.ok()) {
    return size;
  }
  auto reason = DecodeBcdByte(bytes[0]);
  if (!reason.ok()) return reason.status();
  if (*reason > kSelfTripReasonMax) {
    return MakeError(Error::kBadValue, absl::StrCat("self-trip reason ", *reason));
  }
  SelfTripRecord record;
  record.reason = static_cast<SelfTripReason>(*reason);
  absl::Span<const uint8_t> time = bytes.subspan(1, 6);
  const bool no_time = std::all_of(time.begin(), time.end(), [](uint8_t b) { return b == 0; });
  if (record.reason != SelfTripReason::kNone) {
    if (no_time) return MakeError(Error::kBadValue, "a self-trip record without a time");
    auto at = DecodeDateTime6(time);
    if (!at.ok()) return at.status();
    record.at = *at;
  } else if (!no_time) {
    return MakeError(Error::kBadValue, "a time in a record of no self-trip");
  }
  auto before = DecodePowerW(bytes.subspan(7, 3));
  if (!before.ok()) return before.status();
  auto power = DecodePowerW(bytes.subspan(10, 3));
  if (!power.ok()) return power.status();
  auto factor = DecodePowerFactorMilli(bytes.subspan(13, 2));
  if (!factor.ok()) return factor.status();
  auto count = DecodeBcd(bytes.subspan(15, 4), false);
  if (!count.ok()) return count.status();
  record.power_before_w = *before;
  record.power_w = *power;
  record.power_factor_milli = *factor;
  record.trip_count = static_cast<uint32_t>(*count);
  return record;
}

absl::StatusOr<std::vector<uint8_t>> EncodeSelfTripRecord(const SelfTripRecord& record) {
  if (static_cast<uint8_t>(record.reason) > kSelfTripReasonMax) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("self-trip reason ", static_cast<int>(record.reason)));
  }
  if (record.at.has_value() != (record.reason != SelfTripReason::kNone)) {
    return MakeError(Error::kBadValue,
                     "a self-trip record has a time exactly when it has a reason");
  }
  std::vector<uint8_t> out;
  out.reserve(kSelfTripRecordBytes);
  out.push_back(static_cast<uint8_t>(record.reason));  // 0..4: BCD and binary agree
  std::array<uint8_t, 6> time = {};
  if (record.at.has_value()) {
    auto encoded = EncodeDateTime6(*record.at);
    if (!encoded.ok()) return encoded.status();
    time = *encoded;
  }
  out.insert(out.end(), time.begin(), time.end());
  for (auto part :
       {EncodePowerW(record.power_before_w), EncodePowerW(record.power_w),
        EncodePowerFactorMilli(record.power_factor_milli),
        EncodeScalar(record.trip_count, 0, BcdMagnitudeMax(4, false), 4, false, "trip_count")}) {
    if (!part.ok()) return part.status();
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

absl::StatusOr<DataId> SelfTripDataId(int circuit) {
  if (circuit < 1 || circuit > kCircuitsMax) {
    return MakeError(Error::kBadValue, absl::StrCat("circuit ", circuit, " is outside 1..4"));
  }
  return (kLastSelfTrip & 0xFFFFFF00u) | static_cast<DataId>(circuit);
}

std::optional<int> SelfTripCircuit(DataId id) {
  if ((id & 0xFFFFFF00u) != (kLastSelfTrip & 0xFFFFFF00u)) return std::nullopt;
  const int circuit = static_cast<int>(id & 0xFF);
  if (circuit < 1 || circuit > kCircuitsMax) return std::nullopt;
  return circuit;
}

absl::StatusOr<DataId> CircuitDataId(DataId standard, int circuit) {
  if (circuit < 1 || circuit > kCircuitsMax) {
    return MakeError(Error::kBadValue, absl::StrCat("circuit ", circuit, " is outside 1..4"));
  }
  for (const CircuitItem& item : kCircuitItems) {
    if (item.standard != standard) continue;
    if (circuit == 1) return standard;
    return kCircuitBase | static_cast<DataId>(circuit) << 8 | item.item;
  }
  return MakeError(Error::kUnknownDataId,
                   absl::StrCat(DataIdToString(standard), " has no per-circuit identifier"));
}

CircuitDataIdParts ResolveCircuit(DataId id) {
  if ((id & 0xFFFF0000) == kCircuitBase) {
    int circuit = static_cast<int>((id >> 8) & 0xFF);
    uint8_t item_number = static_cast<uint8_t>(id & 0xFF);
    if (circuit >= 2 && circuit <= kCircuitsMax) {
      for (const CircuitItem& item : kCircuitItems) {
        if (item.item == item_number) return {.standard = item.standard, .circuit = circuit};
      }
    }
  }
  return {.standard = id, .circuit = 1};
}

}  // namespace wattledger::ingest::dlt645
