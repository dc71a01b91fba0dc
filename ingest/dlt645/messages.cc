#include "ingest/dlt645/messages.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ingest/dlt645/error.h"

namespace wattledger::ingest::dlt645 {
namespace {

constexpr size_t kDataIdBytes = 4;
constexpr size_t kCredentialBytes = 8;  // password 4 + operator code 4
constexpr size_t kRemoteControlBytes = kCredentialBytes + 2 + 6;
constexpr size_t kDateTimeBytes = 6;
constexpr size_t kAddressBytes = 6;
static_assert(kRemoteControlBytes == 0x10, "iotgateway and the field notes send L = 10H");

struct ActionName {
  RemoteAction action;
  absl::string_view name;
};
constexpr ActionName kActionNames[] = {
    {RemoteAction::kTrip, "trip"},
    {RemoteAction::kClosePermit, "close-permit"},
    {RemoteAction::kCloseDirect, "close-direct"},
    {RemoteAction::kAlarm, "alarm"},
    {RemoteAction::kAlarmClear, "alarm-clear"},
    {RemoteAction::kKeepPower, "keep-power"},
    {RemoteAction::kKeepPowerClear, "keep-power-clear"},
};

void Append(std::vector<uint8_t>& out, absl::Span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void AppendCredentials(std::vector<uint8_t>& out, const Credentials& credentials) {
  Append(out, credentials.password);
  Append(out, credentials.operator_code);
}

Credentials CredentialsAt(absl::Span<const uint8_t> bytes) {
  Credentials credentials;
  std::copy_n(bytes.begin(), 4, credentials.password.begin());
  std::copy_n(bytes.begin() + 4, 4, credentials.operator_code.begin());
  return credentials;
}

absl::Status ExpectRequest(const Frame& frame, Function function) {
  if (frame.control.reply || frame.control.abnormal || !frame.control.Is(function)) {
    return MakeError(Error::kWrongFunction,
                     absl::StrCat("control ", ToHex({frame.control.ToByte()}), " is not request ",
                                  ToHex({static_cast<uint8_t>(function)})));
  }
  return absl::OkStatus();
}

absl::Status ExpectLength(const Frame& frame, size_t min, size_t max) {
  if (frame.data.size() >= min && frame.data.size() <= max) return absl::OkStatus();
  return MakeError(Error::kBadLength, absl::StrCat("function ", ToHex({frame.control.function}),
                                                   " with L = ", frame.data.size(), ", expected ",
                                                   min, min == max ? "" : absl::StrCat("..", max)));
}

Frame RequestFrame(const Address& address, Function function, std::vector<uint8_t> data) {
  return Frame{.address = address, .control = Control::Request(function), .data = std::move(data)};
}

}  // namespace

absl::StatusOr<std::array<uint8_t, 4>> ParseHex4(absl::string_view hex8) {
  auto bytes = ParseHex(hex8);
  if (!bytes.ok() || bytes->size() != 4) {
    return MakeError(Error::kBadValue, absl::StrCat("\"", hex8, "\" is not 8 hex digits"));
  }
  return std::array<uint8_t, 4>{(*bytes)[0], (*bytes)[1], (*bytes)[2], (*bytes)[3]};
}

absl::string_view RemoteActionName(RemoteAction action) {
  for (const ActionName& entry : kActionNames) {
    if (entry.action == action) return entry.name;
  }
  return "unknown";
}

absl::StatusOr<RemoteAction> ParseRemoteAction(absl::string_view name) {
  for (const ActionName& entry : kActionNames) {
    if (entry.name == name) return entry.action;
  }
  return MakeError(Error::kBadValue, absl::StrCat("no remote-control action \"", name, "\""));
}

absl::StatusOr<RemoteAction> RemoteActionFromByte(uint8_t n1) {
  for (const ActionName& entry : kActionNames) {
    if (static_cast<uint8_t>(entry.action) == n1) return entry.action;
  }
  return MakeError(Error::kBadValue, absl::StrCat("N1 = ", ToHex({n1}), " is no action"));
}

Frame ReadRequest(const Address& address, DataId id) {
  auto di = EncodeDataId(id);
  return RequestFrame(address, Function::kRead, {di.begin(), di.end()});
}

Frame ReadFollowUpRequest(const Address& address, DataId id, uint8_t seq) {
  auto di = EncodeDataId(id);
  std::vector<uint8_t> data(di.begin(), di.end());
  data.push_back(seq);
  return RequestFrame(address, Function::kReadFollowUp, std::move(data));
}

Frame ReadAddressRequest() { return RequestFrame(Address::Wildcard(), Function::kReadAddress, {}); }

absl::StatusOr<Frame> WriteRequest(const Address& address, DataId id,
                                   const Credentials& credentials,
                                   absl::Span<const uint8_t> value) {
  if (kDataIdBytes + kCredentialBytes + value.size() > kWriteDataBytesMax) {
    return MakeError(Error::kBadLength, absl::StrCat("a write value of ", value.size(),
                                                     " bytes exceeds L = ", kWriteDataBytesMax));
  }
  std::vector<uint8_t> data;
  Append(data, EncodeDataId(id));
  AppendCredentials(data, credentials);
  Append(data, value);
  return RequestFrame(address, Function::kWrite, std::move(data));
}

absl::StatusOr<Frame> BroadcastTimeRequest(const DateTime& now) {
  auto time = EncodeDateTime6(now);
  if (!time.ok()) return time.status();
  return RequestFrame(Address::Broadcast(), Function::kBroadcastTime, {time->begin(), time->end()});
}

absl::StatusOr<Frame> RemoteControlRequest(const Address& address,
                                           const RemoteControlCommand& command) {
  auto deadline = EncodeDateTime6(command.valid_until);
  if (!deadline.ok()) return deadline.status();
  std::vector<uint8_t> data;
  AppendCredentials(data, command.credentials);
  data.push_back(static_cast<uint8_t>(command.action));
  data.push_back(0x00);  // N2, reserved
  Append(data, *deadline);
  return RequestFrame(address, Function::kRemoteControl, std::move(data));
}

absl::Status CheckReply(const Frame& request, const Frame& reply) {
  if (request.address.IsBroadcast()) {
    return MakeError(Error::kWrongFunction, "a broadcast request has no reply");
  }
  if (!reply.control.reply || reply.control.function != request.control.function) {
    return MakeError(Error::kWrongFunction,
                     absl::StrCat("reply control ", ToHex({reply.control.ToByte()}),
                                  " does not answer ", ToHex({request.control.ToByte()})));
  }
  if (!request.address.Matches(reply.address) || reply.address.HasWildcard()) {
    return MakeError(Error::kWrongAddress,
                     absl::StrCat("reply from ", reply.address.ToString(), " to a request for ",
                                  request.address.ToString()));
  }
  if (reply.control.abnormal) {
    if (reply.data.size() != 1) {
      return MakeError(Error::kBadLength,
                       absl::StrCat("abnormal reply with L = ", reply.data.size(), ", not 1"));
    }
    return MakeError(
        Error::kAbnormalReply,
        absl::StrCat("meter ", reply.address.ToString(), " error word ", ToHex({reply.data[0]})),
        reply.data[0]);
  }
  bool names_data_id =
      request.control.Is(Function::kRead) || request.control.Is(Function::kReadFollowUp);
  if (names_data_id) {
    if (reply.data.size() < kDataIdBytes || request.data.size() < kDataIdBytes) {
      return MakeError(Error::kBadLength, "read reply without a DI");
    }
    if (!std::equal(reply.data.begin(), reply.data.begin() + kDataIdBytes, request.data.begin())) {
      return MakeError(Error::kWrongDataId,
                       absl::StrCat("reply names ", DataIdToString(*DecodeDataId(reply.data)),
                                    ", asked ", DataIdToString(*DecodeDataId(request.data))));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReadReply> ParseReadReply(const Frame& request, const Frame& reply) {
  if (absl::Status checked = CheckReply(request, reply); !checked.ok()) return checked;
  bool follow_up_read = request.control.Is(Function::kReadFollowUp);
  if (!follow_up_read && !request.control.Is(Function::kRead)) {
    return MakeError(Error::kWrongFunction, "not a read request");
  }
  size_t trailer = follow_up_read ? 1 : 0;
  if (reply.data.size() < kDataIdBytes + trailer) {
    return MakeError(Error::kBadLength, "follow-up reply without SEQ");
  }
  ReadReply out;
  out.id = *DecodeDataId(reply.data);
  out.value.assign(reply.data.begin() + kDataIdBytes, reply.data.end() - trailer);
  out.follow_up = reply.control.follow_up;
  out.seq = follow_up_read ? reply.data.back() : 0;
  // A value split over follow-up frames is checked by the caller once joined.
  if (!out.follow_up && !follow_up_read) {
    if (absl::Status size = CheckValueSize(out.id, out.value.size()); !size.ok()) return size;
  }
  return out;
}

absl::StatusOr<Address> ParseReadAddressReply(const Frame& request, const Frame& reply) {
  if (!request.control.Is(Function::kReadAddress)) {
    return MakeError(Error::kWrongFunction, "not a read-address request");
  }
  if (absl::Status checked = CheckReply(request, reply); !checked.ok()) return checked;
  if (reply.data.size() != kAddressBytes) {
    return MakeError(Error::kBadLength,
                     absl::StrCat("read-address reply with L = ", reply.data.size(), ", not 6"));
  }
  auto address = Address::FromWire(reply.data);
  if (!address.ok()) return address.status();
  if (*address != reply.address) {
    return MakeError(Error::kBadValue, absl::StrCat("reply frame from ", reply.address.ToString(),
                                                    " carries ", address->ToString()));
  }
  return *address;
}

absl::StatusOr<DataId> ParseReadRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kRead); !ok.ok()) return ok;
  // DI, optionally followed by N (block count) or a record time: accept up to 10.
  if (absl::Status ok = ExpectLength(request, kDataIdBytes, kDataIdBytes + 6); !ok.ok()) return ok;
  return DecodeDataId(request.data);
}

absl::StatusOr<FollowUpRequest> ParseReadFollowUpRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kReadFollowUp); !ok.ok()) return ok;
  if (absl::Status ok = ExpectLength(request, kDataIdBytes + 1, kDataIdBytes + 1); !ok.ok()) {
    return ok;
  }
  return FollowUpRequest{.id = *DecodeDataId(request.data), .seq = request.data.back()};
}

