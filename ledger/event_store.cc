#include "ledger/event_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

constexpr absl::string_view kHeadKey = "head";
constexpr absl::string_view kCheckpointPrefix = "checkpoint/";

std::string SeqKey(uint64_t seq) {
  std::string key;
  PutU64BigEndian(key, seq);
  return key;
}

std::string StreamKey(absl::string_view stream, uint64_t version) {
  std::string key(stream);
  key.push_back('\0');
  PutU64BigEndian(key, version);
  return key;
}

std::string IdempotencyKey(const KeyId& signer, absl::string_view key) {
  std::string out(reinterpret_cast<const char*>(signer.data()), signer.size());
  out.append(key.data(), key.size());
  return out;
}

rocksdb::Slice Slice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

absl::StatusOr<StoredCheckpoint> DecodeCheckpoint(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(auto parsed, ParsedCheckpoint::Parse(bytes, 1024));
  auto reader = parsed.get();
  if (reader.getChainHash().size() != 32 || reader.getSignature().size() != 64) {
    return absl::DataLossError("stored checkpoint has bad field sizes");
  }
  StoredCheckpoint checkpoint;
  checkpoint.seq = reader.getSeq();
  std::memcpy(checkpoint.chain_hash.data(), reader.getChainHash().begin(), 32);
  std::memcpy(checkpoint.signature.data(), reader.getSignature().begin(), 64);
  checkpoint.canonical = std::string(bytes);
  return checkpoint;
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path,
                                                             const StoreOptions& options) {
  if (options.mode != StoreMode::kPrimary || !options.create_if_missing) {
    if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
      return absl::NotFoundError(
          absl::StrCat("no ledger store at ", path, " (run `wattctl init --data ...` first)"));
    }
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.mode == StoreMode::kPrimary;
  // Every acknowledged append is synced; after a crash, recover to the last
  // consistent point of the WAL rather than refusing to open on a torn tail.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.paranoid_checks = true;
  if (options.env != nullptr) db_options.env = options.env;
  db_options.IncreaseParallelism(2);
  // A WAL file is kept until every family with writes in it has flushed, and
  // `meta` (one small row per commit) would otherwise flush almost never: the
  // WAL grew by gigabytes a week, and every open replayed all of it. Past this
  // much WAL, RocksDB flushes the families that hold the oldest file.
  db_options.max_total_wal_size = kWalBytesMax;
  db_options.advise_random_on_open = !options.sequential_reads;
  db_options.max_open_files = options.mode == StoreMode::kSecondary ? -1 : 1000;
  // Every submission looks up its idempotency key, and nearly all are new:
  // a bloom filter answers those misses without reading table blocks.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  std::unique_ptr<EventStore> store(new EventStore());
  store->family_names_ = {std::string(rocksdb::kDefaultColumnFamilyName),
                          std::string(kEvents),
                          std::string(kStreams),
                          std::string(kIdempotency),
                          std::string(kState),
                          std::string(kMeta)};
  for (const auto& name : options.projection_families) store->family_names_.push_back(name);
  // RocksDB must open every family a store has: add the ones this process
  // does not use (a projection another version created) so opening works.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    for (const auto& name : existing) {
      if (std::find(store->family_names_.begin(), store->family_names_.end(), name) ==
          store->family_names_.end()) {
        store->family_names_.push_back(name);
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : store->family_names_) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(db_options));
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status status;
  switch (options.mode) {
    case StoreMode::kPrimary:
      status = rocksdb::DB::Open(db_options, path, descriptors, &store->families_, &raw);
      break;
    case StoreMode::kReadOnly:
      status = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &store->families_, &raw);
      break;
    case StoreMode::kSecondary: {
      std::string templ =
          (std::filesystem::temp_directory_path() / "wattledger-secondary-XXXXXX").string();
      if (mkdtemp(templ.data()) == nullptr)
        return absl::UnavailableError("cannot create a temp dir");
      store->secondary_path_ = templ;
      status = rocksdb::DB::OpenAsSecondary(db_options, path, templ, descriptors, &store->families_,
                                            &raw);
      break;
    }
  }
  WL_RETURN_IF_ERROR(FromRocks(status, absl::StrCat("opening ledger store ", path)));
  store->db_.reset(raw);
  return store;
}

EventStore::~EventStore() {
  for (auto* family : families_) db_->DestroyColumnFamilyHandle(family);
  families_.clear();
  db_.reset();
  if (!secondary_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(secondary_path_, ignored);
  }
}

bool EventStore::HasFamily(absl::string_view name) const {
  return std::find(family_names_.begin(), family_names_.end(), name) != family_names_.end();
}

