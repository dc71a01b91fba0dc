// The parameters wattledger sets on dormitory meters — load limit, malicious-
// load thresholds, daily on/off periods, automatic recovery delay, overdraft
// limit — mapped to data identifiers (the table in README.md is the contract)
// with typed encode/decode of their value bytes. Used by the gateway to build
// write (0x14) requests and by the meter simulator to apply them. Pure functions.
//
// Where DL/T 645-2007 defines an identifier it is used for circuit 1
// (04000E01 forward active power upper limit, 04001003 overdraft amount
// limit); everything else is in the vendor range 0x04A0xxxx..0x04A2xxxx:
//
//   04A0 pp cc   scalar parameter pp on circuit cc (01..04)
//   04A1 nn cc   workday on/off period nn (01..08) on circuit cc; nn = FF: all 8 (read only)
//   04A2 nn cc   holiday on/off period, likewise
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ingest/dlt645/values.h"

namespace wattledger::ingest::dlt645 {

enum class Parameter : uint8_t {
  kLoadLimit = 1,           // W, XX.XXXX kW (3 bytes)
  kMaliciousLoadPower = 2,  // W, XX.XXXX kW (3 bytes): resistive jump above this trips
  kMaliciousLoadPowerFactor =
      3,                // thousandths, X.XXX (2 bytes, 0..1000): loads above it count as resistive
  kRecoveryDelay = 4,   // minutes 0..255, XXXX (2 bytes); 0 = no automatic recovery
  kOverdraftLimit = 5,  // fen, XXXXXX.XX CNY (4 bytes)
  kWorkdayPeriod = 0x11,  // SchedulePeriod (6 bytes)
  kHolidayPeriod = 0x12,  // SchedulePeriod (6 bytes)
};
// "load-limit", "malicious-load-power", "malicious-load-power-factor",
// "recovery-delay", "overdraft-limit", "workday-period", "holiday-period".
absl::string_view ParameterName(Parameter parameter);
absl::StatusOr<Parameter> ParseParameter(absl::string_view name);  // kBadValue

inline constexpr int kSchedulePeriodsMax = 8;

struct ParameterId {
  Parameter parameter = Parameter::kLoadLimit;
  int circuit = 1;  // 1..kCircuitsMax
  int period = 0;   // 1..kSchedulePeriodsMax for the period parameters, else 0
  friend bool operator==(const ParameterId&, const ParameterId&) = default;
};
// kBadValue for a circuit or period out of range.
absl::StatusOr<DataId> ParameterDataId(const ParameterId& id);
// The block DI (04A1FFcc / 04A2FFcc) reading all 8 periods of a table.
absl::StatusOr<DataId> ScheduleBlockDataId(Parameter table, int circuit);
// Inverse of ParameterDataId(); kUnknownDataId for any other DI (blocks too).
absl::StatusOr<ParameterId> ResolveParameter(DataId id);

// Scalar parameters (all but the periods) as one integer in the unit above.
// kBadValue out of range, kWrongFunction for a period parameter.
absl::StatusOr<std::vector<uint8_t>> EncodeScalarParameter(Parameter parameter, int64_t value);
absl::StatusOr<int64_t> DecodeScalarParameter(Parameter parameter, absl::Span<const uint8_t> bytes);

enum class ScheduleAction : uint8_t {
  kUnused = 0,  // empty slot, ignored by the meter
  kOff = 1,     // open the relay at the start time
  kOn = 2,      // close (normal supply)
  kNight = 3,   // supply limited to night_power_w
};
// "unused", "off", "on", "night".
absl::string_view ScheduleActionName(ScheduleAction action);
absl::StatusOr<ScheduleAction> ParseScheduleAction(absl::string_view name);

// One on/off period: from hour:minute until the next used period's start.
// Wire (6 bytes): mm hh AA LL LL LL — BCD minute, hour, action, then the night
// power limit XX.XXXX kW (zero unless kNight).
struct SchedulePeriod {
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  ScheduleAction action = ScheduleAction::kUnused;
  int32_t night_power_w = 0;  // > 0 only with kNight
  friend bool operator==(const SchedulePeriod&, const SchedulePeriod&) = default;
};
inline constexpr size_t kSchedulePeriodBytes = 6;
absl::StatusOr<std::vector<uint8_t>> EncodeSchedulePeriod(const SchedulePeriod& period);
absl::StatusOr<SchedulePeriod> DecodeSchedulePeriod(absl::Span<const uint8_t> bytes);
// "hh:mm,action[,night_w]" ("23:30,night,300", "07:00,on"), for tools.
absl::StatusOr<SchedulePeriod> ParseSchedulePeriod(absl::string_view text);
// The 48-byte block reply of ScheduleBlockDataId().
absl::StatusOr<std::vector<SchedulePeriod>> DecodeScheduleBlock(absl::Span<const uint8_t> bytes);

}  // namespace wattledger::ingest::dlt645
