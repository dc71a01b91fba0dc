#include "ingest/dlt645/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/dlt645/error.h"
#include "ingest/dlt645/parameters.h"

namespace wattledger::ingest::dlt645 {
namespace {

using ::testing::ElementsAre;

// Meter 123456789012; 68 12 90 78 56 34 12 68 sums to 0x286 (see frame_test.cc).
Address Meter() { return *Address::Parse("123456789012"); }
Address OtherMeter() { return *Address::Parse("123456789013"); }

std::vector<uint8_t> Bytes(absl::string_view hex) { return *ParseHex(hex); }

std::string Wire(const absl::StatusOr<Frame>& frame) {
  EXPECT_TRUE(frame.ok()) << frame.status();
  return ToHex(*EncodeFrame(*frame, 0));
}

Frame Decode(absl::string_view hex) {
  auto frame = DecodeFrame(Bytes(hex));
  EXPECT_TRUE(frame.ok()) << frame.status();
  return *frame;
}

Credentials Operator() {
  return Credentials{.password = {0x02, 0x00, 0x00, 0x00}, .operator_code = {0, 0, 0, 0}};
}

TEST(Dlt645Requests, MatchHandBuiltVectors) {
  // Read 00010000: CS = 0x286 + 11 + 04 + 33+33+34+33 = 0x368 -> 68.
  EXPECT_EQ(Wire(ReadRequest(Meter(), kForwardActiveEnergy)),
            ToHex(Bytes("68 129078563412 68 11 04 33333433 68 16")));
  // Time sync 2026-03-01 12:34:56 to 99..: data 56 34 12 01 03 26 (+33 = 89 67 45 34 36 59).
  // CS = 68+6*99+68 + 08 + 06 + 89+67+45+34+36+59 = 0x66C -> 6C.
  EXPECT_EQ(Wire(BroadcastTimeRequest(*ParseDateTime("2026-03-01T12:34:56"))),
            ToHex(Bytes("68 999999999999 68 08 06 896745343659 6C 16")));
  // Read address: CS = 68+6*AA+68 + 13 + 00 = 0x4DF -> DF.
  EXPECT_EQ(Wire(ReadAddressRequest()), ToHex(Bytes("68 AAAAAAAAAAAA 68 13 00 DF 16")));
  // Remote control, trip until 2026-03-01 23:59:59, password 02000000, operator 00000000:
  // data 02000000 00000000 1A 00 595923010326, +33 each, L = 10H.
  // CS = 0x286 + 1C + 10 + 35+33*3 + 33*4 + 4D+33 + 8C+8C+56+34+36+59 = 0x6FD -> FD.
  RemoteControlCommand trip{.credentials = Operator(),
                            .action = RemoteAction::kTrip,
                            .valid_until = *ParseDateTime("2026-03-01T23:59:59")};
  EXPECT_EQ(Wire(RemoteControlRequest(Meter(), trip)),
            ToHex(Bytes("68 129078563412 68 1C 10 35333333 33333333 4D 33 8C8C56343659 FD 16")));
  // Write load limit 04000E01 = 2200 W = 02.2000 kW -> 00 20 02; L = 4+4+4+3 = 0F.
  // CS = 0x286 + 14 + 0F + 34+41+33+37 + 35+33*3 + 33*4 + 33+53+35 = 0x5DD -> DD.
  auto value = EncodeScalarParameter(Parameter::kLoadLimit, 2200);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(Wire(WriteRequest(Meter(), 0x04000E01, Operator(), *value)),
            ToHex(Bytes("68 129078563412 68 14 0F 34413337 35333333 33333333 335335 DD 16")));
}

TEST(Dlt645Requests, RoundTripThroughTheSlaveParsers) {
  EXPECT_EQ(*ParseReadRequest(ReadRequest(Meter(), kRunStatusWord3)), kRunStatusWord3);
  auto follow = ParseReadFollowUpRequest(ReadFollowUpRequest(Meter(), kForwardActiveEnergy, 3));
  ASSERT_TRUE(follow.ok());
  EXPECT_EQ(follow->id, kForwardActiveEnergy);
  EXPECT_EQ(follow->seq, 3);
  EXPECT_TRUE(ParseReadAddressRequest(ReadAddressRequest()).ok());

  DateTime now = *ParseDateTime("2099-12-31T23:59:59");
  EXPECT_EQ(*ParseBroadcastTimeRequest(*BroadcastTimeRequest(now)), now);

  for (RemoteAction action :
       {RemoteAction::kTrip, RemoteAction::kClosePermit, RemoteAction::kCloseDirect,
        RemoteAction::kAlarm, RemoteAction::kAlarmClear, RemoteAction::kKeepPower,
        RemoteAction::kKeepPowerClear}) {
    RemoteControlCommand command{
        .credentials = Credentials{.password = {0x04, 0x12, 0x34, 0x56},
                                   .operator_code = {0x01, 0x02, 0x03, 0x04}},
        .action = action,
        .valid_until = *ParseDateTime("2026-03-01T00:05:00")};
    auto frame = RemoteControlRequest(Meter(), command);
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ(*ParseRemoteControlRequest(*DecodeFrame(*EncodeFrame(*frame))), command);
    EXPECT_EQ(*ParseRemoteAction(RemoteActionName(action)), action);
  }

  std::vector<uint8_t> value = {0x12, 0x34, 0x56};
  auto write = ParseWriteRequest(*WriteRequest(Meter(), 0x04A00202, Operator(), value));
  ASSERT_TRUE(write.ok());
  EXPECT_EQ(write->id, 0x04A00202u);
  EXPECT_EQ(write->credentials, Operator());
  EXPECT_EQ(write->value, value);
}

TEST(Dlt645Requests, RefuseWhatDoesNotFit) {
  std::vector<uint8_t> longest(kWriteDataBytesMax - 12);
  EXPECT_TRUE(WriteRequest(Meter(), 1, Operator(), longest).ok());
  longest.push_back(0);
  EXPECT_EQ(ErrorOf(WriteRequest(Meter(), 1, Operator(), longest).status()), Error::kBadLength);
  EXPECT_EQ(
      ErrorOf(
          BroadcastTimeRequest(
              DateTime{.year = 2026, .month = 2, .day = 29, .hour = 0, .minute = 0, .second = 0})
              .status()),
      Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseRemoteAction("explode").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(RemoteActionFromByte(0x55).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ReadReplyFrame(Meter(), 1, std::vector<uint8_t>(197)).status()),
            Error::kBadLength);
  EXPECT_TRUE(ReadReplyFrame(Meter(), 1, std::vector<uint8_t>(196)).ok());
}

TEST(Dlt645SlaveParsers, RejectWrongFunctionAndLength) {
  Frame read = ReadRequest(Meter(), kForwardActiveEnergy);
  EXPECT_EQ(ErrorOf(ParseWriteRequest(read).status()), Error::kWrongFunction);
  EXPECT_EQ(ErrorOf(ParseRemoteControlRequest(read).status()), Error::kWrongFunction);
  Frame reply = *ReadReplyFrame(Meter(), kForwardActiveEnergy, Bytes("00000000"));
  EXPECT_EQ(ErrorOf(ParseReadRequest(reply).status()), Error::kWrongFunction);
  Frame short_read = read;
  short_read.data.resize(3);
  EXPECT_EQ(ErrorOf(ParseReadRequest(short_read).status()), Error::kBadLength);
  Frame short_write = *WriteRequest(Meter(), 1, Operator(), {});
  short_write.data.pop_back();
  EXPECT_EQ(ErrorOf(ParseWriteRequest(short_write).status()), Error::kBadLength);
  Frame time = *BroadcastTimeRequest(*ParseDateTime("2026-03-01T00:00:00"));
  time.address = Meter();
  EXPECT_EQ(ErrorOf(ParseBroadcastTimeRequest(time).status()), Error::kWrongAddress);
  RemoteControlCommand command{.credentials = Operator(),
                               .action = RemoteAction::kTrip,
                               .valid_until = *ParseDateTime("2026-03-01T00:00:00")};
  Frame control = *RemoteControlRequest(Meter(), command);
  control.data[8] = 0x55;  // no such N1
  EXPECT_EQ(ErrorOf(ParseRemoteControlRequest(control).status()), Error::kBadValue);
  control.data[8] = 0x1A;
  control.data[14] = 0x13;  // month 13 in the deadline (ss mm hh DD MM YY from byte 10)
  EXPECT_EQ(ErrorOf(ParseRemoteControlRequest(control).status()), Error::kBadValue);
  control.data[14] = 0x1F;
  EXPECT_EQ(ErrorOf(ParseRemoteControlRequest(control).status()), Error::kBadBcd);
  control.data.pop_back();
  EXPECT_EQ(ErrorOf(ParseRemoteControlRequest(control).status()), Error::kBadLength);
  Frame address = ReadAddressRequest();
  address.data.push_back(0);
  EXPECT_EQ(ErrorOf(ParseReadAddressRequest(address)), Error::kBadLength);
}

TEST(Dlt645Replies, HandBuiltReadReplyParses) {
  Frame request = ReadRequest(Meter(), kForwardActiveEnergy);
  // CS = 0x286 + 91 + 08 + 33+33+34+33 + 89+67+45+33 = 0x554 -> 54.
  Frame reply = Decode("68 129078563412 68 91 08 33333433 89674533 54 16");
  auto read = ParseReadReply(request, reply);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->id, kForwardActiveEnergy);
  EXPECT_EQ(*DecodeEnergyWh(read->value, false), 1234560);
  EXPECT_FALSE(read->follow_up);
  EXPECT_EQ(Wire(ReadReplyFrame(Meter(), kForwardActiveEnergy, Bytes("56341200"))),
            ToHex(Bytes("68 129078563412 68 91 08 33333433 89674533 54 16")));
}

TEST(Dlt645Replies, NegativePowerAndStatusWordVectors) {
  // Active power -1.2345 kW: DI 02030000 (wire 00 00 03 02) value 45 23 81.
  // CS = 0x286 + 91 + 07 + 33+33+36+35 + 78+56+B4 = 0x571 -> 71.
  Frame power = Decode("68 129078563412 68 91 07 33333635 7856B4 71 16");
  auto read = ParseReadReply(ReadRequest(Meter(), kActivePower), power);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*DecodePowerW(read->value), -1235);
  // Status word 3 = relay open + keep power: 10 10 (+33 = 43 43).
  // CS = 0x286 + 91 + 06 + 36+38+33+37 + 43+43 = 0x47B -> 7B.
  Frame status = Decode("68 129078563412 68 91 06 36383337 4343 7B 16");
  read = ParseReadReply(ReadRequest(Meter(), kRunStatusWord3), status);
  ASSERT_TRUE(read.ok()) << read.status();
  RunStatus3 word = *DecodeRunStatus3(read->value);
  EXPECT_TRUE(word.relay_open);
  EXPECT_TRUE(word.keep_power);
}