absl::StatusOr<WriteRequestFields> ParseWriteRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kWrite); !ok.ok()) return ok;
  if (absl::Status ok = ExpectLength(request, kDataIdBytes + kCredentialBytes, kWriteDataBytesMax);
      !ok.ok()) {
    return ok;
  }
  absl::Span<const uint8_t> data = request.data;
  return WriteRequestFields{.id = *DecodeDataId(data),
                            .credentials = CredentialsAt(data.subspan(kDataIdBytes)),
                            .value = {data.begin() + kDataIdBytes + kCredentialBytes, data.end()}};
}

absl::StatusOr<DateTime> ParseBroadcastTimeRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kBroadcastTime); !ok.ok()) return ok;
  if (!request.address.IsBroadcast()) {
    return MakeError(Error::kWrongAddress, "time sync must go to 999999999999");
  }
  if (absl::Status ok = ExpectLength(request, kDateTimeBytes, kDateTimeBytes); !ok.ok()) return ok;
  return DecodeDateTime6(request.data);
}

absl::StatusOr<RemoteControlCommand> ParseRemoteControlRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kRemoteControl); !ok.ok()) return ok;
  if (absl::Status ok = ExpectLength(request, kRemoteControlBytes, kRemoteControlBytes); !ok.ok()) {
    return ok;
  }
  absl::Span<const uint8_t> data = request.data;
  auto action = RemoteActionFromByte(data[kCredentialBytes]);
  if (!action.ok()) return action.status();
  auto deadline = DecodeDateTime6(data.subspan(kCredentialBytes + 2));
  if (!deadline.ok()) return deadline.status();
  return RemoteControlCommand{
      .credentials = CredentialsAt(data), .action = *action, .valid_until = *deadline};
}

