// The Ledger: the append pipeline over the event store. Callers on any thread
// submit signed requests; a small pool checks signatures; one writer thread
// admits requests in batches (key, role, time window, idempotency, expected
// stream version, the inline projections' rules), assigns seqs, chains
// hashes, and commits each batch in one synced WriteBatch together with its
// indexes, the inline state it changed and, when due, a signed checkpoint.
// Only then is each caller completed, with its seq, H(seq) and result.
//
// On open the chain tail is recomputed from the last signed checkpoint to
// the stored head; a mismatch refuses to open (kDataLoss naming the seq).
// After a storage error the ledger admits nothing more (kUnavailable).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/inline_projection.h"
#include "ledger/key_registry.h"
#include "ledger/ledger_metrics.h"
#include "ledger/limits.h"

namespace wattledger::ledger {
namespace internal {
class EventStager;
}

struct AppendResult {
  uint64_t seq = 0;        // the seq of the request's event
  Hash chain_hash{};       // H(seq)
  std::string result;      // the inline projections' result (e.g. a receipt)
  bool duplicate = false;  // an idempotent retry: nothing was appended
  // Events the projections derived from this one (deductions, settlements,
  // control commands), appended right after it: seqs seq+1 .. seq+derived.
  // 0 for a duplicate (the first answer had them).
  uint64_t derived = 0;
};

using Completion = std::function<void(absl::StatusOr<AppendResult>)>;

struct LedgerOptions {
  std::string data_dir;                  // the RocksDB directory
  std::optional<SigningKey> ledger_key;  // signs checkpoints and derived events
  const Clock* clock = nullptr;          // defaults to the system clock
  int64_t time_window_us = kDefaultTimeWindowUs;
  uint64_t checkpoint_every_events = kDefaultCheckpointEveryEvents;
  int64_t checkpoint_every_us = kDefaultCheckpointEveryUs;
  int verify_threads = 2;
  size_t queue_depth_max = kSubmitQueueDepthMax;
  // Domain projections, called after the key registry; not owned.
  std::vector<InlineProjection*> projections;
  std::vector<std::string> projection_families;  // catch-up projections' families
  rocksdb::Env* env = nullptr;                   // the OS as RocksDB sees it (tests inject faults)
};

class Ledger {
 public:
  // Creates a new ledger at options.data_dir: LedgerInitialized (seq 1) and
  // the first admin key's registration (seq 2), both signed by the ledger
  // key. kAlreadyExists when a ledger is already there.
  static absl::Status Initialize(const LedgerOptions& options, const PublicKey& admin_key,
                                 absl::string_view campus_name);

  // Opens an existing ledger, verifies the chain tail and starts the threads.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(LedgerOptions options);

  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Thread-safe. `done` runs exactly once, on a pipeline thread (keep it
  // short), after the event is durable or the request is refused.
  void Submit(SignedRequest request, Completion done);
  std::future<absl::StatusOr<AppendResult>> Submit(SignedRequest request);
  // Signs `body` (canonical EventBody bytes) with the ledger key and submits it.
  std::future<absl::StatusOr<AppendResult>> SubmitAsLedger(std::string body);

  // The last durable event.
  Head head() const;
  // Blocks until the durable head passes `seq` or `timeout` elapses; returns
  // the head either way.
  Head WaitForHeadAbove(uint64_t seq, absl::Duration timeout) const;

  // Stops admitting (later submissions get kUnavailable), lets the writer
  // drain what was admitted, and joins the threads. Idempotent.
  void Stop();

  const EventStore& store() const { return *store_; }
  EventStore& mutable_store() { return *store_; }
  const KeyRegistry& keys() const { return keys_; }
  const LedgerMetrics& metrics() const { return metrics_; }
  const PublicKey& ledger_public_key() const { return options_.ledger_key->public_key(); }
  // The ledger's own key, for statements it signs outside the log (the card
  // center's settlement); always domain-separate what it signs.
  const SigningKey& ledger_key() const { return *options_.ledger_key; }
  const Clock& clock() const { return *options_.clock; }

 private:
  struct Item;
  struct BatchContext;
  class Queue;

  explicit Ledger(LedgerOptions options);
  absl::Status LoadAndVerifyTail();
  void Start();
  void VerifyLoop();
  void WriterLoop();
  void CommitBatch(std::vector<std::unique_ptr<Item>>& items);
  absl::StatusOr<AppendResult> Admit(Item& item, BatchContext& context);
  // Appends `pending` (already checked) as the next event of the batch,
  // then the events the projections derive from it.
  AppendResult StageEvent(const SignedRequest& request, const PendingEvent& pending,
                          BatchContext& context);
  void StageCheckpointIfDue(BatchContext& context, bool force);
  void WriteFinalCheckpoint();
  void Fail(absl::Status status);

  LedgerOptions options_;
  SystemClock system_clock_;
  std::unique_ptr<EventStore> store_;
  KeyRegistry keys_;
  std::vector<InlineProjection*> projections_;  // keys_ first, then the domain's

  std::unique_ptr<Queue> verify_queue_;
  std::unique_ptr<Queue> writer_queue_;
  std::vector<std::thread> verify_threads_;
  std::thread writer_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};

  // Writer-thread state.
  Head writer_head_;
  uint64_t last_checkpoint_seq_ = 0;
  int64_t last_checkpoint_us_ = 0;
  int64_t last_appended_us_ = 0;
  LedgerMetrics metrics_;
  std::unique_ptr<internal::EventStager> stager_;

  mutable absl::Mutex head_mu_;
  Head durable_head_ ABSL_GUARDED_BY(head_mu_);
  absl::Status failed_ ABSL_GUARDED_BY(head_mu_);
};

}  // namespace wattledger::ledger
