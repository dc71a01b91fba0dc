#include "ingest/dlt645/error.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace wattledger::ingest::dlt645 {
namespace {

// The payload: byte 0 the Error, byte 1 the meter's error word.
constexpr char kPayloadUrl[] = "type.wattledger/ingest.dlt645.Error";

absl::StatusCode CodeFor(Error error) {
  switch (error) {
    case Error::kNone:
      return absl::StatusCode::kOk;
    case Error::kBadChecksum:
      return absl::StatusCode::kDataLoss;
    case Error::kWrongAddress:
    case Error::kWrongFunction:
    case Error::kWrongDataId:
    case Error::kAbnormalReply:
      return absl::StatusCode::kFailedPrecondition;
    case Error::kUnknownDataId:
      return absl::StatusCode::kNotFound;
    case Error::kTimeout:
      return absl::StatusCode::kDeadlineExceeded;
    case Error::kTruncated:
    case Error::kBadStart:
    case Error::kBadLength:
    case Error::kBadEnd:
    case Error::kBadBcd:
    case Error::kBadValue:
    case Error::kTrailingBytes:
      return absl::StatusCode::kInvalidArgument;
  }
  return absl::StatusCode::kInternal;
}

std::optional<std::string> PayloadOf(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace

absl::string_view ErrorName(Error error) {
  switch (error) {
    case Error::kNone:
      return "none";
    case Error::kTruncated:
      return "truncated";
    case Error::kBadStart:
      return "bad_start";
    case Error::kBadLength:
      return "bad_length";
    case Error::kBadChecksum:
      return "bad_checksum";
    case Error::kBadEnd:
      return "bad_end";
    case Error::kBadBcd:
      return "bad_bcd";
    case Error::kBadValue:
      return "bad_value";
    case Error::kWrongAddress:
      return "wrong_address";
    case Error::kWrongFunction:
      return "wrong_function";
    case Error::kWrongDataId:
      return "wrong_data_id";
    case Error::kAbnormalReply:
      return "abnormal_reply";
    case Error::kUnknownDataId:
      return "unknown_data_id";
    case Error::kTimeout:
      return "timeout";
    case Error::kTrailingBytes:
      return "trailing_bytes";
  }
  return "unknown";
}

absl::Status MakeError(Error error, absl::string_view message, uint8_t meter_error_word) {
  if (error == Error::kNone) return absl::OkStatus();
  absl::Status status(CodeFor(error), absl::StrCat("dlt645 ", ErrorName(error), ": ", message));
  const char payload[2] = {static_cast<char>(error), static_cast<char>(meter_error_word)};
  status.SetPayload(kPayloadUrl, absl::Cord(absl::string_view(payload, sizeof(payload))));
  return status;
}

Error ErrorOf(const absl::Status& status) {
  if (status.ok()) return Error::kNone;
  std::optional<std::string> payload = PayloadOf(status);
  if (!payload.has_value() || payload->size() != 2) return Error::kNone;
  auto value = static_cast<uint8_t>((*payload)[0]);
  if (value >= kErrorCount) return Error::kNone;
  return static_cast<Error>(value);
}

uint8_t MeterErrorWordOf(const absl::Status& status) {
  if (ErrorOf(status) != Error::kAbnormalReply) return 0;
  return static_cast<uint8_t>((*PayloadOf(status))[1]);
}

}  // namespace wattledger::ingest::dlt645
