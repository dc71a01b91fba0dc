#include "api/commands/campus_commands.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/commands/command_args.h"
#include "ledger/status_macros.h"

namespace wattledger::commands {
namespace {

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

}  // namespace

absl::Status BuildBuilding(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string id, Required(args, "id"));
  body.setStream(absl::StrCat("building:", id));
  auto building = body.initBuildingRegistered();
  building.setBuildingId(id);
  building.setName(Arg(args, "name"));
  building.setCampus(Arg(args, "campus"));
  return absl::OkStatus();
}

absl::Status BuildGateway(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string id, Required(args, "id"));
  std::string mode = Arg(args, "mode");
  if (mode.empty()) mode = "server";
  if (mode != "server" && mode != "client") {
    return absl::InvalidArgumentError("mode is server or client");
  }
  body.setStream(absl::StrCat("gateway:", id));
  auto gateway = body.initGatewayRegistered();
  gateway.setGatewayId(id);
  gateway.setAddress(Arg(args, "address"));
  gateway.setLocation(Arg(args, "location"));
  gateway.setMode(mode == "server" ? schema::GatewayMode::SERVER : schema::GatewayMode::CLIENT);
  return absl::OkStatus();
}

absl::Status BuildRoom(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string id, Required(args, "id"));
  WL_ASSIGN_OR_RETURN(std::string building, Required(args, "building"));
  WL_ASSIGN_OR_RETURN(int32_t floor, Number<int32_t>(args, "floor", 0));
  WL_ASSIGN_OR_RETURN(uint32_t capacity, Number<uint32_t>(args, "capacity", 4, 1));
  body.setStream(absl::StrCat("room:", id));
  auto room = body.initRoomRegistered();
  room.setRoomId(id);
  room.setBuildingId(building);
  room.setFloor(floor);
  room.setNumber(Arg(args, "number"));
  room.setCapacity(capacity);
  room.setTariffClass(Arg(args, "tariffClass"));
  return absl::OkStatus();
}

absl::Status BuildOccupantAssign(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string room, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(std::string person, Required(args, "person"));
  body.setStream(absl::StrCat("room:", room));
  auto occupant = body.initOccupantAssigned();
  occupant.setRoomId(room);
  occupant.setPersonId(person);
  occupant.setName(Arg(args, "name"));
  occupant.setIdentityClass(Arg(args, "identity"));
  occupant.setCardNo(Arg(args, "card"));
  return absl::OkStatus();
}

absl::Status BuildOccupantMoveOut(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string room, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(std::string person, Required(args, "person"));
  body.setStream(absl::StrCat("room:", room));
  auto moved = body.initOccupantMovedOut();
  moved.setRoomId(room);
  moved.setPersonId(person);
  moved.setReason(Arg(args, "reason"));
  return absl::OkStatus();
}

absl::Status BuildMeterInstall(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string address, Required(args, "address"));
  WL_ASSIGN_OR_RETURN(uint32_t circuit, Number<uint32_t>(args, "circuit", 1, 1, 4));
  WL_ASSIGN_OR_RETURN(int64_t initial, Number<int64_t>(args, "initialWh", 0, 0));
  WL_ASSIGN_OR_RETURN(int64_t rated, Number<int64_t>(args, "ratedCurrentMa", 40000, 0));
  WL_ASSIGN_OR_RETURN(int32_t voltage, Number<int32_t>(args, "voltageDv", 2200, 0));
  body.setStream(absl::StrCat("meter:", address));
  auto meter = body.initMeterInstalled();
  meter.setMeterAddress(address);
  meter.setGatewayId(Arg(args, "gateway"));
  meter.setRoomId(Arg(args, "room"));
  meter.setCircuit(static_cast<uint8_t>(circuit));
  meter.setInitialReadingWh(initial);
  meter.setRatedCurrentMa(rated);
  meter.setNominalVoltageDv(voltage);
  return absl::OkStatus();
}

absl::Status BuildMeterReplace(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string old_meter, Required(args, "oldMeter"));
  WL_ASSIGN_OR_RETURN(std::string new_meter, Required(args, "newMeter"));
  WL_ASSIGN_OR_RETURN(uint32_t circuit, Number<uint32_t>(args, "circuit", 1, 1, 4));
  WL_ASSIGN_OR_RETURN(int64_t old_final, Number<int64_t>(args, "oldFinalWh", 0, 0));
  WL_ASSIGN_OR_RETURN(int64_t new_initial, Number<int64_t>(args, "newInitialWh", 0, 0));
  body.setStream(absl::StrCat("meter:", old_meter));
  auto replaced = body.initMeterReplaced();
  replaced.setOldMeterAddress(old_meter);
  replaced.setNewMeterAddress(new_meter);
  replaced.setCircuit(static_cast<uint8_t>(circuit));
  replaced.setOldFinalReadingWh(old_final);
  replaced.setNewInitialReadingWh(new_initial);
  return absl::OkStatus();
}

absl::Status BuildTariff(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string identity, Required(args, "identity"));
  WL_ASSIGN_OR_RETURN(std::string tier_text, Required(args, "tiers"));
  std::string from = Arg(args, "effectiveFrom");
  int64_t from_us = body.getIssuedAtUs();
  if (!from.empty() && from != "now") {
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, from, &time, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("effectiveFrom: ", error));
    }
    from_us = absl::ToUnixMicros(time);
  }
  std::vector<std::string> tiers = absl::StrSplit(tier_text, ',', absl::SkipEmpty());
  if (tiers.empty()) return absl::InvalidArgumentError("tiers is upto_kwh:price_cny,...");
  std::string allowance_text = Arg(args, "allowanceKwhPerYear");
  WL_ASSIGN_OR_RETURN(int64_t allowance_wh,
                      ParseScaled(allowance_text.empty() ? "0" : allowance_text, 3));
  body.setStream(absl::StrCat("tariff:", identity));
  auto tariff = body.initTariffSet();
  tariff.setIdentityClass(identity);
  tariff.setEffectiveFromUs(from_us);
  auto list = tariff.initTiers(static_cast<unsigned>(tiers.size()));
  for (size_t i = 0; i < tiers.size(); ++i) {
    std::vector<std::string> parts = absl::StrSplit(tiers[i], ':');
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("tier '", tiers[i], "' is not upto_kwh:price_cny"));
    }
    WL_ASSIGN_OR_RETURN(int64_t upto_wh, ParseScaled(parts[0], 3));
    WL_ASSIGN_OR_RETURN(int64_t price, ParseScaled(parts[1], 4));
    list[i].setUptoWh(upto_wh);
    list[i].setPricePerKwh(price);
  }
  tariff.setAllowanceWhPerYear(allowance_wh);
  return absl::OkStatus();
}

absl::Status BuildOverdraft(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string room, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(int64_t limit, Number<int64_t>(args, "limitFen", 0, 0));
  body.setStream(absl::StrCat("room:", room));
  auto set = body.initOverdraftLimitSet();
  set.setRoomId(room);
  set.setLimitFen(limit);
  return absl::OkStatus();
}

absl::Status BuildExchange(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string person, Required(args, "person"));
  WL_ASSIGN_OR_RETURN(std::string from, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(std::string to, Required(args, "to"));
  body.setStream(absl::StrCat("room:", from));
  auto exchange = body.initRoomExchanged();
  exchange.setPersonId(person);
  exchange.setFromRoomId(from);
  exchange.setToRoomId(to);
  exchange.setSwapPersonId(Arg(args, "swapPerson"));
  return absl::OkStatus();
}

}  // namespace wattledger::commands
