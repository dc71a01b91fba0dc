// The shared command builders: what a form or wattctl's flags turn into, and
// the errors a person sees for what cannot be built.
#include "api/commands/domain_command.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "ledger/crypto.h"

namespace wattledger::commands {
namespace {

absl::Status Build(const std::string& name, const std::map<std::string, std::string>& args,
                   capnp::MallocMessageBuilder& message) {
  return BuildCommand(name, args, message.initRoot<schema::EventBody>());
}

TEST(DomainCommand, MeterParametersCarryTheirLimitsAndSchedule) {
  capnp::MallocMessageBuilder message;
  ASSERT_TRUE(Build("params",
                    {{"meter", "000000010001"},
                     {"reason", "night limit"},
                     {"loadLimitW", "1500"},
                     {"recoveryMinutes", "5"},
                     {"workday", "00:00,night,300;07:00,on"}},
                    message)
                  .ok());
  auto body = message.getRoot<schema::EventBody>().asReader();
  EXPECT_EQ(std::string(body.getStream().cStr()), "meter:000000010001");
  auto parameters = body.getControlCommanded().getParameters();
  EXPECT_EQ(parameters.getLoadLimitW(), 1500);
  EXPECT_EQ(parameters.getRecoveryDelayMinutes(), 5);
  ASSERT_EQ(parameters.getWorkdayPeriods().size(), 2u);
  EXPECT_EQ(parameters.getWorkdayPeriods()[0].getMode(), schema::PeriodMode::NIGHT);
  EXPECT_EQ(parameters.getWorkdayPeriods()[0].getNightLimitW(), 300);
  EXPECT_EQ(parameters.getWorkdayPeriods()[1].getStartMinute(), 7 * 60);
}

TEST(DomainCommand, APolicyNamesItsScopeWindowsAndWhitelist) {
  capnp::MallocMessageBuilder message;
  ASSERT_TRUE(Build("policy",
                    {{"scope", "building:B01"},
                     {"reason", "no heaters"},
                     {"maliciousStepW", "800"},
                     {"noCut", "night,23:00-07:00;exams,00:00-00:00,2027-01-04..2027-01-15"},
                     {"whitelist", "fridge:150;laptop:90"}},
                    message)
                  .ok());
  auto body = message.getRoot<schema::EventBody>().asReader();
  EXPECT_EQ(std::string(body.getStream().cStr()), "policy:building:B01");
  auto policy = body.getControlPolicySet().getPolicy();
  EXPECT_EQ(policy.getMaliciousStepW(), 800);
  ASSERT_EQ(policy.getNoCutWindows().size(), 2u);
  EXPECT_EQ(policy.getNoCutWindows()[0].getStartMinute(), 23 * 60);
  EXPECT_GT(policy.getNoCutWindows()[1].getUntilUs(), policy.getNoCutWindows()[1].getFromUs());
  ASSERT_EQ(policy.getWhitelist().size(), 2u);
  EXPECT_EQ(std::string(policy.getWhitelist()[1].getName().cStr()), "laptop");
}

TEST(DomainCommand, KeysAreRegisteredFromHexOrBase64AndRevokedById) {
  std::string hex(64, 'a');
  for (const std::string& text : {hex, absl::Base64Escape(std::string(32, '\xaa'))}) {
    capnp::MallocMessageBuilder message;
    ASSERT_TRUE(Build("key-register", {{"publicKey", text}, {"role", "operator"}, {"holder", "Li"}},
                      message)
                    .ok())
        << text;
    auto registered = message.getRoot<schema::EventBody>().asReader().getKeyRegistered();
    EXPECT_EQ(registered.getPublicKey().size(), 32u);
    EXPECT_EQ(registered.getPublicKey()[0], 0xaa);
    EXPECT_EQ(registered.getRole(), schema::Role::OPERATOR);
  }
  capnp::MallocMessageBuilder message;
  ASSERT_TRUE(Build("key-revoke", {{"keyId", hex}, {"reason", "left"}}, message).ok());
  EXPECT_EQ(message.getRoot<schema::EventBody>().asReader().getKeyRevoked().getKeyId().size(), 32u);
}

TEST(DomainCommand, TariffsAreParsedExactlyAndStartWhenIssued) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIssuedAtUs(1'800'000'000'000'000);
  ASSERT_TRUE(BuildCommand("tariff",
                           {{"identity", "undergraduate"},
                            {"tiers", "200:0.5880,0:0.6380"},
                            {"allowanceKwhPerYear", "154.5"}},
                           body)
                  .ok());
  auto tariff = body.asReader().getTariffSet();
  EXPECT_EQ(tariff.getEffectiveFromUs(), 1'800'000'000'000'000);
  EXPECT_EQ(tariff.getAllowanceWhPerYear(), 154'500);
  ASSERT_EQ(tariff.getTiers().size(), 2u);
  EXPECT_EQ(tariff.getTiers()[0].getUptoWh(), 200'000);
  EXPECT_EQ(tariff.getTiers()[0].getPricePerKwh(), 5880);
  EXPECT_EQ(std::string(body.asReader().getStream().cStr()), "tariff:undergraduate");
}

TEST(DomainCommand, AnExchangeIsOnTheRoomTheOccupantLeaves) {
  capnp::MallocMessageBuilder message;
  ASSERT_TRUE(
      Build("exchange",
            {{"person", "S1"}, {"room", "B01-101"}, {"to", "B01-102"}, {"swapPerson", "S2"}},
            message)
          .ok());
  auto body = message.getRoot<schema::EventBody>().asReader();
  EXPECT_EQ(std::string(body.getStream().cStr()), "room:B01-101");
  EXPECT_EQ(std::string(body.getRoomExchanged().getSwapPersonId().cStr()), "S2");
}

TEST(DomainCommand, WhatCannotBeBuiltIsNamed) {
  struct Case {
    std::string name;
    std::map<std::string, std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"params",
            {{"meter", "1"}, {"reason", "r"}, {"recoveryMinutes", "300"}},
            "recoveryMinutes must be 0 to 255"},
           {"params", {{"meter", "1"}, {"reason", "r"}, {"workday", "25:00,on"}}, ""},
           {"params", {{"meter", "1"}}, "needs reason"},
           {"policy", {{"scope", "moon"}, {"reason", "r"}}, "scope is campus"},
           {"policy",
            {{"scope", "campus"}, {"reason", "r"}, {"noCut", "night,23:00"}},
            "a no-cut window is"},
           {"policy",
            {{"scope", "campus"}, {"reason", "r"}, {"whitelist", "fridge"}},
            "a whitelisted appliance is name:W"},
           {"key-register", {{"publicKey", "abcd"}, {"role", "operator"}}, "32-byte"},
           {"key-register", {{"publicKey", std::string(64, 'a')}, {"role", "pope"}}, ""},
           {"key-revoke", {{"keyId", "xyz"}}, ""},
           {"tariff", {{"identity", "u"}, {"tiers", "200:0.58801"}}, "more than 4 decimals"},
           {"tariff", {{"identity", "u"}, {"tiers", "200"}}, "is not upto_kwh:price_cny"},
           {"room", {{"id", "B01-301"}}, "needs building"},
           {"meter-install", {{"address", "1"}, {"circuit", "5"}}, "circuit must be 1 to 4"},
           {"exchange", {{"person", "S1"}, {"room", "B01-101"}}, "needs to"},
           {"params", {{"meter", "1"}, {"reason", "r"}, {"colour", "red"}}, "takes no argument"},
       }) {
    capnp::MallocMessageBuilder message;
    absl::Status built = Build(c.name, c.args, message);
    EXPECT_EQ(built.code(), absl::StatusCode::kInvalidArgument) << c.name << " " << c.says;
    EXPECT_TRUE(absl::StrContains(built.message(), c.says)) << built.message();
  }
}

}  // namespace
}  // namespace wattledger::commands
