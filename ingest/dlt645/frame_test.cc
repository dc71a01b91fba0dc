#include "ingest/dlt645/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/dlt645/error.h"

namespace wattledger::ingest::dlt645 {
namespace {

using ::testing::ElementsAre;

// Meter 123456789012: wire A0..A5 = 12 90 78 56 34 12.
// Every frame to it starts 68 12 90 78 56 34 12 68, whose sum is
// 68+12+90+78+56+34+12+68 = 0x286.
Address Meter() { return *Address::Parse("123456789012"); }

std::vector<uint8_t> Bytes(absl::string_view hex) { return *ParseHex(hex); }

// Read 00010000 (forward active energy): C = 11, L = 04, DI wire 00 00 01 00 + 33.
// CS = 0x286 + 11 + 04 + 33 + 33 + 34 + 33 = 0x368 -> 68.
constexpr char kReadRequest[] = "68 129078563412 68 11 04 33333433 68 16";
// Reply 91: DI + 1234.56 kWh = BCD 00 12 34 56, wire 56 34 12 00 (+33 = 89 67 45 33).
// CS = 0x286 + 91 + 08 + 33+33+34+33 + 89+67+45+33 = 0x554 -> 54.
constexpr char kReadReply[] = "68 129078563412 68 91 08 33333433 89674533 54 16";

std::vector<uint8_t> ReadRequestWire() { return Bytes(kReadRequest); }

TEST(Dlt645Address, ParsesMostSignificantFirstAndStoresLowByteFirst) {
  Address address = Meter();
  EXPECT_THAT(address.bytes, ElementsAre(0x12, 0x90, 0x78, 0x56, 0x34, 0x12));
  EXPECT_EQ(address.ToString(), "123456789012");
  EXPECT_EQ(Address::Parse("10001")->ToString(), "000000010001");
  EXPECT_FALSE(address.IsBroadcast());
  EXPECT_TRUE(Address::Broadcast().IsBroadcast());
  EXPECT_EQ(Address::Wildcard().ToString(), "AAAAAAAAAAAA");
}

TEST(Dlt645Address, WildcardOnlyFromTheHighEnd) {
  auto short_form = Address::Parse("AAAA56789012");
  ASSERT_TRUE(short_form.ok()) << short_form.status();
  EXPECT_THAT(short_form->bytes, ElementsAre(0x12, 0x90, 0x78, 0x56, 0xAA, 0xAA));
  EXPECT_TRUE(short_form->HasWildcard());
  EXPECT_TRUE(short_form->Matches(Meter()));
  EXPECT_FALSE(short_form->Matches(*Address::Parse("123456789013")));
  EXPECT_TRUE(Address::Wildcard().Matches(Meter()));
  EXPECT_FALSE(Address::Broadcast().Matches(Meter()));
  EXPECT_EQ(ErrorOf(Address::Parse("1234AA789012").status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(Address::Parse("12345678901X").status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(Address::Parse("1234567890123").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(Address::Parse("").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(Address::FromWire(Bytes("1A 00 00 00 00 00")).status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(Address::FromWire(Bytes("12 00")).status()), Error::kBadLength);
}

TEST(Dlt645Control, SplitsAndJoinsTheBits) {
  Control b1 = Control::FromByte(0xB1);
  EXPECT_TRUE(b1.reply);
  EXPECT_FALSE(b1.abnormal);
  EXPECT_TRUE(b1.follow_up);
  EXPECT_TRUE(b1.Is(Function::kRead));
  EXPECT_EQ(b1.ToByte(), 0xB1);
  EXPECT_EQ(Control::AbnormalReply(Function::kWrite).ToByte(), 0xD4);
  EXPECT_EQ(Control::NormalReply(Function::kRemoteControl).ToByte(), 0x9C);
  EXPECT_EQ(Control::NormalReply(Function::kRead, true).ToByte(), 0xB1);
  EXPECT_EQ(Control::Request(Function::kBroadcastTime).ToByte(), 0x08);
  for (int byte = 0; byte < 256; ++byte) {
    EXPECT_EQ(Control::FromByte(static_cast<uint8_t>(byte)).ToByte(), byte);
  }
}

TEST(Dlt645EncodeFrame, MatchesTheHandBuiltReadRequest) {
  Frame frame{.address = Meter(),
              .control = Control::Request(Function::kRead),
              .data = {0x00, 0x00, 0x01, 0x00}};
  auto bare = EncodeFrame(frame, 0);
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(ToHex(*bare), ToHex(ReadRequestWire()));
  auto woken = EncodeFrame(frame, 4);
  ASSERT_TRUE(woken.ok());
  EXPECT_EQ(ToHex(*woken), "FEFEFEFE" + ToHex(ReadRequestWire()));
  EXPECT_EQ(Checksum(absl::MakeConstSpan(ReadRequestWire()).subspan(0, 14)), 0x68);
}

TEST(Dlt645EncodeFrame, RefusesOversizedDataAndPreamble) {
  Frame frame{.address = Meter(),
              .control = Control::NormalReply(Function::kRead),
              .data = std::vector<uint8_t>(kDataBytesMax + 1, 0)};
  EXPECT_EQ(ErrorOf(EncodeFrame(frame).status()), Error::kBadLength);
  frame.data.resize(kDataBytesMax);
  auto largest = EncodeFrame(frame, 4);
  ASSERT_TRUE(largest.ok());
  EXPECT_EQ(largest->size(), kFrameBytesMax);
  EXPECT_TRUE(DecodeFrame(*largest).ok());
  EXPECT_EQ(ErrorOf(EncodeFrame(frame, 5).status()), Error::kBadLength);
}

TEST(Dlt645DecodeFrame, ReadsTheHandBuiltReply) {
  auto frame = DecodeFrame(Bytes(std::string("FE FE ") + kReadReply));
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->address, Meter());
  EXPECT_EQ(frame->control.ToByte(), 0x91);
  EXPECT_THAT(frame->data, ElementsAre(0x00, 0x00, 0x01, 0x00, 0x56, 0x34, 0x12, 0x00));
}

TEST(Dlt645DecodeFrame, RoundTripsEveryControlByteAndLength) {
  for (int control = 0; control < 256; control += 7) {
    for (size_t length : {size_t{0}, size_t{1}, size_t{4}, size_t{50}, kDataBytesMax}) {
      Frame frame{.address = Meter(),
                  .control = Control::FromByte(static_cast<uint8_t>(control)),
                  .data = std::vector<uint8_t>(length)};
      for (size_t i = 0; i < length; ++i) frame.data[i] = static_cast<uint8_t>(i * 37 + control);
      auto wire = EncodeFrame(frame, static_cast<size_t>(control % 5));
      ASSERT_TRUE(wire.ok());
      auto back = DecodeFrame(*wire);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, frame);
    }
  }
}

TEST(Dlt645DecodeFrame, EveryMalformedInputIsATypedError) {
  std::vector<uint8_t> good = ReadRequestWire();
  auto error_of = [](std::vector<uint8_t> bytes) { return ErrorOf(DecodeFrame(bytes).status()); };

  EXPECT_EQ(error_of({}), Error::kTruncated);
  EXPECT_EQ(error_of({0xFE, 0xFE}), Error::kTruncated);
  for (size_t size = 1; size < good.size(); ++size) {
    EXPECT_EQ(error_of({good.begin(), good.begin() + static_cast<ptrdiff_t>(size)}),
              Error::kTruncated)
        << size;
  }
  std::vector<uint8_t> bad = good;
  bad[0] = 0x67;
  EXPECT_EQ(error_of(bad), Error::kBadStart);
  bad = good;
  bad[7] = 0x69;
  EXPECT_EQ(error_of(bad), Error::kBadStart);
  bad = good;
  bad[9] = 201;  // L over 200
  EXPECT_EQ(error_of(bad), Error::kBadLength);
  bad = good;
  bad[10] ^= 0x01;  // a garbled data byte
  EXPECT_EQ(error_of(bad), Error::kBadChecksum);
  bad = good;
  bad[14] = 0x69;  // wrong checksum byte
  EXPECT_EQ(error_of(bad), Error::kBadChecksum);
  bad = good;
  bad[15] = 0x17;
  EXPECT_EQ(error_of(bad), Error::kBadEnd);
  bad = good;
  bad.push_back(0x00);
  EXPECT_EQ(error_of(bad), Error::kTrailingBytes);
  // Address A0 = 1A is not BCD; CS = 0x368 - 12 + 1A = 0x370 -> 70.
  EXPECT_EQ(error_of(Bytes("68 1A9078563412 68 11 04 33333433 70 16")), Error::kBadBcd);
  // A checksum error is kDataLoss, the rest of the frame errors kInvalidArgument.
  bad = good;
  bad[14] = 0x00;
  EXPECT_EQ(DecodeFrame(bad).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFrame(std::vector<uint8_t>{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Drains `decoder`, returning frames as hex and errors as their names.
std::vector<std::string> Drain(FrameDecoder& decoder) {
  std::vector<std::string> out;
  while (auto next = decoder.Next()) {
    if (next->ok()) {
      out.push_back(ToHex(*EncodeFrame(**next, 0)));
    } else {
      out.push_back(std::string(ErrorName(ErrorOf(next->status()))));
    }
  }
  return out;
}

TEST(Dlt645FrameDecoder, SkipsPreambleAndJunkBeforeTheFrame) {
  FrameDecoder decoder;
  decoder.Append(Bytes(std::string("00 13 FF FE FE FE FE ") + kReadReply));
  EXPECT_THAT(Drain(decoder), ElementsAre(ToHex(Bytes(kReadReply))));
  EXPECT_EQ(decoder.skipped_bytes(), 7u);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(Dlt645FrameDecoder, FindsTwoFramesInOneChunk) {
  FrameDecoder decoder;
  decoder.Append(Bytes(std::string(kReadRequest) + "FEFE" + kReadReply));
  EXPECT_THAT(Drain(decoder), ElementsAre(ToHex(ReadRequestWire()), ToHex(Bytes(kReadReply))));
}

TEST(Dlt645FrameDecoder, AssemblesAFrameSplitByteByByte) {
  FrameDecoder decoder;
  std::vector<uint8_t> wire = Bytes(std::string("FEFEFEFE") + kReadReply);
  for (size_t i = 0; i < wire.size(); ++i) {
    decoder.Append({&wire[i], 1});
    auto next = decoder.Next();
    if (i + 1 < wire.size()) {
      EXPECT_FALSE(next.has_value()) << i;
    } else {
      ASSERT_TRUE(next.has_value());
      ASSERT_TRUE(next->ok());
      EXPECT_EQ((*next)->control.ToByte(), 0x91);
    }
  }
  EXPECT_FALSE(decoder.Next().has_value());
}

TEST(Dlt645FrameDecoder, ReportsABadFrameOnceAndResynchronises) {
  std::vector<uint8_t> bad_checksum = ReadRequestWire();
  bad_checksum[14] = 0x00;
  std::vector<uint8_t> bad_end = ReadRequestWire();
  bad_end[15] = 0x00;
  std::vector<uint8_t> bad_length = ReadRequestWire();
  bad_length[9] = 0xF0;
  FrameDecoder decoder;
  for (const auto& bad : {bad_checksum, bad_end, bad_length}) {
    decoder.Append(bad);
    decoder.Append(Bytes(kReadReply));
  }
  EXPECT_THAT(Drain(decoder),
              ElementsAre("bad_checksum", ToHex(Bytes(kReadReply)), "bad_end",
                          ToHex(Bytes(kReadReply)), "bad_length", ToHex(Bytes(kReadReply))));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(Dlt645FrameDecoder, IgnoresA68WithoutASecond68) {
  // An ASCII heartbeat "hello" (68 65 6C 6C 6F) then a frame.
  FrameDecoder decoder;
  decoder.Append(Bytes(std::string("68656C6C6F ") + kReadRequest));
  EXPECT_THAT(Drain(decoder), ElementsAre(ToHex(ReadRequestWire())));
  EXPECT_EQ(decoder.skipped_bytes(), 5u);
}

TEST(Dlt645FrameDecoder, ACutOffFrameIsTruncatedWhenTheNextFrameIsComplete) {
  // A reply announcing L = 20H cut off after 12 bytes, then a whole reply:
  // the first cannot complete before the second ends.
  std::vector<uint8_t> wire = Bytes("68 129078563412 68 91 20 33333433 89");
  std::vector<uint8_t> reply = Bytes(kReadReply);
  wire.insert(wire.end(), reply.begin(), reply.end());
  FrameDecoder decoder;
  decoder.Append(wire);
  EXPECT_THAT(Drain(decoder), ElementsAre("truncated", ToHex(reply)));

  // Cut off so early that the next frame's bytes complete its claimed
  // length: reported by the first check that fails (here the end byte).
  wire = ReadRequestWire();
  wire.resize(11);
  wire.insert(wire.end(), reply.begin(), reply.end());
  decoder.Append(wire);
  EXPECT_THAT(Drain(decoder), ElementsAre("bad_end", ToHex(reply)));
}

TEST(Dlt645FrameDecoder, WaitsForAnIncompleteFrameAndResetDropsIt) {
  std::vector<uint8_t> wire = ReadRequestWire();
  FrameDecoder decoder;
  decoder.Append(absl::MakeConstSpan(wire).subspan(0, 12));
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_EQ(decoder.buffered_bytes(), 12u);
  EXPECT_EQ(decoder.Reset(), 12u);
  decoder.Append(wire);
  EXPECT_THAT(Drain(decoder), ElementsAre(ToHex(wire)));
}

TEST(Dlt645FrameDecoder, FindsAFrameInsideGarbageAndNeverStalls) {
  // A bad candidate whose claimed length covers a real frame: the real frame
  // is still found after the candidate fails.
  std::vector<uint8_t> wire = Bytes("68 11 22 33 44 55 66 68 11 0C");  // L = 12
  std::vector<uint8_t> reply = Bytes(kReadReply);
  wire.insert(wire.end(), reply.begin(), reply.end());
  FrameDecoder decoder;
  decoder.Append(wire);
  std::vector<std::string> seen = Drain(decoder);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), ToHex(reply));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(Dlt645FrameDecoder, HoldsAtMostOneIncompleteFrame) {
  FrameDecoder decoder;
  std::vector<uint8_t> junk(10000, 0x55);
  decoder.Append(junk);
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_EQ(decoder.skipped_bytes(), 10000u);
  // Every 68 here has a 68 seven bytes on and L = 0x68: each candidate fails
  // on its end byte and the decoder moves one byte on; candidates inside a
  // reported one (116 bytes) stay quiet.
  std::vector<uint8_t> many_starts(1000, 0x68);
  decoder.Append(many_starts);
  std::vector<std::string> seen = Drain(decoder);
  EXPECT_THAT(seen, ::testing::Each("bad_end"));
  EXPECT_EQ(seen.size(), 8u);  // at 0, 116, .., 812; from 885 on they are incomplete
  EXPECT_LT(decoder.buffered_bytes(), kFrameBytesMax);
}

TEST(Dlt645Hex, ParsesWithSeparatorsAndRefusesOddOrNonHex) {
  EXPECT_THAT(*ParseHex("68 aa:0F-16"), ElementsAre(0x68, 0xAA, 0x0F, 0x16));
  EXPECT_EQ(ErrorOf(ParseHex("123").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseHex("zz").status()), Error::kBadValue);
  EXPECT_EQ(ToHex(Bytes("0a0B")), "0A0B");
}

TEST(Dlt645Errors, CarryTheEnumAndTheMeterErrorWord) {
  absl::Status abnormal = MakeError(Error::kAbnormalReply, "x", kMeterErrorPassword);
  EXPECT_EQ(ErrorOf(abnormal), Error::kAbnormalReply);
  EXPECT_EQ(MeterErrorWordOf(abnormal), kMeterErrorPassword);
  EXPECT_EQ(abnormal.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorOf(absl::OkStatus()), Error::kNone);
  EXPECT_EQ(ErrorOf(absl::InternalError("not ours")), Error::kNone);
  EXPECT_EQ(MeterErrorWordOf(MakeError(Error::kBadEnd, "x", 0x04)), 0);
  EXPECT_EQ(MakeError(Error::kTimeout, "x").code(), absl::StatusCode::kDeadlineExceeded);
  for (int i = 1; i < kErrorCount; ++i) {
    auto error = static_cast<Error>(i);
    EXPECT_EQ(ErrorOf(MakeError(error, "x")), error);
    EXPECT_NE(ErrorName(error), "unknown");
  }
}

}  // namespace
}  // namespace wattledger::ingest::dlt645
