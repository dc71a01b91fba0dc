// DL/T 645-2007 data identifiers (DIs) and the BCD value formats behind them,
// converted to integer engineering units (Wh, dV, mA, W, 0.001, 0.01 Hz, fen).
// Pure functions over byte spans; `bytes` are the value bytes in wire order
// (low byte first) with 0x33 already removed, as in Frame::data after the DI.
//
// Signed formats carry the sign in the top bit of the most significant (last)
// byte; the remaining digits are BCD. Encoders return kBadValue when the value
// does not fit the format; decoders return kBadLength for a wrong byte count and
// kBadBcd for a nibble above 9.
//
// Multi-circuit meters (dual- and four-circuit, circuits 1..4 behind one
// address): the standard DIs are circuit 1; circuits 2..4 use the vendor-range
// DIs 0x04C0ccnn documented in README.md (CircuitDataId()/ResolveCircuit()).
// The meter's record of its last self-trip is the vendor DI 0x04C200cc, cc =
// circuit 01..04 (SelfTripDataId()), like the parameter DIs 04A0xxcc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wattledger::ingest::dlt645 {

// DI3 DI2 DI1 DI0 as one number (0x00010000); on the wire DI0 goes first.
using DataId = uint32_t;

inline constexpr DataId kCombinedActiveEnergy = 0x00000000;      // XXXXXX.XX kWh, signed
inline constexpr DataId kForwardActiveEnergy = 0x00010000;       // XXXXXX.XX kWh
inline constexpr DataId kForwardActiveEnergyBlock = 0x0001FF00;  // total, T1..T4: 5 x 4 bytes
inline constexpr DataId kReverseActiveEnergy = 0x00020000;       // XXXXXX.XX kWh
inline constexpr DataId kCombinedReactive1Energy = 0x00030000;   // XXXXXX.XX kvarh, signed
inline constexpr DataId kCombinedReactive2Energy = 0x00040000;   // XXXXXX.XX kvarh, signed
inline constexpr DataId kVoltageA = 0x02010100;                  // XXX.X V
inline constexpr DataId kVoltageBlock = 0x0201FF00;              // A, B, C: 3 x 2 bytes
inline constexpr DataId kCurrentA = 0x02020100;                  // XXX.XXX A, signed
inline constexpr DataId kActivePower = 0x02030000;               // XX.XXXX kW, signed
inline constexpr DataId kActivePowerBlock = 0x0203FF00;          // total, A, B, C: 4 x 3 bytes
inline constexpr DataId kPowerFactor = 0x02060000;               // X.XXX, signed
inline constexpr DataId kFrequency = 0x02800002;                 // XX.XX Hz
inline constexpr DataId kRemainingAmount = 0x00900200;           // XXXXXX.XX CNY
inline constexpr DataId kOverdraftAmount = 0x00900201;           // XXXXXX.XX CNY
inline constexpr DataId kDate = 0x04000101;                      // YYMMDDWW (wire WW DD MM YY)
inline constexpr DataId kTime = 0x04000102;                      // hhmmss (wire ss mm hh)
inline constexpr DataId kCommunicationAddress = 0x04000401;      // 6 bytes, like the frame address
inline constexpr DataId kRunStatusWord3 = 0x04000503;            // 2 bytes of bits
// Vendor range: one circuit's whole reading in one reply (see README.md).
inline constexpr DataId kReadingSnapshot = 0x04C10000;  // 16 bytes
// Vendor range: the last self-trip record of circuit 1 (circuit c: 0x04C2000c).
inline constexpr DataId kLastSelfTrip = 0x04C20001;  // 19 bytes

// Reads the DI after the function's data: 4 bytes DI0 first. kBadLength if shorter.
absl::StatusOr<DataId> DecodeDataId(absl::Span<const uint8_t> bytes);
std::array<uint8_t, 4> EncodeDataId(DataId id);
std::string DataIdToString(DataId id);  // "00010000"
absl::StatusOr<DataId> ParseDataId(absl::string_view hex8);

