// The ledger's period ticks: at each campus day end (and month end) by the
// ledger's own clock, it appends PeriodClosed, signed by the ledger key, to
// the "periods" stream. Projections see time pass only through these events.
// Projections with timers (a recovery delay, the end of a no-cut window)
// publish the earliest one through `next_timer_us`; once it is due the
// ticker appends a ClockTick naming it (stream "clock", idempotency key
// "tick/<due µs>"), and applying it must fire every timer due by then.
// Each tick's idempotency key names its period, so a restart never ticks a
// period twice; ticks missed while wattd was down are appended on start, in
// order. The calendar is injected (campus time lives in projections/).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "ledger/ledger.h"

namespace wattledger::ledger {

struct Calendar {
  std::function<int64_t(int64_t)> day_start;       // first µs of the day containing t
  std::function<int64_t(int64_t)> next_day_start;  // first µs of the day after t's
  std::function<bool(int64_t)> is_month_start;
  // The earliest projection timer (µs), 0 when none; optional.
  std::function<int64_t()> next_timer_us;
};

class PeriodTicker {
 public:
  // Starts a thread that ticks `ledger` until destroyed.
  PeriodTicker(Ledger& ledger, Calendar calendar, absl::Duration poll_interval = absl::Seconds(1));
  ~PeriodTicker();

  // Appends every tick due by the ledger clock now; returns how many.
  absl::StatusOr<int> TickDue();

 private:
  void Run(absl::Duration poll_interval);

  Ledger& ledger_;
  Calendar calendar_;
  int64_t last_end_us_ = 0;  // end of the last period ticked
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace wattledger::ledger
