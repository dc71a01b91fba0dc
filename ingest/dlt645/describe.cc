#include "ingest/dlt645/describe.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/values.h"

namespace wattledger::ingest::dlt645 {
namespace {

absl::string_view FunctionName(uint8_t function) {
  switch (static_cast<Function>(function)) {
    case Function::kSecurity:
      return "security";
    case Function::kBroadcastTime:
      return "broadcast_time";
    case Function::kRead:
      return "read";
    case Function::kReadFollowUp:
      return "read_follow_up";
    case Function::kReadAddress:
      return "read_address";
    case Function::kWrite:
      return "write";
    case Function::kWriteAddress:
      return "write_address";
    case Function::kFreeze:
      return "freeze";
    case Function::kChangeBaudRate:
      return "change_baud_rate";
    case Function::kChangePassword:
      return "change_password";
    case Function::kClearMaxDemand:
      return "clear_max_demand";
    case Function::kClearMeter:
      return "clear_meter";
    case Function::kClearEvents:
      return "clear_events";
    case Function::kRemoteControl:
      return "remote_control";
  }
  return "unknown";
}

std::string Str(absl::string_view text) { return absl::StrCat("\"", text, "\""); }

// Appends ,"key":value.
void Field(std::string& out, absl::string_view key, absl::string_view json) {
  absl::StrAppend(&out, ",\"", key, "\":", json);
}

void ErrorField(std::string& out, absl::string_view key, const absl::Status& status) {
  Field(out, absl::StrCat(key, "_error"), Str(ErrorName(ErrorOf(status))));
}

// "value" (or "value_error") for `value` of a known DI; nothing for others.
void Value(std::string& out, DataId id, absl::Span<const uint8_t> value) {
  if (FindDataId(id) == nullptr) return;
  auto json = ValueToJson(id, value);
  if (json.ok()) {
    Field(out, "value", *json);
  } else {
    ErrorField(out, "value", json.status());
  }
}

void RequestDetails(std::string& out, const Frame& frame) {
  const std::vector<uint8_t>& data = frame.data;
  if (frame.control.Is(Function::kRead) && data.size() >= 4) {
    Field(out, "di", Str(DataIdToString(*DecodeDataId(data))));
  } else if (frame.control.Is(Function::kReadFollowUp)) {
    auto request = ParseReadFollowUpRequest(frame);
    if (!request.ok()) return ErrorField(out, "request", request.status());
    Field(out, "di", Str(DataIdToString(request->id)));
    Field(out, "seq", absl::StrCat(request->seq));
  } else if (frame.control.Is(Function::kWrite)) {
    auto write = ParseWriteRequest(frame);
    if (!write.ok()) return ErrorField(out, "request", write.status());
    Field(out, "password", Str(ToHex(write->credentials.password)));
    Field(out, "operator_code", Str(ToHex(write->credentials.operator_code)));
    Field(out, "di", Str(DataIdToString(write->id)));
    Field(out, "value_hex", Str(ToHex(write->value)));
    Value(out, write->id, write->value);
  } else if (frame.control.Is(Function::kBroadcastTime)) {
    auto time = ParseBroadcastTimeRequest(frame);
    if (!time.ok()) return ErrorField(out, "time", time.status());
    Field(out, "time", Str(FormatDateTime(*time)));
  } else if (frame.control.Is(Function::kRemoteControl)) {
    auto command = ParseRemoteControlRequest(frame);
    if (!command.ok()) return ErrorField(out, "request", command.status());
    Field(out, "password", Str(ToHex(command->credentials.password)));
    Field(out, "operator_code", Str(ToHex(command->credentials.operator_code)));
    Field(out, "action", Str(RemoteActionName(command->action)));
    Field(out, "valid_until", Str(FormatDateTime(command->valid_until)));
  }
}

void ReplyDetails(std::string& out, const Frame& frame) {
  const std::vector<uint8_t>& data = frame.data;
  if (frame.control.abnormal) {
    if (data.size() != 1) return;
    Field(out, "error_word", Str(ToHex({data[0]})));
    std::vector<std::string> names;
    for (const std::string& name : MeterErrorNames(data[0])) names.push_back(Str(name));
    Field(out, "meter_errors", absl::StrCat("[", absl::StrJoin(names, ","), "]"));
  } else if (frame.control.Is(Function::kRead) && data.size() >= 4) {
    DataId id = *DecodeDataId(data);
    Field(out, "di", Str(DataIdToString(id)));
    Value(out, id, absl::MakeConstSpan(data).subspan(4));
  } else if (frame.control.Is(Function::kReadFollowUp) && data.size() >= 5) {
    Field(out, "di", Str(DataIdToString(*DecodeDataId(data))));
    Field(out, "seq", absl::StrCat(data.back()));
    Field(out, "value_hex", Str(ToHex(absl::MakeConstSpan(data).subspan(4, data.size() - 5))));
  } else if (frame.control.Is(Function::kReadAddress)) {
    auto address = Address::FromWire(data);
    if (!address.ok()) return ErrorField(out, "meter_address", address.status());
    Field(out, "meter_address", Str(address->ToString()));
  }
}

}  // namespace

std::vector<std::string> MeterErrorNames(uint8_t error_word) {
  static constexpr const char* kNames[8] = {"other",      "no_data",       "password", "baud_rate",
                                            "year_zones", "daily_periods", "tariffs",  "reserved"};
  std::vector<std::string> out;
  for (int bit = 0; bit < 8; ++bit) {
    if ((error_word >> bit) & 1) out.push_back(kNames[bit]);
  }
  return out;
}

std::string FrameToJson(const Frame& frame) {
  std::string out = absl::StrCat("{\"address\":", Str(frame.address.ToString()));
  Field(out, "control", Str(ToHex({frame.control.ToByte()})));
  Field(out, "function", Str(FunctionName(frame.control.function)));
  Field(out, "reply", frame.control.reply ? "true" : "false");
  Field(out, "abnormal", frame.control.abnormal ? "true" : "false");
  Field(out, "follow_up", frame.control.follow_up ? "true" : "false");
  Field(out, "length", absl::StrCat(frame.data.size()));
  Field(out, "data", Str(ToHex(frame.data)));
  if (frame.control.reply) {
    ReplyDetails(out, frame);
  } else {
    RequestDetails(out, frame);
  }
  out.push_back('}');
  return out;
}

}  // namespace wattledger::ingest::dlt645
