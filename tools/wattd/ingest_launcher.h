// Starts wattd's meter side (ingest::IngestService) once its key can sign:
// the ingest key file exists and the ledger has it registered, unrevoked,
// with role ingest. On a fresh data directory the key arrives after wattd
// starts (`wattctl seed-demo` or an admin registers it), so the launcher
// looks every half second until then, logging once what it waits for.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "ingest/ingest_service.h"

namespace wattledger::tools {

class IngestLauncher {
 public:
  IngestLauncher(ledger::Ledger& ledger, const projections::Domain& domain, std::string key_path,
                 std::string passphrase_file, ingest::IngestOptions options);
  ~IngestLauncher();  // stops the service (before the ledger stops)

  // The running service's counters; null until it has started.
  const ingest::IngestStats* stats() const { return stats_.load(std::memory_order_acquire); }

 private:
  void Run();

  ledger::Ledger& ledger_;
  const projections::Domain& domain_;
  std::string key_path_;
  std::string passphrase_file_;
  ingest::IngestOptions options_;
  absl::Notification stop_;
  std::unique_ptr<ingest::IngestService> service_;  // written by the thread, read after join
  std::atomic<const ingest::IngestStats*> stats_{nullptr};
  std::thread thread_;
};

}  // namespace wattledger::tools
