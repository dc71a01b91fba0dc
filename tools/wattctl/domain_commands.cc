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

std::string RoomStream(const std::string& room) { return "room:" + room; }

// "12.5" kWh -> 12500 Wh; "0.5880" CNY/kWh -> 5880 (0.0001 CNY): decimal
// text to scaled integers, without floating point.
absl::StatusOr<int64_t> ParseScaled(absl::string_view text, int decimals) {
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  if (parts.empty() || parts.size() > 2 || parts[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a decimal number"));
  }
  std::string fraction = parts.size() == 2 ? parts[1] : "";
  if (static_cast<int>(fraction.size()) > decimals) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has more than ", decimals, " decimals"));
  }
  fraction.append(static_cast<size_t>(decimals) - fraction.size(), '0');
  int64_t value = 0;
  if (!absl::SimpleAtoi(parts[0] + fraction, &value) || value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a decimal number"));
  }
  return value;
}

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
  std::string id = absl::GetFlag(FLAGS_id);
  return SignAndSubmit("building:" + id, [&](schema::EventBody::Builder body) {
    auto building = body.initBuildingRegistered();
    building.setBuildingId(id);
    building.setName(absl::GetFlag(FLAGS_name));
    building.setCampus(absl::GetFlag(FLAGS_campus));
    return absl::OkStatus();
  });
}

int GatewayAdd() {
  std::string id = absl::GetFlag(FLAGS_id);
  return SignAndSubmit("gateway:" + id, [&](schema::EventBody::Builder body) {
    auto gateway = body.initGatewayRegistered();
    gateway.setGatewayId(id);
    gateway.setAddress(absl::GetFlag(FLAGS_address));
    gateway.setLocation(absl::GetFlag(FLAGS_location));
    std::string mode = absl::GetFlag(FLAGS_mode);
    if (mode != "server" && mode != "client")
      return absl::InvalidArgumentError("--mode is server or client");
    gateway.setMode(mode == "server" ? schema::GatewayMode::SERVER : schema::GatewayMode::CLIENT);
    return absl::OkStatus();
  });
}

int RoomAdd() {
  std::string id = absl::GetFlag(FLAGS_id);
  return SignAndSubmit(RoomStream(id), [&](schema::EventBody::Builder body) {
    auto room = body.initRoomRegistered();
    room.setRoomId(id);
    room.setBuildingId(absl::GetFlag(FLAGS_building));
    room.setFloor(absl::GetFlag(FLAGS_floor));
    room.setNumber(absl::GetFlag(FLAGS_number));
    room.setCapacity(absl::GetFlag(FLAGS_capacity));
    room.setTariffClass(absl::GetFlag(FLAGS_tariff_class));
    return absl::OkStatus();
  });
}

int OccupantAssign() {
  std::string room_id = absl::GetFlag(FLAGS_room);
  return SignAndSubmit(RoomStream(room_id), [&](schema::EventBody::Builder body) {
    auto occupant = body.initOccupantAssigned();
    occupant.setRoomId(room_id);
    occupant.setPersonId(absl::GetFlag(FLAGS_person));
    occupant.setName(absl::GetFlag(FLAGS_name));
    occupant.setIdentityClass(absl::GetFlag(FLAGS_identity));
    occupant.setCardNo(absl::GetFlag(FLAGS_card));
    return absl::OkStatus();
  });
}

int OccupantMoveOut() {
  std::string room_id = absl::GetFlag(FLAGS_room);
  return SignAndSubmit(RoomStream(room_id), [&](schema::EventBody::Builder body) {
    auto moved = body.initOccupantMovedOut();
    moved.setRoomId(room_id);
    moved.setPersonId(absl::GetFlag(FLAGS_person));
    moved.setReason(absl::GetFlag(FLAGS_reason));
    return absl::OkStatus();
  });
}