rocksdb::ColumnFamilyHandle* EventStore::family(absl::string_view name) const {
  for (size_t i = 0; i < family_names_.size(); ++i) {
    if (family_names_[i] == name) return families_[i];
  }
  WL_CHECK(false && "unknown column family");
  return nullptr;
}

absl::Status EventStore::Write(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Write(options, &batch), "writing to the ledger store");
}

absl::Status EventStore::Refresh() {
  return FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the primary");
}

absl::StatusOr<std::optional<std::string>> EventStore::GetMeta(absl::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), family(kMeta), Slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  WL_RETURN_IF_ERROR(FromRocks(status, "reading meta"));
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<std::optional<std::string>> EventStore::GetState(absl::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), family(kState), Slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  WL_RETURN_IF_ERROR(FromRocks(status, "reading state"));
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<Head> EventStore::GetHead() const {
  WL_ASSIGN_OR_RETURN(auto value, GetMeta(kHeadKey));
  Head head;
  if (!value.has_value()) return head;
  if (value->size() != 40) return absl::DataLossError("stored head has the wrong size");
  head.seq = GetU64BigEndian(*value);
  std::memcpy(head.chain_hash.data(), value->data() + 8, 32);
  return head;
}

absl::StatusOr<std::string> EventStore::GetEvent(uint64_t seq) const {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), family(kEvents), Slice(SeqKey(seq)), &value);
  if (status.IsNotFound()) return absl::NotFoundError(absl::StrCat("no event at seq ", seq));
  WL_RETURN_IF_ERROR(FromRocks(status, absl::StrCat("reading seq ", seq)));
  return value;
}

absl::StatusOr<std::vector<std::string>> EventStore::ReadRange(uint64_t from_seq, size_t limit,
                                                               size_t bytes_max) const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(kEvents)));
  uint64_t expected = from_seq;
  size_t bytes = 0;
  for (it->Seek(Slice(SeqKey(from_seq))); it->Valid() && out.size() < limit && bytes < bytes_max;
       it->Next()) {
    if (it->key().size() != 8) return absl::DataLossError("event key is not 8 bytes");
    uint64_t seq = GetU64BigEndian(View(it->key()));
    if (seq != expected)
      return absl::DataLossError(absl::StrCat("missing event at seq ", expected));
    out.emplace_back(it->value().data(), it->value().size());
    bytes += it->value().size();
    ++expected;
  }
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "reading events"));
  return out;
}

std::unique_ptr<EventCursor> EventStore::NewCursor() const {
  rocksdb::ReadOptions options;
  // A long scan reads each block once: keep it out of the block cache.
  options.fill_cache = false;
  return std::unique_ptr<EventCursor>(new EventCursor(
      std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, family(kEvents)))));
}

EventCursor::EventCursor(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}

void EventCursor::Seek(uint64_t seq) {
  it_->Seek(Slice(SeqKey(seq)));
  Position();
}

void EventCursor::Next() {
  WL_CHECK(Valid());
  it_->Next();
  Position();
}

void EventCursor::Position() {
  if (it_->Valid() && it_->key().size() != 8) {
    key_status_ = absl::DataLossError("event key is not 8 bytes");
  }
}

bool EventCursor::Valid() const { return key_status_.ok() && it_->Valid(); }

uint64_t EventCursor::seq() const { return GetU64BigEndian(View(it_->key())); }

absl::string_view EventCursor::envelope() const { return View(it_->value()); }

absl::Status EventCursor::status() const {
  WL_RETURN_IF_ERROR(key_status_);
  return FromRocks(it_->status(), "reading events");
}

absl::StatusOr<std::vector<uint64_t>> EventStore::ReadStreamSeqs(absl::string_view stream,
                                                                 uint64_t from_version,
                                                                 size_t limit) const {
  std::vector<uint64_t> out;
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(kStreams)));
  for (it->Seek(Slice(StreamKey(stream, std::max<uint64_t>(from_version, 1))));
       it->Valid() && out.size() < limit && it->key().starts_with(Slice(prefix)); it->Next()) {
    if (it->value().size() != 8) return absl::DataLossError("stream index value is not 8 bytes");
    out.push_back(GetU64BigEndian(View(it->value())));
  }
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "reading a stream"));
  return out;
}

absl::StatusOr<uint64_t> EventStore::StreamVersion(absl::string_view stream) const {
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(kStreams)));
  it->SeekForPrev(Slice(StreamKey(stream, UINT64_MAX)));
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "reading a stream version"));
  if (!it->Valid() || !it->key().starts_with(Slice(prefix))) return 0;
  return GetU64BigEndian(View(it->key()).substr(prefix.size()));
}

