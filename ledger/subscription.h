// Reading the log as it grows: a Subscription delivers committed events in
// seq order from any seq, first catching up from the store, then live as the
// writer commits; catch-up projections (reports, alarms, desired meter state)
// run on one. Each CatchUpProjection owns a column family "proj.<name>" that
// holds its state and its applied-through seq, written in one batch, so a
// restart resumes exactly where it stopped and Rebuild() replays from seq 1.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"

namespace wattledger::ledger {

class Subscription {
 public:
  // Called on the subscription's thread with consecutive envelopes starting at
  // `first_seq`. An error stops the subscription (see status()).
  using Handler = std::function<absl::Status(uint64_t first_seq, const std::vector<std::string>&)>;

  Subscription(const Ledger& ledger, uint64_t from_seq, Handler handler);
  ~Subscription();  // cancels and joins
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  void Cancel();
  absl::Status status() const;
  uint64_t delivered_through() const { return delivered_through_.load(); }

 private:
  void Run(uint64_t from_seq);

  const Ledger& ledger_;
  Handler handler_;
  std::atomic<bool> cancelled_{false};
  std::atomic<uint64_t> delivered_through_{0};
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Writes a catch-up projection's rows into its own family, in the batch that
// also records how far it has applied.
class ProjectionWriter {
 public:
  ProjectionWriter(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family)
      : batch_(batch), family_(family) {}
  void Put(absl::string_view key, absl::string_view value);
  void Delete(absl::string_view key);

 private:
  rocksdb::WriteBatch* batch_;
  rocksdb::ColumnFamilyHandle* family_;
};

class CatchUpProjection {
 public:
  virtual ~CatchUpProjection() = default;
  virtual std::string name() const = 0;  // its family is "proj.<name>"
  // Loads in-memory state from its family (after a restart or a rebuild).
  virtual absl::Status Load(const EventStore& store, rocksdb::ColumnFamilyHandle* family) = 0;
  // Applies one committed event. Deterministic, like every projection.
  virtual void Apply(schema::Envelope::Reader envelope, schema::EventBody::Reader body,
                     ProjectionWriter& writer) = 0;
};

inline std::string ProjectionFamily(const std::string& name) { return "proj." + name; }

class CatchUpRunner {
 public:
  // Loads the projection and starts applying from its applied-through seq + 1.
  // `rebuild` first clears its family and starts from seq 1. The ledger must
  // have been opened with ProjectionFamily(projection->name()).
  static absl::StatusOr<std::unique_ptr<CatchUpRunner>> Start(Ledger& ledger,
                                                              CatchUpProjection* projection,
                                                              bool rebuild);
  ~CatchUpRunner();
  uint64_t applied_through() const { return subscription_->delivered_through(); }
  // Blocks until the projection has applied `seq` (true) or `timeout` passed.
  bool WaitFor(uint64_t seq, absl::Duration timeout) const;
  absl::Status status() const { return subscription_->status(); }

 private:
  CatchUpRunner() = default;
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace wattledger::ledger