TEST(Dlt645Replies, AbnormalReplyCarriesTheErrorWord) {
  // D1, error word 02 (no such data): CS = 0x286 + D1 + 01 + 35 = 0x38D -> 8D.
  Frame reply = Decode("68 129078563412 68 D1 01 35 8D 16");
  EXPECT_EQ(reply, AbnormalReplyFrame(Meter(), Function::kRead, kMeterErrorNoData));
  absl::Status status = CheckReply(ReadRequest(Meter(), kForwardActiveEnergy), reply);
  EXPECT_EQ(ErrorOf(status), Error::kAbnormalReply);
  EXPECT_EQ(MeterErrorWordOf(status), kMeterErrorNoData);
  EXPECT_EQ(ErrorOf(ParseReadReply(ReadRequest(Meter(), 0), reply).status()),
            Error::kAbnormalReply);
  Frame write = *WriteRequest(Meter(), 0x04000E01, Operator(), Bytes("000000"));
  status = CheckReply(write, AbnormalReplyFrame(Meter(), Function::kWrite, kMeterErrorPassword));
  EXPECT_EQ(MeterErrorWordOf(status), kMeterErrorPassword);
  Frame empty_abnormal = AbnormalReplyFrame(Meter(), Function::kWrite, 0);
  empty_abnormal.data.clear();
  EXPECT_EQ(ErrorOf(CheckReply(write, empty_abnormal)), Error::kBadLength);
}