absl::Status ParseReadAddressRequest(const Frame& request) {
  if (absl::Status ok = ExpectRequest(request, Function::kReadAddress); !ok.ok()) return ok;
  return ExpectLength(request, 0, 0);
}

absl::StatusOr<Frame> ReadReplyFrame(const Address& meter, DataId id,
                                     absl::Span<const uint8_t> value, bool follow_up) {
  if (kDataIdBytes + value.size() > kDataBytesMax) {
    return MakeError(Error::kBadLength, absl::StrCat("a read value of ", value.size(),
                                                     " bytes exceeds L = ", kDataBytesMax));
  }
  std::vector<uint8_t> data;
  Append(data, EncodeDataId(id));
  Append(data, value);
  return Frame{.address = meter,
               .control = Control::NormalReply(Function::kRead, follow_up),
               .data = std::move(data)};
}

absl::StatusOr<Frame> ReadFollowUpReplyFrame(const Address& meter, DataId id,
                                             absl::Span<const uint8_t> value, uint8_t seq,
                                             bool follow_up) {
  if (kDataIdBytes + value.size() + 1 > kDataBytesMax) {
    return MakeError(Error::kBadLength, absl::StrCat("a follow-up value of ", value.size(),
                                                     " bytes exceeds L = ", kDataBytesMax));
  }
  std::vector<uint8_t> data;
  Append(data, EncodeDataId(id));
  Append(data, value);
  data.push_back(seq);
  return Frame{.address = meter,
               .control = Control::NormalReply(Function::kReadFollowUp, follow_up),
               .data = std::move(data)};
}

Frame ReadAddressReplyFrame(const Address& meter) {
  return Frame{.address = meter,
               .control = Control::NormalReply(Function::kReadAddress),
               .data = {meter.bytes.begin(), meter.bytes.end()}};
}

Frame AckReplyFrame(const Address& meter, Function function) {
  return Frame{.address = meter, .control = Control::NormalReply(function), .data = {}};
}

Frame AbnormalReplyFrame(const Address& meter, Function function, uint8_t error_word) {
  return Frame{.address = meter, .control = Control::AbnormalReply(function), .data = {error_word}};
}

}  // namespace wattledger::ingest::dlt645
