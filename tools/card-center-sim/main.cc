// card-center-sim: plays the campus one-card center against wattd's
// CardCenter endpoint (tools/card-center-sim/README.md).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/rpc/card_center_client.h"
#include "projections/reports/periods.h"
#include "tools/card-center-sim/trade_runner.h"
#include "tools/common/cli.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7610", "host:port of wattd's card-center endpoint");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that signed wattd's certificate; empty: plaintext");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate of the card center");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, key, "data/keys/card-center.pem", "the card center's signing key");
ABSL_FLAG(std::string, passphrase_file, "", "file holding the signing key's passphrase");
ABSL_FLAG(int, clients, 50, "run: concurrent terminals (connections)");
ABSL_FLAG(int, trades, 1000, "run: trades in total");
ABSL_FLAG(int, cut_percent, 20, "run: calls whose connection is cut mid-call");
ABSL_FLAG(int, reverse_percent, 10, "run: trades reversed after their deposit (twice)");
ABSL_FLAG(int, early_percent, 2, "run: trades reversed before their deposit is sent");
ABSL_FLAG(uint64_t, seed, 1, "run: random seed; also part of every trade number");
ABSL_FLAG(int, give_up_seconds, 120, "run: how long a terminal waits for a server that went away");
ABSL_FLAG(std::string, records, "",
          "run: write the card center's records here (CSV); "
          "reconcile: read them from here");
ABSL_FLAG(std::string, day, "", "settlement, reconcile: campus day YYYY-MM-DD (default today)");
ABSL_FLAG(bool, inject, false, "reconcile: inject one difference of each kind into the records");
ABSL_FLAG(std::string, room, "", "balance: the room");
ABSL_FLAG(std::string, trade, "", "status: the trade number");
ABSL_FLAG(int, seconds, 5, "bench-balance: how long to query");
ABSL_FLAG(int, in_flight, 1, "bench-balance: calls in flight at once on each connection");

