// The crash test: a child process (crash_child) appends signed deposits from
// several threads and reports every acknowledged append; the test SIGKILLs it
// at a random moment, reopens the ledger and checks the oracles: nothing
// acknowledged is lost, the store verifies, the inline state equals a replay
// of the log, and the ledger takes new appends. Twenty kill/reopen rounds run
// on one data directory, so recovery is also exercised on recovered data.
//
// The rounds are drawn from a seed printed at the start; rerun a failure with
// WL_CRASH_SEED=<seed>. (The kill moment is timed, so a rerun replays the
// same plan, not necessarily the same interleaving.)
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "ledger/verifier.h"
#include "tests/integration/crash_protocol.h"
#include "tests/testing/ledger_fixture.h"

#ifndef WL_CRASH_CHILD_PATH
#error "WL_CRASH_CHILD_PATH must name the crash_child binary (set in CMakeLists.txt)"
#endif

extern char** environ;

namespace wattledger::testing::crash {
namespace {

constexpr int kRounds = 20;
// A safety net, not a budget: a healthy run takes a fraction of it.
constexpr absl::Duration kSuiteTimeMax = absl::Seconds(150);
constexpr absl::Duration kReadyTimeoutMax = absl::Seconds(20);
constexpr absl::Duration kDrainTimeoutMax = absl::Seconds(10);
constexpr int kChildSecondsMax = 60;
constexpr int kAppendsAfterRestart = 3;
constexpr size_t kMismatchesShownMax = 5;

struct RoundPlan {
  int round = 0;
  int threads = 0;
  uint64_t events_max = 0;
  uint64_t checkpoint_every_events = 0;
  bool kill_before_ready = false;  // may land inside RocksDB recovery
  absl::Duration kill_delay;       // after spawn or after "ready"

