# How the campus projection persists its state in the ledger's "state"
# family, one row per entity (projections/README.md lists the keys). These
# rows are derived data: replay rebuilds them byte for byte from events.
# Evolve by adding fields with new ordinals only.
@0xacea18c46294009f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::projections::state");
using Event = import "/ledger/schema/event.capnp";

struct Occupant {
  personId @0 :Text;
  name @1 :Text;
  identityClass @2 :Text;
  cardNo @3 :Text;
  sinceUs @4 :Int64;
}

struct CardNet {
  cardNo @0 :Text;
  netFen @1 :Int64;          # deposits minus reversals paid from this card into the room
}

struct Room {
  roomId @0 :Text;
  buildingId @1 :Text;
  floor @2 :Int32;
  number @3 :Text;
  capacity @4 :UInt32;
  tariffClass @5 :Text;
  occupants @6 :List(Occupant);
  balanceFen @7 :Int64;
  overdraftLimitFen @8 :Int64;
  remainder @9 :Int64;       # sub-fen cost carried forward, in 1/100000 fen
  monthEnergyWh @10 :Int64;  # consumption this campus month (tiers)
  allowanceLeftWh @11 :Int64;  # free energy left this month
  depositsFen @12 :Int64;
  reversalsFen @13 :Int64;
  deductionsFen @14 :Int64;
  refundsFen @15 :Int64;
  transfersInFen @16 :Int64;
  transfersOutFen @17 :Int64;
  cardNets @18 :List(CardNet);
  energyWh @19 :Int64;       # all consumption recorded
}

struct Meter {
  address @0 :Text;
  circuit @1 :UInt8;
  gatewayId @2 :Text;
  roomId @3 :Text;
  lastWh @4 :Int64;          # register value of the last accepted reading
  lastReadAtUs @5 :Int64;    # 0 until the first reading
  ratedCurrentMa @6 :Int64;
  nominalVoltageDv @7 :Int32;
  retired @8 :Bool;          # replaced; its history stays
}

struct Building {
  buildingId @0 :Text;
  name @1 :Text;
  campus @2 :Text;
}

struct Gateway {
  gatewayId @0 :Text;
  address @1 :Text;
  location @2 :Text;
  mode @3 :Event.GatewayMode;
  meters @4 :UInt32;         # installed circuits' meters (at most 128 meters)
}

struct TariffVersion {
  effectiveFromUs @0 :Int64;
  tiers @1 :List(Event.Tier);
  allowanceWhPerYear @2 :Int64;
}

struct Tariff {
  identityClass @0 :Text;
  versions @1 :List(TariffVersion);  # ascending effectiveFromUs
}

struct Deposit {
  seq @0 :UInt64;
  roomId @1 :Text;
  amountFen @2 :Int64;
  payerCardNo @3 :Text;
  timeUs @4 :Int64;
  reversed @5 :Bool;
  tradeNo @6 :Text;
  reversalSeq @7 :UInt64;
  voided @8 :Bool;           # a reversal of a trade whose deposit never came
}

struct Counters {
  receipts @0 :UInt64;
  monthStartUs @1 :Int64;    # start of the campus month the allowances belong to
}
