#include "ingest/dlt645/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "ingest/dlt645/error.h"
#include "ingest/dlt645/frame.h"

namespace wattledger::ingest::dlt645 {
namespace {

using ::testing::ElementsAre;

std::vector<uint8_t> Bytes(absl::string_view hex) { return *ParseHex(hex); }

TEST(Dlt645DataId, IsSentLowByteFirst) {
  EXPECT_THAT(EncodeDataId(kForwardActiveEnergy), ElementsAre(0x00, 0x00, 0x01, 0x00));
  EXPECT_THAT(EncodeDataId(kRunStatusWord3), ElementsAre(0x03, 0x05, 0x00, 0x04));
  EXPECT_EQ(*DecodeDataId(Bytes("03050004")), kRunStatusWord3);
  EXPECT_EQ(ErrorOf(DecodeDataId(Bytes("030500")).status()), Error::kBadLength);
  EXPECT_EQ(DataIdToString(kForwardActiveEnergyBlock), "0001FF00");
  EXPECT_EQ(*ParseDataId("0001ff00"), kForwardActiveEnergyBlock);
  EXPECT_EQ(ErrorOf(ParseDataId("0001FF0").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseDataId("0001FG00").status()), Error::kBadValue);
}

TEST(Dlt645Bcd, DecodesLowByteFirstWithTheSignInTheTopBit) {
  EXPECT_EQ(*DecodeBcd(Bytes("56341200"), false), 123456);
  EXPECT_EQ(*DecodeBcd(Bytes("56341280"), true), -123456);
  EXPECT_EQ(*DecodeBcd(Bytes("00000080"), true), 0);  // negative zero reads as zero
  EXPECT_EQ(ErrorOf(DecodeBcd(Bytes("5A"), false).status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(DecodeBcd(Bytes("A5"), false).status()), Error::kBadBcd);
  // Unsigned, the top bit is a digit: 0x80 is 80.
  EXPECT_EQ(*DecodeBcd(Bytes("80"), false), 80);
  EXPECT_EQ(ErrorOf(DecodeBcd(Bytes("8A"), true).status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(DecodeBcd({}, false).status()), Error::kBadLength);
  EXPECT_EQ(ErrorOf(DecodeBcd(std::vector<uint8_t>(9, 0), false).status()), Error::kBadLength);
}

TEST(Dlt645Bcd, RoundTripsTheRangeLimits) {
  for (size_t bytes = 1; bytes <= 8; ++bytes) {
    for (bool is_signed : {false, true}) {
      int64_t max = BcdMagnitudeMax(bytes, is_signed);
      for (int64_t value : {int64_t{0}, int64_t{1}, max, is_signed ? -max : max / 2}) {
        auto wire = EncodeBcd(value, bytes, is_signed);
        ASSERT_TRUE(wire.ok()) << value << " in " << bytes;
        EXPECT_EQ(wire->size(), bytes);
        EXPECT_EQ(*DecodeBcd(*wire, is_signed), value);
      }
      EXPECT_EQ(ErrorOf(EncodeBcd(max + 1, bytes, is_signed).status()), Error::kBadValue);
      EXPECT_EQ(ErrorOf(EncodeBcd(-max - 1, bytes, is_signed).status()), Error::kBadValue);
    }
  }
  EXPECT_EQ(BcdMagnitudeMax(4, false), 99999999);
  EXPECT_EQ(BcdMagnitudeMax(4, true), 79999999);
  EXPECT_EQ(ErrorOf(EncodeBcd(-1, 4, false).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeBcd(INT64_MIN, 8, true).status()), Error::kBadValue);
}

TEST(Dlt645Energy, CountsTenWattHourSteps) {
  // 1234.56 kWh = BCD 00 12 34 56, low first.
  EXPECT_EQ(*DecodeEnergyWh(Bytes("56341200"), false), 1234560);
  EXPECT_THAT(*EncodeEnergyWh(1234560, false), ElementsAre(0x56, 0x34, 0x12, 0x00));
  // Encoding truncates toward zero: 1234569 Wh shows 1234.56 kWh.
  EXPECT_THAT(*EncodeEnergyWh(1234569, false), ElementsAre(0x56, 0x34, 0x12, 0x00));
  EXPECT_THAT(*EncodeEnergyWh(-1234569, true), ElementsAre(0x56, 0x34, 0x12, 0x80));
  EXPECT_EQ(*DecodeEnergyWh(Bytes("56341280"), true), -1234560);
  // Limits: 999999.99 kWh unsigned, ±799999.99 kWh signed.
  EXPECT_EQ(*DecodeEnergyWh(*EncodeEnergyWh(999999990, false), false), 999999990);
  EXPECT_EQ(*DecodeEnergyWh(*EncodeEnergyWh(-799999990, true), true), -799999990);
  EXPECT_EQ(ErrorOf(EncodeEnergyWh(1000000000, false).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeEnergyWh(800000000, true).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeEnergyWh(-800000000, true).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeEnergyWh(-10, false).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(DecodeEnergyWh(Bytes("563412"), false).status()), Error::kBadLength);
  EXPECT_EQ(*DecodeReactiveEnergyVarh(Bytes("00010000"), true), 1000);
}

TEST(Dlt645Instantaneous, VoltageCurrentPowerFactorFrequency) {
  // 220.5 V = 2205 dV -> 05 22.
  EXPECT_EQ(*DecodeVoltageDv(Bytes("0522")), 2205);
  EXPECT_THAT(*EncodeVoltageDv(2205), ElementsAre(0x05, 0x22));
  EXPECT_EQ(ErrorOf(EncodeVoltageDv(10000).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeVoltageDv(-1).status()), Error::kBadValue);
  // -5.123 A = 005123 with sign -> 23 51 80.
  EXPECT_EQ(*DecodeCurrentMa(Bytes("235180")), -5123);
  EXPECT_THAT(*EncodeCurrentMa(-5123), ElementsAre(0x23, 0x51, 0x80));
  EXPECT_EQ(*DecodeCurrentMa(*EncodeCurrentMa(799999)), 799999);
  EXPECT_EQ(ErrorOf(EncodeCurrentMa(800000).status()), Error::kBadValue);
  // 0.987 PF -> 87 09; -1.000 -> 00 90.
  EXPECT_EQ(*DecodePowerFactorMilli(Bytes("8709")), 987);
  EXPECT_THAT(*EncodePowerFactorMilli(-1000), ElementsAre(0x00, 0x90));
  EXPECT_EQ(ErrorOf(EncodePowerFactorMilli(1001).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(DecodePowerFactorMilli(Bytes("0020")).status()), Error::kBadValue);  // 2.000
  // 50.01 Hz.
  EXPECT_EQ(*DecodeFrequencyCentiHz(Bytes("0150")), 5001);
  EXPECT_THAT(*EncodeFrequencyCentiHz(4998), ElementsAre(0x98, 0x49));
  // Money: 12.34 CNY = 1234 fen.
  EXPECT_EQ(*DecodeAmountFen(Bytes("34120000")), 1234);
  EXPECT_EQ(ErrorOf(EncodeAmountFen(-1).status()), Error::kBadValue);
}

TEST(Dlt645Power, RoundsTenthsOfAWattHalfAwayFromZero) {
  // XX.XXXX kW: 1.2345 kW = 1234.5 W -> 1235 W; BCD 01 23 45 -> 45 23 01.
  EXPECT_EQ(*DecodePowerW(Bytes("452301")), 1235);
  EXPECT_EQ(*DecodePowerW(Bytes("452381")), -1235);
  EXPECT_EQ(*DecodePowerW(Bytes("442301")), 1234);  // 1234.4 W
  EXPECT_EQ(*DecodePowerW(Bytes("050000")), 1);     // 0.5 W
  EXPECT_EQ(*DecodePowerW(Bytes("040000")), 0);     // 0.4 W
  EXPECT_EQ(*DecodePowerW(Bytes("050080")), -1);    // -0.5 W
  EXPECT_THAT(*EncodePowerW(-1234), ElementsAre(0x40, 0x23, 0x81));
  EXPECT_EQ(*DecodePowerW(*EncodePowerW(79999)), 79999);
  EXPECT_EQ(*DecodePowerW(*EncodePowerW(-79999)), -79999);
  EXPECT_EQ(ErrorOf(EncodePowerW(80000).status()), Error::kBadValue);
  EXPECT_EQ(*DecodePowerLimitW(*EncodePowerLimitW(99999)), 99999);
  EXPECT_EQ(ErrorOf(EncodePowerLimitW(100000).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodePowerLimitW(-1).status()), Error::kBadValue);
}

TEST(Dlt645DateTime, SixByteTimeAndTheDateAndTimeItems) {
  DateTime time{.year = 2026, .month = 3, .day = 1, .hour = 12, .minute = 34, .second = 56};
  EXPECT_THAT(*EncodeDateTime6(time), ElementsAre(0x56, 0x34, 0x12, 0x01, 0x03, 0x26));
  EXPECT_EQ(*DecodeDateTime6(Bytes("563412010326")), time);
  // 2026-03-01 is a Sunday: WW = 00.
  EXPECT_EQ(DayOfWeek(2026, 3, 1), 0);
  EXPECT_EQ(DayOfWeek(2024, 2, 29), 4);
  EXPECT_THAT(*EncodeDate(time), ElementsAre(0x00, 0x01, 0x03, 0x26));
  DateTime date = *DecodeDate(Bytes("00010326"));
  EXPECT_EQ(FormatDateTime(date), "2026-03-01T00:00:00");
  EXPECT_THAT(*EncodeTime(time), ElementsAre(0x56, 0x34, 0x12));
  EXPECT_EQ(DecodeTime(Bytes("563412"))->hour, 12);
  EXPECT_EQ(*ParseDateTime("2026-03-01T12:34:56"), time);
  EXPECT_EQ(*ParseDateTime("2026-03-01 12:34:56"), time);
  EXPECT_EQ(FormatDateTime(time), "2026-03-01T12:34:56");
  // Invalid times are kBadValue, non-BCD kBadBcd, wrong size kBadLength.
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("563412300226")).status()), Error::kBadValue);  // Feb 30
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("603412010326")).status()), Error::kBadValue);  // :60
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("563412011326")).status()),
            Error::kBadValue);  // month 13
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("5A3412010326")).status()), Error::kBadBcd);
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("5634120103")).status()), Error::kBadLength);
  EXPECT_EQ(ErrorOf(DecodeDate(Bytes("07010326")).status()), Error::kBadValue);  // weekday 7
  EXPECT_TRUE(DecodeDateTime6(Bytes("000000290224")).ok());                      // 2024 leap day
  EXPECT_EQ(ErrorOf(DecodeDateTime6(Bytes("000000290225")).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseDateTime("2026-03-01").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseDateTime("1999-03-01T00:00:00").status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParseDateTime("2026-03-01T00:00:+1").status()), Error::kBadValue);
}

