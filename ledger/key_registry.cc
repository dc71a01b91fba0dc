#include "ledger/key_registry.h"

#include <rocksdb/db.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

constexpr absl::string_view kPrefix = "keys/";

std::string RowKey(const KeyId& id) {
  return absl::StrCat(kPrefix, absl::string_view(reinterpret_cast<const char*>(id.data()), 32));
}

absl::StatusOr<PublicKey> PublicKeyFrom(capnp::Data::Reader data) {
  if (data.size() != 32) return absl::InvalidArgumentError("a public key is 32 bytes");
  PublicKey key;
  std::memcpy(key.data(), data.begin(), 32);
  return key;
}

}  // namespace

void StateWriter::Put(absl::string_view key, absl::string_view value) {
  if (store_ == nullptr) return;
  WL_CHECK(batch_
               ->Put(store_->family(EventStore::kState), rocksdb::Slice(key.data(), key.size()),
                     rocksdb::Slice(value.data(), value.size()))
               .ok());
}

void StateWriter::Delete(absl::string_view key) {
  if (store_ == nullptr) return;
  WL_CHECK(
      batch_->Delete(store_->family(EventStore::kState), rocksdb::Slice(key.data(), key.size()))
          .ok());
}

absl::StatusOr<Role> KeyRegistry::Authorize(const KeyId& signer, EventKind kind,
                                            uint64_t seq) const {
  absl::ReaderMutexLock lock(&mu_);
  if (seq == 1) {
    if (kind != EventKind::LEDGER_INITIALIZED) {
      return absl::FailedPreconditionError("the first event must be LedgerInitialized");
    }
    return Role::LEDGER;  // Check() ties the signer to the declared key
  }
  if (kind == EventKind::LEDGER_INITIALIZED) {
    return absl::FailedPreconditionError("the ledger is already initialised");
  }
  auto it = keys_.find(signer);
  if (it == keys_.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("unknown signing key ", ToHex(absl::MakeConstSpan(signer)).substr(0, 16)));
  }
  const KeyEntry& entry = it->second;
  if (entry.revoked) {
    return absl::PermissionDeniedError(
        absl::StrCat("signing key ", ToHex(absl::MakeConstSpan(signer)).substr(0, 16), " (",
                     entry.holder, ") is revoked"));
  }
  bool genesis_admin = seq == 2 && entry.role == Role::LEDGER && kind == EventKind::KEY_REGISTERED;
  if (!genesis_admin && !RoleMayIssue(entry.role, kind)) {
    return absl::PermissionDeniedError(
        absl::StrCat("role ", RoleName(entry.role), " may not issue ", EventKindName(kind)));
  }
  return entry.role;
}

std::shared_ptr<const VerifyingKey> KeyRegistry::FindKey(const KeyId& signer) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_.find(signer);
  if (it == keys_.end()) return nullptr;
  return it->second.key;
}

std::optional<KeyEntry> KeyRegistry::Find(const KeyId& signer) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_.find(signer);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<KeyId, KeyEntry>> KeyRegistry::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<KeyId, KeyEntry>> out(keys_.begin(), keys_.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.registered_seq < b.second.registered_seq;
  });
  return out;
}

size_t KeyRegistry::ActiveAdminsLocked() const {
  size_t count = 0;
  for (const auto& [id, entry] : keys_) count += entry.role == Role::ADMIN && !entry.revoked;
  return count;
}

std::string KeyRegistry::EncodeEntry(const KeyEntry& entry) const {
  std::string value;
  value.push_back(static_cast<char>(entry.role));
  value.push_back(entry.revoked ? 1 : 0);
  PutU64BigEndian(value, entry.registered_seq);
  value.append(reinterpret_cast<const char*>(entry.key->raw().data()), 32);
  value.append(entry.holder);
  return value;
}

absl::Status KeyRegistry::Load(const EventStore& store) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.family(EventStore::kState)));
  absl::MutexLock lock(&mu_);
  keys_.clear();
  for (it->Seek(rocksdb::Slice(kPrefix.data(), kPrefix.size()));
       it->Valid() && absl::StartsWith(View(it->key()), kPrefix); it->Next()) {
    absl::string_view value = View(it->value());
    if (value.size() < 42) return absl::DataLossError("key registry row is too short");
    PublicKey raw;
    std::memcpy(raw.data(), value.data() + 10, 32);
    WL_ASSIGN_OR_RETURN(VerifyingKey key, VerifyingKey::FromRaw(raw));
    KeyEntry entry;
    entry.key = std::make_shared<const VerifyingKey>(std::move(key));
    entry.role = static_cast<Role>(value[0]);
    entry.revoked = value[1] != 0;
    entry.registered_seq = GetU64BigEndian(value.substr(2));
    entry.holder = std::string(value.substr(42));
    keys_[entry.key->key_id()] = std::move(entry);
  }
  return FromRocks(it->status(), "loading the key registry");
}

