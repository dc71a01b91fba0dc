// Campus: buildings, gateways, rooms, occupants, meters, tariffs and the CSV
// import that registers many of them at once.
#include <capnp/message.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/campus.h"

namespace wattledger::projections {
namespace {

using ledger::EventKind;

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

absl::Status Refuse(absl::string_view why) { return absl::FailedPreconditionError(why); }
absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

bool ValidMeterAddress(absl::string_view address) {
  if (address.size() != 12) return false;
  for (char c : address) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

Building ToBuilding(schema::BuildingRegistered::Reader in) {
  return Building{Str(in.getBuildingId()), Str(in.getName()), Str(in.getCampus())};
}

Gateway ToGateway(schema::GatewayRegistered::Reader in) {
  return Gateway{Str(in.getGatewayId()), Str(in.getAddress()), Str(in.getLocation()), in.getMode(),
                 0};
}

Room ToRoom(schema::RoomRegistered::Reader in) {
  Room room;
  room.room_id = Str(in.getRoomId());
  room.building_id = Str(in.getBuildingId());
  room.floor = in.getFloor();
  room.number = Str(in.getNumber());
  room.capacity = in.getCapacity();
  room.tariff_class = Str(in.getTariffClass());
  return room;
}

Occupant ToOccupant(schema::OccupantAssigned::Reader in, int64_t time_us) {
  return Occupant{Str(in.getPersonId()), Str(in.getName()), Str(in.getIdentityClass()),
                  Str(in.getCardNo()), time_us};
}

Meter ToMeter(schema::MeterInstalled::Reader in) {
  Meter meter;
  meter.address = Str(in.getMeterAddress());
  meter.circuit = in.getCircuit();
  meter.gateway_id = Str(in.getGatewayId());
  meter.room_id = Str(in.getRoomId());
  meter.last_wh = in.getInitialReadingWh();
  meter.rated_current_ma = in.getRatedCurrentMa();
  meter.nominal_voltage_dv = in.getNominalVoltageDv() == 0 ? 2200 : in.getNominalVoltageDv();
  return meter;
}

}  // namespace

// What the registry checks need of the state: the live maps plus an overlay
// of rows admitted earlier in the same import, so a CSV import is checked
// row by row, in order, without changing anything.
struct RegistryView {
  const std::map<std::string, Building>& buildings;
  const std::map<std::string, Gateway>& gateways;
  const std::map<std::string, Room>& rooms;
  const std::map<std::string, Meter>& meters;
  const std::map<std::string, std::string>& person_rooms;
  const std::map<std::string, Tariff>& tariffs;
  const std::map<std::string, uint32_t>& address_circuits;

  std::set<std::string> new_buildings{};
  std::set<std::string> new_gateways{};
  std::map<std::string, uint32_t> new_rooms{};                  // capacity
  std::map<std::string, uint32_t> added_occupants{};            // room -> occupants added
  std::set<std::pair<std::string, std::string>> added_cards{};  // (room, card)
  std::set<std::string> new_persons{};
  std::set<std::string> new_meters{};
  std::set<std::string> new_addresses{};
  std::map<std::string, uint32_t> added_gateway_meters{};

