// The RocksDB event store: column families, key layouts (the grammar is in
// ledger/README.md) and the one adapter that turns rocksdb::Status into
// absl::Status. It knows bytes, seqs and streams, not what events mean.
//
// A primary store is written only by the Ledger's writer thread; any thread
// may read. A secondary store follows a live primary's files read-only, for
// `wattctl log/verify/export` while `wattd` holds the lock.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/crypto.h"
#include "ledger/limits.h"

namespace wattledger::ledger {

struct Head {
  uint64_t seq = 0;
  Hash chain_hash{};  // H(seq); H(0) is all zeros
};

struct StoredCheckpoint {
  uint64_t seq = 0;
  Hash chain_hash{};
  Signature signature{};
  std::string canonical;  // canonical bytes of schema::Checkpoint
};

struct IdempotencyRecord {
  uint64_t seq = 0;
  Hash request_digest{};  // RequestDigest of the first body
  Hash chain_hash{};
  std::string result;
};

enum class StoreMode { kPrimary, kSecondary, kReadOnly };

class EventCursor;

struct StoreOptions {
  StoreMode mode = StoreMode::kPrimary;
  bool create_if_missing = false;
  // Extra column families, one per catch-up projection ("proj.<name>").
  std::vector<std::string> projection_families;
  // The OS as RocksDB sees it; tests inject failing disks. Not owned.
  rocksdb::Env* env = nullptr;
  // The caller will read the log mostly front to back (a replay, a verify):
  // let the OS read ahead in the table files instead of advising it that
  // reads are random, which turns a replay of a log not in the page cache
  // into millions of small synchronous disk reads.
  bool sequential_reads = false;
};

class EventStore {
 public:
  // Column family names; see ledger/README.md for what each holds.
  static constexpr absl::string_view kEvents = "events";
  static constexpr absl::string_view kStreams = "streams";
  static constexpr absl::string_view kIdempotency = "idempotency";
  static constexpr absl::string_view kState = "state";
  static constexpr absl::string_view kMeta = "meta";

  // Opens (or creates) the store at `path` with point-in-time WAL recovery.
  // kUnavailable when RocksDB cannot open it (locked, I/O), kNotFound when it
  // does not exist and create_if_missing is false.
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(const std::string& path,
                                                          const StoreOptions& options);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Writes `batch` with sync=true. kUnavailable on any I/O error (disk full).
  absl::Status Write(rocksdb::WriteBatch& batch);
  // Secondary mode: catch up with the primary's latest writes.
  absl::Status Refresh();

  absl::StatusOr<Head> GetHead() const;
  // The canonical envelope at `seq`; kNotFound past the head.
  absl::StatusOr<std::string> GetEvent(uint64_t seq) const;
  // Up to `limit` envelopes from `from_seq` on, in order, stopping once
  // `bytes_max` is reached (at least one envelope is returned when any is
  // there), so a page of large reading batches stays bounded in memory.
  absl::StatusOr<std::vector<std::string>> ReadRange(uint64_t from_seq, size_t limit,
                                                     size_t bytes_max = kReadBytesMax) const;
  // A cursor for long runs of events read in order (replay); see EventCursor.
  std::unique_ptr<EventCursor> NewCursor() const;
  bool HasFamily(absl::string_view name) const;
  // Seqs of `stream` from version `from_version` (1-based) on, in order.
  absl::StatusOr<std::vector<uint64_t>> ReadStreamSeqs(absl::string_view stream,
                                                       uint64_t from_version, size_t limit) const;
  // The current version of a stream (number of events in it), 0 when empty.
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream) const;
  absl::StatusOr<std::optional<IdempotencyRecord>> GetIdempotency(const KeyId& signer,
                                                                  absl::string_view key) const;
  absl::StatusOr<std::vector<StoredCheckpoint>> ReadCheckpoints(uint64_t from_seq,
                                                                size_t limit) const;
  absl::StatusOr<std::optional<StoredCheckpoint>> LastCheckpoint() const;
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key) const;
  absl::StatusOr<std::optional<std::string>> GetState(absl::string_view key) const;

  // Staging helpers for one commit; they only touch `batch`.
  void StageEvent(rocksdb::WriteBatch& batch, uint64_t seq, absl::string_view envelope);
  void StageStreamIndex(rocksdb::WriteBatch& batch, absl::string_view stream, uint64_t version,
                        uint64_t seq);
  void StageIdempotency(rocksdb::WriteBatch& batch, const KeyId& signer, absl::string_view key,
                        const IdempotencyRecord& record);
  void StageHead(rocksdb::WriteBatch& batch, const Head& head);
  void StageCheckpoint(rocksdb::WriteBatch& batch, const StoredCheckpoint& checkpoint);
  void StageMeta(rocksdb::WriteBatch& batch, absl::string_view key, absl::string_view value);

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(absl::string_view name) const;
  // Every key/value of a family in order (tests compare replay with live).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Dump(
      absl::string_view family) const;

 private:
  EventStore() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> family_names_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::string secondary_path_;  // removed on close
};

// Reads stored envelopes in seq order without copying them: each is a view
// into the block RocksDB decompressed, valid until the cursor moves. Seek
// costs an index lookup but passes over events without decompressing them,
// which is how a state-only replay skips the derived events it does not
// need. Reads one consistent snapshot of the store. One thread at a time.
class EventCursor {
 public:
  // Positions on the first stored event at or after `seq`.
  void Seek(uint64_t seq);
  // Moves to the next stored event. Requires Valid().
  void Next();
  // False past the last stored event, or after an error (see status()).
  bool Valid() const;
  // The current event's seq and canonical envelope. Require Valid().
  uint64_t seq() const;
  absl::string_view envelope() const;
  // kUnavailable on a read error, kDataLoss on corruption or a malformed key.
  absl::Status status() const;

 private:
  friend class EventStore;
  explicit EventCursor(std::unique_ptr<rocksdb::Iterator> it);
  void Position();
  std::unique_ptr<rocksdb::Iterator> it_;
  absl::Status key_status_;
};

inline absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// rocksdb::Status -> absl::Status: I/O and space problems are kUnavailable,
// corruption is kDataLoss.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what);

}  // namespace wattledger::ledger
