// wattctl's campus commands: registry, tariffs, money and readings, each a
// signed event submitted to wattd.
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ledger/structured_log.h"
#include "projections/campus.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

namespace wattledger::wattctl {
namespace {

using ledger::ToHex;

std::string Json(const std::string& text) { return ledger::JsonEscape(text); }

std::string Fen(int64_t fen) {
  return absl::StrCat(fen < 0 ? "-" : "", std::abs(fen) / 100, ".",
                      absl::StrFormat("%02d", std::abs(fen) % 100));
}

// Prints the event the ledger derived right after ours (a settlement).
AfterSubmit PrintDerived() {
  return [](const ledger::AppendResult& result, rpc::LedgerClient& client) {
    auto events = client.Events(result.seq + 1, 1);
    if (!events.ok() || events->empty()) return;
    auto envelope = ledger::ParsedEnvelope::Parse(events->front(), ledger::kEnvelopeBytesMax);
    if (envelope.ok()) std::printf("%s\n", ledger::EnvelopeToJson(envelope->get()).c_str());
  };
}

}  // namespace

int BuildingAdd() {
  return SignAndSubmitCommand("building", {{"id", absl::GetFlag(FLAGS_id)},
                                           {"name", absl::GetFlag(FLAGS_name)},
                                           {"campus", absl::GetFlag(FLAGS_campus)}});
}

int GatewayAdd() {
  return SignAndSubmitCommand("gateway", {{"id", absl::GetFlag(FLAGS_id)},
                                          {"address", absl::GetFlag(FLAGS_address)},
                                          {"location", absl::GetFlag(FLAGS_location)},
                                          {"mode", absl::GetFlag(FLAGS_mode)}});
}

int RoomAdd() {
  return SignAndSubmitCommand("room", {{"id", absl::GetFlag(FLAGS_id)},
                                       {"building", absl::GetFlag(FLAGS_building)},
                                       {"floor", absl::StrCat(absl::GetFlag(FLAGS_floor))},
                                       {"number", absl::GetFlag(FLAGS_number)},
                                       {"capacity", absl::StrCat(absl::GetFlag(FLAGS_capacity))},
                                       {"tariffClass", absl::GetFlag(FLAGS_tariff_class)}});
}

int OccupantAssign() {
  return SignAndSubmitCommand("occupant-assign", {{"room", absl::GetFlag(FLAGS_room)},
                                                  {"person", absl::GetFlag(FLAGS_person)},
                                                  {"name", absl::GetFlag(FLAGS_name)},
                                                  {"identity", absl::GetFlag(FLAGS_identity)},
                                                  {"card", absl::GetFlag(FLAGS_card)}});
}

int OccupantMoveOut() {
  return SignAndSubmitCommand("occupant-moveout", {{"room", absl::GetFlag(FLAGS_room)},
                                                   {"person", absl::GetFlag(FLAGS_person)},
                                                   {"reason", absl::GetFlag(FLAGS_reason)}});
}

int MeterInstall() {
  return SignAndSubmitCommand(
      "meter-install", {{"address", absl::GetFlag(FLAGS_address)},
                        {"gateway", absl::GetFlag(FLAGS_gateway)},
                        {"room", absl::GetFlag(FLAGS_room)},
                        {"circuit", absl::StrCat(absl::GetFlag(FLAGS_circuit))},
                        {"initialWh", absl::StrCat(absl::GetFlag(FLAGS_initial_wh))},
                        {"ratedCurrentMa", absl::StrCat(absl::GetFlag(FLAGS_rated_current_ma))},
                        {"voltageDv", absl::StrCat(absl::GetFlag(FLAGS_voltage_dv))}});
}

int MeterReplace() {
  return SignAndSubmitCommand(
      "meter-replace", {{"oldMeter", absl::GetFlag(FLAGS_old_meter)},
                        {"newMeter", absl::GetFlag(FLAGS_new_meter)},
                        {"circuit", absl::StrCat(absl::GetFlag(FLAGS_circuit))},
                        {"oldFinalWh", absl::StrCat(absl::GetFlag(FLAGS_old_final_wh))},
                        {"newInitialWh", absl::StrCat(absl::GetFlag(FLAGS_new_initial_wh))}});
}

int TariffSet() {
  // The allowance flag is a double; the builder takes its exact decimal text.
  std::string allowance = absl::StrFormat("%.3f", absl::GetFlag(FLAGS_allowance_kwh_per_year));
  return SignAndSubmitCommand("tariff", {{"identity", absl::GetFlag(FLAGS_identity)},
                                         {"tiers", absl::GetFlag(FLAGS_tiers)},
                                         {"allowanceKwhPerYear", allowance},
                                         {"effectiveFrom", absl::GetFlag(FLAGS_effective_from)}});
}

int OverdraftSet() {
  return SignAndSubmitCommand("overdraft",
                              {{"room", absl::GetFlag(FLAGS_room)},
                               {"limitFen", absl::StrCat(absl::GetFlag(FLAGS_limit_fen))}});
}

int Deposit() {
  return SignAndSubmitCommand(
      "deposit",
      {{"room", absl::GetFlag(FLAGS_room)},
       {"amountFen", absl::StrCat(absl::GetFlag(FLAGS_amount_fen))},
       {"channel", absl::GetFlag(FLAGS_channel)},
       {"cardNo", absl::GetFlag(FLAGS_card)},
       {"cashier", absl::GetFlag(FLAGS_cashier)},
       {"tradeNo", absl::GetFlag(FLAGS_trade_no)}},
      [](const ledger::AppendResult& result, rpc::LedgerClient&) {
        auto receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(result.result, 4096);
        if (!receipt.ok()) return;
        auto r = receipt->get();
        std::printf(
            "{\"receipt\":{\"receiptNo\":%s,\"roomId\":%s,\"amount\":\"%s\",\"balanceAfter\":\"%"
            "s\","
            "\"time\":\"%s\",\"seq\":%llu,\"chainHash\":\"%s\"}}\n",
            Json(r.getReceiptNo().cStr()).c_str(), Json(r.getRoomId().cStr()).c_str(),
            Fen(r.getAmountFen()).c_str(), Fen(r.getBalanceAfterFen()).c_str(),
            absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(r.getTimeUs()),
                             absl::FixedTimeZone(8 * 3600))
                .c_str(),
            static_cast<unsigned long long>(result.seq),
            ToHex(absl::MakeConstSpan(result.chain_hash)).c_str());
      });
}

