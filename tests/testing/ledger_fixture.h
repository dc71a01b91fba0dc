// Helpers the ledger tests share: a temp directory that cleans up after
// itself, and a freshly initialised ledger on a real RocksDB with real keys
// and a manual clock, plus builders for signed requests.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// The events family's key for `seq` (u64 big-endian).
std::string SeqKey(uint64_t seq);

// True when `message` names seq `seq` as "seq N" not followed by another
// digit (so "seq 27" does not count as naming seq 2).
bool NamesSeq(absl::string_view message, uint64_t seq);

// `envelope` (canonical Envelope bytes holding a DepositMade) with the
// deposit's amount changed and everything else, signature included, kept:
// what someone who edits the files on disk would produce.
absl::StatusOr<std::string> WithDepositAmount(absl::string_view envelope, int64_t amount_fen);

// The RocksDB directory of a closed ledger opened directly, every column
// family included and nothing checked: how tests tamper with a store as an
// attacker (or a bad disk) with the files could.
class RawStore {
 public:
  static absl::StatusOr<std::unique_ptr<RawStore>> Open(const std::string& data_dir);
  ~RawStore();
  RawStore(const RawStore&) = delete;
  RawStore& operator=(const RawStore&) = delete;

  absl::StatusOr<std::string> Get(absl::string_view family, absl::string_view key);
  absl::Status Put(absl::string_view family, absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view family, absl::string_view key);

 private:
  RawStore() = default;
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Family(absl::string_view name);
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

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