TEST(Dlt645Replies, AcknowledgementsMatchTheirRequests) {
  // 94 with L = 0: CS = 0x286 + 94 + 00 = 0x31A -> 1A.
  EXPECT_EQ(Wire(AckReplyFrame(Meter(), Function::kWrite)),
            ToHex(Bytes("68 129078563412 68 94 00 1A 16")));
  Frame write = *WriteRequest(Meter(), 0x04000E01, Operator(), Bytes("000000"));
  EXPECT_TRUE(CheckReply(write, AckReplyFrame(Meter(), Function::kWrite)).ok());
  RemoteControlCommand command{.credentials = Operator(),
                               .action = RemoteAction::kClosePermit,
                               .valid_until = *ParseDateTime("2026-03-01T00:00:00")};
  Frame control = *RemoteControlRequest(Meter(), command);
  EXPECT_TRUE(CheckReply(control, AckReplyFrame(Meter(), Function::kRemoteControl)).ok());
  EXPECT_EQ(ErrorOf(CheckReply(control, AckReplyFrame(Meter(), Function::kWrite))),
            Error::kWrongFunction);
}

TEST(Dlt645Replies, ReadAddressReplyCarriesTheAddress) {
  // 93, data = 12 90 78 56 34 12 (+33 = 45 C3 AB 89 67 45).
  // CS = 0x286 + 93 + 06 + 45+C3+AB+89+67+45 = 0x607 -> 07.
  Frame reply = Decode("68 129078563412 68 93 06 45C3AB896745 07 16");
  EXPECT_EQ(reply, ReadAddressReplyFrame(Meter()));
  EXPECT_EQ(*ParseReadAddressReply(ReadAddressRequest(), reply), Meter());
  Frame lying = reply;
  lying.data[0] = 0x13;
  EXPECT_EQ(ErrorOf(ParseReadAddressReply(ReadAddressRequest(), lying).status()), Error::kBadValue);
  lying.data.pop_back();
  EXPECT_EQ(ErrorOf(ParseReadAddressReply(ReadAddressRequest(), lying).status()),
            Error::kBadLength);
  // A reply still carrying the wildcard is from no meter.
  Frame wildcard = ReadAddressReplyFrame(Address::Wildcard());
  EXPECT_EQ(ErrorOf(ParseReadAddressReply(ReadAddressRequest(), wildcard).status()),
            Error::kWrongAddress);
}

