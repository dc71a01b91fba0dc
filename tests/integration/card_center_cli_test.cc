// The card center as processes: card-center-sim's 50 terminals against
// wattd's card-center endpoint over mutual TLS, with a fifth of the calls
// cut mid-call, reversals duplicated and sent before their deposits, and
// wattd SIGKILLed and restarted once mid-run. Every trade number ends applied
// exactly once (or voided), the card center's records net to the signed
// settlement, and reconciliation finds exactly the differences injected.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/rpc/ledger_client.h"
#include "ledger/event_format.h"
#include "projections/reports/periods.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::TempDir;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// The integer after "key": in a one-line JSON object; -1 when absent.
int64_t JsonInt(const std::string& json, const std::string& key) {
  size_t at = json.find(absl::StrCat("\"", key, "\":"));
  if (at == std::string::npos) return -1;
  at += key.size() + 3;
  int64_t value = -1;
  size_t end = json.find_first_of(",}", at);
  (void)absl::SimpleAtoi(json.substr(at, end - at), &value);
  return value;
}

class CardCenterCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    CommandResult init = RunCommand({WL_WATTCTL_PATH, "init", "--data", data_});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    CommandResult tls = RunCommand({WL_WATTCTL_PATH, "tls-init", "--out", data_ + "/tls"});
    ASSERT_EQ(tls.exit_code, 0) << tls.err;
    rpc_ = absl::StrCat("127.0.0.1:", FreePort());
    card_center_ = absl::StrCat("127.0.0.1:", FreePort());
    StartWattd();
    CommandResult seeded = RunCommand({WL_WATTCTL_PATH, "seed-demo", "--data", data_, "--server",
                                       rpc_, "--tls_ca", data_ + "/tls/ca.pem"});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  }

  void StartWattd() {
    wattd_ = std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{WL_WATTD_PATH,
                                 "--data",
                                 data_,
                                 "--ingest=false",
                                 "--http_listen",
                                 "127.0.0.1:0",
                                 "--rpc_listen",
                                 rpc_,
                                 "--card_center_listen",
                                 card_center_,
                                 "--tls_cert",
                                 data_ + "/tls/server.pem",
                                 "--tls_key",
                                 data_ + "/tls/server.key",
                                 "--card_center_tls_cert",
                                 data_ + "/tls/server.pem",
                                 "--card_center_tls_key",
                                 data_ + "/tls/server.key",
                                 "--card_center_client_ca",
                                 data_ + "/tls/ca.pem"});
    ASSERT_NE(wattd_->WaitForStderrLine("card_center_listening", absl::Seconds(30)), "")
        << wattd_->stderr_text();
  }

  std::vector<std::string> Sim(const std::string& command) {
    return {WL_CARD_CENTER_SIM_PATH,
            command,
            "--server",
            card_center_,
            "--tls_ca",
            data_ + "/tls/ca.pem",
            "--tls_cert",
            data_ + "/tls/client.pem",
            "--tls_key",
            data_ + "/tls/client.key",
            "--key",
            data_ + "/keys/card-center.pem"};
  }

  TempDir dir_;
  std::string data_, rpc_, card_center_;
  std::unique_ptr<testing::BackgroundProcess> wattd_;
};

