// `wattctl report` as a user runs it beside a live wattd: the demo campus,
// card-center deposits with trade numbers, a reversal, a counter deposit and
// a reading, then every report read from the data directory (a RocksDB
// secondary) in JSON and CSV; and every view and report asked of wattd in a
// session of the user's key, which prints what the data directory does.
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

const std::string kWattctl = WL_WATTCTL_PATH;
const std::string kWattd = WL_WATTD_PATH;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    ASSERT_EQ(Run({"init", "--data", data_}).exit_code, 0);
    wattd_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{kWattd, "--data", data_, "--rpc-listen", "127.0.0.1:0",
                                 "--http-listen", "127.0.0.1:0", "--ingest=false"});
    std::string line = wattd_->WaitForStderrLine("rpc_listening", absl::Seconds(20));
    ASSERT_FALSE(line.empty()) << wattd_->stderr_text();
    size_t at = line.find("\"address\":\"") + 11;
    server_ = line.substr(at, line.find('"', at) - at);
    CommandResult seeded = Run({"seed-demo", "--data", data_, "--server", server_});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  }

  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), kWattctl);
    return RunCommand(args);
  }
  // A signed command to the running wattd; returns the seq it got.
  uint64_t Signed(const std::string& key, std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_, "--key", data_ + "/keys/" + key + ".pem"});
    CommandResult result = Run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    size_t at = result.out.find("\"seq\":");
    uint64_t seq = 0;
    if (at != std::string::npos) {
      EXPECT_TRUE(
          absl::SimpleAtoi(result.out.substr(at + 6, result.out.find(',', at) - at - 6), &seq));
    }
    return seq;
  }
  // Runs a report until its output contains `expected` (the reports follow
  // the log a moment behind), at most a few seconds.
  CommandResult ReportWith(std::vector<std::string> args, const std::string& expected) {
    args.insert(args.begin(), "report");
    args.insert(args.end(), {"--data", data_});
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    CommandResult result = Run(args);
    while (!absl::StrContains(result.out, expected) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      result = Run(args);
    }
    return result;
  }

  TempDir dir_;
  std::string data_;
  std::string server_;
  std::unique_ptr<BackgroundProcess> wattd_;
};

