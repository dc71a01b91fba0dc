// DL/T 645-2007 requests and replies on top of frame.h, for both ends of the
// bus. The master (wattd's gateway) builds requests with the *Request()
// functions and checks each reply with CheckReply() or the Parse*Reply()
// helpers; the slave (tools/meter-sim) reads requests with Parse*Request() and
// answers with the *Reply() builders. All functions are pure.
//
// Data fields (after 0x33 is removed):
//   read 11        DI(4)                              reply 91/B1: DI(4) value
//   follow-up 12   DI(4) SEQ(1)                       reply 92/B2: DI(4) value SEQ(1)
//   read addr 13   (L = 0, address AA..)              reply 93: address(6)
//   write 14       DI(4) password(4) operator(4) value      reply 94: (L = 0)
//   time 08        ss mm hh DD MM YY (address 99..)   no reply
//   control 1C     password(4) operator(4) N1 N2 ss mm hh DD MM YY   reply 9C: (L = 0)
//   abnormal reply C|C0: error word(1)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ingest/dlt645/frame.h"
#include "ingest/dlt645/values.h"

namespace wattledger::ingest::dlt645 {

// The password (PA = privilege level, then P0 P1 P2) and operator code
// (C0..C3), each in wire order. Parse them from 8 hex digits as printed in
// meter manuals, first byte first ("02123456" -> 02 12 34 56).
struct Credentials {
  std::array<uint8_t, 4> password = {};
  std::array<uint8_t, 4> operator_code = {};
  friend bool operator==(const Credentials&, const Credentials&) = default;
};
absl::StatusOr<std::array<uint8_t, 4>> ParseHex4(absl::string_view hex8);

// N1 of a remote-control (0x1C) command.
enum class RemoteAction : uint8_t {
  kTrip = 0x1A,         // open the relay
  kClosePermit = 0x1B,  // allow the user to close locally
  kCloseDirect = 0x1C,  // close directly (newer State-Grid firmware)
  kAlarm = 0x2A,
  kAlarmClear = 0x2B,
  kKeepPower = 0x3A,  // keep power on whatever the balance (保电)
  kKeepPowerClear = 0x3B,
};
// "trip", "close-permit", "close-direct", "alarm", "alarm-clear", "keep-power", "keep-power-clear".
absl::string_view RemoteActionName(RemoteAction action);
absl::StatusOr<RemoteAction> ParseRemoteAction(absl::string_view name);  // kBadValue
absl::StatusOr<RemoteAction> RemoteActionFromByte(uint8_t n1);           // kBadValue

// ---- Master: requests ------------------------------------------------------------

Frame ReadRequest(const Address& address, DataId id);
Frame ReadFollowUpRequest(const Address& address, DataId id, uint8_t seq);
Frame ReadAddressRequest();  // to AA AA AA AA AA AA
// kBadLength when 12 + value exceeds kWriteDataBytesMax.
absl::StatusOr<Frame> WriteRequest(const Address& address, DataId id,
                                   const Credentials& credentials, absl::Span<const uint8_t> value);
// To 99..99; kBadValue for an invalid time.
absl::StatusOr<Frame> BroadcastTimeRequest(const DateTime& now);
struct RemoteControlCommand {
  Credentials credentials;
  RemoteAction action = RemoteAction::kTrip;
  DateTime valid_until;  // the meter ignores the command after this time
  friend bool operator==(const RemoteControlCommand&, const RemoteControlCommand&) = default;
};
absl::StatusOr<Frame> RemoteControlRequest(const Address& address,
                                           const RemoteControlCommand& command);

// ---- Master: replies ---------------------------------------------------------------

// Checks that `reply` answers `request`: a reply (D7), the same function,
// from the addressed meter (any address for a wildcard request, whose reply
// carries the real one), naming the same DI for read/write. Errors:
// kWrongFunction, kWrongAddress, kWrongDataId, kBadLength, and kAbnormalReply
// (with MeterErrorWordOf()) when D6 is set. A broadcast request has no reply:
// kWrongFunction.
absl::Status CheckReply(const Frame& request, const Frame& reply);

struct ReadReply {
  DataId id = 0;
  std::vector<uint8_t> value;  // the value bytes after the DI (and before SEQ)
  bool follow_up = false;      // D5: more frames follow (ask with ReadFollowUpRequest)
  uint8_t seq = 0;             // the SEQ of a follow-up reply (0x92)
};
// CheckReply() then splits the data; for a known DI, checks the value size
// (kBadLength).
absl::StatusOr<ReadReply> ParseReadReply(const Frame& request, const Frame& reply);
// The meter address in a 0x93 reply (the frame address and data must agree:
// kBadValue otherwise).
absl::StatusOr<Address> ParseReadAddressReply(const Frame& request, const Frame& reply);

// ---- Slave: requests ---------------------------------------------------------------

// Each checks direction (a request), function, and data size; kWrongFunction
// or kBadLength otherwise. They do not check the address: use Address::Matches.
absl::StatusOr<DataId> ParseReadRequest(const Frame& request);
struct FollowUpRequest {
  DataId id = 0;
  uint8_t seq = 0;
};
absl::StatusOr<FollowUpRequest> ParseReadFollowUpRequest(const Frame& request);
struct WriteRequestFields {
  DataId id = 0;
  Credentials credentials;
  std::vector<uint8_t> value;
};
absl::StatusOr<WriteRequestFields> ParseWriteRequest(const Frame& request);
absl::StatusOr<DateTime> ParseBroadcastTimeRequest(const Frame& request);
absl::StatusOr<RemoteControlCommand> ParseRemoteControlRequest(const Frame& request);
absl::Status ParseReadAddressRequest(const Frame& request);  // L = 0, function 13

// ---- Slave: replies ----------------------------------------------------------------

// 91 (B1 with follow_up) carrying DI + value. kBadLength over kDataBytesMax.
absl::StatusOr<Frame> ReadReplyFrame(const Address& meter, DataId id,
                                     absl::Span<const uint8_t> value, bool follow_up = false);
// 92 (B2) carrying DI + value + SEQ.
absl::StatusOr<Frame> ReadFollowUpReplyFrame(const Address& meter, DataId id,
                                             absl::Span<const uint8_t> value, uint8_t seq,
                                             bool follow_up = false);
// 93 with the meter's address in the frame and the data.
Frame ReadAddressReplyFrame(const Address& meter);
// C|80 with no data (write 94, control 9C, and the other acknowledgements).
Frame AckReplyFrame(const Address& meter, Function function);
// C|C0 with one error word (kMeterError* bits).
Frame AbnormalReplyFrame(const Address& meter, Function function, uint8_t error_word);

}  // namespace wattledger::ingest::dlt645
