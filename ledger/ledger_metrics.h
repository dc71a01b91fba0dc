// What the ledger counts for monitoring (wattd's /metrics): events appended,
// commits (one synced RocksDB WriteBatch each) and how long each commit's
// write took, as a cumulative histogram. Written by the ledger's writer
// thread, read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace wattledger::ledger {

struct LedgerMetrics {
  // Upper bounds of the commit latency buckets, in milliseconds (le="...").
  static constexpr std::array<double, 10> kLatencyBoundsMs = {0.5, 1,  2,   5,   10,
                                                              20,  50, 100, 250, 1000};

  std::atomic<uint64_t> events_appended{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> commit_seconds_sum_us{0};
  // commits_at_most[i]: commits that took at most kLatencyBoundsMs[i].
  std::array<std::atomic<uint64_t>, kLatencyBoundsMs.size()> commits_at_most{};

  void RecordCommit(absl::Duration took, uint64_t events) {
    events_appended.fetch_add(events, std::memory_order_relaxed);
    commit_seconds_sum_us.fetch_add(static_cast<uint64_t>(absl::ToInt64Microseconds(took)),
                                    std::memory_order_relaxed);
    const double ms = absl::ToDoubleMilliseconds(took);
    for (size_t i = 0; i < kLatencyBoundsMs.size(); ++i) {
      if (ms <= kLatencyBoundsMs[i]) commits_at_most[i].fetch_add(1, std::memory_order_relaxed);
    }
    commits.fetch_add(1, std::memory_order_release);
  }
};

}  // namespace wattledger::ledger
