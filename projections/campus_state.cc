#include "projections/campus_state.h"

#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "projections/schema/state.capnp.h"

namespace wattledger::projections {
namespace {

constexpr size_t kRowBytesMax = 1 << 20;

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// Rows are a few hundred bytes: a first segment of this many words holds
// most of them (the builder's default, 8 KiB, is zeroed for every row).
constexpr unsigned kRowFirstSegmentWords = 128;

template <typename T, typename Fill>
std::string Encode(Fill fill) {
  capnp::MallocMessageBuilder message(kRowFirstSegmentWords);
  fill(message.initRoot<T>());
  return ledger::Canonical(message.getRoot<T>().asReader());
}

template <typename T, typename Read>
auto Decode(absl::string_view bytes, Read read)
    -> absl::StatusOr<decltype(read(std::declval<typename T::Reader>()))> {
  auto parsed = ledger::CanonicalMessage<T>::ParseTrusted(bytes, kRowBytesMax);
  if (!parsed.ok()) return parsed.status();
  return read(parsed->get());
}

}  // namespace

const Occupant* Room::FindOccupant(const std::string& person_id) const {
  for (const Occupant& occupant : occupants) {
    if (occupant.person_id == person_id) return &occupant;
  }
  return nullptr;
}

std::string MeterKey(absl::string_view address, uint8_t circuit) {
  return absl::StrCat(address, "/", circuit);
}

std::string EncodeRoom(const Room& room) {
  return Encode<state::Room>([&](state::Room::Builder out) {
    out.setRoomId(room.room_id);
    out.setBuildingId(room.building_id);
    out.setFloor(room.floor);
    out.setNumber(room.number);
    out.setCapacity(room.capacity);
    out.setTariffClass(room.tariff_class);
    auto occupants = out.initOccupants(static_cast<unsigned>(room.occupants.size()));
    for (size_t i = 0; i < room.occupants.size(); ++i) {
      const Occupant& occupant = room.occupants[i];
      occupants[i].setPersonId(occupant.person_id);
      occupants[i].setName(occupant.name);
      occupants[i].setIdentityClass(occupant.identity_class);
      occupants[i].setCardNo(occupant.card_no);
      occupants[i].setSinceUs(occupant.since_us);
    }
    out.setBalanceFen(room.balance_fen);
    out.setOverdraftLimitFen(room.overdraft_limit_fen);
    out.setRemainder(room.remainder);
    out.setMonthEnergyWh(room.month_energy_wh);
    out.setAllowanceLeftWh(room.allowance_left_wh);
    out.setDepositsFen(room.deposits_fen);
    out.setReversalsFen(room.reversals_fen);
    out.setDeductionsFen(room.deductions_fen);
    out.setRefundsFen(room.refunds_fen);
    out.setTransfersInFen(room.transfers_in_fen);
    out.setTransfersOutFen(room.transfers_out_fen);
    out.setEnergyWh(room.energy_wh);
    auto nets = out.initCardNets(static_cast<unsigned>(room.card_nets.size()));
    unsigned i = 0;
    for (const auto& [card, net] : room.card_nets) {
      nets[i].setCardNo(card);
      nets[i].setNetFen(net);
      ++i;
    }
  });
}

absl::StatusOr<Room> DecodeRoom(absl::string_view bytes) {
  return Decode<state::Room>(bytes, [](state::Room::Reader in) {
    Room room;
    room.room_id = Str(in.getRoomId());
    room.building_id = Str(in.getBuildingId());
    room.floor = in.getFloor();
    room.number = Str(in.getNumber());
    room.capacity = in.getCapacity();
    room.tariff_class = Str(in.getTariffClass());
    for (auto occupant : in.getOccupants()) {
      room.occupants.push_back(Occupant{Str(occupant.getPersonId()), Str(occupant.getName()),
                                        Str(occupant.getIdentityClass()), Str(occupant.getCardNo()),
                                        occupant.getSinceUs()});
    }
    room.balance_fen = in.getBalanceFen();
    room.overdraft_limit_fen = in.getOverdraftLimitFen();
    room.remainder = in.getRemainder();
    room.month_energy_wh = in.getMonthEnergyWh();
    room.allowance_left_wh = in.getAllowanceLeftWh();
    room.deposits_fen = in.getDepositsFen();
    room.reversals_fen = in.getReversalsFen();
    room.deductions_fen = in.getDeductionsFen();
    room.refunds_fen = in.getRefundsFen();
    room.transfers_in_fen = in.getTransfersInFen();
    room.transfers_out_fen = in.getTransfersOutFen();
    room.energy_wh = in.getEnergyWh();
    for (auto net : in.getCardNets()) room.card_nets[Str(net.getCardNo())] = net.getNetFen();
    return room;
  });
}

std::string EncodeMeter(const Meter& meter) {
  return Encode<state::Meter>([&](state::Meter::Builder out) {
    out.setAddress(meter.address);
    out.setCircuit(meter.circuit);
    out.setGatewayId(meter.gateway_id);
    out.setRoomId(meter.room_id);
    out.setLastWh(meter.last_wh);
    out.setLastReadAtUs(meter.last_read_at_us);
    out.setRatedCurrentMa(meter.rated_current_ma);
    out.setNominalVoltageDv(meter.nominal_voltage_dv);
    out.setRetired(meter.retired);
  });
}

absl::StatusOr<Meter> DecodeMeter(absl::string_view bytes) {
  return Decode<state::Meter>(bytes, [](state::Meter::Reader in) {
    return Meter{Str(in.getAddress()),   in.getCircuit(),          Str(in.getGatewayId()),
                 Str(in.getRoomId()),    in.getLastWh(),           in.getLastReadAtUs(),
                 in.getRatedCurrentMa(), in.getNominalVoltageDv(), in.getRetired()};
  });
}

std::string EncodeBuilding(const Building& building) {
  return Encode<state::Building>([&](state::Building::Builder out) {
    out.setBuildingId(building.building_id);
    out.setName(building.name);
    out.setCampus(building.campus);
  });
}

absl::StatusOr<Building> DecodeBuilding(absl::string_view bytes) {
  return Decode<state::Building>(bytes, [](state::Building::Reader in) {
    return Building{Str(in.getBuildingId()), Str(in.getName()), Str(in.getCampus())};
  });
}

std::string EncodeGateway(const Gateway& gateway) {
  return Encode<state::Gateway>([&](state::Gateway::Builder out) {
    out.setGatewayId(gateway.gateway_id);
    out.setAddress(gateway.address);
    out.setLocation(gateway.location);
    out.setMode(gateway.mode);
    out.setMeters(gateway.meters);
  });
}

absl::StatusOr<Gateway> DecodeGateway(absl::string_view bytes) {
  return Decode<state::Gateway>(bytes, [](state::Gateway::Reader in) {
    return Gateway{Str(in.getGatewayId()), Str(in.getAddress()), Str(in.getLocation()),
                   in.getMode(), in.getMeters()};
  });
}

std::string EncodeTariff(const Tariff& tariff) {
  return Encode<state::Tariff>([&](state::Tariff::Builder out) {
    out.setIdentityClass(tariff.identity_class);
    auto versions = out.initVersions(static_cast<unsigned>(tariff.versions.size()));
    for (size_t i = 0; i < tariff.versions.size(); ++i) {
      const TariffVersion& version = tariff.versions[i];
      versions[i].setEffectiveFromUs(version.effective_from_us);
      versions[i].setAllowanceWhPerYear(version.allowance_wh_per_year);
      auto tiers = versions[i].initTiers(static_cast<unsigned>(version.tiers.size()));
      for (size_t j = 0; j < version.tiers.size(); ++j) {
        tiers[j].setUptoWh(version.tiers[j].upto_wh);
        tiers[j].setPricePerKwh(version.tiers[j].price_per_kwh);
      }
    }
  });
}

absl::StatusOr<Tariff> DecodeTariff(absl::string_view bytes) {
  return Decode<state::Tariff>(bytes, [](state::Tariff::Reader in) {
    Tariff tariff;
    tariff.identity_class = Str(in.getIdentityClass());
    for (auto version : in.getVersions()) {
      TariffVersion out{version.getEffectiveFromUs(), {}, version.getAllowanceWhPerYear()};
      for (auto tier : version.getTiers())
        out.tiers.push_back({tier.getUptoWh(), tier.getPricePerKwh()});
      tariff.versions.push_back(std::move(out));
    }
    return tariff;
  });
}

std::string EncodeDeposit(const DepositRecord& deposit) {
  return Encode<state::Deposit>([&](state::Deposit::Builder out) {
    out.setSeq(deposit.seq);
    out.setRoomId(deposit.room_id);
    out.setAmountFen(deposit.amount_fen);
    out.setPayerCardNo(deposit.payer_card_no);
    out.setTimeUs(deposit.time_us);
    out.setReversed(deposit.reversed);
    out.setTradeNo(deposit.trade_no);
    out.setReversalSeq(deposit.reversal_seq);
    out.setVoided(deposit.voided);
  });
}

absl::StatusOr<DepositRecord> DecodeDeposit(absl::string_view bytes) {
  return Decode<state::Deposit>(bytes, [](state::Deposit::Reader in) {
    return DepositRecord{.seq = in.getSeq(),
                         .room_id = Str(in.getRoomId()),
                         .amount_fen = in.getAmountFen(),
                         .payer_card_no = Str(in.getPayerCardNo()),
                         .time_us = in.getTimeUs(),
                         .reversed = in.getReversed(),
                         .trade_no = Str(in.getTradeNo()),
                         .reversal_seq = in.getReversalSeq(),
                         .voided = in.getVoided()};
  });
}

std::string EncodeCounters(const Counters& counters) {
  return Encode<state::Counters>([&](state::Counters::Builder out) {
    out.setReceipts(counters.receipts);
    out.setMonthStartUs(counters.month_start_us);
  });
}

absl::StatusOr<Counters> DecodeCounters(absl::string_view bytes) {
  return Decode<state::Counters>(bytes, [](state::Counters::Reader in) {
    return Counters{in.getReceipts(), in.getMonthStartUs()};
  });
}

}  // namespace wattledger::projections