// ---- Generic BCD -------------------------------------------------------------

// The integer spelt by `bytes` read as BCD (low byte first), ignoring decimal
// points. With `is_signed` the top bit of the last byte is the sign.
absl::StatusOr<int64_t> DecodeBcd(absl::Span<const uint8_t> bytes, bool is_signed);
// `bytes` bytes of BCD for `value`; negative only when `is_signed`.
absl::StatusOr<std::vector<uint8_t>> EncodeBcd(int64_t value, size_t bytes, bool is_signed);
// Largest magnitude that fits: 10^(2n)-1, or 8*10^(2n-1)-1 when signed.
int64_t BcdMagnitudeMax(size_t bytes, bool is_signed);

// ---- Typed formats -------------------------------------------------------------

// Energy XXXXXX.XX kWh (4 bytes) in Wh. The register counts 10 Wh steps, so
// encoding truncates toward zero to a multiple of 10 Wh (what the register
// shows after that much energy). Range ±799 999 990 Wh signed, 0..999 999 990 unsigned.
absl::StatusOr<int64_t> DecodeEnergyWh(absl::Span<const uint8_t> bytes, bool is_signed);
absl::StatusOr<std::vector<uint8_t>> EncodeEnergyWh(int64_t energy_wh, bool is_signed);
// The same format for reactive energy, kvarh -> varh.
inline absl::StatusOr<int64_t> DecodeReactiveEnergyVarh(absl::Span<const uint8_t> bytes,
                                                        bool is_signed) {
  return DecodeEnergyWh(bytes, is_signed);
}
// Voltage XXX.X V (2 bytes, unsigned) in dV (0.1 V).
absl::StatusOr<int32_t> DecodeVoltageDv(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeVoltageDv(int32_t voltage_dv);
// Current XXX.XXX A (3 bytes, signed) in mA.
absl::StatusOr<int32_t> DecodeCurrentMa(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeCurrentMa(int32_t current_ma);
// Active power XX.XXXX kW (3 bytes, signed; resolution 0.1 W) in W, rounded
// half away from zero (0.5 W -> 1 W, -0.5 W -> -1 W). Encoding W is exact.
// (Decoding the top 0.5 W of the range yields 80000 W, one above what
// EncodePowerW accepts; likewise 100000 W for the power limits.)
absl::StatusOr<int32_t> DecodePowerW(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodePowerW(int32_t power_w);
// Unsigned power limits (parameters) XX.XXXX kW in W, same rounding.
absl::StatusOr<int32_t> DecodePowerLimitW(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodePowerLimitW(int32_t power_w);
// Power factor X.XXX (2 bytes, signed) in thousandths (-1000..1000).
absl::StatusOr<int32_t> DecodePowerFactorMilli(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodePowerFactorMilli(int32_t power_factor_milli);
// Frequency XX.XX Hz (2 bytes) in centihertz.
absl::StatusOr<int32_t> DecodeFrequencyCentiHz(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeFrequencyCentiHz(int32_t frequency_centihz);
// Money XXXXXX.XX CNY (4 bytes, unsigned) in fen.
absl::StatusOr<int64_t> DecodeAmountFen(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeAmountFen(int64_t amount_fen);

// A civil date and time as meters keep it (years 2000..2099, no zone).
struct DateTime {
  int year = 2000;  // 2000..2099
  int month = 1;    // 1..12
  int day = 1;      // 1..31 (checked against the month)
  int hour = 0;     // 0..23
  int minute = 0;   // 0..59
  int second = 0;   // 0..59
  friend bool operator==(const DateTime&, const DateTime&) = default;
};
// Parses "2026-03-01T12:00:00" or "2026-03-01 12:00:00"; kBadValue otherwise.
absl::StatusOr<DateTime> ParseDateTime(absl::string_view text);
std::string FormatDateTime(const DateTime& time);  // "2026-03-01T12:00:00"
// Day of week 0 = Sunday .. 6, as DL/T 645 writes WW.
int DayOfWeek(int year, int month, int day);

// ss mm hh DD MM YY (6 bytes): broadcast time and the control deadline.
absl::StatusOr<DateTime> DecodeDateTime6(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::array<uint8_t, 6>> EncodeDateTime6(const DateTime& time);
// 04000101 date: WW DD MM YY (4 bytes). Decoding checks nothing of WW but BCD
// and 0..6; hour/minute/second of the result are 0.
absl::StatusOr<DateTime> DecodeDate(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::array<uint8_t, 4>> EncodeDate(const DateTime& date);
// 04000102 time: ss mm hh (3 bytes); the date fields of the result are 2000-01-01.
absl::StatusOr<DateTime> DecodeTime(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::array<uint8_t, 3>> EncodeTime(const DateTime& time);

// Run status word 3 (04000503), 2 bytes low first. The named bits follow the
// field notes; `raw` keeps every bit for display and re-encoding.
struct RunStatus3 {
  bool relay_open = false;          // low byte bit 4: relay state, 1 = open (tripped)
  bool relay_command_open = false;  // low byte bit 6: relay command state, 1 = open commanded
  bool pre_trip_alarm = false;      // low byte bit 7
  bool keep_power = false;          // high byte bit 4: keep-power (保电) in force
  uint16_t raw = 0;                 // all 16 bits, low byte = first byte on the wire
};
inline constexpr uint16_t kStatus3RelayOpenBit = 1u << 4;
inline constexpr uint16_t kStatus3RelayCommandBit = 1u << 6;
inline constexpr uint16_t kStatus3PreTripAlarmBit = 1u << 7;
inline constexpr uint16_t kStatus3KeepPowerBit = 1u << 12;
absl::StatusOr<RunStatus3> DecodeRunStatus3(absl::Span<const uint8_t> bytes);
// Sets the named bits of `status.raw` from the bools; other raw bits are kept.
std::array<uint8_t, 2> EncodeRunStatus3(const RunStatus3& status);

// ---- The reading snapshot (vendor DI 04C10000) ----------------------------------

// What a poll needs from a circuit, in one reply of 16 bytes: forward active
// energy XXXXXX.XX kWh (4), voltage XXX.X V (2), current XXX.XXX A signed
// (3), active power XX.XXXX kW signed (3), power factor X.XXX signed (2), run
// status word 3 (2). Meters that lack it answer "no requested data".
struct ReadingSnapshot {
  int64_t energy_wh = 0;
  int32_t voltage_dv = 0;
  int32_t current_ma = 0;
  int32_t power_w = 0;
  int32_t power_factor_milli = 0;
  RunStatus3 status;
};
inline constexpr size_t kReadingSnapshotBytes = 16;
absl::StatusOr<ReadingSnapshot> DecodeReadingSnapshot(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeReadingSnapshot(const ReadingSnapshot& snapshot);

// ---- The last self-trip record (vendor DI 04C200cc) -----------------------------

// Why the meter opened its relay by itself. Stable numbers: the wire byte.
enum class SelfTripReason : uint8_t {
  kNone = 0,           // never tripped: every other field reads 0
  kLoadLimit = 1,      // above the load limit for the hold time
  kMaliciousLoad = 2,  // a resistive step above the malicious-load power
  kScheduleOff = 3,    // the schedule's "off" period began
  kNightLimit = 4,     // above the night power in a "night" period
};
inline constexpr uint8_t kSelfTripReasonMax = 4;
// "none", "load_limit", "malicious_load", "schedule_off", "night_limit".
absl::string_view SelfTripReasonName(SelfTripReason reason);

// What a meter keeps of its last self-trip, 19 bytes in this order: reason
// (1 byte, 0..4), time ss mm hh DD MM YY (6 bytes BCD, the meter's local
// clock, as DecodeDateTime6), power before the trip XX.XXXX kW signed (3),
// power at the trip XX.XXXX kW signed (3), power factor X.XXX signed (2; of
// the step for a malicious load, of the load otherwise), self-trips counted
// XXXXXXXX (4 bytes BCD, unsigned). A meter that never tripped answers 19
// zero bytes. `at` is set exactly when `reason` is not kNone; a record that
// says otherwise is kBadValue (encoding and decoding). Decoding: kBadLength
// for a size other than 19, kBadBcd, kBadValue for a reason above 4, an
// impossible time, a power factor above 1.
struct SelfTripRecord {
  SelfTripReason reason = SelfTripReason::kNone;
  std::optional<DateTime> at;  // meter local time of the trip
  int32_t power_before_w = 0;  // the metered load just before the trip's cause
  int32_t power_w = 0;         // the metered load at the trip
  int32_t power_factor_milli = 0;
  uint32_t trip_count = 0;  // 0..99 999 999
  friend bool operator==(const SelfTripRecord&, const SelfTripRecord&) = default;
};
inline constexpr size_t kSelfTripRecordBytes = 19;
absl::StatusOr<SelfTripRecord> DecodeSelfTripRecord(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> EncodeSelfTripRecord(const SelfTripRecord& record);
// 0x04C200cc for `circuit` 1..4; kBadValue otherwise.
absl::StatusOr<DataId> SelfTripDataId(int circuit);
// The circuit (1..4) a self-trip DI names; nullopt for any other DI.
std::optional<int> SelfTripCircuit(DataId id);

// ---- Circuits (multi-circuit meters) ------------------------------------------

inline constexpr int kCircuitsMax = 4;
// The DI that reads `standard` on `circuit` (1..4). Circuit 1: `standard`
// itself. Circuits 2..4: 0x04C0ccnn for the per-circuit items (forward and
// combined active energy, active power, current, power factor, run status
// word 3, voltage); kUnknownDataId for any other DI, kBadValue for a circuit
// outside 1..4.
absl::StatusOr<DataId> CircuitDataId(DataId standard, int circuit);
struct CircuitDataIdParts {
  DataId standard = 0;  // the standard DI whose format applies
  int circuit = 1;
};
// Inverse of CircuitDataId(): any DI maps to itself on circuit 1 unless it is
// a 0x04C0ccnn circuit DI.
CircuitDataIdParts ResolveCircuit(DataId id);

// ---- The table -----------------------------------------------------------------

// What the codec knows of a DI (after ResolveCircuit), for tools and checks.
struct DataIdInfo {
  DataId id = 0;
  absl::string_view name;  // "forward_active_energy"
  absl::string_view unit;  // unit of the decoded integer: "Wh", "dV", "mA", "W", ...
  size_t value_bytes = 0;  // exact size of the value in a read reply
  bool writable = false;   // a parameter the software writes
};
// nullptr when unknown. Also resolves circuit DIs (04C0ccnn), self-trip DIs
// (04C200cc), parameter DIs and schedule blocks; `id` of the result is then the table's circuit-1
// DI.
const DataIdInfo* FindDataId(DataId id);

// Checks the size of a read reply's value for `id`: exact for single items, a
// non-zero multiple of the item for blocks (meters differ in tariff count).
// kBadLength; OK for an unknown DI (nothing to check).
absl::Status CheckValueSize(DataId id, size_t value_bytes);

// The value of `id` as a JSON object ({"name":..,"unit":..,"value":..} or a
// block/struct), for `wattctl dlt645 decode`. kUnknownDataId, kBadLength, kBadBcd.
absl::StatusOr<std::string> ValueToJson(DataId id, absl::Span<const uint8_t> bytes);

}  // namespace wattledger::ingest::dlt645
