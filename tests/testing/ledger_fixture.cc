#include "tests/testing/ledger_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace wattledger::testing {

using ledger::Role;

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "wattledger-test-XXXXXX").string();
  char* made = mkdtemp(templ.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ledger::SigningKey TestKey(uint8_t tag) {
  std::array<uint8_t, 32> seed{};
  seed.fill(tag);
  auto key = ledger::SigningKey::FromSeed(seed);
  if (!key.ok()) std::abort();
  return *key;
}

ledger::SignedRequest Sign(const std::string& body, const ledger::SigningKey& key) {
  ledger::SignedRequest request;
  request.body = body;
  request.signer_key_id = key.key_id();
  request.signature = key.Sign(ledger::AsBytes(ledger::EventSigningMessage(body)));
  return request;
}

std::string DepositBody(const std::string& idempotency_key, int64_t issued_at_us,
                        const std::string& room, int64_t amount_fen) {
  return MakeBody(idempotency_key, issued_at_us, "room:" + room, [&](auto body) {
    auto deposit = body.initDepositMade();
    deposit.setRoomId(room);
    deposit.setAmountFen(amount_fen);
    deposit.setChannel(schema::DepositChannel::COUNTER);
    deposit.setPayerCardNo("20260001");
    deposit.setCashierId("cashier-1");
  });
}

std::string RegisterKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                            const ledger::PublicKey& key, Role role) {
  return MakeBody(idempotency_key, issued_at_us, "keys", [&](auto body) {
    auto registered = body.initKeyRegistered();
    registered.setPublicKey(ledger::AsData(absl::MakeConstSpan(key)));
    registered.setRole(role);
    registered.setHolder("test");
  });
}

std::string RevokeKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                          const ledger::KeyId& key_id) {
  return MakeBody(idempotency_key, issued_at_us, "keys", [&](auto body) {
    auto revoked = body.initKeyRevoked();
    revoked.setKeyId(ledger::AsData(absl::MakeConstSpan(key_id)));
    revoked.setReason("test");
  });
}

TestLedger::TestLedger(ledger::LedgerOptions options)
    : ledger_key_(TestKey(1)), admin_(TestKey(2)), cashier_(TestKey(3)),
      base_options_(std::move(options)) {
  data_dir_ = dir_.Sub("ledger");
  auto opts = this->options();
  absl::Status initialized = ledger::Ledger::Initialize(opts, admin_.public_key(), "Test Campus");
  if (!initialized.ok()) {
    ADD_FAILURE() << initialized;
    return;
  }
  absl::Status opened = Reopen();
  if (!opened.ok()) {
    ADD_FAILURE() << opened;
    return;
  }
  auto registered = Append(Sign(RegisterKeyBody("register-cashier", now_us(),
                                                cashier_.public_key(), Role::CASHIER),
                                admin_));
  if (!registered.ok()) ADD_FAILURE() << registered.status();
}

TestLedger::~TestLedger() { Close(); }

ledger::LedgerOptions TestLedger::options() const {
  ledger::LedgerOptions opts = base_options_;
  opts.data_dir = data_dir_;
  opts.ledger_key = ledger_key_;
  opts.clock = &clock_;
  return opts;
}

void TestLedger::Close() { ledger_.reset(); }

absl::Status TestLedger::Reopen() {
  ledger_.reset();
  auto opened = ledger::Ledger::Open(options());
  if (!opened.ok()) return opened.status();
  ledger_ = std::move(*opened);
  return absl::OkStatus();
}

absl::StatusOr<ledger::AppendResult> TestLedger::Append(ledger::SignedRequest request) {
  return ledger_->Submit(std::move(request)).get();
}

absl::StatusOr<ledger::AppendResult> TestLedger::Deposit(const std::string& room,
                                                         int64_t amount_fen) {
  return Append(Sign(DepositBody(absl::StrCat("deposit-", next_idempotency_++), now_us(), room,
                                 amount_fen),
                     cashier_));
}

absl::StatusOr<ledger::SigningKey> TestLedger::RegisterKey(Role role) {
  ledger::SigningKey key = TestKey(static_cast<uint8_t>(next_key_tag_++));
  auto result = Append(Sign(RegisterKeyBody(absl::StrCat("register-", next_key_tag_), now_us(),
                                            key.public_key(), role),
                            admin_));
  if (!result.ok()) return result.status();
  return key;
}

}  // namespace wattledger::testing