TEST(Dlt645RunStatus3, NamedBits) {
  // Low byte 10 (relay open), high byte 10 (keep power).
  RunStatus3 status = *DecodeRunStatus3(Bytes("1010"));
  EXPECT_TRUE(status.relay_open);
  EXPECT_FALSE(status.relay_command_open);
  EXPECT_FALSE(status.pre_trip_alarm);
  EXPECT_TRUE(status.keep_power);
  EXPECT_EQ(status.raw, 0x1010);
  status = *DecodeRunStatus3(Bytes("C001"));
  EXPECT_TRUE(status.relay_command_open);
  EXPECT_TRUE(status.pre_trip_alarm);
  EXPECT_FALSE(status.relay_open);
  EXPECT_EQ(status.raw, 0x01C0);  // bit 8 kept in raw
  EXPECT_THAT(EncodeRunStatus3(status), ElementsAre(0xC0, 0x01));
  status.relay_open = true;
  status.pre_trip_alarm = false;
  EXPECT_THAT(EncodeRunStatus3(status), ElementsAre(0x50, 0x01));
  EXPECT_EQ(ErrorOf(DecodeRunStatus3(Bytes("10")).status()), Error::kBadLength);
}

TEST(Dlt645Circuits, StandardForCircuitOneVendorRangeForTheOthers) {
  EXPECT_EQ(*CircuitDataId(kForwardActiveEnergy, 1), kForwardActiveEnergy);
  EXPECT_EQ(*CircuitDataId(kForwardActiveEnergy, 2), 0x04C00201u);
  EXPECT_EQ(*CircuitDataId(kActivePower, 4), 0x04C00403u);
  EXPECT_EQ(*CircuitDataId(kRunStatusWord3, 3), 0x04C00306u);
  EXPECT_EQ(ErrorOf(CircuitDataId(kForwardActiveEnergy, 5).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(CircuitDataId(kForwardActiveEnergy, 0).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(CircuitDataId(kFrequency, 2).status()), Error::kUnknownDataId);
  for (DataId standard : {kForwardActiveEnergy, kCombinedActiveEnergy, kActivePower, kCurrentA,
                          kPowerFactor, kRunStatusWord3, kVoltageA}) {
    for (int circuit = 1; circuit <= kCircuitsMax; ++circuit) {
      CircuitDataIdParts parts = ResolveCircuit(*CircuitDataId(standard, circuit));
      EXPECT_EQ(parts.standard, standard);
      EXPECT_EQ(parts.circuit, circuit);
    }
  }
  EXPECT_EQ(ResolveCircuit(0x04C00101).circuit, 1);  // circuit 1 has no vendor DI
  EXPECT_EQ(ResolveCircuit(0x04C00101).standard, 0x04C00101u);
}

TEST(Dlt645SelfTrip, RecordOfAMaliciousLoadTrip) {
  // reason 02 | 2026-03-01 12:34:56 = 56 34 12 01 03 26 | before 45.0 W = 0.0450 kW
  // -> 50 04 00 | at 1545.0 W = 1.5450 kW -> 50 54 01 | PF 1.000 -> 00 10 | count 3
  // -> 03 00 00 00.
  const std::vector<uint8_t> wire = Bytes("02 563412010326 500400 505401 0010 03000000");
  ASSERT_EQ(wire.size(), kSelfTripRecordBytes);
  SelfTripRecord record{
      .reason = SelfTripReason::kMaliciousLoad,
      .at = DateTime{.year = 2026, .month = 3, .day = 1, .hour = 12, .minute = 34, .second = 56},
      .power_before_w = 45,
      .power_w = 1545,
      .power_factor_milli = 1000,
      .trip_count = 3};
  EXPECT_EQ(*DecodeSelfTripRecord(wire), record);
  EXPECT_EQ(*EncodeSelfTripRecord(record), wire);
  EXPECT_EQ(SelfTripReasonName(record.reason), "malicious_load");
}

TEST(Dlt645SelfTrip, RoundTripsEveryReasonAndTheRangeLimits) {
  for (SelfTripReason reason : {SelfTripReason::kLoadLimit, SelfTripReason::kMaliciousLoad,
                                SelfTripReason::kScheduleOff, SelfTripReason::kNightLimit}) {
    SelfTripRecord record{
        .reason = reason,
        .at =
            DateTime{.year = 2099, .month = 12, .day = 31, .hour = 23, .minute = 59, .second = 59},
        .power_before_w = -79999,  // signed like active power
        .power_w = 79999,
        .power_factor_milli = -1000,
        .trip_count = 99'999'999};
    auto wire = EncodeSelfTripRecord(record);
    ASSERT_TRUE(wire.ok()) << wire.status();
    EXPECT_EQ(*DecodeSelfTripRecord(*wire), record);
  }
  SelfTripRecord too_many{.reason = SelfTripReason::kLoadLimit,
                          .at = DateTime{},
                          .power_before_w = 0,
                          .power_w = 0,
                          .power_factor_milli = 0,
                          .trip_count = 100'000'000};
  EXPECT_EQ(ErrorOf(EncodeSelfTripRecord(too_many).status()), Error::kBadValue);
  too_many.trip_count = 1;
  too_many.power_w = 80000;
  EXPECT_EQ(ErrorOf(EncodeSelfTripRecord(too_many).status()), Error::kBadValue);
}

TEST(Dlt645SelfTrip, AMeterThatNeverTrippedAnswersZeros) {
  const std::vector<uint8_t> zeros(kSelfTripRecordBytes, 0);
  SelfTripRecord none = *DecodeSelfTripRecord(zeros);
  EXPECT_EQ(none.reason, SelfTripReason::kNone);
  EXPECT_FALSE(none.at.has_value());
  EXPECT_EQ(none, SelfTripRecord{});
  EXPECT_EQ(*EncodeSelfTripRecord(SelfTripRecord{}), zeros);
}

TEST(Dlt645SelfTrip, MalformedRecordsAreTypedErrors) {
  // Wrong size.
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("02 563412010326 500400 505401 0010 030000")).status()),
      Error::kBadLength);
  EXPECT_EQ(ErrorOf(DecodeSelfTripRecord({}).status()), Error::kBadLength);
  // Reason 5 is not defined; 0A is not BCD.
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("05 563412010326 500400 505401 0010 03000000")).status()),
      Error::kBadValue);
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("0A 563412010326 500400 505401 0010 03000000")).status()),
      Error::kBadBcd);
  // A trip with no time, a time for no trip, 30 February.
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("01 000000000000 500400 505401 0010 03000000")).status()),
      Error::kBadValue);
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("00 563412010326 000000 000000 0000 00000000")).status()),
      Error::kBadValue);
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("01 563412300226 500400 505401 0010 03000000")).status()),
      Error::kBadValue);
  // Power factor 2.000, non-BCD power, non-BCD count.
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("02 563412010326 500400 505401 0020 03000000")).status()),
      Error::kBadValue);
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("02 563412010326 5A0400 505401 0010 03000000")).status()),
      Error::kBadBcd);
  EXPECT_EQ(
      ErrorOf(DecodeSelfTripRecord(Bytes("02 563412010326 500400 505401 0010 0300000A")).status()),
      Error::kBadBcd);
  // Encoding: the time is there exactly when a reason is.
  SelfTripRecord record;
  record.reason = SelfTripReason::kLoadLimit;
  EXPECT_EQ(ErrorOf(EncodeSelfTripRecord(record).status()), Error::kBadValue);
  record.reason = SelfTripReason::kNone;
  record.at = DateTime{};
  EXPECT_EQ(ErrorOf(EncodeSelfTripRecord(record).status()), Error::kBadValue);
  record.reason = static_cast<SelfTripReason>(5);
  EXPECT_EQ(ErrorOf(EncodeSelfTripRecord(record).status()), Error::kBadValue);
  record.reason = SelfTripReason::kNightLimit;
  EXPECT_TRUE(EncodeSelfTripRecord(record).ok());
}

