// The process the crash test kills. It opens an existing ledger (real
// RocksDB, system clock), appends signed deposits from several submitter
// threads, each keeping a few requests in flight, and reports every
// acknowledged append on stdout (see crash_protocol.h) until the parent
// SIGKILLs it. It stops submitting after `events_max` requests and exits by
// itself after `seconds_max`, so a lost parent never leaves it running.
//
// Usage: crash_child DATA_DIR RUN_ID THREADS EVENTS_MAX CHECKPOINT_EVERY_EVENTS SECONDS_MAX
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger/ledger.h"
#include "tests/integration/crash_protocol.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::testing::crash {
namespace {

constexpr size_t kInFlightPerThreadMax = 4;
constexpr int kExitUsage = 2;
constexpr int kExitOpenFailed = 3;
constexpr int kExitRefused = 4;

struct ChildOptions {
  std::string data_dir;
  std::string run_id;
  int threads = 0;
  uint64_t events_max = 0;
  uint64_t checkpoint_every_events = 0;
  int seconds_max = 0;
};

absl::Mutex report_mu;

// One write(2) per line keeps lines whole in the pipe even across a SIGKILL.
void Report(absl::string_view line) {
  absl::MutexLock lock(&report_mu);
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t written = write(STDOUT_FILENO, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) _exit(kExitUsage);  // the parent is gone
    data += written;
    left -= static_cast<size_t>(written);
  }
}

struct InFlight {
  std::string idempotency_key;
  std::future<absl::StatusOr<ledger::AppendResult>> result;
};

void SubmitLoop(ledger::Ledger& ledger, const ChildOptions& options, int thread,
                std::atomic<uint64_t>& submitted) {
  const ledger::SigningKey cashier = TestKey(kCashierKeyTag);
  const ledger::SystemClock clock;
  const std::string room = absl::StrCat("C-", 100 + thread);
  std::deque<InFlight> in_flight;
  uint64_t next = 0;
  while (true) {
    while (in_flight.size() < kInFlightPerThreadMax &&
           submitted.fetch_add(1) < options.events_max) {
      InFlight request;
      request.idempotency_key = absl::StrCat("crash-", options.run_id, "-", thread, "-", next++);
      request.result = ledger.Submit(Sign(
          DepositBody(request.idempotency_key, clock.NowMicros(), room, 100 + thread), cashier));
      in_flight.push_back(std::move(request));
    }
    if (in_flight.empty()) return;
    InFlight done = std::move(in_flight.front());
    in_flight.pop_front();
    absl::StatusOr<ledger::AppendResult> result = done.result.get();
    if (!result.ok()) {
      // A full queue is the caller's to retry; anything else is a bug here.
      if (result.status().code() == absl::StatusCode::kResourceExhausted) continue;
      std::fprintf(stderr, "crash_child: append %s refused: %s\n", done.idempotency_key.c_str(),
                   result.status().ToString().c_str());
      _exit(kExitRefused);
    }
    if (result->duplicate) {
      std::fprintf(stderr, "crash_child: fresh key %s came back as a duplicate\n",
                   done.idempotency_key.c_str());
      _exit(kExitRefused);
    }
    Report(absl::StrCat("ack ", result->seq, " ", ledger::ToHex(result->chain_hash), " ",
                        done.idempotency_key, "\n"));
  }
}

bool ParseArgs(int argc, char** argv, ChildOptions& options) {
  if (argc != 7) return false;
  options.data_dir = argv[1];
  options.run_id = argv[2];
  return absl::SimpleAtoi(argv[3], &options.threads) && options.threads > 0 &&
         options.threads <= 16 && absl::SimpleAtoi(argv[4], &options.events_max) &&
         absl::SimpleAtoi(argv[5], &options.checkpoint_every_events) &&
         options.checkpoint_every_events > 0 && absl::SimpleAtoi(argv[6], &options.seconds_max) &&
         options.seconds_max > 0;
}

int Run(int argc, char** argv) {
  ChildOptions options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: crash_child DATA_DIR RUN_ID THREADS EVENTS_MAX CHECKPOINT_EVERY_EVENTS "
                 "SECONDS_MAX\n");
    return kExitUsage;
  }
  // Die with the test rather than outlive it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds_max);

  ledger::LedgerOptions ledger_options;
  ledger_options.data_dir = options.data_dir;
  ledger_options.ledger_key = TestKey(kLedgerKeyTag);
  ledger_options.clock = nullptr;  // the system clock, as in production
  ledger_options.checkpoint_every_events = options.checkpoint_every_events;
  auto ledger = ledger::Ledger::Open(ledger_options);
  if (!ledger.ok()) {
    std::fprintf(stderr, "crash_child: Ledger::Open failed: %s\n",
                 ledger.status().ToString().c_str());
    return kExitOpenFailed;
  }
  Report("ready\n");

  std::atomic<uint64_t> submitted{0};
  std::vector<std::thread> submitters;
  for (int thread = 0; thread < options.threads; ++thread) {
    submitters.emplace_back([&ledger, &options, thread, &submitted]() {
      SubmitLoop(**ledger, options, thread, submitted);
    });
  }
  for (auto& submitter : submitters) submitter.join();
  Report("idle\n");
  // Wait to be killed; the deadline only guards against a vanished parent.
  while (std::chrono::steady_clock::now() < deadline && getppid() != 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*ledger)->Stop();
  return 0;
}

}  // namespace
}  // namespace wattledger::testing::crash

int main(int argc, char** argv) { return wattledger::testing::crash::Run(argc, argv); }
