// The money domain as a user drives it from a fresh data directory: seed the
// demo campus, take a deposit and read its receipt, feed a reading, see the
// deduction and the balance, refund a graduate, move a student, import CSVs
// (and see a bad one refused by line), and verify the whole log.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

const std::string kWattctl = WL_WATTCTL_PATH;
const std::string kWattd = WL_WATTD_PATH;

class CampusCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    ASSERT_EQ(Run({"init", "--data", data_}).exit_code, 0);
    RunningWattd wattd = StartWattd(kWattd, data_);
    wattd_ = std::move(wattd.process);
    server_ = wattd.address;
    ASSERT_FALSE(server_.empty()) << wattd_->stderr_text();
    CommandResult seeded = Run({"seed-demo", "--data", data_, "--server", server_});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  }

  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), kWattctl);
    return RunCommand(args);
  }
  // A signed command to the running wattd with one of the demo keys.
  CommandResult Signed(const std::string& key, std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_, "--key", data_ + "/keys/" + key + ".pem"});
    return Run(args);
  }
  std::string RoomJson(const std::string& room) {
    return Run({"room", "show", "--data", data_, "--room", room}).out;
  }

  TempDir dir_;
  std::string data_;
  std::string server_;
  std::unique_ptr<BackgroundProcess> wattd_;
};

TEST_F(CampusCli, DepositReadingRefundExchangeAndVerify) {
  EXPECT_TRUE(absl::StrContains(RoomJson("B01-101"), "\"balanceFen\":5000")) << RoomJson("B01-101");

  CommandResult deposit =
      Signed("cashier", {"deposit", "--room", "B01-101", "--amount-fen", "10000", "--card",
                         "C202600001", "--cashier", "counter-2"});
  ASSERT_EQ(deposit.exit_code, 0) << deposit.err;
  EXPECT_TRUE(absl::StrContains(deposit.out, "\"balanceAfter\":\"150.00\"")) << deposit.out;
  EXPECT_TRUE(absl::StrContains(deposit.out, "\"receiptNo\":\"RC")) << deposit.out;

  // 1 kWh read nine minutes ahead: plausible for a 40 A circuit and within
  // the clock skew a collector may have.
  int64_t soon = absl::ToUnixMicros(absl::Now() + absl::Minutes(9));
  std::string csv = dir_.Sub("readings.csv");
  std::ofstream(csv) << "000000010001,1,1001000," << soon << "\n";
  CommandResult reading = Signed("ingest", {"readings", "--gateway", "G1", "--csv", csv});
  ASSERT_EQ(reading.exit_code, 0) << reading.err;
  EXPECT_TRUE(absl::StrContains(reading.out, "\"energyWh\":\"1000\"")) << reading.out;
  std::string room = RoomJson("B01-101");
  EXPECT_TRUE(absl::StrContains(room, "\"energyWh\":1000")) << room;
  EXPECT_TRUE(absl::StrContains(room, "\"monthEnergyWh\":1000")) << room;

  CommandResult refund = Signed("operator", {"refund", "--room", "B01-101", "--person",
                                             "S202600000", "--reason", "graduation"});
  ASSERT_EQ(refund.exit_code, 0) << refund.err;
  EXPECT_TRUE(absl::StrContains(refund.out, "\"refundSettled\"")) << refund.out;

  CommandResult exchange = Signed(
      "operator", {"exchange", "--room", "B01-101", "--to", "B01-102", "--person", "S202600001"});
  ASSERT_EQ(exchange.exit_code, 0) << exchange.err;
  EXPECT_TRUE(absl::StrContains(exchange.out, "\"exchangeSettled\"")) << exchange.out;
  EXPECT_TRUE(absl::StrContains(RoomJson("B01-101"), "\"occupants\":[]"));
  EXPECT_TRUE(absl::StrContains(RoomJson("B01-102"), "S202600001"));

  CommandResult refused = Signed("cashier", {"deposit", "--room", "NOPE", "--amount-fen", "100",
                                             "--card", "C1", "--cashier", "counter-2"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.err, "no room NOPE")) << refused.err;

  CommandResult verified = Run({"verify", "--data", data_});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

TEST_F(CampusCli, ImportIsAllOrNothingWithLineNumbers) {
  std::string rooms = dir_.Sub("rooms.csv");
  std::ofstream(rooms) << "room_id,building_id,floor,number,capacity\n"
                       << "B01-901,B01,9,901,4\n"
                       << "B01-902,B01,9,902,4\n";
  std::string occupants = dir_.Sub("occupants.csv");
  std::ofstream(occupants) << "room_id,person_id,name,identity_class,card_no\n"
                           << "B01-901,T1,Wang Wu,undergraduate,CT1\n"
                           << "B01-902,T2,Zhao Liu,astronaut,CT2\n";
  CommandResult head_before = Run({"head", "--data", data_});
  CommandResult bad = Signed("operator", {"import", "--rooms", rooms, "--occupants", occupants});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad.err, "occupants.csv:3")) << bad.err;
  EXPECT_TRUE(absl::StrContains(bad.err, "astronaut")) << bad.err;
  EXPECT_EQ(Run({"head", "--data", data_}).out, head_before.out)
      << "a refused import appends nothing";
  EXPECT_FALSE(absl::StrContains(Run({"room", "show", "--data", data_, "--room", "B01-901"}).out,
                                 "B01-901"));

  std::ofstream(occupants) << "room_id,person_id,name,identity_class,card_no\n"
                           << "B01-901,T1,Wang Wu,undergraduate,CT1\n"
                           << "B01-902,T2,Zhao Liu,doctoral,CT2\n";
  CommandResult good = Signed("operator", {"import", "--rooms", rooms, "--occupants", occupants});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_TRUE(absl::StrContains(RoomJson("B01-902"), "Zhao Liu"));

  std::ofstream(rooms) << "room_id,building_id,floor,number,capacity\n"
                       << "B01-903,B01,nine,903,4\n";
  CommandResult syntax = Signed("operator", {"import", "--rooms", rooms});
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(syntax.err, "rooms.csv:2: field 3 'nine' is not a number"))
      << syntax.err;
}

}  // namespace
}  // namespace wattledger::testing