namespace wattledger::card_center_sim {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", std::string(status.ToString()).c_str());
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

rpc::TlsFiles Tls() {
  return rpc::TlsFiles{.cert = absl::GetFlag(FLAGS_tls_cert),
                       .key = absl::GetFlag(FLAGS_tls_key),
                       .ca = absl::GetFlag(FLAGS_tls_ca)};
}

std::string Day() {
  std::string day = absl::GetFlag(FLAGS_day);
  return day.empty() ? projections::reports::DayOf(absl::ToUnixMicros(absl::Now())) : day;
}

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int Run() {
  auto key = tools::LoadKeyFile(absl::GetFlag(FLAGS_key), absl::GetFlag(FLAGS_passphrase_file));
  if (!key.ok()) return Fail(key.status());
  RunOptions options{.server = absl::GetFlag(FLAGS_server),
                     .tls = Tls(),
                     .clients = absl::GetFlag(FLAGS_clients),
                     .trades = absl::GetFlag(FLAGS_trades),
                     .cut_percent = absl::GetFlag(FLAGS_cut_percent),
                     .reverse_percent = absl::GetFlag(FLAGS_reverse_percent),
                     .early_percent = absl::GetFlag(FLAGS_early_percent),
                     .seed = absl::GetFlag(FLAGS_seed),
                     .give_up_after = absl::Seconds(absl::GetFlag(FLAGS_give_up_seconds))};
  auto result = RunTrades(options, *key);
  if (!result.ok()) return Fail(result.status());
  std::string records_path = absl::GetFlag(FLAGS_records);
  if (!records_path.empty()) {
    std::ofstream out(records_path);
    out << RecordsCsv(result->records);
    if (!out) return Fail(absl::UnavailableError(absl::StrCat("cannot write ", records_path)));
  }
  std::vector<std::string> errors;
  for (const std::string& error : result->errors) errors.push_back(Quote(error));
  std::printf(
      "{\"trades\":%d,\"applied\":%d,\"reversed\":%d,\"voided\":%d,\"failed\":%d,\"cuts\":%d,"
      "\"retries\":%d,\"duplicates\":%d,\"netFen\":%lld,\"seconds\":%.3f,"
      "\"tradesPerSecond\":%.1f,\"p50Ms\":%.2f,\"p99Ms\":%.2f,\"errors\":[%s]}\n",
      result->trades, result->applied, result->reversed, result->voided, result->failed,
      result->cuts, result->retries, result->duplicates, static_cast<long long>(result->net_fen),
      result->seconds, result->deposits_per_second, result->p50_ms, result->p99_ms,
      absl::StrJoin(errors, ",").c_str());
  return result->failed == 0 ? 0 : 1;
}

absl::StatusOr<std::unique_ptr<rpc::CardCenterClient>> Client() {
  return rpc::CardCenterClient::Connect(absl::GetFlag(FLAGS_server), Tls());
}

int Settlement() {
  auto client = Client();
  if (!client.ok()) return Fail(client.status());
  auto settlement = (*client)->Settlement(Day());
  if (!settlement.ok()) return Fail(settlement.status());
  std::printf(
      "{\"day\":\"%s\",\"deposits\":%llu,\"depositsFen\":%lld,\"reversals\":%llu,"
      "\"reversalsFen\":%lld,\"netFen\":%lld,\"firstSeq\":%llu,\"lastSeq\":%llu,\"headSeq\":%llu,"
      "\"lines\":%zu,\"signatureVerified\":%s}\n",
      settlement->day.c_str(), static_cast<unsigned long long>(settlement->deposit_count),
      static_cast<long long>(settlement->deposits_fen),
      static_cast<unsigned long long>(settlement->reversal_count),
      static_cast<long long>(settlement->reversals_fen),
      static_cast<long long>(settlement->deposits_fen - settlement->reversals_fen),
      static_cast<unsigned long long>(settlement->first_seq),
      static_cast<unsigned long long>(settlement->last_seq),
      static_cast<unsigned long long>(settlement->head_seq), settlement->lines.size(),
      settlement->Verified() ? "true" : "false");
  return settlement->Verified() ? 0 : 1;
}

// One difference of each kind the reconciliation knows, injected into the
// records: what the ledger should then report, as "kind trade".
std::set<std::string> Inject(std::vector<RecordLine>& records) {
  std::set<std::string> expected;
  // The first trade that is a plain deposit (no reversal) loses its line, the
  // second gets another amount.
  std::set<std::string> reversed;
  for (const RecordLine& line : records) {
    if (line.reversal) reversed.insert(line.trade_no);
  }
  int picked = 0;
  for (size_t i = 0; i < records.size() && picked < 2; ++i) {
    if (records[i].reversal || reversed.count(records[i].trade_no) > 0) continue;
    if (picked++ == 0) {
      expected.insert("missingThere " + records[i].trade_no);
      records.erase(records.begin() + static_cast<long>(i));
      --i;
    } else {
      expected.insert("amountDiffers " + records[i].trade_no);
      records[i].amount_fen += 100;
    }
  }
  std::string room = records.empty() ? "B01-101" : records.front().room_id;
  records.push_back({"INJECTED-MISSING", room, 1200, false});
  expected.insert("missingHere INJECTED-MISSING");
  records.push_back({"INJECTED-ROOM", "NO-SUCH-ROOM", 800, false});
  expected.insert("unknownRoom INJECTED-ROOM");
  return expected;
}

int Reconcile() {
  std::ifstream in(absl::GetFlag(FLAGS_records));
  if (!in) return Fail(absl::InvalidArgumentError("reconcile needs --records FILE.csv"));
  std::stringstream text;
  text << in.rdbuf();
  auto records = ParseRecordsCsv(text.str());
  if (!records.ok()) return Fail(records.status());
  std::set<std::string> expected;
  if (absl::GetFlag(FLAGS_inject)) expected = Inject(*records);
  std::vector<rpc::TheirLineInput> theirs;
  for (const RecordLine& line : *records) {
    theirs.push_back({line.trade_no, line.room_id, line.amount_fen, line.reversal});
  }
  auto client = Client();
  if (!client.ok()) return Fail(client.status());
  auto report = (*client)->Reconcile(Day(), theirs);
  if (!report.ok()) return Fail(report.status());
  std::set<std::string> found;
  std::vector<std::string> lines;
  for (const auto& difference : report->differences) {
    found.insert(difference.kind + " " + difference.trade_no);
    lines.push_back(absl::StrCat(
        "{\"kind\":", Quote(difference.kind), ",\"tradeNo\":", Quote(difference.trade_no),
        ",\"ours\":", Quote(difference.ours), ",\"theirs\":", Quote(difference.theirs),
        ",\"seq\":", difference.seq, "}"));
  }
  bool as_expected = found == expected;
  std::printf(
      "{\"day\":\"%s\",\"matched\":%u,\"injected\":%zu,\"asExpected\":%s,"
      "\"differences\":[%s]}\n",
      Day().c_str(), report->matched, expected.size(), as_expected ? "true" : "false",
      absl::StrJoin(lines, ",").c_str());
  return as_expected ? 0 : 1;
}

int Balance() {
  auto client = Client();
  if (!client.ok()) return Fail(client.status());
  auto balance = (*client)->Balance(absl::GetFlag(FLAGS_room));
  if (!balance.ok()) return Fail(balance.status());
  std::printf(
      "{\"roomId\":%s,\"balanceFen\":%lld,\"allowanceLeftWh\":%lld,\"pricePerKwh\":%lld,"
      "\"remainingWh\":%lld,\"powerOn\":%s,\"arrearsLevel\":%s,\"status\":%s}\n",
      Quote(balance->room_id).c_str(), static_cast<long long>(balance->balance_fen),
      static_cast<long long>(balance->allowance_left_wh),
      static_cast<long long>(balance->price_per_kwh), static_cast<long long>(balance->remaining_wh),
      balance->power_on ? "true" : "false", Quote(balance->arrears_level).c_str(),
      Quote(balance->status).c_str());
  return 0;
}

int Status() {
  auto client = Client();
  if (!client.ok()) return Fail(client.status());
  auto trade = (*client)->Status(absl::GetFlag(FLAGS_trade));
  if (!trade.ok()) return Fail(trade.status());
  std::printf(
      "{\"tradeNo\":%s,\"state\":\"%s\",\"depositSeq\":%llu,\"reversalSeq\":%llu,"
      "\"roomId\":%s,\"amountFen\":%lld}\n",
      Quote(trade->trade_no).c_str(), std::string(rpc::TradeStateName(trade->state)).c_str(),
      static_cast<unsigned long long>(trade->deposit_seq),
      static_cast<unsigned long long>(trade->reversal_seq), Quote(trade->room_id).c_str(),
      static_cast<long long>(trade->amount_fen));
  return 0;
}

int Rooms() {
  auto client = Client();
  if (!client.ok()) return Fail(client.status());
  auto rooms = (*client)->Rooms();
  if (!rooms.ok()) return Fail(rooms.status());
  for (const auto& room : *rooms) {
    std::printf("%s\t%s\t%d\t%s\n", room.campus.c_str(), room.building_id.c_str(), room.floor,
                room.room_id.c_str());
  }
  return 0;
}

int BenchBalance() {
  auto result = RunBalanceQueries(absl::GetFlag(FLAGS_server), Tls(), absl::GetFlag(FLAGS_clients),
                                  absl::Seconds(absl::GetFlag(FLAGS_seconds)),
                                  absl::GetFlag(FLAGS_in_flight));
  if (!result.ok()) return Fail(result.status());
  std::printf("{\"queries\":%llu,\"queriesPerSecond\":%.0f,\"p99MsPerRound\":%.2f}\n",
              static_cast<unsigned long long>(result->queries), result->per_second, result->p99_ms);
  return 0;
}

}  // namespace
}  // namespace wattledger::card_center_sim

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "plays the campus card center against wattd (tools/card-center-sim/README.md)\n"
      "  card-center-sim run [--clients 50] [--trades 1000] [--cut_percent 20] "
      "[--records FILE.csv]\n"
      "  card-center-sim settlement [--day YYYY-MM-DD]\n"
      "  card-center-sim reconcile --records FILE.csv [--day D] [--inject]\n"
      "  card-center-sim balance --room R | status --trade T | rooms\n"
      "  card-center-sim bench-balance [--clients 50] [--seconds 5]\n"
      "common: --server HOST:PORT --key PEM [--tls_ca CA --tls_cert CERT --tls_key KEY]");
  auto args = wattledger::tools::NormaliseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(args.status().message()).c_str());
    return 2;
  }
  std::vector<char*> pointers;
  for (std::string& arg : *args) pointers.push_back(arg.data());
  std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  if (rest.size() != 2) {
    std::fprintf(stderr, "%s\n", std::string(absl::ProgramUsageMessage()).c_str());
    return 2;
  }
  std::string command = rest[1];
  using namespace wattledger::card_center_sim;
  if (command == "run") return Run();
  if (command == "settlement") return Settlement();
  if (command == "reconcile") return Reconcile();
  if (command == "balance") return Balance();
  if (command == "status") return Status();
  if (command == "rooms") return Rooms();
  if (command == "bench-balance") return BenchBalance();
  std::fprintf(stderr, "unknown command %s\n%s\n", command.c_str(),
               std::string(absl::ProgramUsageMessage()).c_str());
  return 2;
}