TEST_F(CardCenterCli, EveryTradeAppliesExactlyOnceThroughCutsAndACrash) {
  std::string records = dir_.Sub("records.csv");
  std::string day_before = projections::reports::DayOf(absl::ToUnixMicros(absl::Now()));
  CommandResult run;
  std::vector<std::string> argv = Sim("run");
  for (const char* arg :
       {"--clients", "50", "--trades", "1500", "--cut_percent", "20", "--reverse_percent", "10",
        "--early_percent", "3", "--give_up_seconds", "90"}) {
    argv.push_back(arg);
  }
  argv.insert(argv.end(), {"--records", records});
  std::thread sim([&] { run = RunCommand(argv, absl::Seconds(240)); });
  // Let the terminals get going, then kill wattd outright and start it again.
  absl::SleepFor(absl::Milliseconds(800));
  wattd_->Stop(SIGKILL);
  StartWattd();
  sim.join();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  RecordProperty("run", run.out);
  EXPECT_EQ(JsonInt(run.out, "trades"), 1500) << run.out;
  EXPECT_EQ(JsonInt(run.out, "failed"), 0) << run.out;
  EXPECT_GT(JsonInt(run.out, "cuts"), 100) << run.out;
  EXPECT_GT(JsonInt(run.out, "voided"), 0) << run.out;
  EXPECT_GT(JsonInt(run.out, "duplicates"), 0) << run.out;

  // The card center's records: per trade, its deposit and reversal lines.
  std::ifstream in(records);
  std::stringstream text;
  text << in.rdbuf();
  std::map<std::string, std::pair<int64_t, bool>> theirs;  // trade -> (amount, reversed)
  int64_t their_net = 0;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields[0] == "tradeNo") continue;
    int64_t amount = 0;
    ASSERT_TRUE(absl::SimpleAtoi(fields[2], &amount));
    if (fields[3] == "deposit") {
      theirs[fields[0]].first = amount;
      their_net += amount;
    } else {
      theirs[fields[0]].second = true;
      their_net -= amount;
    }
  }
  ASSERT_EQ(theirs.size(), 1500u);

  // The log, read as an auditor reads it: DepositMade per trade number.
  std::map<std::string, int> deposits_in_log;
  std::map<std::string, int> reversals_in_log;
  auto client = rpc::LedgerClient::Connect(rpc_, rpc::TlsFiles{.ca = data_ + "/tls/ca.pem"});
  ASSERT_TRUE(client.ok()) << client.status();
  auto admin = ledger::SigningKey::LoadPem(data_ + "/keys/admin.pem", "");
  ASSERT_TRUE(admin.ok()) << admin.status();
  ASSERT_TRUE((*client)->Authenticate(*admin).ok());  // over TLS the log is read in a session
  for (uint64_t from = 1;;) {
    auto envelopes = (*client)->Events(from, 1000);
    ASSERT_TRUE(envelopes.ok()) << envelopes.status();
    if (envelopes->empty()) break;
    for (const std::string& bytes : *envelopes) {
      auto envelope =
          ledger::CanonicalMessage<schema::Envelope>::Parse(bytes, ledger::kEnvelopeBytesMax);
      ASSERT_TRUE(envelope.ok());
      auto body = ledger::CanonicalMessage<schema::EventBody>::Parse(
          ledger::AsView(envelope->get().getBody()), ledger::kEventBodyBytesMax);
      ASSERT_TRUE(body.ok());
      if (body->get().isDepositMade()) {
        ++deposits_in_log[body->get().getDepositMade().getTradeNo().cStr()];
      } else if (body->get().isDepositReversed()) {
        ++reversals_in_log[body->get().getDepositReversed().getTradeNo().cStr()];
      }
      ++from;
    }
  }
  int voided = 0;
  for (const auto& [trade, mine] : theirs) {
    int deposits = deposits_in_log.count(trade) ? deposits_in_log[trade] : 0;
    int reversals = reversals_in_log.count(trade) ? reversals_in_log[trade] : 0;
    EXPECT_LE(deposits, 1) << trade << " was applied " << deposits << " times";
    EXPECT_EQ(reversals, mine.second ? 1 : 0) << trade;
    if (deposits == 0) {
      EXPECT_TRUE(mine.second) << trade << " is in their records but not in the log";
      ++voided;
    }
  }
  EXPECT_EQ(voided, JsonInt(run.out, "voided"));

  // Their totals equal the signed settlement's, and reconciliation finds
  // nothing, then exactly what is injected (unless the campus day turned
  // during the run, which splits the settlement in two).
  std::string day_after = projections::reports::DayOf(absl::ToUnixMicros(absl::Now()));
  if (day_before != day_after) GTEST_SKIP() << "the campus day turned during the run";
  std::vector<std::string> settle = Sim("settlement");
  CommandResult settlement = RunCommand(settle);
  ASSERT_EQ(settlement.exit_code, 0) << settlement.out << settlement.err;
  EXPECT_NE(settlement.out.find("\"signatureVerified\":true"), std::string::npos);
  EXPECT_EQ(JsonInt(settlement.out, "netFen"), their_net) << settlement.out;
  std::vector<std::string> reconcile = Sim("reconcile");
  reconcile.insert(reconcile.end(), {"--records", records});
  CommandResult clean = RunCommand(reconcile);
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_EQ(JsonInt(clean.out, "matched"), 1500) << clean.out;
  reconcile.push_back("--inject");
  CommandResult injected = RunCommand(reconcile);
  EXPECT_EQ(injected.exit_code, 0) << injected.out << injected.err;
  EXPECT_NE(injected.out.find("\"asExpected\":true"), std::string::npos) << injected.out;
}

}  // namespace
}  // namespace wattledger