TEST_F(ReportCli, EveryReportFromTheLiveDataDirectory) {
  uint64_t before = Signed("cashier", {"deposit", "--room", "B01-101", "--amount-fen", "2000",
                                       "--card", "C9", "--cashier", "counter-9"});
  uint64_t tn1 = Signed("card-center",
                        {"deposit", "--room", "B01-101", "--amount-fen", "3000", "--card", "C9",
                         "--cashier", "CC-T9", "--channel", "card-center", "--trade-no", "TN9001"});
  uint64_t tn2 = Signed("card-center",
                        {"deposit", "--room", "B01-101", "--amount-fen", "1000", "--card", "C9",
                         "--cashier", "CC-T9", "--channel", "card-center", "--trade-no", "TN9002"});
  uint64_t reversal =
      Signed("card-center", {"reverse", "--seq", absl::StrCat(tn1), "--reason", "paid twice"});
  std::string csv = dir_.Sub("readings.csv");
  // 1 kWh read nine minutes ahead: plausible for the circuit, within the
  // clock skew a reading may have.
  std::ofstream(csv) << "000000010001,1,1001000,"
                     << absl::ToUnixMicros(absl::Now() + absl::Minutes(9)) << "\n";
  Signed("ingest", {"readings", "--gateway", "G1", "--csv", csv});

  // The card center's settlement: its two deposits and the reversal of the
  // first under its trade number, then the day's totals.
  CommandResult settlement = ReportWith({"settlement", "--format", "csv"}, ",reversal,");
  ASSERT_EQ(settlement.exit_code, 0) << settlement.err;
  std::vector<std::string> rows = Lines(settlement.out);
  ASSERT_EQ(rows.size(), 5u) << settlement.out;
  EXPECT_EQ(rows[0],
            "day,kind,seq,depositSeq,tradeNo,terminalId,roomId,payerCardNo,amountFen,time,"
            "depositCount,depositsFen,reversalCount,reversalsFen,netFen,firstSeq,lastSeq");
  std::string day = rows[1].substr(0, 10);
  EXPECT_TRUE(absl::StartsWith(
      rows[1], absl::StrCat(day, ",deposit,", tn1, ",", tn1, ",TN9001,CC-T9,B01-101,C9,3000,")))
      << rows[1];
  EXPECT_TRUE(absl::StartsWith(
      rows[2], absl::StrCat(day, ",deposit,", tn2, ",", tn2, ",TN9002,CC-T9,B01-101,C9,1000,")))
      << rows[2];
  EXPECT_TRUE(absl::StartsWith(rows[3], absl::StrCat(day, ",reversal,", reversal, ",", tn1,
                                                     ",TN9001,CC-T9,B01-101,C9,3000,")))
      << rows[3];
  EXPECT_EQ(rows[4], absl::StrCat(day, ",total,,,,,,,,,2,4000,1,3000,1000,", tn1, ",", reversal));

  // Deposits by cashier: the demo's counter (every room but the vacant B01-832),
  // ours, and the card center terminal.
  CommandResult cashiers = ReportWith(
      {"deposits", "--by", "cashier", "--since", day, "--until", day}, "\"id\":\"CC-T9\"");
  ASSERT_EQ(cashiers.exit_code, 0) << cashiers.err;
  EXPECT_EQ(Lines(cashiers.out),
            (std::vector<std::string>{
                absl::StrCat("{\"day\":\"", day,
                             "\",\"by\":\"cashier\",\"id\":\"CC-T9\","
                             "\"depositCount\":2,\"depositsFen\":4000,\"reversalCount\":1,"
                             "\"reversalsFen\":3000,\"netFen\":1000}"),
                absl::StrCat("{\"day\":\"", day,
                             "\",\"by\":\"cashier\",\"id\":\"counter-9\","
                             "\"depositCount\":1,\"depositsFen\":2000,\"reversalCount\":0,"
                             "\"reversalsFen\":0,\"netFen\":2000}"),
                absl::StrCat("{\"day\":\"", day,
                             "\",\"by\":\"cashier\",\"id\":\"demo-counter-1\","
                             "\"depositCount\":255,\"depositsFen\":3180000,\"reversalCount\":0,"
                             "\"reversalsFen\":0,\"netFen\":3180000}")}))
      << cashiers.out;

  CommandResult consumption =
      ReportWith({"consumption", "--by", "building", "--period", "year"}, "\"energyWh\":1000");
  ASSERT_EQ(consumption.exit_code, 0) << consumption.err;
  EXPECT_TRUE(absl::StrContains(consumption.out, "\"buildingId\":\"B01\",\"energyWh\":1000"))
      << consumption.out;
  EXPECT_TRUE(absl::StrContains(consumption.out, "\"violations\":0")) << consumption.out;

  // Balances by replay: now, and before our deposits.
  CommandResult now = Run({"report", "balances", "--data", data_, "--format", "csv"});
  ASSERT_EQ(now.exit_code, 0) << now.err;
  std::vector<std::string> balances = Lines(now.out);
  ASSERT_EQ(balances.size(), 257u);
  EXPECT_TRUE(absl::StartsWith(balances[0], "atSeq,roomId,buildingId,balanceFen,")) << balances[0];
  std::vector<std::string> b01_101;
  for (const auto& row : balances) {
    std::vector<std::string> fields = absl::StrSplit(row, ',');
    if (fields.size() > 1 && fields[1] == "B01-101") b01_101 = fields;
  }
  ASSERT_EQ(b01_101.size(), 12u) << now.out;
  EXPECT_EQ(b01_101[2], "B01");
  EXPECT_EQ(b01_101[4], "11000") << "deposits: the demo's 5000 and our 6000";
  EXPECT_EQ(b01_101[5], "3000") << "reversals";
  int64_t balance_fen = 0;
  int64_t deductions_fen = 0;
  ASSERT_TRUE(absl::SimpleAtoi(b01_101[3], &balance_fen));
  ASSERT_TRUE(absl::SimpleAtoi(b01_101[6], &deductions_fen));
  EXPECT_EQ(balance_fen, 11000 - 3000 - deductions_fen);
  EXPECT_EQ(b01_101[10], "1000") << "energy";
  CommandResult earlier =
      Run({"report", "balances", "--data", data_, "--seq", absl::StrCat(before - 1)});
  ASSERT_EQ(earlier.exit_code, 0) << earlier.err;
  EXPECT_TRUE(
      absl::StrContains(earlier.out, absl::StrCat("{\"atSeq\":", before - 1,
                                                  ",\"roomId\":\"B01-101\",\"buildingId\":\"B01\","
                                                  "\"balanceFen\":5000,")))
      << earlier.out;

  CommandResult refunds = Run({"report", "refunds", "--data", data_});
  EXPECT_EQ(refunds.exit_code, 0) << refunds.err;
  EXPECT_EQ(refunds.out, "");
}

