#include "tests/testing/ledger_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ledger/event_store.h"
#include "ledger/limits.h"

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

std::string SeqKey(uint64_t seq) {
  std::string key;
  ledger::PutU64BigEndian(key, seq);
  return key;
}

bool NamesSeq(absl::string_view message, uint64_t seq) {
  const std::string needle = absl::StrCat("seq ", seq);
  for (size_t at = message.find(needle); at != absl::string_view::npos;
       at = message.find(needle, at + 1)) {
    size_t end = at + needle.size();
    bool digit_follows = end < message.size() && message[end] >= '0' && message[end] <= '9';
    bool digit_precedes = at > 0 && message[at - 1] >= '0' && message[at - 1] <= '9';
    if (!digit_follows && !digit_precedes) return true;
  }
  return false;
}

absl::StatusOr<std::string> WithDepositAmount(absl::string_view envelope_bytes,
                                              int64_t amount_fen) {
  auto envelope = ledger::ParsedEnvelope::Parse(envelope_bytes, ledger::kEnvelopeBytesMax);
  if (!envelope.ok()) return envelope.status();
  auto body = ledger::ParsedBody::Parse(ledger::AsView(envelope->get().getBody()),
                                        ledger::kEventBodyBytesMax);
  if (!body.ok()) return body.status();
  if (!body->get().isDepositMade()) return absl::InvalidArgumentError("not a deposit");
  capnp::MallocMessageBuilder body_message;
  body_message.setRoot(body->get());
  body_message.getRoot<schema::EventBody>().getDepositMade().setAmountFen(amount_fen);
  std::string forged_body =
      ledger::Canonical(body_message.getRoot<schema::EventBody>().asReader());
  capnp::MallocMessageBuilder envelope_message;
  envelope_message.setRoot(envelope->get());
  envelope_message.getRoot<schema::Envelope>().setBody(ledger::AsData(forged_body));
  return ledger::Canonical(envelope_message.getRoot<schema::Envelope>().asReader());
}

absl::StatusOr<std::unique_ptr<RawStore>> RawStore::Open(const std::string& data_dir) {
  rocksdb::Options options;
  std::unique_ptr<RawStore> store(new RawStore());
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(options, data_dir, &store->names_);
  if (!listed.ok()) return ledger::FromRocks(listed, "listing column families");
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : store->names_) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened =
      rocksdb::DB::Open(options, data_dir, descriptors, &store->handles_, &raw);
  if (!opened.ok()) return ledger::FromRocks(opened, "opening the raw store");
  store->db_.reset(raw);
  return store;
}

RawStore::~RawStore() {
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  handles_.clear();
  db_.reset();
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RawStore::Family(absl::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return absl::NotFoundError(absl::StrCat("no column family ", name));
}

absl::StatusOr<std::string> RawStore::Get(absl::string_view family, absl::string_view key) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), *handle,
                                 rocksdb::Slice(key.data(), key.size()), &value);
  if (!got.ok()) return ledger::FromRocks(got, "raw get");
  return value;
}

absl::Status RawStore::Put(absl::string_view family, absl::string_view key,
                           absl::string_view value) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  rocksdb::WriteOptions options;
  options.sync = true;
  return ledger::FromRocks(db_->Put(options, *handle, rocksdb::Slice(key.data(), key.size()),
                                    rocksdb::Slice(value.data(), value.size())),
                           "raw put");
}

absl::Status RawStore::Delete(absl::string_view family, absl::string_view key) {
  auto handle = Family(family);
  if (!handle.ok()) return handle.status();
  rocksdb::WriteOptions options;
  options.sync = true;
  return ledger::FromRocks(
      db_->Delete(options, *handle, rocksdb::Slice(key.data(), key.size())), "raw delete");
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
