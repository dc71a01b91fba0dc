// A disk that fills up or fails mid-write: the ledger acknowledges nothing it
// did not write, stops appending, and after a restart holds exactly what it
// acknowledged.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>

#include "ledger/ledger.h"
#include "ledger/verifier.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

// Every write, flush and sync fails with "no space" while `full` is set.
class FillableFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FillableFileSystem(std::atomic<bool>* full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), full_(full) {}
  const char* Name() const override { return "FillableFileSystem"; }

  IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                           IODebugContext* debug) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus status = target()->NewWritableFile(path, options, &file, debug);
    if (status.ok()) result->reset(new FillableFile(std::move(file), full_));
    return status;
  }

 private:
  class FillableFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    FillableFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}
    IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                    IODebugContext* debug) override {
      if (full_->load()) return IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                    const rocksdb::DataVerificationInfo& info, IODebugContext* debug) override {
      if (full_->load()) return IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
    }
    IOStatus Sync(const IOOptions& options, IODebugContext* debug) override {
      if (full_->load()) return IOStatus::IOError("injected: sync failed");
      return FSWritableFileOwnerWrapper::Sync(options, debug);
    }
    IOStatus Fsync(const IOOptions& options, IODebugContext* debug) override {
      if (full_->load()) return IOStatus::IOError("injected: sync failed");
      return FSWritableFileOwnerWrapper::Fsync(options, debug);
    }

   private:
    std::atomic<bool>* full_;
  };

  std::atomic<bool>* full_;
};

TEST(StorageFailure, DiskFullStopsAppendsAndAcknowledgesNothingUnwritten) {
  std::atomic<bool> full{false};
  auto file_system = std::make_shared<FillableFileSystem>(&full);
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  LedgerOptions options;
  options.env = env.get();
  testing::TestLedger t(options);

  auto before = t.Deposit("A-101", 100);
  ASSERT_TRUE(before.ok()) << before.status();

  full.store(true);
  auto during = t.Deposit("A-101", 200);
  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable) << during.status();
  EXPECT_EQ(t.ledger().head().seq, before->seq);

  full.store(false);
  auto after = t.Deposit("A-101", 300);
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable)
      << "a ledger that failed a write must not resume by itself";
  EXPECT_EQ(t.ledger().head().seq, before->seq);

  ASSERT_TRUE(t.Reopen().ok());
  EXPECT_EQ(t.ledger().head().seq, before->seq);
  EXPECT_EQ(t.ledger().head().chain_hash, before->chain_hash);
  auto resumed = t.Deposit("A-101", 400);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->seq, before->seq + 1);
  EXPECT_TRUE(VerifyStore(t.ledger().store(), VerifyOptions{}).ok());
}

}  // namespace
}  // namespace wattledger::ledger
