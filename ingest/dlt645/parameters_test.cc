#include "ingest/dlt645/parameters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "ingest/dlt645/error.h"
#include "ingest/dlt645/frame.h"

namespace wattledger::ingest::dlt645 {
namespace {

using ::testing::ElementsAre;

std::vector<uint8_t> Bytes(absl::string_view hex) { return *ParseHex(hex); }

TEST(Dlt645ParameterDataId, StandardForCircuitOneWhereTheStandardHasOne) {
  EXPECT_EQ(*ParameterDataId({Parameter::kLoadLimit, 1, 0}), 0x04000E01u);
  EXPECT_EQ(*ParameterDataId({Parameter::kLoadLimit, 2, 0}), 0x04A00102u);
  EXPECT_EQ(*ParameterDataId({Parameter::kOverdraftLimit, 1, 0}), 0x04001003u);
  EXPECT_EQ(*ParameterDataId({Parameter::kOverdraftLimit, 4, 0}), 0x04A00504u);
  EXPECT_EQ(*ParameterDataId({Parameter::kMaliciousLoadPower, 1, 0}), 0x04A00201u);
  EXPECT_EQ(*ParameterDataId({Parameter::kMaliciousLoadPowerFactor, 3, 0}), 0x04A00303u);
  EXPECT_EQ(*ParameterDataId({Parameter::kRecoveryDelay, 1, 0}), 0x04A00401u);
  EXPECT_EQ(*ParameterDataId({Parameter::kWorkdayPeriod, 1, 8}), 0x04A10801u);
  EXPECT_EQ(*ParameterDataId({Parameter::kHolidayPeriod, 2, 1}), 0x04A20102u);
  EXPECT_EQ(*ScheduleBlockDataId(Parameter::kWorkdayPeriod, 2), 0x04A1FF02u);
  EXPECT_EQ(ErrorOf(ScheduleBlockDataId(Parameter::kLoadLimit, 1).status()), Error::kWrongFunction);
}

TEST(Dlt645ParameterDataId, RefusesOutOfRangeCircuitsAndPeriods) {
  EXPECT_EQ(ErrorOf(ParameterDataId({Parameter::kLoadLimit, 0, 0}).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParameterDataId({Parameter::kLoadLimit, 5, 0}).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParameterDataId({Parameter::kLoadLimit, 1, 1}).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParameterDataId({Parameter::kWorkdayPeriod, 1, 0}).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParameterDataId({Parameter::kWorkdayPeriod, 1, 9}).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(ParameterDataId({static_cast<Parameter>(9), 1, 0}).status()), Error::kBadValue);
}

TEST(Dlt645ResolveParameter, InvertsParameterDataId) {
  for (Parameter parameter :
       {Parameter::kLoadLimit, Parameter::kMaliciousLoadPower, Parameter::kMaliciousLoadPowerFactor,
        Parameter::kRecoveryDelay, Parameter::kOverdraftLimit, Parameter::kWorkdayPeriod,
        Parameter::kHolidayPeriod}) {
    bool periods = parameter == Parameter::kWorkdayPeriod || parameter == Parameter::kHolidayPeriod;
    for (int circuit = 1; circuit <= kCircuitsMax; ++circuit) {
      for (int period = periods ? 1 : 0; period <= (periods ? kSchedulePeriodsMax : 0); ++period) {
        ParameterId id{parameter, circuit, period};
        auto data_id = ParameterDataId(id);
        ASSERT_TRUE(data_id.ok()) << data_id.status();
        auto back = ResolveParameter(*data_id);
        ASSERT_TRUE(back.ok()) << DataIdToString(*data_id);
        EXPECT_EQ(*back, id);
        EXPECT_NE(FindDataId(*data_id), nullptr);
      }
    }
    EXPECT_EQ(*ParseParameter(ParameterName(parameter)), parameter);
  }
  // The standard DI is circuit 1's only name: 04A00101 is not an alias.
  EXPECT_EQ(ErrorOf(ResolveParameter(0x04A00101).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ResolveParameter(0x04A00105).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ResolveParameter(0x04A1FF01).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ResolveParameter(0x04A00901).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ResolveParameter(kForwardActiveEnergy).status()), Error::kUnknownDataId);
  EXPECT_EQ(ErrorOf(ParseParameter("volume").status()), Error::kBadValue);
}

TEST(Dlt645ScalarParameters, EncodeDecodeAndLimits) {
  struct Case {
    Parameter parameter;
    int64_t value;
    const char* wire;
  };
  for (const Case& c : {
           Case{Parameter::kLoadLimit, 2200, "002002"},              // 02.2000 kW
           Case{Parameter::kMaliciousLoadPower, 800, "008000"},      // 00.8000 kW
           Case{Parameter::kMaliciousLoadPowerFactor, 900, "0009"},  // 0.900
           Case{Parameter::kRecoveryDelay, 255, "5502"},
           Case{Parameter::kOverdraftLimit, 500, "00050000"},  // 5.00 CNY
       }) {
    auto wire = EncodeScalarParameter(c.parameter, c.value);
    ASSERT_TRUE(wire.ok()) << wire.status();
    EXPECT_EQ(ToHex(*wire), ToHex(Bytes(c.wire))) << ParameterName(c.parameter);
    EXPECT_EQ(*DecodeScalarParameter(c.parameter, *wire), c.value);
  }
  EXPECT_EQ(ErrorOf(EncodeScalarParameter(Parameter::kRecoveryDelay, 256).status()),
            Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeScalarParameter(Parameter::kRecoveryDelay, -1).status()),
            Error::kBadValue);
  EXPECT_EQ(ErrorOf(DecodeScalarParameter(Parameter::kRecoveryDelay, Bytes("5602")).status()),
            Error::kBadValue);  // 256 min
  EXPECT_EQ(ErrorOf(EncodeScalarParameter(Parameter::kMaliciousLoadPowerFactor, 1001).status()),
            Error::kBadValue);
  EXPECT_EQ(ErrorOf(EncodeScalarParameter(Parameter::kLoadLimit, 100000).status()),
            Error::kBadValue);
  EXPECT_EQ(*DecodeScalarParameter(Parameter::kLoadLimit,
                                   *EncodeScalarParameter(Parameter::kLoadLimit, 99999)),
            99999);
  EXPECT_EQ(ErrorOf(EncodeScalarParameter(Parameter::kWorkdayPeriod, 1).status()),
            Error::kWrongFunction);
  EXPECT_EQ(ErrorOf(DecodeScalarParameter(Parameter::kHolidayPeriod, Bytes("00")).status()),
            Error::kWrongFunction);
  EXPECT_EQ(ErrorOf(DecodeScalarParameter(Parameter::kRecoveryDelay, Bytes("05")).status()),
            Error::kBadLength);
  EXPECT_EQ(ErrorOf(DecodeScalarParameter(Parameter::kLoadLimit, Bytes("00200A")).status()),
            Error::kBadBcd);
}

TEST(Dlt645SchedulePeriod, SixBytesMinuteHourActionLimit) {
  SchedulePeriod night{
      .hour = 23, .minute = 30, .action = ScheduleAction::kNight, .night_power_w = 300};
  // mm hh AA LLLLLL: 30 23 03, 00.3000 kW -> 00 30 00.
  EXPECT_THAT(*EncodeSchedulePeriod(night), ElementsAre(0x30, 0x23, 0x03, 0x00, 0x30, 0x00));
  EXPECT_EQ(*DecodeSchedulePeriod(Bytes("302303003000")), night);
  EXPECT_EQ(*ParseSchedulePeriod("23:30,night,300"), night);
  SchedulePeriod on{.hour = 7, .minute = 0, .action = ScheduleAction::kOn, .night_power_w = 0};
  EXPECT_EQ(*ParseSchedulePeriod("07:00,on"), on);
  EXPECT_EQ(*DecodeSchedulePeriod(*EncodeSchedulePeriod(on)), on);
  for (absl::string_view bad :
       {"24:00,on", "07:60,on", "07:00,night", "07:00,on,5", "07:00,dance", "7:00,on", "07:00"}) {
    EXPECT_EQ(ErrorOf(ParseSchedulePeriod(bad).status()), Error::kBadValue) << bad;
  }
  EXPECT_EQ(ErrorOf(DecodeSchedulePeriod(Bytes("302304000000")).status()), Error::kBadValue);
  EXPECT_EQ(ErrorOf(DecodeSchedulePeriod(Bytes("3023030000")).status()), Error::kBadLength);
  EXPECT_EQ(ErrorOf(DecodeSchedulePeriod(Bytes("3A2303003000")).status()), Error::kBadBcd);
}

TEST(Dlt645SchedulePeriod, BlockOfEight) {
  std::vector<uint8_t> block;
  std::vector<SchedulePeriod> periods(kSchedulePeriodsMax);
  periods[0] = *ParseSchedulePeriod("07:00,on");
  periods[1] = *ParseSchedulePeriod("23:30,night,300");
  periods[2] = *ParseSchedulePeriod("01:00,off");
  for (const SchedulePeriod& period : periods) {
    auto wire = EncodeSchedulePeriod(period);
    block.insert(block.end(), wire->begin(), wire->end());
  }
  EXPECT_EQ(*DecodeScheduleBlock(block), periods);
  auto json = ValueToJson(*ScheduleBlockDataId(Parameter::kWorkdayPeriod, 1), block);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json,
              ::testing::HasSubstr(R"({"start":"23:30","action":"night","night_power_w":300})"));
  block.pop_back();
  EXPECT_EQ(ErrorOf(DecodeScheduleBlock(block).status()), Error::kBadLength);
}

TEST(Dlt645ParameterJson, NamesCircuitAndPeriod) {
  EXPECT_EQ(
      *ValueToJson(0x04A00203, Bytes("008000")),
      R"({"di":"04A00203","name":"malicious_load_power","circuit":3,"unit":"W","value":800})");
  EXPECT_EQ(
      *ValueToJson(0x04A10201, Bytes("000701000000")),
      R"({"di":"04A10201","name":"workday_period","circuit":1,"period":2,"value":{"start":"07:00","action":"off","night_power_w":0}})");
  EXPECT_EQ(*ValueToJson(0x04001003, Bytes("00050000")),
            R"({"di":"04001003","name":"overdraft_limit","circuit":1,"unit":"fen","value":500})");
}

}  // namespace
}  // namespace wattledger::ingest::dlt645
