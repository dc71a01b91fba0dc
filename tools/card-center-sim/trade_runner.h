// The card center's side of a day of trading against wattd's CardCenter
// endpoint, as a real one-card system behaves when the network does not:
// `clients` terminals sell electricity concurrently, each trade a deposit
// signed once and kept, so every retry sends the same bytes. Faults are
// injected on purpose: a share of calls has its connection cut mid-call
// (the outcome then settled by status() and a retry of the same request), a
// share of trades is reversed (the reversal sent twice), and a share is
// reversed before its deposit is sent (the deposit must be refused). A
// terminal whose server went away reconnects with backoff until
// `give_up_after`.
//
// The result holds the card center's own records of the day, one line per
// deposit and reversal it considers done, for reconciliation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/rpc/card_center_client.h"
#include "ledger/crypto.h"

namespace wattledger::card_center_sim {

struct RunOptions {
  std::string server;  // host:port of the card-center endpoint
  rpc::TlsFiles tls;
  int clients = 50;
  int trades = 1000;         // in total, shared by the clients
  int cut_percent = 20;      // calls whose connection is cut mid-call
  int reverse_percent = 10;  // trades reversed after their deposit
  int early_percent = 2;     // trades reversed before their deposit is sent
  uint64_t seed = 1;
  std::string trade_prefix = "CS";
  std::string terminal = "CC-SIM";
  absl::Duration give_up_after = absl::Seconds(120);
};

// One line of the card center's records.
struct RecordLine {
  std::string trade_no;
  std::string room_id;
  int64_t amount_fen = 0;
  bool reversal = false;
};

struct RunResult {
  int trades = 0;
  int applied = 0;      // deposits that stand
  int reversed = 0;     // deposits reversed afterwards
  int voided = 0;       // reversed before their deposit; the deposit was refused
  int failed = 0;       // gave up (the server never came back)
  int cuts = 0;         // calls cut mid-call
  int retries = 0;      // calls sent again (after a cut or an unavailable server)
  int duplicates = 0;   // retries answered with the first receipt
  int64_t net_fen = 0;  // deposits that stand, in fen
  double seconds = 0;
  double deposits_per_second = 0;
  double p50_ms = 0, p99_ms = 0;  // deposit calls answered on the first try
  std::vector<RecordLine> records;
  std::vector<std::string> errors;  // unexpected answers, at most a few
};

absl::StatusOr<RunResult> RunTrades(const RunOptions& options, const ledger::SigningKey& key);

// Balance queries from `clients` connections for `duration`: queries/s.
struct QueryResult {
  uint64_t queries = 0;
  double per_second = 0;
  double p99_ms = 0;
};
// `in_flight` calls at a time on each connection (1: one after another).
absl::StatusOr<QueryResult> RunBalanceQueries(const std::string& server, const rpc::TlsFiles& tls,
                                              int clients, absl::Duration duration,
                                              int in_flight = 1);

// The records as CSV (tradeNo,roomId,amountFen,kind) and back.
std::string RecordsCsv(const std::vector<RecordLine>& records);
absl::StatusOr<std::vector<RecordLine>> ParseRecordsCsv(const std::string& text);

}  // namespace wattledger::card_center_sim
