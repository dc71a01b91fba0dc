#include "ingest/dlt645/parameters.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ingest/dlt645/error.h"

namespace wattledger::ingest::dlt645 {
namespace {

// Identifiers the standard defines for circuit 1.
constexpr DataId kLoadLimitStandard = 0x04000E01;       // forward active power upper limit
constexpr DataId kOverdraftLimitStandard = 0x04001003;  // overdraft amount limit
// Vendor range (README.md): 04A0ppcc scalars, 04A1nncc / 04A2nncc periods.
constexpr DataId kScalarBase = 0x04A00000;
constexpr DataId kWorkdayBase = 0x04A10000;
constexpr DataId kHolidayBase = 0x04A20000;
constexpr uint8_t kBlockPeriod = 0xFF;
constexpr int32_t kRecoveryDelayMinutesMax = 255;

struct ParameterNameEntry {
  Parameter parameter;
  absl::string_view name;
};
constexpr ParameterNameEntry kParameterNames[] = {
    {Parameter::kLoadLimit, "load-limit"},
    {Parameter::kMaliciousLoadPower, "malicious-load-power"},
    {Parameter::kMaliciousLoadPowerFactor, "malicious-load-power-factor"},
    {Parameter::kRecoveryDelay, "recovery-delay"},
    {Parameter::kOverdraftLimit, "overdraft-limit"},
    {Parameter::kWorkdayPeriod, "workday-period"},
    {Parameter::kHolidayPeriod, "holiday-period"},
};

struct ActionName {
  ScheduleAction action;
  absl::string_view name;
};
constexpr ActionName kActionNames[] = {
    {ScheduleAction::kUnused, "unused"},
    {ScheduleAction::kOff, "off"},
    {ScheduleAction::kOn, "on"},
    {ScheduleAction::kNight, "night"},
};

bool IsPeriod(Parameter parameter) {
  return parameter == Parameter::kWorkdayPeriod || parameter == Parameter::kHolidayPeriod;
}

bool KnownParameter(uint8_t number) {
  return std::any_of(std::begin(kParameterNames), std::end(kParameterNames),
                     [number](const ParameterNameEntry& entry) {
                       return static_cast<uint8_t>(entry.parameter) == number;
                     });
}

absl::Status CheckCircuit(int circuit) {
  if (circuit >= 1 && circuit <= kCircuitsMax) return absl::OkStatus();
  return MakeError(Error::kBadValue, absl::StrCat("circuit ", circuit, " is outside 1..4"));
}

absl::Status NotScalar(Parameter parameter) {
  return MakeError(Error::kWrongFunction,
                   absl::StrCat(ParameterName(parameter), " is a period, not a number"));
}

}  // namespace

absl::string_view ParameterName(Parameter parameter) {
  for (const auto& entry : kParameterNames) {
    if (entry.parameter == parameter) return entry.name;
  }
  return "unknown";
}

absl::StatusOr<Parameter> ParseParameter(absl::string_view name) {
  for (const auto& entry : kParameterNames) {
    if (entry.name == name) return entry.parameter;
  }
  return MakeError(Error::kBadValue, absl::StrCat("no parameter \"", name, "\""));
}

absl::StatusOr<DataId> ParameterDataId(const ParameterId& id) {
  if (absl::Status ok = CheckCircuit(id.circuit); !ok.ok()) return ok;
  if (!KnownParameter(static_cast<uint8_t>(id.parameter))) {
    return MakeError(Error::kBadValue, "unknown parameter");
  }
  const auto circuit = static_cast<DataId>(id.circuit);
  if (IsPeriod(id.parameter)) {
    if (id.period < 1 || id.period > kSchedulePeriodsMax) {
      return MakeError(Error::kBadValue, absl::StrCat("period ", id.period, " is outside 1..8"));
    }
    DataId base = id.parameter == Parameter::kWorkdayPeriod ? kWorkdayBase : kHolidayBase;
    return base | static_cast<DataId>(id.period) << 8 | circuit;
  }
  if (id.period != 0) return MakeError(Error::kBadValue, "only schedules have periods");
  if (id.circuit == 1 && id.parameter == Parameter::kLoadLimit) return kLoadLimitStandard;
  if (id.circuit == 1 && id.parameter == Parameter::kOverdraftLimit) return kOverdraftLimitStandard;
  return kScalarBase | static_cast<DataId>(id.parameter) << 8 | circuit;
}

absl::StatusOr<DataId> ScheduleBlockDataId(Parameter table, int circuit) {
  if (absl::Status ok = CheckCircuit(circuit); !ok.ok()) return ok;
  if (!IsPeriod(table)) return NotScalar(table);
  DataId base = table == Parameter::kWorkdayPeriod ? kWorkdayBase : kHolidayBase;
  return base | DataId{kBlockPeriod} << 8 | static_cast<DataId>(circuit);
}

absl::StatusOr<ParameterId> ResolveParameter(DataId id) {
  if (id == kLoadLimitStandard) return ParameterId{Parameter::kLoadLimit, 1, 0};
  if (id == kOverdraftLimitStandard) return ParameterId{Parameter::kOverdraftLimit, 1, 0};
  const int circuit = static_cast<int>(id & 0xFF);
  const auto middle = static_cast<uint8_t>((id >> 8) & 0xFF);
  const DataId base = id & 0xFFFF0000;
  auto unknown = [id] {
    return MakeError(Error::kUnknownDataId, absl::StrCat(DataIdToString(id), " is no parameter"));
  };
  if (circuit < 1 || circuit > kCircuitsMax) return unknown();
  if (base == kWorkdayBase || base == kHolidayBase) {
    if (middle < 1 || middle > kSchedulePeriodsMax) return unknown();
    return ParameterId{base == kWorkdayBase ? Parameter::kWorkdayPeriod : Parameter::kHolidayPeriod,
                       circuit, middle};
  }
  if (base != kScalarBase || !KnownParameter(middle)) return unknown();
  auto parameter = static_cast<Parameter>(middle);
  if (IsPeriod(parameter)) return unknown();
  // Circuit 1 of the parameters the standard defines uses the standard DI only.
  if (circuit == 1 &&
      (parameter == Parameter::kLoadLimit || parameter == Parameter::kOverdraftLimit)) {
    return unknown();
  }
  return ParameterId{parameter, circuit, 0};
}

absl::StatusOr<std::vector<uint8_t>> EncodeScalarParameter(Parameter parameter, int64_t value) {
  auto out_of_range = [&](int64_t max) {
    return MakeError(Error::kBadValue,
                     absl::StrCat(ParameterName(parameter), " ", value, " is outside 0..", max));
  };
  switch (parameter) {
    case Parameter::kLoadLimit:
    case Parameter::kMaliciousLoadPower: {
      int64_t max = BcdMagnitudeMax(3, false) / 10;
      if (value < 0 || value > max) return out_of_range(max);
      return EncodePowerLimitW(static_cast<int32_t>(value));
    }
    case Parameter::kMaliciousLoadPowerFactor:
      if (value < 0 || value > 1000) return out_of_range(1000);
      return EncodeBcd(value, 2, false);
    case Parameter::kRecoveryDelay:
      if (value < 0 || value > kRecoveryDelayMinutesMax) return out_of_range(255);
      return EncodeBcd(value, 2, false);
    case Parameter::kOverdraftLimit:
      return EncodeAmountFen(value);
    case Parameter::kWorkdayPeriod:
    case Parameter::kHolidayPeriod:
      break;
  }
  return NotScalar(parameter);
}

absl::StatusOr<int64_t> DecodeScalarParameter(Parameter parameter,
                                              absl::Span<const uint8_t> bytes) {
  auto sized = [&](size_t expected) -> absl::StatusOr<int64_t> {
    if (bytes.size() != expected) {
      return MakeError(Error::kBadLength, absl::StrCat(ParameterName(parameter), " takes ",
                                                       expected, " bytes, not ", bytes.size()));
    }
    return DecodeBcd(bytes, false);
  };
  auto at_most = [&](absl::StatusOr<int64_t> value, int64_t max) -> absl::StatusOr<int64_t> {
    if (value.ok() && *value > max) {
      return MakeError(Error::kBadValue,
                       absl::StrCat(ParameterName(parameter), " ", *value, " exceeds ", max));
    }
    return value;
  };
  switch (parameter) {
    case Parameter::kLoadLimit:
    case Parameter::kMaliciousLoadPower: {
      auto power_w = DecodePowerLimitW(bytes);
      if (!power_w.ok()) return power_w.status();
      return int64_t{*power_w};
    }
    case Parameter::kMaliciousLoadPowerFactor:
      return at_most(sized(2), 1000);
    case Parameter::kRecoveryDelay:
      return at_most(sized(2), kRecoveryDelayMinutesMax);
    case Parameter::kOverdraftLimit:
      return DecodeAmountFen(bytes);
    case Parameter::kWorkdayPeriod:
    case Parameter::kHolidayPeriod:
      break;
  }
  return NotScalar(parameter);
}

absl::string_view ScheduleActionName(ScheduleAction action) {
  for (const auto& entry : kActionNames) {
    if (entry.action == action) return entry.name;
  }
  return "unknown";
}

absl::StatusOr<ScheduleAction> ParseScheduleAction(absl::string_view name) {
  for (const auto& entry : kActionNames) {
    if (entry.name == name) return entry.action;
  }
  return MakeError(Error::kBadValue, absl::StrCat("no schedule action \"", name, "\""));
}

absl::StatusOr<std::vector<uint8_t>> EncodeSchedulePeriod(const SchedulePeriod& period) {
  if (period.hour < 0 || period.hour > 23 || period.minute < 0 || period.minute > 59) {
    return MakeError(Error::kBadValue,
                     absl::StrCat("start ", period.hour, ":", period.minute, " is no time of day"));
  }
  bool night = period.action == ScheduleAction::kNight;
  if (ScheduleActionName(period.action) == "unknown" || (night && period.night_power_w <= 0) ||
      (!night && period.night_power_w != 0)) {
    return MakeError(Error::kBadValue,
                     "a period is unused/off/on with no limit, or night with a limit above 0 W");
  }
  auto limit = EncodePowerLimitW(period.night_power_w);
  if (!limit.ok()) return limit.status();
  auto minute = EncodeBcd(period.minute, 1, false);
  auto hour = EncodeBcd(period.hour, 1, false);
  auto action = EncodeBcd(static_cast<int64_t>(period.action), 1, false);
  std::vector<uint8_t> out = {(*minute)[0], (*hour)[0], (*action)[0]};
  out.insert(out.end(), limit->begin(), limit->end());
  return out;
}

absl::StatusOr<SchedulePeriod> DecodeSchedulePeriod(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kSchedulePeriodBytes) {
    return MakeError(Error::kBadLength, absl::StrCat("a period takes 6 bytes, not ", bytes.size()));
  }
  auto minute = DecodeBcd(bytes.subspan(0, 1), false);
  auto hour = DecodeBcd(bytes.subspan(1, 1), false);
  auto action = DecodeBcd(bytes.subspan(2, 1), false);
  auto limit = DecodePowerLimitW(bytes.subspan(3, 3));
  for (const absl::Status& status :
       {minute.status(), hour.status(), action.status(), limit.status()}) {
    if (!status.ok()) return status;
  }
  SchedulePeriod period{.hour = static_cast<int>(*hour),
                        .minute = static_cast<int>(*minute),
                        .action = static_cast<ScheduleAction>(*action),
                        .night_power_w = *limit};
  // Re-encoding applies every range rule in one place.
  if (auto valid = EncodeSchedulePeriod(period); !valid.ok()) return valid.status();
  return period;
}

