// wattbench: how fast the ledger appends, replays and verifies, on this
// machine. It initialises a fresh ledger in a temp dir, registers one cashier
// key per submitter, and has C submitters append N signed deposits:
//   closed loop (default): each submitter waits for its commit, then submits;
//   open loop (--rate R):  deposits arrive at R/s regardless of commits.
// Then it replays the log (no signature checks) and fully verifies it (every
// signature and hash, on --verify_threads). Prints one JSON line.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <latch>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "ledger/verifier.h"

ABSL_FLAG(uint64_t, events, 100000, "deposits to append");
ABSL_FLAG(int32_t, submitters, 64, "concurrent submitters (C)");
ABSL_FLAG(double, rate, 0, "open-loop arrival rate in events/s (0: closed loop)");
ABSL_FLAG(int32_t, verify_threads, 2, "signature-checking threads, in the ledger and in verify");
ABSL_FLAG(std::string, dir, "", "where to put the ledger (default: a fresh temp dir, removed)");

namespace wattledger {
namespace {

using Clock = std::chrono::steady_clock;
using ledger::SigningKey;

std::string Body(int submitter, uint64_t index, int64_t now_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("bench-", submitter, "-", index));
  body.setIssuedAtUs(now_us);
  std::string room = absl::StrCat("R", (index * 7919 + static_cast<uint64_t>(submitter)) % 10000);
  body.setStream("room:" + room);
  auto deposit = body.initDepositMade();
  deposit.setRoomId(room);
  deposit.setAmountFen(5000);
  deposit.setChannel(schema::DepositChannel::COUNTER);
  deposit.setPayerCardNo("20260001");
  deposit.setCashierId(absl::StrCat("cashier-", submitter));
  return ledger::Canonical(body.asReader());
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index];
}

