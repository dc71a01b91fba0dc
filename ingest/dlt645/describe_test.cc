#include "ingest/dlt645/describe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"

namespace wattledger::ingest::dlt645 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Address Meter() { return *Address::Parse("123456789012"); }

Credentials Operator() {
  return Credentials{.password = {0x02, 0x00, 0x00, 0x00}, .operator_code = {0, 0, 0, 1}};
}

TEST(Dlt645FrameToJson, ReadReplyShowsTheValueInEngineeringUnits) {
  Frame reply = *ReadReplyFrame(Meter(), kForwardActiveEnergy, *ParseHex("56341200"));
  EXPECT_EQ(FrameToJson(reply),
            R"({"address":"123456789012","control":"91","function":"read","reply":true,)"
            R"("abnormal":false,"follow_up":false,"length":8,"data":"0000010056341200",)"
            R"("di":"00010000","value":{"di":"00010000","name":"forward_active_energy",)"
            R"("circuit":1,"unit":"Wh","value":1234560}})");
  Frame bad_value = *ReadReplyFrame(Meter(), kForwardActiveEnergy, *ParseHex("5634120A"));
  EXPECT_THAT(FrameToJson(bad_value), HasSubstr(R"("value_error":"bad_bcd")"));
  Frame unknown = *ReadReplyFrame(Meter(), 0x12345678, *ParseHex("01"));
  EXPECT_THAT(FrameToJson(unknown), HasSubstr(R"("di":"12345678"})"));
}

TEST(Dlt645FrameToJson, RequestsShowTheirFields) {
  EXPECT_THAT(FrameToJson(ReadRequest(Meter(), kRunStatusWord3)),
              HasSubstr(R"("function":"read","reply":false)"));
  RemoteControlCommand command{.credentials = Operator(),
                               .action = RemoteAction::kKeepPower,
                               .valid_until = *ParseDateTime("2026-03-01T23:59:59")};
  EXPECT_THAT(FrameToJson(*RemoteControlRequest(Meter(), command)),
              HasSubstr(R"("password":"02000000","operator_code":"00000001",)"
                        R"("action":"keep-power","valid_until":"2026-03-01T23:59:59")"));
  EXPECT_THAT(FrameToJson(*BroadcastTimeRequest(*ParseDateTime("2026-03-01T12:34:56"))),
              HasSubstr(R"("time":"2026-03-01T12:34:56")"));
  Frame write = *WriteRequest(Meter(), 0x04000E01, Operator(),
                              *EncodeScalarParameter(Parameter::kLoadLimit, 2200));
  EXPECT_THAT(FrameToJson(write), HasSubstr(R"("di":"04000E01","value_hex":"002002",)"
                                            R"("value":{"di":"04000E01","name":"load_limit")"));
  Frame broken = *RemoteControlRequest(Meter(), command);
  broken.data.pop_back();
  EXPECT_THAT(FrameToJson(broken), HasSubstr(R"("request_error":"bad_length")"));
}

TEST(Dlt645FrameToJson, AbnormalAndAddressReplies) {
  EXPECT_THAT(FrameToJson(AbnormalReplyFrame(Meter(), Function::kWrite, 0x06)),
              HasSubstr(R"("error_word":"06","meter_errors":["no_data","password"])"));
  EXPECT_THAT(FrameToJson(ReadAddressReplyFrame(Meter())),
              HasSubstr(R"("meter_address":"123456789012")"));
  EXPECT_THAT(MeterErrorNames(0x81), ElementsAre("other", "reserved"));
}

}  // namespace
}  // namespace wattledger::ingest::dlt645