absl::StatusOr<SchedulePeriod> ParseSchedulePeriod(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  auto bad = [&] {
    return MakeError(Error::kBadValue,
                     absl::StrCat("period \"", text, "\" is not hh:mm,action[,night_w]"));
  };
  if (parts.size() < 2 || parts.size() > 3 || parts[0].size() != 5 || parts[0][2] != ':') {
    return bad();
  }
  SchedulePeriod period;
  auto action = ParseScheduleAction(parts[1]);
  if (!action.ok()) return action.status();
  period.action = *action;
  if (!absl::SimpleAtoi(parts[0].substr(0, 2), &period.hour) ||
      !absl::SimpleAtoi(parts[0].substr(3, 2), &period.minute) ||
      (parts.size() == 3 && !absl::SimpleAtoi(parts[2], &period.night_power_w))) {
    return bad();
  }
  if (auto valid = EncodeSchedulePeriod(period); !valid.ok()) return valid.status();
  return period;
}

absl::StatusOr<std::vector<SchedulePeriod>> DecodeScheduleBlock(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kSchedulePeriodBytes * kSchedulePeriodsMax) {
    return MakeError(Error::kBadLength,
                     absl::StrCat("a schedule block takes 48 bytes, not ", bytes.size()));
  }
  std::vector<SchedulePeriod> out;
  for (size_t i = 0; i < kSchedulePeriodsMax; ++i) {
    auto period =
        DecodeSchedulePeriod(bytes.subspan(i * kSchedulePeriodBytes, kSchedulePeriodBytes));
    if (!period.ok()) return period.status();
    out.push_back(*period);
  }
  return out;
}

}  // namespace wattledger::ingest::dlt645
