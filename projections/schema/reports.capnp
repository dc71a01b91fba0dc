# How the report projections (projections/reports/) persist their rows, each
# in its own family "proj.report.<name>"; projections/reports/README.md lists
# the keys. The rows are derived data: a rebuild writes them again byte for
# byte from the events. Evolve by adding fields with new ordinals only.
@0x9c31d05bc63f0b1d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::projections::reports::rows");
using Event = import "/ledger/schema/event.capnp";

# consumption: one room's or building's deductions and violations in one
# campus period.
struct Consumption {
  id @0 :Text;               # the room or building id
  period @1 :Text;           # "2026-09", "2026-Q3" or "2026"
  energyWh @2 :Int64;        # all energy measured
  freeWh @3 :Int64;          # taken from free allowances
  chargedWh @4 :Int64;       # charged at a tariff (or recorded without one)
  amountFen @5 :Int64;       # deducted
  deductions @6 :UInt64;     # deduction lines counted
  violations @7 :UInt64;     # ViolationRecorded events of any kind
  # The violations by kind (a kind this build does not know counts in
  # violations only) and those that escalated to a lockout.
  loadLimit @8 :UInt64;
  currentLimit @9 :UInt64;
  maliciousLoad @10 :UInt64;
  antiRestriction @11 :UInt64;
  nightLimit @12 :UInt64;
  meterTrip @13 :UInt64;
  lockouts @14 :UInt64;
}

# consumption: the building a room belongs to, from its registration.
struct RoomBuilding {
  roomId @0 :Text;
  buildingId @1 :Text;
}

# deposits and settlement: a deposit that may still be reversed.
struct Deposit {
  seq @0 :UInt64;
  roomId @1 :Text;
  amountFen @2 :Int64;
  channel @3 :Event.DepositChannel;
  cashierId @4 :Text;
  tradeNo @5 :Text;
  payerCardNo @6 :Text;
  timeUs @7 :Int64;          # appended at
  reversed @8 :Bool;
}

enum DepositGroup {
  cashier @0;
  channel @1;
  total @2;
}

# deposits: one campus day's deposits and reversals of one cashier, one
# channel, or all of them.
struct DepositTotals {
  day @0 :Text;              # "2026-09-21"
  group @1 :DepositGroup;
  id @2 :Text;               # the cashier id, the channel name, or "" for the total
  depositCount @3 :UInt64;
  depositsFen @4 :Int64;
  reversalCount @5 :UInt64;
  reversalsFen @6 :Int64;    # reversals booked this day (of deposits of any day)
}

# refunds: a refund issued and not yet settled (the settlement follows it).
struct PendingRefund {
  refundSeq @0 :UInt64;
  reason @1 :Event.RefundReason;
}

# refunds: one settled refund.
struct Refund {
  settledSeq @0 :UInt64;     # the RefundSettled
  refundSeq @1 :UInt64;      # the RefundIssued it settles
  day @2 :Text;
  timeUs @3 :Int64;
  roomId @4 :Text;
  personId @5 :Text;
  cardNo @6 :Text;
  amountFen @7 :Int64;
  reason @8 :Event.RefundReason;
  balanceBeforeFen @9 :Int64;
  balanceAfterFen @10 :Int64;
  lastOccupant @11 :Bool;
}

enum SettlementKind {
  deposit @0;
  reversal @1;
  voided @2;    # a reversal of a trade before its deposit came; nothing moved
}

# settlement: one card-center deposit or reversal.
struct SettlementEntry {
  seq @0 :UInt64;
  kind @1 :SettlementKind;
  depositSeq @2 :UInt64;     # the deposit (itself, for a deposit)
  day @3 :Text;
  timeUs @4 :Int64;
  tradeNo @5 :Text;          # the card center's trade number of the deposit
  terminalId @6 :Text;       # the deposit's cashierId: the card center terminal
  roomId @7 :Text;
  payerCardNo @8 :Text;
  amountFen @9 :Int64;
}

# settlement: one campus day's card-center totals.
struct SettlementDay {
  day @0 :Text;
  depositCount @1 :UInt64;
  depositsFen @2 :Int64;
  reversalCount @3 :UInt64;
  reversalsFen @4 :Int64;
  firstSeq @5 :UInt64;       # the day's first and last card-center entries
  lastSeq @6 :UInt64;
}
