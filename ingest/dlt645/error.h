// The DL/T 645-2007 codec's typed errors. Every failure of the codec is an
// absl::Status whose payload carries one `Error` value, so callers (the
// gateway's counters, the meter simulator) switch on ErrorOf(status) and never
// on message text. The numbers are stable: they may be logged and counted.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wattledger::ingest::dlt645 {

enum class Error : uint8_t {
  kNone = 0,            // the status is OK (or was not made by this codec)
  kTruncated = 1,       // the bytes end, or a later frame starts, before the frame does
  kBadStart = 2,        // no 68 where a frame must start, or the second 68 is missing
  kBadLength = 3,       // L over the limit, or the data does not fit the function/DI
  kBadChecksum = 4,     // CS is not the sum of 68 .. data mod 256
  kBadEnd = 5,          // the byte after CS is not 16
  kBadBcd = 6,          // a nibble above 9 where BCD digits belong
  kBadValue = 7,        // digits in range but the value is not (month 13, N1 0x55, too large)
  kWrongAddress = 8,    // a reply from another meter than the request was sent to
  kWrongFunction = 9,   // wrong direction or function for what was expected
  kWrongDataId = 10,    // a read/write reply naming another DI than the request
  kAbnormalReply = 11,  // the meter answered with D6 set; see MeterErrorWordOf()
  kUnknownDataId = 12,  // the DI is not in this codec's table
  kTimeout = 13,        // never produced by the codec: for the transport, so one enum counts all
  kTrailingBytes = 14,  // DecodeFrame(): bytes after the end byte 16
};
inline constexpr int kErrorCount = 15;

// Short stable name for logs and JSON ("bad_checksum").
absl::string_view ErrorName(Error error);

// Builds the status for `error`: the absl code follows the house rules
// (malformed kInvalidArgument, checksum kDataLoss, abnormal reply
// kFailedPrecondition, unknown DI kNotFound, mismatched reply kFailedPrecondition,
// timeout kDeadlineExceeded). `meter_error_word` is kept for kAbnormalReply.
absl::Status MakeError(Error error, absl::string_view message, uint8_t meter_error_word = 0);

// The Error carried by `status`; kNone when OK or when the status did not come from this codec.
Error ErrorOf(const absl::Status& status);

// For kAbnormalReply: the meter's error-word byte (bit0 other, bit1 no requested
// data, bit2 password wrong/unauthorised, bit3 baud rate cannot change, bit4
// year-zone count exceeded, bit5 daily period count exceeded, bit6 tariff count
// exceeded, bit7 reserved). 0 for any other status.
uint8_t MeterErrorWordOf(const absl::Status& status);

// The meter error-word bits.
inline constexpr uint8_t kMeterErrorOther = 0x01;
inline constexpr uint8_t kMeterErrorNoData = 0x02;
inline constexpr uint8_t kMeterErrorPassword = 0x04;
inline constexpr uint8_t kMeterErrorBaudRate = 0x08;
inline constexpr uint8_t kMeterErrorYearZones = 0x10;
inline constexpr uint8_t kMeterErrorDailyPeriods = 0x20;
inline constexpr uint8_t kMeterErrorTariffs = 0x40;

}  // namespace wattledger::ingest::dlt645