int MeterInstall() {
  std::string address = absl::GetFlag(FLAGS_address);
  return SignAndSubmit("meter:" + address, [&](schema::EventBody::Builder body) {
    auto meter = body.initMeterInstalled();
    meter.setMeterAddress(address);
    meter.setGatewayId(absl::GetFlag(FLAGS_gateway));
    meter.setRoomId(absl::GetFlag(FLAGS_room));
    meter.setCircuit(static_cast<uint8_t>(absl::GetFlag(FLAGS_circuit)));
    meter.setInitialReadingWh(absl::GetFlag(FLAGS_initial_wh));
    meter.setRatedCurrentMa(absl::GetFlag(FLAGS_rated_current_ma));
    meter.setNominalVoltageDv(absl::GetFlag(FLAGS_voltage_dv));
    return absl::OkStatus();
  });
}

int MeterReplace() {
  std::string old_meter = absl::GetFlag(FLAGS_old_meter);
  return SignAndSubmit("meter:" + old_meter, [&](schema::EventBody::Builder body) {
    auto replaced = body.initMeterReplaced();
    replaced.setOldMeterAddress(old_meter);
    replaced.setNewMeterAddress(absl::GetFlag(FLAGS_new_meter));
    replaced.setCircuit(static_cast<uint8_t>(absl::GetFlag(FLAGS_circuit)));
    replaced.setOldFinalReadingWh(absl::GetFlag(FLAGS_old_final_wh));
    replaced.setNewInitialReadingWh(absl::GetFlag(FLAGS_new_initial_wh));
    return absl::OkStatus();
  });
}

int TariffSet() {
  std::string identity = absl::GetFlag(FLAGS_identity);
  return SignAndSubmit("tariff:" + identity, [&](schema::EventBody::Builder body) {
    auto tariff = body.initTariffSet();
    tariff.setIdentityClass(identity);
    std::string from = absl::GetFlag(FLAGS_effective_from);
    if (from == "now") {
      tariff.setEffectiveFromUs(body.getIssuedAtUs());
    } else {
      absl::Time time;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, from, &time, &error)) {
        return absl::InvalidArgumentError(absl::StrCat("--effective_from: ", error));
      }
      tariff.setEffectiveFromUs(absl::ToUnixMicros(time));
    }
    std::vector<std::string> tiers =
        absl::StrSplit(absl::GetFlag(FLAGS_tiers), ',', absl::SkipEmpty());
    if (tiers.empty())
      return absl::InvalidArgumentError("--tiers upto_kwh:price_cny,...,0:price_cny");
    auto list = tariff.initTiers(static_cast<unsigned>(tiers.size()));
    for (size_t i = 0; i < tiers.size(); ++i) {
      std::vector<std::string> parts = absl::StrSplit(tiers[i], ':');
      if (parts.size() != 2)
        return absl::InvalidArgumentError(absl::StrCat("tier '", tiers[i], "' is not upto:price"));
      WL_ASSIGN_OR_RETURN(int64_t upto_wh, ParseScaled(parts[0], 3));
      WL_ASSIGN_OR_RETURN(int64_t price, ParseScaled(parts[1], 4));
      list[i].setUptoWh(upto_wh);
      list[i].setPricePerKwh(price);
    }
    tariff.setAllowanceWhPerYear(
        static_cast<int64_t>(absl::GetFlag(FLAGS_allowance_kwh_per_year) * 1000 + 0.5));
    return absl::OkStatus();
  });
}

int OverdraftSet() {
  std::string room_id = absl::GetFlag(FLAGS_room);
  return SignAndSubmit(RoomStream(room_id), [&](schema::EventBody::Builder body) {
    auto limit = body.initOverdraftLimitSet();
    limit.setRoomId(room_id);
    limit.setLimitFen(absl::GetFlag(FLAGS_limit_fen));
    return absl::OkStatus();
  });
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
  std::string from = absl::GetFlag(FLAGS_room);
  return SignAndSubmit(
      RoomStream(from),
      [&](schema::EventBody::Builder body) {
        auto exchange = body.initRoomExchanged();
        exchange.setPersonId(absl::GetFlag(FLAGS_person));
        exchange.setFromRoomId(from);
        exchange.setToRoomId(absl::GetFlag(FLAGS_to));
        exchange.setSwapPersonId(absl::GetFlag(FLAGS_swap_person));
        return absl::OkStatus();
      },
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