int Reverse() {
  return SignAndSubmitCommand("reverse", {{"seq", absl::StrCat(absl::GetFlag(FLAGS_seq))},
                                          {"reason", absl::GetFlag(FLAGS_reason)}});
}

int Refund() {
  return SignAndSubmitCommand("refund",
                              {{"room", absl::GetFlag(FLAGS_room)},
                               {"person", absl::GetFlag(FLAGS_person)},
                               {"reason", absl::GetFlag(FLAGS_reason)}},
                              PrintDerived());
}

int Exchange() {
  return SignAndSubmitCommand("exchange",
                              {{"person", absl::GetFlag(FLAGS_person)},
                               {"room", absl::GetFlag(FLAGS_room)},
                               {"to", absl::GetFlag(FLAGS_to)},
                               {"swapPerson", absl::GetFlag(FLAGS_swap_person)}},
                              PrintDerived());
}

// Readings by hand (an engineer reading meters on site, or a test): a CSV of
// address,circuit,total_wh[,read_at_us], signed by an ingest key.
int Readings() {
  std::string gateway = absl::GetFlag(FLAGS_gateway);
  std::ifstream in(absl::GetFlag(FLAGS_csv));
  if (!in) return Usage("readings needs --csv FILE of address,circuit,total_wh[,read_at_us]");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StripAsciiWhitespace(line).empty() || line[0] == '#') continue;
    rows.push_back(absl::StrSplit(line, ','));
  }
  return SignAndSubmit(
      "gateway:" + gateway,
      [&](schema::EventBody::Builder body) {
        auto batch = body.initReadingsBatch();
        batch.setGatewayId(gateway);
        batch.setSweepStartedUs(body.getIssuedAtUs());
        auto list = batch.initReadings(static_cast<unsigned>(rows.size()));
        for (size_t i = 0; i < rows.size(); ++i) {
          const auto& row = rows[i];
          uint32_t circuit = 0;
          int64_t total = 0;
          int64_t read_at = body.getIssuedAtUs();
          if (row.size() < 3 || !absl::SimpleAtoi(row[1], &circuit) ||
              !absl::SimpleAtoi(row[2], &total) ||
              (row.size() > 3 && !absl::SimpleAtoi(row[3], &read_at))) {
            return absl::InvalidArgumentError(absl::StrCat(
                "readings row ", i + 1, " is not address,circuit,total_wh[,read_at_us]"));
          }
          list[i].setMeterAddress(std::string(absl::StripAsciiWhitespace(row[0])));
          list[i].setCircuit(static_cast<uint8_t>(circuit));
          list[i].setTotalWh(total);
          list[i].setReadAtUs(read_at);
        }
        return absl::OkStatus();
      },
      PrintDerived());
}

}  // namespace wattledger::wattctl
