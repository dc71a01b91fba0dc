#include "tools/card-center-sim/trade_runner.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace wattledger::card_center_sim {
namespace {

using rpc::CardCenterClient;
using rpc::CardTradeState;

double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  size_t at = std::min(samples.size() - 1, static_cast<size_t>(p * samples.size()));
  std::nth_element(samples.begin(), samples.begin() + static_cast<long>(at), samples.end());
  return samples[at];
}

// One terminal: its own connection (and event loop) on its own thread.
class Terminal {
 public:
  Terminal(const RunOptions& options, const ledger::SigningKey& key,
           const std::vector<std::string>& rooms, int id, absl::Time deadline)
      : options_(options),
        key_(key),
        rooms_(rooms),
        rng_(options.seed * 1000 + id),
        deadline_(deadline) {}

  void Trade(int index) {
    std::string trade_no =
        absl::StrFormat("%s%d-%07d", options_.trade_prefix, options_.seed, index);
    const std::string& room = rooms_[Uniform(0, static_cast<int>(rooms_.size()) - 1)];
    int64_t amount = 100 * Uniform(1, 50);
    std::string card = absl::StrFormat("CARD%06d", Uniform(1, 999999));
    int64_t now = absl::ToUnixMicros(absl::Now());
    ledger::SignedRequest deposit = ledger::SignBodyBytes(
        rpc::CardDepositBody(trade_no, room, amount, card, options_.terminal, now, now), key_);
    ++result.trades;
    if (Chance(options_.early_percent)) {
      auto reversed = Reverse(trade_no);
      auto late = Deliver<rpc::CardReceipt>(
          deposit, /*reversal=*/false, trade_no,
          [&](CardCenterClient& client) { return client.Deposit(deposit); }, nullptr);
      if (!reversed.ok() || reversed->state != CardTradeState::kVoided) {
        Error(trade_no, "early reversal", reversed.status());
      } else if (late.status().code() != absl::StatusCode::kFailedPrecondition) {
        Error(trade_no, "late deposit after a reversal", late.status());
      } else {
        ++result.voided;
      }
      // The card center sold and cancelled it: both lines are in its records.
      result.records.push_back({trade_no, room, amount, false});
      result.records.push_back({trade_no, room, amount, true});
      return;
    }
    double latency = -1;
    auto receipt = Deliver<rpc::CardReceipt>(
        deposit, /*reversal=*/false, trade_no,
        [&](CardCenterClient& client) { return client.Deposit(deposit); }, &latency);
    if (!receipt.ok()) {
      Error(trade_no, "deposit", receipt.status());
      return;
    }
    if (latency >= 0) latencies.push_back(latency);
    if (receipt->duplicate) ++result.duplicates;
    result.records.push_back({trade_no, room, amount, false});
    if (Chance(options_.reverse_percent)) {
      auto first = Reverse(trade_no);
      auto again = Reverse(trade_no);  // a duplicated reversal changes nothing
      if (!first.ok() || !again.ok() || again->reversal_seq != first->reversal_seq) {
        Error(trade_no, "reversal", first.ok() ? again.status() : first.status());
        return;
      }
      ++result.reversed;
      result.records.push_back({trade_no, room, amount, true});
      return;
    }
    ++result.applied;
    result.net_fen += amount;
  }

  void Close() { client_.reset(); }

  RunResult result;
  std::vector<double> latencies;

 private:
  absl::StatusOr<rpc::CardTrade> Reverse(const std::string& trade_no) {
    ledger::SignedRequest reversal =
        ledger::SignBodyBytes(rpc::CardReversalBody(trade_no, "cancelled at the terminal",
                                                    absl::ToUnixMicros(absl::Now())),
                              key_);
    return Deliver<rpc::CardTrade>(
        reversal, /*reversal=*/true, trade_no,
        [&](CardCenterClient& client) { return client.Reverse(reversal); }, nullptr);
  }

  // Sends `request` through `call` until the server answers it. The first
  // try may be cut mid-call on purpose; the outcome is then asked for with
  // status() before the same bytes are sent again.
  template <typename T>
  absl::StatusOr<T> Deliver(const ledger::SignedRequest& request, bool reversal,
                            const std::string& trade_no,
                            const std::function<absl::StatusOr<T>(CardCenterClient&)>& call,
                            double* latency_ms) {
    bool first = true;
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      if (!Connected()) return absl::DeadlineExceededError("the server did not come back");
      if (first && Chance(options_.cut_percent)) {
        first = false;
        ++result.cuts;
        ++result.retries;
        client_->SendThenCut(request, reversal, absl::Microseconds(Uniform(0, 3000)));
        client_.reset();
        if (!Connected()) return absl::DeadlineExceededError("the server did not come back");
        if (!client_->Status(trade_no).ok()) client_.reset();
        continue;
      }
      absl::Time start = absl::Now();
      absl::StatusOr<T> answer = call(*client_);
      if (answer.status().code() == absl::StatusCode::kUnavailable) {
        client_.reset();
        first = false;
        ++result.retries;
        absl::SleepFor(backoff);
        backoff = std::min(backoff * 2, absl::Seconds(1));
        continue;
      }
      if (first && latency_ms != nullptr)
        *latency_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
      return answer;
    }
  }

  bool Connected() {
    absl::Duration backoff = absl::Milliseconds(20);
    while (client_ == nullptr) {
      auto connected = CardCenterClient::Connect(options_.server, options_.tls);
      if (connected.ok()) {
        client_ = std::move(*connected);
        break;
      }
      if (absl::Now() > deadline_) return false;
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    return true;
  }

  void Error(const std::string& trade_no, absl::string_view what, const absl::Status& status) {
    ++result.failed;
    if (result.errors.size() < 5) {
      result.errors.push_back(absl::StrCat(trade_no, ": ", what, ": ", status.ToString()));
    }
  }

  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  const RunOptions& options_;
  const ledger::SigningKey& key_;
  const std::vector<std::string>& rooms_;
  std::mt19937_64 rng_;
  absl::Time deadline_;
  std::unique_ptr<CardCenterClient> client_;
};

}  // namespace