absl::StatusOr<std::optional<IdempotencyRecord>> EventStore::GetIdempotency(
    const KeyId& signer, absl::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), family(kIdempotency),
                                    Slice(IdempotencyKey(signer, key)), &value);
  if (status.IsNotFound()) return std::optional<IdempotencyRecord>();
  WL_RETURN_IF_ERROR(FromRocks(status, "reading the idempotency index"));
  if (value.size() < 72) return absl::DataLossError("idempotency record is too short");
  IdempotencyRecord record;
  record.seq = GetU64BigEndian(value);
  std::memcpy(record.request_digest.data(), value.data() + 8, 32);
  std::memcpy(record.chain_hash.data(), value.data() + 40, 32);
  record.result = value.substr(72);
  return std::optional<IdempotencyRecord>(std::move(record));
}

absl::StatusOr<std::vector<StoredCheckpoint>> EventStore::ReadCheckpoints(uint64_t from_seq,
                                                                          size_t limit) const {
  std::vector<StoredCheckpoint> out;
  std::string start(kCheckpointPrefix);
  PutU64BigEndian(start, from_seq);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(kMeta)));
  for (it->Seek(Slice(start));
       it->Valid() && out.size() < limit && it->key().starts_with(Slice(kCheckpointPrefix));
       it->Next()) {
    WL_ASSIGN_OR_RETURN(StoredCheckpoint checkpoint, DecodeCheckpoint(View(it->value())));
    out.push_back(std::move(checkpoint));
  }
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "reading checkpoints"));
  return out;
}

absl::StatusOr<std::optional<StoredCheckpoint>> EventStore::LastCheckpoint() const {
  std::string last(kCheckpointPrefix);
  PutU64BigEndian(last, UINT64_MAX);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(kMeta)));
  it->SeekForPrev(Slice(last));
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "reading the last checkpoint"));
  if (!it->Valid() || !it->key().starts_with(Slice(kCheckpointPrefix))) {
    return std::optional<StoredCheckpoint>();
  }
  WL_ASSIGN_OR_RETURN(StoredCheckpoint checkpoint, DecodeCheckpoint(View(it->value())));
  return std::optional<StoredCheckpoint>(std::move(checkpoint));
}

void EventStore::StageEvent(rocksdb::WriteBatch& batch, uint64_t seq, absl::string_view envelope) {
  WL_CHECK(batch.Put(family(kEvents), Slice(SeqKey(seq)), Slice(envelope)).ok());
}

void EventStore::StageStreamIndex(rocksdb::WriteBatch& batch, absl::string_view stream,
                                  uint64_t version, uint64_t seq) {
  WL_CHECK(batch.Put(family(kStreams), Slice(StreamKey(stream, version)), Slice(SeqKey(seq))).ok());
}

void EventStore::StageIdempotency(rocksdb::WriteBatch& batch, const KeyId& signer,
                                  absl::string_view key, const IdempotencyRecord& record) {
  std::string value = SeqKey(record.seq);
  value.append(reinterpret_cast<const char*>(record.request_digest.data()), 32);
  value.append(reinterpret_cast<const char*>(record.chain_hash.data()), 32);
  value.append(record.result);
  WL_CHECK(batch.Put(family(kIdempotency), Slice(IdempotencyKey(signer, key)), Slice(value)).ok());
}

void EventStore::StageHead(rocksdb::WriteBatch& batch, const Head& head) {
  std::string value = SeqKey(head.seq);
  value.append(reinterpret_cast<const char*>(head.chain_hash.data()), 32);
  WL_CHECK(batch.Put(family(kMeta), Slice(kHeadKey), Slice(value)).ok());
}

void EventStore::StageCheckpoint(rocksdb::WriteBatch& batch, const StoredCheckpoint& checkpoint) {
  std::string key(kCheckpointPrefix);
  PutU64BigEndian(key, checkpoint.seq);
  WL_CHECK(batch.Put(family(kMeta), Slice(key), Slice(checkpoint.canonical)).ok());
}

void EventStore::StageMeta(rocksdb::WriteBatch& batch, absl::string_view key,
                           absl::string_view value) {
  WL_CHECK(batch.Put(family(kMeta), Slice(key), Slice(value)).ok());
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> EventStore::Dump(
    absl::string_view family_name) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family(family_name)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  WL_RETURN_IF_ERROR(FromRocks(it->status(), "dumping a family"));
  return out;
}

}  // namespace wattledger::ledger