TEST(Dlt645Replies, MismatchesAreTypedErrors) {
  Frame request = ReadRequest(Meter(), kForwardActiveEnergy);
  Frame good = *ReadReplyFrame(Meter(), kForwardActiveEnergy, Bytes("00000000"));
  EXPECT_TRUE(CheckReply(request, good).ok());

  Frame other_meter = good;
  other_meter.address = OtherMeter();
  EXPECT_EQ(ErrorOf(CheckReply(request, other_meter)), Error::kWrongAddress);
  Frame other_di = *ReadReplyFrame(Meter(), kCombinedActiveEnergy, Bytes("00000000"));
  EXPECT_EQ(ErrorOf(CheckReply(request, other_di)), Error::kWrongDataId);
  Frame echo = request;  // our own request echoed by the collector
  EXPECT_EQ(ErrorOf(CheckReply(request, echo)), Error::kWrongFunction);
  Frame other_function = AckReplyFrame(Meter(), Function::kWrite);
  EXPECT_EQ(ErrorOf(CheckReply(request, other_function)), Error::kWrongFunction);
  Frame no_di = good;
  no_di.data.resize(2);
  EXPECT_EQ(ErrorOf(CheckReply(request, no_di)), Error::kBadLength);
  Frame short_value = *ReadReplyFrame(Meter(), kForwardActiveEnergy, Bytes("000000"));
  EXPECT_EQ(ErrorOf(ParseReadReply(request, short_value).status()), Error::kBadLength);
  Frame time = *BroadcastTimeRequest(*ParseDateTime("2026-03-01T00:00:00"));
  EXPECT_EQ(ErrorOf(CheckReply(time, good)), Error::kWrongFunction);
  // A wildcard request accepts the reply of whichever meter answers.
  Frame wildcard_request = ReadRequest(Address::Wildcard(), kForwardActiveEnergy);
  EXPECT_TRUE(CheckReply(wildcard_request, good).ok());
  // Mismatched replies are kFailedPrecondition; checksum errors kDataLoss.
  EXPECT_EQ(CheckReply(request, other_meter).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Dlt645Replies, FollowUpFramesCarryFlagAndSeq) {
  Frame request = ReadRequest(Meter(), kForwardActiveEnergyBlock);
  Frame first = *ReadReplyFrame(Meter(), kForwardActiveEnergyBlock, Bytes("00000000"), true);
  EXPECT_EQ(first.control.ToByte(), 0xB1);
  auto read = ParseReadReply(request, first);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->follow_up);
  Frame next = ReadFollowUpRequest(Meter(), kForwardActiveEnergyBlock, 1);
  Frame second =
      *ReadFollowUpReplyFrame(Meter(), kForwardActiveEnergyBlock, Bytes("00010000"), 1, false);
  EXPECT_EQ(second.control.ToByte(), 0x92);
  read = ParseReadReply(next, second);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->seq, 1);
  EXPECT_THAT(read->value, ElementsAre(0x00, 0x01, 0x00, 0x00));
  Frame no_seq = second;
  no_seq.data.resize(4);
  EXPECT_EQ(ErrorOf(ParseReadReply(next, no_seq).status()), Error::kBadLength);
}

TEST(Dlt645Credentials, ParseFromHex) {
  EXPECT_THAT(*ParseHex4("02123456"), ElementsAre(0x02, 0x12, 0x34, 0x56));
  EXPECT_EQ(ErrorOf(ParseHex4("0212345").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseHex4("0212345678").status()), Error::kBadValue);
}

}  // namespace
}  // namespace wattledger::ingest::dlt645
