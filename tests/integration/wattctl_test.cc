// The README's flow, run as a user would: wattctl init, wattd on loopback,
// keys registered over RPC, log/verify/export on the live data directory,
// a clean SIGTERM, and an auditor verifying the export offline, including
// what happens when one byte of it is changed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/subprocess.h"

namespace wattledger::testing {
namespace {

const std::string kWattctl = WL_WATTCTL_PATH;
const std::string kWattd = WL_WATTD_PATH;

CommandResult Wattctl(std::vector<std::string> args) {
  args.insert(args.begin(), kWattctl);
  return RunCommand(args);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class WattctlFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    CommandResult init = Wattctl({"init", "--data", data_, "--campus", "Test Campus"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    RunningWattd wattd = StartWattd(kWattd, data_);
    wattd_ = std::move(wattd.process);
    server_ = wattd.address;
    ASSERT_FALSE(server_.empty()) << wattd_->stderr_text();
  }

  TempDir dir_;
  std::string data_;
  std::string server_;
  std::unique_ptr<BackgroundProcess> wattd_;
};

TEST_F(WattctlFlow, InitWritesPrivateKeysOwnerOnlyAndRefusesASecondInit) {
  struct stat info {};
  ASSERT_EQ(::stat((data_ + "/keys/ledger.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((data_ + "/keys/admin.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  CommandResult again = Wattctl({"init", "--data", data_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "already exists")) << again.err;
}

TEST_F(WattctlFlow, RegisterKeysOverRpcThenAuditTheExportOffline) {
  std::string op = dir_.Sub("op.pem");
  ASSERT_EQ(Wattctl({"keygen", "--out", op}).exit_code, 0);
  CommandResult registered =
      Wattctl({"key", "register", "--server", server_, "--key", data_ + "/keys/admin.pem",
               "--public-key", dir_.Sub("op.pub"), "--role", "operator", "--holder", "Li Wei",
               "--idempotency-key", "register-li-wei"});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
  EXPECT_TRUE(absl::StrContains(registered.out, "\"seq\":3")) << registered.out;
  EXPECT_TRUE(absl::StrContains(registered.out, "\"duplicate\":false"));

  CommandResult retried =
      Wattctl({"key", "register", "--server", server_, "--key", data_ + "/keys/admin.pem",
               "--public-key", dir_.Sub("op.pub"), "--role", "operator", "--holder", "Li Wei",
               "--idempotency-key", "register-li-wei"});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_TRUE(absl::StrContains(retried.out, "\"seq\":3")) << retried.out;
  EXPECT_TRUE(absl::StrContains(retried.out, "\"duplicate\":true"));

  CommandResult refused = Wattctl({"key", "register", "--server", server_, "--key", op,
                                   "--public-key", dir_.Sub("op.pub"), "--role", "admin"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.err, "PERMISSION_DENIED")) << refused.err;

  // Read the live data directory while wattd holds it.
  CommandResult log = Wattctl({"log", "--data", data_});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  std::vector<std::string> lines = absl::StrSplit(log.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << log.out;
  EXPECT_TRUE(absl::StrContains(lines[2], "\"holder\":\"Li Wei\"")) << lines[2];
  CommandResult live_verify = Wattctl({"verify", "--data", data_});
  EXPECT_EQ(live_verify.exit_code, 0) << live_verify.err;
  CommandResult rpc_verify = Wattctl({"verify", "--server", server_});
  EXPECT_EQ(rpc_verify.exit_code, 0) << rpc_verify.err;

  EXPECT_EQ(wattd_->Stop(SIGTERM), 0) << wattd_->stderr_text();
  EXPECT_TRUE(absl::StrContains(wattd_->stderr_text(), "\"event\":\"stopped\""));

  std::string export_file = dir_.Sub("ledger.export");
  CommandResult exported = Wattctl({"export", "--data", data_, "--out", export_file});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::string ledger_pub = data_ + "/keys/ledger.pub";
  CommandResult verified = Wattctl({"verify", "--file", export_file, "--ledger-key", ledger_pub});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_TRUE(absl::StrContains(verified.out, "\"events\":3")) << verified.out;
  EXPECT_TRUE(absl::StrContains(verified.out, "\"lastCheckpointSeq\":3"))
      << "a clean stop signs the head: " << verified.out;

  CommandResult decoded =
      RunCommand({"/bin/sh", "-c",
                  absl::StrCat("capnp decode ", WL_SOURCE_DIR,
                               "/ledger/schema/event.capnp Envelope < ", export_file)});
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_TRUE(absl::StrContains(decoded.out, "seq = 3")) << decoded.out;

  CommandResult wrong_key =
      Wattctl({"verify", "--file", export_file, "--ledger-key", dir_.Sub("op.pub")});
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(wrong_key.err, "seq 1:")) << wrong_key.err;

  // Change one byte in the middle of the second event's body.
  std::string bytes = ReadFile(export_file);
  uint32_t first_words = static_cast<uint8_t>(bytes[4]) | static_cast<uint8_t>(bytes[5]) << 8;
  size_t second = 8 + first_words * 8;
  std::string tampered = bytes;
  tampered[second + 8 + 200] ^= 0x01;
  std::string tampered_file = dir_.Sub("tampered.export");
  std::ofstream(tampered_file, std::ios::binary) << tampered;
  std::filesystem::copy_file(export_file + ".checkpoints", tampered_file + ".checkpoints");
  CommandResult caught = Wattctl({"verify", "--file", tampered_file, "--ledger-key", ledger_pub});
  EXPECT_EQ(caught.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(caught.err, "seq 2:")) << caught.err;
}

TEST_F(WattctlFlow, PassphraseProtectedKeysNeedTheirPassphrase) {
  std::string passphrase = dir_.Sub("passphrase");
  std::ofstream(passphrase) << "correct horse battery staple\n";
  std::string key = dir_.Sub("cashier.pem");
  ASSERT_EQ(Wattctl({"keygen", "--out", key, "--passphrase-file", passphrase}).exit_code, 0);
  EXPECT_TRUE(absl::StrContains(ReadFile(key), "ENCRYPTED PRIVATE KEY"));
  std::string wrong = dir_.Sub("wrong");
  std::ofstream(wrong) << "wrong\n";
  CommandResult refused = Wattctl({"key", "revoke", "--server", server_, "--key", key,
                                   "--passphrase-file", wrong, "--key-id", std::string(64, 'a')});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.err, "passphrase")) << refused.err;
}

}  // namespace
}  // namespace wattledger::testing