TEST_F(ReportCli, BadFlagsAreUsageErrorsAndAnUnbuiltReportSaysSo) {
  EXPECT_EQ(Run({"report", "deposits", "--data", data_, "--since", "2026-13-01"}).exit_code, 2);
  EXPECT_EQ(Run({"report", "deposits", "--data", data_, "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(Run({"report", "consumption", "--data", data_, "--period", "week"}).exit_code, 2);
  EXPECT_EQ(
      Run({"report", "balances", "--data", data_, "--seq", "1", "--until", "2026-09-01"}).exit_code,
      2);
  EXPECT_EQ(Run({"report", "nonsense", "--data", data_}).exit_code, 2);

  std::string fresh = dir_.Sub("fresh");
  ASSERT_EQ(Run({"init", "--data", fresh}).exit_code, 0);
  CommandResult unbuilt = Run({"report", "deposits", "--data", fresh});
  EXPECT_EQ(unbuilt.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unbuilt.err, "has not been built")) << unbuilt.err;
  CommandResult balances = Run({"report", "balances", "--data", fresh, "--format", "csv"});
  EXPECT_EQ(balances.exit_code, 0) << balances.err;
  EXPECT_EQ(Lines(balances.out).size(), 1u) << "a header and no rooms: " << balances.out;
}

TEST_F(ReportCli, EveryViewAskedOfWattdPrintsWhatTheDataDirectoryDoes) {
  Signed("cashier", {"deposit", "--room", "B01-101", "--amount-fen", "2000", "--card", "C9",
                     "--cashier", "counter-9"});
  const std::string operator_key = data_ + "/keys/operator.pem";
  // Each view, and whether this campus (no meters polled) has anything to show.
  const std::vector<std::pair<std::vector<std::string>, bool>> views = {
      {{"room", "show", "--room", "B01-101"}, true},
      {{"room", "status", "--room", "B01-101"}, true},
      {{"control", "why", "--room", "B01-832"}, true},
      {{"control", "show"}, false},
      {{"device", "status"}, false},
      {{"violations", "--room", "B01-101"}, false},
      {{"alarms", "--all"}, true},  // "no alarms"
      {{"notifications"}, false},
      {{"report", "deposits", "--by", "cashier", "--format", "csv"}, true},
      {{"report", "balances", "--format", "csv"}, true},
  };
  for (const auto& [view, shows_something] : views) {
    std::vector<std::string> remote = view;
    remote.insert(remote.end(), {"--server", server_, "--key", operator_key});
    std::vector<std::string> local = view;
    local.insert(local.end(), {"--data", data_});
    // The data directory's reports follow the log a moment behind wattd's.
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    CommandResult asked = Run(remote);
    CommandResult read = Run(local);
    while (asked.out != read.out && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
      asked = Run(remote);
      read = Run(local);
    }
    const std::string name = absl::StrJoin(view, " ");
    EXPECT_EQ(asked.exit_code, 0) << name << ": " << asked.err;
    EXPECT_EQ(read.exit_code, 0) << name << ": " << read.err;
    EXPECT_EQ(asked.out, read.out) << name;
    EXPECT_EQ(!asked.out.empty(), shows_something) << name << ": " << asked.out;
  }

  // The key's role decides; without a key wattd is not asked at all.
  CommandResult card_center =
      Run({"alarms", "--server", server_, "--key", data_ + "/keys/card-center.pem"});
  EXPECT_EQ(card_center.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(card_center.err, "PERMISSION_DENIED")) << card_center.err;
  CommandResult no_key = Run({"alarms", "--server", server_});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_key.err, "needs --key")) << no_key.err;
  CommandResult no_room = Run({"room", "status", "--server", server_, "--key", operator_key});
  EXPECT_EQ(no_room.exit_code, 2) << no_room.err;
}

}  // namespace
}  // namespace wattledger::testing