TEST(Dlt645SelfTrip, OneDataIdPerCircuitInTheLowByte) {
  EXPECT_EQ(*SelfTripDataId(1), kLastSelfTrip);
  EXPECT_EQ(*SelfTripDataId(1), 0x04C20001u);
  EXPECT_EQ(*SelfTripDataId(4), 0x04C20004u);
  EXPECT_EQ(ErrorOf(SelfTripDataId(0).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(SelfTripDataId(5).status()), Error::kBadValue);
  for (int circuit = 1; circuit <= kCircuitsMax; ++circuit) {
    EXPECT_EQ(SelfTripCircuit(*SelfTripDataId(circuit)), circuit);
  }
  EXPECT_EQ(SelfTripCircuit(0x04C20000), std::nullopt);
  EXPECT_EQ(SelfTripCircuit(0x04C20005), std::nullopt);
  EXPECT_EQ(SelfTripCircuit(kReadingSnapshot), std::nullopt);
  // Not a 04C0ccnn circuit DI: it names its circuit itself.
  EXPECT_EQ(ResolveCircuit(0x04C20003).standard, 0x04C20003u);
  // The table knows it for every circuit, and its size.
  ASSERT_NE(FindDataId(0x04C20003), nullptr);
  EXPECT_EQ(FindDataId(0x04C20003)->name, "last_self_trip");
  EXPECT_TRUE(CheckValueSize(0x04C20002, kSelfTripRecordBytes).ok());
  EXPECT_EQ(ErrorOf(CheckValueSize(0x04C20002, 16)), Error::kBadLength);
  EXPECT_EQ(FindDataId(0x04C20005), nullptr);
  EXPECT_EQ(
      *ValueToJson(0x04C20002, Bytes("02 563412010326 500400 505401 0010 03000000")),
      R"({"di":"04C20002","name":"last_self_trip","circuit":2,"value":{"reason":"malicious_load","at":"2026-03-01T12:34:56","power_before_w":45,"power_w":1545,"power_factor_milli":1000,"trip_count":3}})");
  EXPECT_EQ(
      *ValueToJson(kLastSelfTrip, std::vector<uint8_t>(kSelfTripRecordBytes, 0)),
      R"({"di":"04C20001","name":"last_self_trip","circuit":1,"value":{"reason":"none","at":null,"power_before_w":0,"power_w":0,"power_factor_milli":0,"trip_count":0}})");
}

TEST(Dlt645Table, KnowsSizesAndPrintsJson) {
  ASSERT_NE(FindDataId(kForwardActiveEnergy), nullptr);
  EXPECT_EQ(FindDataId(kForwardActiveEnergy)->value_bytes, 4u);
  EXPECT_EQ(FindDataId(0x04C00203)->name, "active_power");
  EXPECT_TRUE(FindDataId(0x04000E01)->writable);
  EXPECT_EQ(FindDataId(0x12345678), nullptr);
  EXPECT_EQ(
      *ValueToJson(kForwardActiveEnergy, Bytes("56341200")),
      R"({"di":"00010000","name":"forward_active_energy","circuit":1,"unit":"Wh","value":1234560})");
  EXPECT_EQ(
      *ValueToJson(0x04C00201, Bytes("56341200")),
      R"({"di":"04C00201","name":"forward_active_energy","circuit":2,"unit":"Wh","value":1234560})");
  EXPECT_EQ(
      *ValueToJson(kForwardActiveEnergyBlock,
                   Bytes("00010000 00000000 00010000 00000000 00000000")),
      R"({"di":"0001FF00","name":"forward_active_energy_block","circuit":1,"unit":"Wh","value":[1000,0,1000,0,0]})");
  EXPECT_EQ(
      *ValueToJson(kRunStatusWord3, Bytes("1000")),
      R"({"di":"04000503","name":"run_status_word_3","circuit":1,"value":{"relay_open":true,"relay_command_open":false,"pre_trip_alarm":false,"keep_power":false,"raw":"0010"}})");
  EXPECT_EQ(
      *ValueToJson(kCommunicationAddress, Bytes("129078563412")),
      R"({"di":"04000401","name":"communication_address","circuit":1,"value":"123456789012"})");
  EXPECT_EQ(*ValueToJson(kDate, Bytes("00010326")),
            R"({"di":"04000101","name":"date","circuit":1,"value":"2026-03-01"})");
  EXPECT_EQ(*ValueToJson(kTime, Bytes("563412")),
            R"({"di":"04000102","name":"time","circuit":1,"value":"12:34:56"})");
  EXPECT_EQ(ErrorOf(ValueToJson(0x12345678, Bytes("00")).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ValueToJson(kForwardActiveEnergy, Bytes("563412")).status()),
            Error::kBadLength);
  EXPECT_EQ(ErrorOf(ValueToJson(kForwardActiveEnergy, Bytes("5634120A")).status()), Error::kBadBcd);
  // Blocks take any whole number of items (meters differ in tariff count).
  EXPECT_TRUE(CheckValueSize(kForwardActiveEnergyBlock, 8).ok());
  EXPECT_EQ(ErrorOf(CheckValueSize(kForwardActiveEnergyBlock, 6)), Error::kBadLength);
  EXPECT_EQ(ErrorOf(CheckValueSize(kForwardActiveEnergyBlock, 0)), Error::kBadLength);
  EXPECT_TRUE(CheckValueSize(0x12345678, 3).ok());
}

}  // namespace
}  // namespace wattledger::ingest::dlt645