  bool HasBuilding(const std::string& id) const {
    return buildings.count(id) || new_buildings.count(id);
  }
  bool HasGateway(const std::string& id) const {
    return gateways.count(id) || new_gateways.count(id);
  }
  bool HasRoom(const std::string& id) const { return rooms.count(id) || new_rooms.count(id); }
  bool HasTariff(const std::string& identity_class) const {
    return tariffs.count(identity_class) > 0;
  }
};

namespace {

absl::Status CheckBuilding(RegistryView& view, schema::BuildingRegistered::Reader in) {
  std::string id = Str(in.getBuildingId());
  if (id.empty()) return Invalid("a building needs an id");
  if (view.HasBuilding(id))
    return absl::AlreadyExistsError(absl::StrCat("building ", id, " exists"));
  view.new_buildings.insert(id);
  return absl::OkStatus();
}

absl::Status CheckGateway(RegistryView& view, schema::GatewayRegistered::Reader in) {
  std::string id = Str(in.getGatewayId());
  if (id.empty()) return Invalid("a gateway needs an id");
  if (view.HasGateway(id)) return absl::AlreadyExistsError(absl::StrCat("gateway ", id, " exists"));
  view.new_gateways.insert(id);
  return absl::OkStatus();
}

absl::Status CheckRoom(RegistryView& view, schema::RoomRegistered::Reader in) {
  std::string id = Str(in.getRoomId());
  if (id.empty()) return Invalid("a room needs an id");
  if (view.HasRoom(id)) return absl::AlreadyExistsError(absl::StrCat("room ", id, " exists"));
  if (!view.HasBuilding(Str(in.getBuildingId()))) {
    return absl::NotFoundError(absl::StrCat("no building ", Str(in.getBuildingId())));
  }
  if (in.getCapacity() == 0)
    return Invalid(absl::StrCat("room ", id, " needs a capacity of 1 or more"));
  if (in.getTariffClass().size() > 0 && !view.HasTariff(Str(in.getTariffClass()))) {
    return Refuse(absl::StrCat("no tariff for class ", Str(in.getTariffClass())));
  }
  view.new_rooms[id] = in.getCapacity();
  return absl::OkStatus();
}

absl::Status CheckOccupant(RegistryView& view, schema::OccupantAssigned::Reader in) {
  std::string room = Str(in.getRoomId());
  std::string person = Str(in.getPersonId());
  if (!view.HasRoom(room)) return absl::NotFoundError(absl::StrCat("no room ", room));
  if (person.empty() || in.getCardNo().size() == 0) {
    return Invalid("an occupant needs a person id and a campus card number");
  }
  if (view.person_rooms.count(person) || view.new_persons.count(person)) {
    return Refuse(absl::StrCat(person, " already lives in a room; move them out or exchange"));
  }
  if (!view.HasTariff(Str(in.getIdentityClass()))) {
    return Refuse(absl::StrCat("no tariff for identity class '", Str(in.getIdentityClass()), "'"));
  }
  auto live = view.rooms.find(room);
  uint32_t capacity = live != view.rooms.end() ? live->second.capacity : view.new_rooms.at(room);
  uint32_t present =
      (live != view.rooms.end() ? static_cast<uint32_t>(live->second.occupants.size()) : 0) +
      view.added_occupants[room];
  if (present >= capacity) return Refuse(absl::StrCat("room ", room, " is full"));
  // Refund shares are by card: two occupants of one room cannot share one.
  bool card_taken = !view.added_cards.insert({room, Str(in.getCardNo())}).second;
  if (live != view.rooms.end()) {
    for (const Occupant& occupant : live->second.occupants) {
      card_taken = card_taken || occupant.card_no == Str(in.getCardNo());
    }
  }
  if (card_taken) {
    return Refuse(
        absl::StrCat("card ", Str(in.getCardNo()), " already belongs to someone in ", room));
  }
  ++view.added_occupants[room];
  view.new_persons.insert(person);
  return absl::OkStatus();
}

absl::Status CheckMeter(RegistryView& view, schema::MeterInstalled::Reader in) {
  std::string address = Str(in.getMeterAddress());
  if (!ValidMeterAddress(address))
    return Invalid(absl::StrCat("meter address '", address, "' is not 12 digits"));
  if (in.getCircuit() < 1 || in.getCircuit() > 4) return Invalid("a circuit is 1 to 4");
  if (in.getRatedCurrentMa() <= 0) return Invalid("a meter needs its rated current");
  if (in.getInitialReadingWh() < 0 || in.getInitialReadingWh() >= kRegisterModulusWh) {
    return Invalid("the initial reading is outside the register");
  }
  std::string gateway = Str(in.getGatewayId());
  if (!view.HasGateway(gateway)) return absl::NotFoundError(absl::StrCat("no gateway ", gateway));
  if (!view.HasRoom(Str(in.getRoomId()))) {
    return absl::NotFoundError(absl::StrCat("no room ", Str(in.getRoomId())));
  }
  std::string key = MeterKey(address, in.getCircuit());
  if (view.meters.count(key) || !view.new_meters.insert(key).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("meter ", address, " circuit ", in.getCircuit(), " is installed"));
  }
  bool new_address =
      !view.address_circuits.count(address) && view.new_addresses.insert(address).second;
  if (new_address) {
    auto live = view.gateways.find(gateway);
    uint32_t carried = (live != view.gateways.end() ? live->second.meters : 0) +
                       view.added_gateway_meters[gateway];
    if (carried >= kMetersPerGatewayMax) {
      return absl::ResourceExhaustedError(
          absl::StrCat("gateway ", gateway, " already carries ", kMetersPerGatewayMax, " meters"));
    }
    ++view.added_gateway_meters[gateway];
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Campus::CheckImport(schema::RegistryImported::Reader import) const {
  RegistryView view{buildings_,    gateways_, rooms_,           meters_,
                    person_rooms_, tariffs_,  address_circuits_};
  // Row numbers are 1-based within each list; wattctl maps them to CSV lines.
  auto each = [](auto list, absl::string_view what, auto check) -> absl::Status {
    for (unsigned i = 0; i < list.size(); ++i) {
      absl::Status status = check(list[i]);
      if (!status.ok()) {
        return absl::Status(status.code(),
                            absl::StrCat(what, " row ", i + 1, ": ", status.message()));
      }
    }
    return absl::OkStatus();
  };
  WL_RETURN_IF_ERROR(
      each(import.getBuildings(), "buildings", [&](auto row) { return CheckBuilding(view, row); }));
  WL_RETURN_IF_ERROR(
      each(import.getGateways(), "gateways", [&](auto row) { return CheckGateway(view, row); }));
  WL_RETURN_IF_ERROR(
      each(import.getRooms(), "rooms", [&](auto row) { return CheckRoom(view, row); }));
  WL_RETURN_IF_ERROR(
      each(import.getOccupants(), "occupants", [&](auto row) { return CheckOccupant(view, row); }));
  return each(import.getMeters(), "meters", [&](auto row) { return CheckMeter(view, row); });
}

absl::Status Campus::CheckRegistry(const ledger::PendingEvent& event) const {
  auto body = event.body;
  switch (body.which()) {
    case EventKind::REGISTRY_IMPORTED:
      return CheckImport(body.getRegistryImported());
    case EventKind::BUILDING_REGISTERED:
    case EventKind::GATEWAY_REGISTERED:
    case EventKind::ROOM_REGISTERED:
    case EventKind::OCCUPANT_ASSIGNED:
    case EventKind::METER_INSTALLED: {
      // One registration is an import of one row.
      capnp::MallocMessageBuilder message;
      auto import = message.initRoot<schema::RegistryImported>();
      switch (body.which()) {
        case EventKind::BUILDING_REGISTERED:
          import.initBuildings(1).setWithCaveats(0, body.getBuildingRegistered());
          break;
        case EventKind::GATEWAY_REGISTERED:
          import.initGateways(1).setWithCaveats(0, body.getGatewayRegistered());
          break;
        case EventKind::ROOM_REGISTERED:
          import.initRooms(1).setWithCaveats(0, body.getRoomRegistered());
          break;
        case EventKind::OCCUPANT_ASSIGNED:
          import.initOccupants(1).setWithCaveats(0, body.getOccupantAssigned());
          break;
        default:
          import.initMeters(1).setWithCaveats(0, body.getMeterInstalled());
      }
      absl::Status status = CheckImport(import.asReader());
      if (status.ok()) return status;
      // Drop the "rooms row 1: " prefix that only makes sense for imports.
      absl::string_view message_text = status.message();
      size_t colon = message_text.find(": ");
      return absl::Status(status.code(),
                          message_text.substr(colon == absl::string_view::npos ? 0 : colon + 2));
    }
    case EventKind::OCCUPANT_MOVED_OUT: {
      auto moved = body.getOccupantMovedOut();
      auto it = person_rooms_.find(Str(moved.getPersonId()));
      if (it == person_rooms_.end() || it->second != Str(moved.getRoomId())) {
        return absl::NotFoundError(
            absl::StrCat(Str(moved.getPersonId()), " does not live in ", Str(moved.getRoomId())));
      }
      return absl::OkStatus();
    }
    case EventKind::METER_REPLACED: {
      auto replaced = body.getMeterReplaced();
      auto old_meter =
          meters_.find(MeterKey(Str(replaced.getOldMeterAddress()), replaced.getCircuit()));
      if (old_meter == meters_.end() || old_meter->second.retired) {
        return absl::NotFoundError("no such meter in service to replace");
      }
      if (!ValidMeterAddress(Str(replaced.getNewMeterAddress()))) {
        return Invalid("the new meter address is not 12 digits");
      }
      if (meters_.count(MeterKey(Str(replaced.getNewMeterAddress()), replaced.getCircuit())) > 0) {
        return absl::AlreadyExistsError("the new meter is already installed");
      }
      int64_t final_wh = replaced.getOldFinalReadingWh();
      if (final_wh < 0 || final_wh >= kRegisterModulusWh || replaced.getNewInitialReadingWh() < 0 ||
          replaced.getNewInitialReadingWh() >= kRegisterModulusWh) {
        return Invalid("readings must lie inside the register");
      }
      return absl::OkStatus();
    }
    case EventKind::TARIFF_SET: {
      auto tariff = body.getTariffSet();
      if (tariff.getIdentityClass().size() == 0) return Invalid("a tariff needs an identity class");
      std::vector<TierPrice> tiers;
      for (auto tier : tariff.getTiers())
        tiers.push_back({tier.getUptoWh(), tier.getPricePerKwh()});
      if (!ValidTiers(tiers)) {
        return Invalid("tiers must rise, with non-negative prices and an unbounded last tier");
      }
      if (tariff.getAllowanceWhPerYear() < 0) return Invalid("the allowance cannot be negative");
      if (tariff.getEffectiveFromUs() < body.getIssuedAtUs()) {
        return Refuse("a tariff cannot take effect in the past: history is never re-priced");
      }
      auto it = tariffs_.find(Str(tariff.getIdentityClass()));
      if (it != tariffs_.end() && !it->second.versions.empty() &&
          tariff.getEffectiveFromUs() <= it->second.versions.back().effective_from_us) {
        return Refuse("a tariff change must take effect after the one before it");
      }
      return absl::OkStatus();
    }
    case EventKind::OVERDRAFT_LIMIT_SET: {
      auto limit = body.getOverdraftLimitSet();
      if (rooms_.count(Str(limit.getRoomId())) == 0) {
        return absl::NotFoundError(absl::StrCat("no room ", Str(limit.getRoomId())));
      }
      if (limit.getLimitFen() < 0) return Invalid("an overdraft limit cannot be negative");
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

void Campus::AddBuilding(const Building& building) {
  buildings_[building.building_id] = building;
  dirty_.insert(absl::StrCat("campus/building/", building.building_id));
}

void Campus::AddGateway(const Gateway& gateway) {
  gateways_[gateway.gateway_id] = gateway;
  dirty_.insert(absl::StrCat("campus/gateway/", gateway.gateway_id));
}

void Campus::AddRoom(const Room& room) {
  Room& stored = rooms_[room.room_id];
  stored = room;
  TariffInputsChanged();
  MarkDirty(stored);
}

void Campus::AddMeter(const Meter& added, int64_t time_us) {
  Meter meter = added;
  meter.last_read_at_us = time_us;  // the install is the first baseline
  // A replacement is a copy of the old meter, which may be marked dirty
  // already: this one is not queued for Flush yet, so MarkDirty must see it clean.
  meter.dirty = false;
  if (address_circuits_[meter.address]++ == 0) {
    ++gateways_.at(meter.gateway_id).meters;
    dirty_.insert(absl::StrCat("campus/gateway/", meter.gateway_id));
  }
  std::string key = MeterKey(meter.address, meter.circuit);
  Meter& stored = meters_[key];
  meter_index_[key] = &stored;
  stored = std::move(meter);
  MarkDirty(stored);
}

void Campus::MoveIn(Room& room, Occupant occupant, int64_t time_us, bool from_tomorrow) {
  const TariffVersion* tariff = ClassTariffLocked(occupant.identity_class, time_us);
  if (tariff != nullptr) {
    int64_t days = DaysInMonth(time_us);
    int64_t first_day = DayOfMonth(time_us) + (from_tomorrow ? 1 : 0);
    room.allowance_left_wh += MonthlyAllowanceWh(*tariff) * (days - first_day + 1) / days;
  }
  person_rooms_[occupant.person_id] = room.room_id;
  occupant.since_us = time_us;
  room.occupants.push_back(std::move(occupant));
  TariffInputsChanged();
  MarkDirty(room);
}

Occupant Campus::MoveOut(Room& room, const std::string& person_id, int64_t time_us) {
  auto it = std::find_if(room.occupants.begin(), room.occupants.end(),
                         [&](const Occupant& o) { return o.person_id == person_id; });
  WL_CHECK(it != room.occupants.end());
  Occupant leaving = *it;
  room.occupants.erase(it);
  TariffInputsChanged();
  person_rooms_.erase(person_id);
  // The leaver's free energy for the rest of the month goes with them.
  const TariffVersion* tariff = ClassTariffLocked(leaving.identity_class, time_us);
  if (tariff != nullptr && DayOfMonth(time_us) < DaysInMonth(time_us)) {
    int64_t unused = AllowanceFromDayWh(*tariff, DayStartUs(time_us) + kMicrosPerDay);
    room.allowance_left_wh -= std::min(room.allowance_left_wh, unused);
  }
  MarkDirty(room);
  return leaving;
}

void Campus::ApplyRegistry(const ledger::PendingEvent& event) {
  auto body = event.body;
  int64_t now = event.appended_at_us;
  switch (body.which()) {
    case EventKind::BUILDING_REGISTERED:
      AddBuilding(ToBuilding(body.getBuildingRegistered()));
      break;
    case EventKind::GATEWAY_REGISTERED:
      AddGateway(ToGateway(body.getGatewayRegistered()));
      break;
    case EventKind::ROOM_REGISTERED:
      AddRoom(ToRoom(body.getRoomRegistered()));
      break;
    case EventKind::OCCUPANT_ASSIGNED: {
      auto assigned = body.getOccupantAssigned();
      MoveIn(rooms_.at(Str(assigned.getRoomId())), ToOccupant(assigned, now), now);
      break;
    }
    case EventKind::OCCUPANT_MOVED_OUT: {
      auto moved = body.getOccupantMovedOut();
      MoveOut(rooms_.at(Str(moved.getRoomId())), Str(moved.getPersonId()), now);
      break;
    }
    case EventKind::METER_INSTALLED:
      AddMeter(ToMeter(body.getMeterInstalled()), now);
      break;
    case EventKind::METER_REPLACED: {
      auto replaced = body.getMeterReplaced();
      std::string old_key = MeterKey(Str(replaced.getOldMeterAddress()), replaced.getCircuit());
      Meter& old_meter = meters_.at(old_key);
      // The old meter's last stretch (baseline to its final reading) is
      // charged by the replacement's first reading: carry it as an offset.
      Meter fresh = old_meter;
      fresh.address = Str(replaced.getNewMeterAddress());
      fresh.last_wh = replaced.getNewInitialReadingWh();
      if (replaced.getRatedCurrentMa() > 0) fresh.rated_current_ma = replaced.getRatedCurrentMa();
      old_meter.retired = true;
      MarkDirty(old_meter);
      // The old meter leaves the bus: it no longer counts toward its gateway's 128.
      if (--address_circuits_[old_meter.address] == 0) {
        address_circuits_.erase(old_meter.address);
        --gateways_.at(old_meter.gateway_id).meters;
        dirty_.insert(absl::StrCat("campus/gateway/", old_meter.gateway_id));
      }
      int64_t final_stretch =
          (replaced.getOldFinalReadingWh() - old_meter.last_wh + kRegisterModulusWh) %
          kRegisterModulusWh;
      fresh.last_wh = (fresh.last_wh - final_stretch + kRegisterModulusWh) % kRegisterModulusWh;
      AddMeter(fresh, old_meter.last_read_at_us);
      break;
    }
    case EventKind::REGISTRY_IMPORTED: {
      auto import = body.getRegistryImported();
      for (auto row : import.getBuildings()) AddBuilding(ToBuilding(row));
      for (auto row : import.getGateways()) AddGateway(ToGateway(row));
      for (auto row : import.getRooms()) AddRoom(ToRoom(row));
      for (auto row : import.getOccupants()) {
        MoveIn(rooms_.at(Str(row.getRoomId())), ToOccupant(row, now), now);
      }
      for (auto row : import.getMeters()) AddMeter(ToMeter(row), now);
      break;
    }
    case EventKind::TARIFF_SET: {
      auto set = body.getTariffSet();
      Tariff& tariff = tariffs_[Str(set.getIdentityClass())];
      tariff.identity_class = Str(set.getIdentityClass());
      TariffVersion version{set.getEffectiveFromUs(), {}, set.getAllowanceWhPerYear()};
      for (auto tier : set.getTiers())
        version.tiers.push_back({tier.getUptoWh(), tier.getPricePerKwh()});
      tariff.versions.push_back(std::move(version));
      TariffInputsChanged();
      dirty_.insert(absl::StrCat("campus/tariff/", tariff.identity_class));
      break;
    }
    case EventKind::OVERDRAFT_LIMIT_SET: {
      auto limit = body.getOverdraftLimitSet();
      rooms_.at(Str(limit.getRoomId())).overdraft_limit_fen = limit.getLimitFen();
      MarkDirty(rooms_.at(Str(limit.getRoomId())));
      break;
    }
    default:
      break;
  }
}

}  // namespace wattledger::projections