absl::StatusOr<RunResult> RunTrades(const RunOptions& options, const ledger::SigningKey& key) {
  std::vector<std::string> rooms;
  {
    auto client = CardCenterClient::Connect(options.server, options.tls);
    if (!client.ok()) return client.status();
    auto directory = (*client)->Rooms();
    if (!directory.ok()) return directory.status();
    for (const auto& room : *directory) rooms.push_back(room.room_id);
  }
  if (rooms.empty()) return absl::FailedPreconditionError("the campus has no rooms to sell for");

  std::atomic<int> next{0};
  std::vector<std::unique_ptr<Terminal>> terminals;
  absl::Time start = absl::Now();
  for (int id = 0; id < options.clients; ++id) {
    terminals.push_back(
        std::make_unique<Terminal>(options, key, rooms, id, start + options.give_up_after));
  }
  std::vector<std::thread> threads;
  for (auto& terminal : terminals) {
    threads.emplace_back([&, t = terminal.get()] {
      for (int index = next++; index < options.trades; index = next++) t->Trade(index);
      t->Close();  // on its own thread: the connection belongs to this thread's event loop
    });
  }
  for (std::thread& thread : threads) thread.join();

  RunResult out;
  out.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> latencies;
  for (auto& terminal : terminals) {
    RunResult& r = terminal->result;
    out.trades += r.trades;
    out.applied += r.applied;
    out.reversed += r.reversed;
    out.voided += r.voided;
    out.failed += r.failed;
    out.cuts += r.cuts;
    out.retries += r.retries;
    out.duplicates += r.duplicates;
    out.net_fen += r.net_fen;
    out.records.insert(out.records.end(), r.records.begin(), r.records.end());
    for (auto& error : r.errors) {
      if (out.errors.size() < 10) out.errors.push_back(error);
    }
    latencies.insert(latencies.end(), terminal->latencies.begin(), terminal->latencies.end());
  }
  out.deposits_per_second = out.seconds > 0 ? out.trades / out.seconds : 0;
  out.p50_ms = Percentile(latencies, 0.50);
  out.p99_ms = Percentile(latencies, 0.99);
  return out;
}

absl::StatusOr<QueryResult> RunBalanceQueries(const std::string& server, const rpc::TlsFiles& tls,
                                              int clients, absl::Duration duration, int in_flight) {
  std::vector<std::string> rooms;
  {
    auto client = CardCenterClient::Connect(server, tls);
    if (!client.ok()) return client.status();
    auto directory = (*client)->Rooms();
    if (!directory.ok()) return directory.status();
    for (const auto& room : *directory) rooms.push_back(room.room_id);
  }
  if (rooms.empty()) return absl::FailedPreconditionError("the campus has no rooms");
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<uint64_t> queries{0};
  absl::Status failure;
  absl::Time start = absl::Now();
  absl::Time end = start + duration;
  std::vector<std::thread> threads;
  for (int id = 0; id < clients; ++id) {
    threads.emplace_back([&, id] {
      auto client = CardCenterClient::Connect(server, tls);
      if (!client.ok()) {
        std::lock_guard lock(mu);
        failure = client.status();
        return;
      }
      std::vector<double> mine;
      std::vector<std::string> batch(static_cast<size_t>(std::max(1, in_flight)));
      for (size_t i = static_cast<size_t>(id); absl::Now() < end;) {
        for (std::string& room : batch) room = rooms[i++ % rooms.size()];
        absl::Time sent = absl::Now();
        auto balances = (*client)->Balances(batch);
        if (!balances.ok()) {
          std::lock_guard lock(mu);
          failure = balances.status();
          return;
        }
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        queries += batch.size();
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (!failure.ok()) return failure;
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return QueryResult{queries.load(), queries.load() / seconds, Percentile(latencies, 0.99)};
}

std::string RecordsCsv(const std::vector<RecordLine>& records) {
  std::string out = "tradeNo,roomId,amountFen,kind\n";
  for (const RecordLine& line : records) {
    absl::StrAppend(&out, line.trade_no, ",", line.room_id, ",", line.amount_fen, ",",
                    line.reversal ? "reversal" : "deposit", "\n");
  }
  return out;
}

absl::StatusOr<std::vector<RecordLine>> ParseRecordsCsv(const std::string& text) {
  std::vector<RecordLine> out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++number;
    if (number == 1 && absl::StartsWith(line, "tradeNo")) continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    RecordLine record;
    if (fields.size() != 4 || !absl::SimpleAtoi(fields[2], &record.amount_fen) ||
        (fields[3] != "deposit" && fields[3] != "reversal")) {
      return absl::InvalidArgumentError(
          absl::StrCat("records line ", number, ": expected tradeNo,roomId,amountFen,kind"));
    }
    record.trade_no = fields[0];
    record.room_id = fields[1];
    record.reversal = fields[3] == "reversal";
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace wattledger::card_center_sim