int Run() {
  const uint64_t events = absl::GetFlag(FLAGS_events);
  const int submitters = std::max(1, absl::GetFlag(FLAGS_submitters));
  const double rate = absl::GetFlag(FLAGS_rate);
  std::string dir = absl::GetFlag(FLAGS_dir);
  bool remove_dir = dir.empty();
  if (dir.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "wattbench-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) return 1;
    dir = templ;
  }

  auto ledger_key = SigningKey::Generate();
  auto admin = SigningKey::Generate();
  ledger::LedgerOptions options;
  options.data_dir = dir + "/ledger";
  options.ledger_key = *ledger_key;
  options.verify_threads = absl::GetFlag(FLAGS_verify_threads);
  absl::Status status = ledger::Ledger::Initialize(options, admin->public_key(), "bench");
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.ToString()).c_str());
    return 1;
  }
  auto opened = ledger::Ledger::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", std::string(opened.status().ToString()).c_str());
    return 1;
  }
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);

  std::vector<SigningKey> cashiers;
  for (int i = 0; i < submitters; ++i) {
    cashiers.push_back(*SigningKey::Generate());
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey(absl::StrCat("register-", i));
    body.setIssuedAtUs(NowUs());
    body.setStream("keys");
    auto registered = body.initKeyRegistered();
    registered.setPublicKey(ledger::AsData(absl::MakeConstSpan(cashiers.back().public_key())));
    registered.setRole(schema::Role::CASHIER);
    auto result = ledger->Submit(ledger::SignBody(body.asReader(), *admin)).get();
    if (!result.ok()) return 1;
  }

  // Requests are signed before the clock starts: the benchmark measures the
  // ledger, not the clients' signing.
  std::vector<std::vector<ledger::SignedRequest>> work(submitters);
  for (uint64_t i = 0; i < events; ++i) {
    int s = static_cast<int>(i % static_cast<uint64_t>(submitters));
    work[s].push_back(ledger::SignBodyBytes(Body(s, i, NowUs()), cashiers[s]));
  }

  absl::Mutex mu;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(events);
  std::atomic<uint64_t> failures{0};
  auto record = [&](Clock::time_point start, const absl::StatusOr<ledger::AppendResult>& result) {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!result.ok()) failures.fetch_add(1);
    absl::MutexLock lock(&mu);
    latencies_ms.push_back(ms);
  };

  Clock::time_point begin = Clock::now();
  if (rate <= 0) {
    std::vector<std::thread> threads;
    for (int s = 0; s < submitters; ++s) {
      threads.emplace_back([&, s]() {
        for (auto& request : work[s]) {
          Clock::time_point start = Clock::now();
          auto result = ledger->Submit(std::move(request)).get();
          record(start, result);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  } else {
    std::latch done(static_cast<std::ptrdiff_t>(events));
    auto interval = std::chrono::duration<double>(1.0 / rate);
    uint64_t sent = 0;
    std::vector<size_t> next(submitters, 0);
    while (sent < events) {
      Clock::time_point due =
          begin + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(sent));
      std::this_thread::sleep_until(due);
      int s = static_cast<int>(sent % static_cast<uint64_t>(submitters));
      Clock::time_point start = Clock::now();
      ledger->Submit(std::move(work[s][next[s]++]),
                     [&record, &done, start](absl::StatusOr<ledger::AppendResult> result) {
                       record(start, result);
                       done.count_down();
                     });
      ++sent;
    }
    done.wait();
  }
  double append_seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  ledger->Stop();
  std::sort(latencies_ms.begin(), latencies_ms.end());

  // Replay: rebuild indexes and inline state from the events alone.
  std::string replay_dir = dir + "/replay";
  auto target = ledger::EventStore::Open(replay_dir, {.mode = ledger::StoreMode::kPrimary,
                                                      .create_if_missing = true,
                                                      .projection_families = {},
                                                      .env = nullptr});
  Clock::time_point replay_begin = Clock::now();
  ledger::ReplayOptions replay_options;
  replay_options.mode = ledger::ReplayMode::kStateOnly;
  auto replayed = ledger::Replay(ledger->store(), **target, {}, replay_options);
  double replay_seconds = std::chrono::duration<double>(Clock::now() - replay_begin).count();
  if (!replayed.ok()) {
    std::fprintf(stderr, "replay: %s\n", std::string(replayed.status().ToString()).c_str());
    return 1;
  }

  ledger::VerifyOptions verify_options;
  verify_options.ledger_key = ledger_key->public_key();
  verify_options.threads = absl::GetFlag(FLAGS_verify_threads);
  Clock::time_point verify_begin = Clock::now();
  auto verified = ledger::VerifyStore(ledger->store(), verify_options);
  double verify_seconds = std::chrono::duration<double>(Clock::now() - verify_begin).count();
  if (!verified.ok()) {
    std::fprintf(stderr, "verify: %s\n", std::string(verified.status().ToString()).c_str());
    return 1;
  }

  std::printf(
      "{\"events\":%llu,\"submitters\":%d,\"rate\":%.0f,\"seconds\":%.3f,\"events_per_s\":%.0f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"failures\":%llu,"
      "\"replay_events\":%llu,\"replay_events_per_s\":%.0f,"
      "\"verify_events\":%llu,\"verify_events_per_s\":%.0f}\n",
      static_cast<unsigned long long>(events), submitters, rate, append_seconds,
      static_cast<double>(events) / append_seconds, Percentile(latencies_ms, 0.5),
      Percentile(latencies_ms, 0.99), latencies_ms.empty() ? 0 : latencies_ms.back(),
      static_cast<unsigned long long>(failures.load()),
      static_cast<unsigned long long>(replayed->events),
      static_cast<double>(replayed->events) / replay_seconds,
      static_cast<unsigned long long>(verified->events),
      static_cast<double>(verified->events) / verify_seconds);
  ledger.reset();
  target->reset();
  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace wattledger

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return wattledger::Run();
}