absl::Status KeyRegistry::Check(const PendingEvent& event) const {
  auto body = event.body;
  absl::ReaderMutexLock lock(&mu_);
  switch (body.which()) {
    case EventKind::LEDGER_INITIALIZED: {
      WL_ASSIGN_OR_RETURN(PublicKey raw,
                          PublicKeyFrom(body.getLedgerInitialized().getLedgerPublicKey()));
      if (KeyIdOf(raw) != event.signer) {
        return absl::PermissionDeniedError(
            "LedgerInitialized must be signed by the key it declares");
      }
      return absl::OkStatus();
    }
    case EventKind::KEY_REGISTERED: {
      auto registered = body.getKeyRegistered();
      WL_ASSIGN_OR_RETURN(PublicKey raw, PublicKeyFrom(registered.getPublicKey()));
      WL_RETURN_IF_ERROR(VerifyingKey::FromRaw(raw).status());
      if (keys_.contains(KeyIdOf(raw))) {
        return absl::AlreadyExistsError("this public key is already registered");
      }
      if (registered.getRole() == Role::LEDGER) {
        return absl::PermissionDeniedError("the ledger role belongs to the ledger key alone");
      }
      if (static_cast<uint16_t>(registered.getRole()) > static_cast<uint16_t>(Role::LEDGER)) {
        return absl::InvalidArgumentError("unknown role");
      }
      if (event.seq == 2 && registered.getRole() != Role::ADMIN) {
        return absl::FailedPreconditionError("the ledger key registers only the first admin key");
      }
      return absl::OkStatus();
    }
    case EventKind::KEY_REVOKED: {
      auto id_data = body.getKeyRevoked().getKeyId();
      if (id_data.size() != 32) return absl::InvalidArgumentError("a key id is 32 bytes");
      KeyId id;
      std::memcpy(id.data(), id_data.begin(), 32);
      auto it = keys_.find(id);
      if (it == keys_.end()) return absl::NotFoundError("no such key to revoke");
      if (it->second.revoked) return absl::FailedPreconditionError("the key is already revoked");
      if (it->second.role == Role::LEDGER) {
        return absl::PermissionDeniedError("the ledger key cannot be revoked by an event");
      }
      if (it->second.role == Role::ADMIN && ActiveAdminsLocked() == 1) {
        return absl::FailedPreconditionError("refusing to revoke the last active admin key");
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

Applied KeyRegistry::Apply(const PendingEvent& event, StateWriter& writer) {
  auto body = event.body;
  absl::MutexLock lock(&mu_);
  auto add = [&](const PublicKey& raw, Role role, std::string holder) {
    auto key = VerifyingKey::FromRaw(raw);
    WL_CHECK(key.ok());
    KeyEntry entry;
    entry.key = std::make_shared<const VerifyingKey>(std::move(*key));
    entry.role = role;
    entry.holder = std::move(holder);
    entry.registered_seq = event.seq;
    writer.Put(RowKey(entry.key->key_id()), EncodeEntry(entry));
    keys_[entry.key->key_id()] = std::move(entry);
  };
  switch (body.which()) {
    case EventKind::LEDGER_INITIALIZED:
      add(*PublicKeyFrom(body.getLedgerInitialized().getLedgerPublicKey()), Role::LEDGER, "ledger");
      break;
    case EventKind::KEY_REGISTERED: {
      auto registered = body.getKeyRegistered();
      add(*PublicKeyFrom(registered.getPublicKey()), registered.getRole(),
          registered.getHolder().cStr());
      break;
    }
    case EventKind::KEY_REVOKED: {
      KeyId id;
      std::memcpy(id.data(), body.getKeyRevoked().getKeyId().begin(), 32);
      KeyEntry& entry = keys_.at(id);
      entry.revoked = true;
      writer.Put(RowKey(id), EncodeEntry(entry));
      break;
    }
    default:
      break;
  }
  return Applied{};
}

}  // namespace wattledger::ledger
