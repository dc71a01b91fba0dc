// Helpers the ledger tests share: a temp directory that cleans up after
// itself, and a freshly initialised ledger on a real RocksDB with real keys
// and a manual clock, plus builders for signed requests.
#pragma once

#include <memory>
#include <string>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"

namespace wattledger::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline constexpr int64_t kTestEpochUs = 1'790'000'000'000'000;  // 2026-09 in microseconds

// A deterministic key from a one-byte tag, so test vectors stay stable.
ledger::SigningKey TestKey(uint8_t tag);

// A body builder: fills the common fields and lets `fill` set the union.
template <typename Fill>
std::string MakeBody(const std::string& idempotency_key, int64_t issued_at_us,
                     const std::string& stream, Fill fill) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(idempotency_key);
  body.setIssuedAtUs(issued_at_us);
  body.setStream(stream);
  fill(body);
  return ledger::Canonical(body.asReader());
}

ledger::SignedRequest Sign(const std::string& body, const ledger::SigningKey& key);

// A deposit of `amount_fen` into room `room` (cashier role may sign it).
std::string DepositBody(const std::string& idempotency_key, int64_t issued_at_us,
                        const std::string& room, int64_t amount_fen);
std::string RegisterKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                            const ledger::PublicKey& key, ledger::Role role);
std::string RevokeKeyBody(const std::string& idempotency_key, int64_t issued_at_us,
                          const ledger::KeyId& key_id);

// A ledger initialised in a temp dir with an admin key and a registered
// cashier key. Reopen() closes and opens it again (as after a restart).
class TestLedger {
 public:
  explicit TestLedger(ledger::LedgerOptions options = {});
  ~TestLedger();

  ledger::Ledger& ledger() { return *ledger_; }
  ledger::ManualClock& clock() { return clock_; }
  const ledger::SigningKey& ledger_key() const { return ledger_key_; }
  const ledger::SigningKey& admin() const { return admin_; }
  const ledger::SigningKey& cashier() const { return cashier_; }
  const std::string& data_dir() const { return data_dir_; }
  int64_t now_us() const { return clock_.NowMicros(); }

  // Submits and waits; asserts nothing.
  absl::StatusOr<ledger::AppendResult> Append(ledger::SignedRequest request);
  // A cashier deposit with a fresh idempotency key.
  absl::StatusOr<ledger::AppendResult> Deposit(const std::string& room, int64_t amount_fen);
  // Registers a new key with `role`, signed by the admin.
  absl::StatusOr<ledger::SigningKey> RegisterKey(ledger::Role role);

  void Close();
  absl::Status Reopen();
  ledger::LedgerOptions options() const;

 private:
  TempDir dir_;
  std::string data_dir_;
  ledger::ManualClock clock_{kTestEpochUs};
  ledger::SigningKey ledger_key_;
  ledger::SigningKey admin_;
  ledger::SigningKey cashier_;
  ledger::LedgerOptions base_options_;
  std::unique_ptr<ledger::Ledger> ledger_;
  int next_key_tag_ = 100;
  int next_idempotency_ = 0;
};

}  // namespace wattledger::testing