  std::string Describe() const {
    return absl::StrCat("round ", round, ": threads=", threads, " events_max=", events_max,
                        " checkpoint_every_events=", checkpoint_every_events,
                        kill_before_ready ? " kill after spawn +" : " kill after ready +",
                        absl::FormatDuration(kill_delay));
  }
};

RoundPlan DrawPlan(int round, std::mt19937_64& random) {
  static constexpr uint64_t kCheckpointEvery[] = {1, 7, 64, 10000};
  RoundPlan plan;
  plan.round = round;
  plan.threads = std::uniform_int_distribution<int>(2, 4)(random);
  // The child appends a few thousand events a second: most rounds are cut
  // mid-stream, a few after it ran out of events and went idle.
  plan.events_max = std::uniform_int_distribution<uint64_t>(50, 4000)(random);
  plan.checkpoint_every_events = kCheckpointEvery[std::uniform_int_distribution<int>(0, 3)(random)];
  plan.kill_before_ready = std::uniform_int_distribution<int>(0, 4)(random) == 0;
  int64_t delay_us_max = plan.kill_before_ready ? 60'000 : 150'000;
  plan.kill_delay =
      absl::Microseconds(std::uniform_int_distribution<int64_t>(0, delay_us_max)(random));
  return plan;
}

uint64_t ChooseSeed() {
  if (const char* given = std::getenv("WL_CRASH_SEED"); given != nullptr) {
    uint64_t seed = 0;
    if (absl::SimpleAtoi(given, &seed)) return seed;
    ADD_FAILURE() << "WL_CRASH_SEED=" << given << " is not a number";
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device() ^
         static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
}

ledger::LedgerOptions Options(const std::string& data_dir) {
  ledger::LedgerOptions options;
  options.data_dir = data_dir;
  options.ledger_key = TestKey(kLedgerKeyTag);
  options.clock = nullptr;  // the system clock, like the child
  return options;
}

int64_t NowUs() { return ledger::SystemClock().NowMicros(); }

// What a killed child left behind.
struct ChildOutcome {
  std::vector<std::string> lines;
  bool ready = false;
  absl::Time spawned_at;
  absl::Time ready_at;        // when "ready" arrived, if it did
  bool killed_by_us = false;  // false: it had exited by itself before the kill
  int wait_status = 0;
};

// Reads whole lines from `fd` into `outcome` until `stop_when` holds, EOF, or
// `deadline`. Returns false on EOF.
template <typename Stop>
bool ReadLines(int fd, std::string& partial, ChildOutcome& outcome, absl::Time deadline,
               Stop stop_when) {
  char buffer[4096];
  while (!stop_when()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    pollfd poll_fd{.fd = fd, .events = POLLIN, .revents = 0};
    int ready = poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timed out: the loop re-checks the deadline
    ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    partial.append(buffer, static_cast<size_t>(got));
    size_t start = 0;
    for (size_t end; (end = partial.find('\n', start)) != std::string::npos; start = end + 1) {
      outcome.lines.push_back(partial.substr(start, end - start));
      if (outcome.lines.back() == "ready") {
        outcome.ready = true;
        outcome.ready_at = absl::Now();
      }
    }
    partial.erase(0, start);
  }
  return true;
}

// Spawns crash_child (fork+exec via posix_spawn, its stdout a pipe to us),
// SIGKILLs it as `plan` says, reaps it and returns everything it reported.
absl::StatusOr<ChildOutcome> RunChildUntilKilled(const std::string& data_dir,
                                                 const RoundPlan& plan) {
  std::vector<std::string> args = {
      WL_CRASH_CHILD_PATH,           data_dir,
      absl::StrCat("r", plan.round), absl::StrCat(plan.threads),
      absl::StrCat(plan.events_max), absl::StrCat(plan.checkpoint_every_events),
      absl::StrCat(kChildSecondsMax)};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", strerror(spawned)));
  }
  const absl::Time spawned_at = absl::Now();

  ChildOutcome outcome;
  outcome.spawned_at = spawned_at;
  std::string partial;
  bool open = true;
  absl::Time kill_at = spawned_at + plan.kill_delay;
  if (!plan.kill_before_ready) {
    open = ReadLines(fds[0], partial, outcome, spawned_at + kReadyTimeoutMax,
                     [&outcome]() { return outcome.ready; });
    kill_at = absl::Now() + plan.kill_delay;
  }
  if (open) open = ReadLines(fds[0], partial, outcome, kill_at, []() { return false; });
  outcome.killed_by_us = open;
  kill(pid, SIGKILL);  // also fine on a child that already exited (a zombie until reaped)
  while (waitpid(pid, &outcome.wait_status, 0) < 0 && errno == EINTR) {
  }
  // The child is gone, so the pipe ends after what it had written.
  ReadLines(fds[0], partial, outcome, absl::Now() + kDrainTimeoutMax, []() { return false; });
  close(fds[0]);
  if (!plan.kill_before_ready && !outcome.ready) {
    return absl::DeadlineExceededError(absl::StrCat("the child never reported ready (wait status ",
                                                    outcome.wait_status, "; its stderr is above)"));
  }
  return outcome;
}

// The first difference between two dumps, or "" when they are equal.
std::string FirstDifference(const std::vector<std::pair<std::string, std::string>>& live,
                            const std::vector<std::pair<std::string, std::string>>& replayed) {
  for (size_t i = 0; i < std::min(live.size(), replayed.size()); ++i) {
    if (live[i] != replayed[i]) {
      return absl::StrCat("row ", i, ": live key ", ledger::ToHex(ledger::AsBytes(live[i].first)),
                          " vs replayed key ", ledger::ToHex(ledger::AsBytes(replayed[i].first)),
                          live[i].first == replayed[i].first ? " (values differ)" : "");
    }
  }
  if (live.size() != replayed.size()) {
    return absl::StrCat(live.size(), " live rows vs ", replayed.size(), " replayed rows");
  }
  return "";
}

// (a) Every acknowledged append is in the store at its seq, with the chain
// hash the child was given, and its idempotency record points at it.
void ExpectAcknowledgedPresent(const ledger::Ledger& ledger, const std::vector<Ack>& acked) {
  const ledger::Head head = ledger.head();
  const ledger::KeyId cashier = TestKey(kCashierKeyTag).key_id();
  absl::flat_hash_set<uint64_t> seqs;
  size_t mismatches = 0;
  auto complain = [&mismatches](const Ack& ack, absl::string_view what) {
    if (++mismatches <= kMismatchesShownMax) {
      ADD_FAILURE() << "acknowledged seq " << ack.seq << " (" << ack.idempotency_key
                    << "): " << what;
    }
  };
  for (const Ack& ack : acked) {
    if (!seqs.insert(ack.seq).second) complain(ack, "acknowledged twice");
    if (ack.seq > head.seq) {
      complain(ack, absl::StrCat("is past the recovered head ", head.seq));
      continue;
    }
    auto envelope = ledger.store().GetEvent(ack.seq);
    if (!envelope.ok()) {
      complain(ack, envelope.status().ToString());
      continue;
    }
    std::string stored_hash = ledger::ToHex(ledger::ChainHash(*envelope));
    if (stored_hash != ack.chain_hash_hex) {
      complain(ack,
               absl::StrCat("stored H = ", stored_hash, ", acknowledged H = ", ack.chain_hash_hex));
    }
    auto record = ledger.store().GetIdempotency(cashier, ack.idempotency_key);
    if (!record.ok() || !record->has_value() || (*record)->seq != ack.seq) {
      complain(ack, "its idempotency record is missing or points elsewhere");
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << acked.size() << " acknowledged appends";
}

// (b) The whole store verifies: chain, signatures, keys, checkpoints.
void ExpectStoreVerifies(const ledger::Ledger& ledger) {
  ledger::VerifyOptions options;
  options.ledger_key = TestKey(kLedgerKeyTag).public_key();
  auto summary = ledger::VerifyStore(ledger.store(), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->head.seq, ledger.head().seq);
  EXPECT_EQ(summary->head.chain_hash, ledger.head().chain_hash);
}

// (c) The inline state the writer committed equals a replay of the log.
void ExpectReplayMatches(const ledger::Ledger& ledger) {
  TempDir replay_dir;
  auto target = ledger::EventStore::Open(replay_dir.Sub("replay"),
                                         ledger::StoreOptions{.mode = ledger::StoreMode::kPrimary,
                                                              .create_if_missing = true,
                                                              .projection_families = {}});
  ASSERT_TRUE(target.ok()) << target.status();
  auto summary = ledger::Replay(ledger.store(), **target, {}, ledger::ReplayOptions{});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->head.seq, ledger.head().seq);
  EXPECT_EQ(summary->head.chain_hash, ledger.head().chain_hash);
  for (absl::string_view family : {ledger::EventStore::kState, ledger::EventStore::kStreams,
                                   ledger::EventStore::kIdempotency}) {
    auto live = ledger.store().Dump(family);
    auto replayed = (*target)->Dump(family);
    ASSERT_TRUE(live.ok()) << live.status();
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(FirstDifference(*live, *replayed), "") << "family " << family;
  }
}

// (d) The recovered ledger appends, chained right after the recovered head,
// and still knows its idempotency keys.
void ExpectAppendsAfterRestart(ledger::Ledger& ledger, int round, std::vector<Ack>& acked) {
  const ledger::SigningKey cashier = TestKey(kCashierKeyTag);
  for (int i = 0; i < kAppendsAfterRestart; ++i) {
    const ledger::Head before = ledger.head();
    std::string key = absl::StrCat("after-r", round, "-", i);
    std::string body = DepositBody(key, NowUs(), "P-1", 1);
    auto result = ledger.Submit(Sign(body, cashier)).get();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_FALSE(result->duplicate);
    EXPECT_EQ(result->seq, before.seq + 1);
    auto retried = ledger.Submit(Sign(body, cashier)).get();
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_TRUE(retried->duplicate);
    EXPECT_EQ(retried->seq, result->seq);
    acked.push_back(Ack{.seq = result->seq,
                        .chain_hash_hex = ledger::ToHex(result->chain_hash),
                        .idempotency_key = key});
  }
}

// Reopens the ledger after a kill and checks every oracle; returns the head
// after its own appends, which the next round must not lose either.
void RecoverAndCheck(const std::string& data_dir, int round, uint64_t durable_seq,
                     std::vector<Ack>& acked, uint64_t& head_after) {
  auto ledger = ledger::Ledger::Open(Options(data_dir));
  ASSERT_TRUE(ledger.ok()) << "Ledger::Open after SIGKILL: " << ledger.status();
  EXPECT_GE((*ledger)->head().seq, durable_seq) << "the recovered head went backwards";
  ExpectAcknowledgedPresent(**ledger, acked);
  ASSERT_NO_FATAL_FAILURE(ExpectStoreVerifies(**ledger));
  ASSERT_NO_FATAL_FAILURE(ExpectReplayMatches(**ledger));
  ASSERT_NO_FATAL_FAILURE(ExpectAppendsAfterRestart(**ledger, round, acked));
  head_after = (*ledger)->head().seq;
  (*ledger)->Stop();
}

void InitializeLedger(const std::string& data_dir, uint64_t& head_after) {
  auto options = Options(data_dir);
  absl::Status initialized =
      ledger::Ledger::Initialize(options, TestKey(kAdminKeyTag).public_key(), "Crash Campus");
  ASSERT_TRUE(initialized.ok()) << initialized;
  auto ledger = ledger::Ledger::Open(options);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  auto registered = (*ledger)
                        ->Submit(Sign(RegisterKeyBody("register-cashier", NowUs(),
                                                      TestKey(kCashierKeyTag).public_key(),
                                                      ledger::Role::CASHIER),
                                      TestKey(kAdminKeyTag)))
                        .get();
  ASSERT_TRUE(registered.ok()) << registered.status();
  head_after = (*ledger)->head().seq;
  (*ledger)->Stop();
}

TEST(LedgerCrash, SigkilledWriterLosesNothingAcknowledgedAndRecoversRepeatedly) {
  const uint64_t seed = ChooseSeed();
  std::fprintf(stderr, "crash test seed: %llu (rerun with WL_CRASH_SEED=%llu)\n",
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("WL_CRASH_SEED=", seed));
  std::mt19937_64 random(seed);

  TempDir dir;
  const std::string data_dir = dir.Sub("ledger");
  uint64_t durable_seq = 0;
  ASSERT_NO_FATAL_FAILURE(InitializeLedger(data_dir, durable_seq));

  const absl::Time started = absl::Now();
  std::vector<Ack> acked;
  size_t rounds_with_acks = 0;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_LT(absl::Now() - started, kSuiteTimeMax) << "stopped after " << round << " rounds";
    const RoundPlan plan = DrawPlan(round, random);
    SCOPED_TRACE(plan.Describe());
    const absl::Time round_started = absl::Now();

    auto outcome = RunChildUntilKilled(data_dir, plan);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_TRUE(outcome->killed_by_us && WIFSIGNALED(outcome->wait_status) &&
                WTERMSIG(outcome->wait_status) == SIGKILL)
        << "the child ended by itself before the kill (wait status " << outcome->wait_status
        << "); its stderr is above";
    size_t acks = 0;
    for (const std::string& line : outcome->lines) {
      if (auto ack = ParseAck(line); ack.has_value()) {
        acked.push_back(std::move(*ack));
        ++acks;
      } else {
        ASSERT_TRUE(line == "ready" || line == "idle") << "unexpected child output: " << line;
      }
    }
    if (acks > 0) ++rounds_with_acks;

    uint64_t head_after = 0;
    ASSERT_NO_FATAL_FAILURE(RecoverAndCheck(data_dir, round, durable_seq, acked, head_after));
    ASSERT_FALSE(HasFailure());
    std::string ready =
        outcome->ready ? absl::StrCat("ready after ",
                                      absl::FormatDuration(outcome->ready_at - outcome->spawned_at))
                       : std::string("killed before ready");
    std::fprintf(stderr, "%s: %s, %zu acks, head %llu -> %llu, %.0f ms\n", plan.Describe().c_str(),
                 ready.c_str(), acks, static_cast<unsigned long long>(durable_seq),
                 static_cast<unsigned long long>(head_after),
                 absl::ToDoubleMilliseconds(absl::Now() - round_started));
    durable_seq = head_after;
  }
  // Most rounds (about three in four) kill a child that has acknowledged
  // appends; with few such rounds the test would prove little.
  EXPECT_GE(rounds_with_acks, static_cast<size_t>(kRounds / 4));
  std::fprintf(stderr, "crash test: %d rounds, %zu acknowledged appends checked, %.1f s\n", kRounds,
               acked.size(), absl::ToDoubleSeconds(absl::Now() - started));
}

}  // namespace
}  // namespace wattledger::testing::crash
