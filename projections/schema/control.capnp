# How the control book and the device status persist their rows in the
# ledger's "state" family (projections/README.md lists the keys). Derived
# data: replay rebuilds them byte for byte. Evolve by adding fields only.
@0xa542159e13dd370e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::projections::state");
using Event = import "/ledger/schema/event.capnp";

enum CommandState {
  pending @0;
  delivered @1;
  failed @2;
}

# The latest command of one kind (relay or parameters) to one meter circuit.
struct ControlRecord {
  seq @0 :UInt64;
  commandedAtUs @1 :Int64;
  command @2 :Event.ControlCommanded;
  state @3 :CommandState;
  attempts @4 :UInt32;
  outcomeSeq @5 :UInt64;
  outcomeReason @6 :Text;
  relayOpen @7 :Bool;
}

# The last recorded link state of a gateway or a meter.
struct LinkRecord {
  state @0 :Event.LinkState;
  detail @1 :Text;
  peer @2 :Text;
  gatewayId @3 :Text;
  changedSeq @4 :UInt64;
  changedAtUs @5 :Int64;
  requests @6 :UInt64;
  timeouts @7 :UInt64;
  checksumErrors @8 :UInt64;
  garbledReplies @9 :UInt64;
  abnormalReplies @10 :UInt64;
}

# --- the control policies (projections/control/control_policies.h) ---

# What the policies hold for one room ("policies/room/<id>").
struct RoomControlRow {
  level @0 :Event.ArrearsLevel;
  cutDeferredUntilUs @1 :Int64;  # an arrears cut waiting for a no-cut window to end
  arrearsCut @2 :Bool;
  operatorCut @3 :Bool;
  keepPower @4 :Bool;
  lockout @5 :Bool;
  loadTripUntilUs @6 :Int64;     # a load trip the server commanded; max: until an operator restores
  violationsUs @7 :List(Int64);  # times of the violations inside the escalation window
  cause @8 :Text;                # the last decision, in words
  causeSeq @9 :UInt64;           # the event that made it
  origin @10 :Text;
  operatorReason @11 :Text;      # why an operator cut it off
  arrearsReason @12 :Text;       # when and how far the balance fell
  loadReason @13 :Text;          # the violation behind a load trip or lockout
}

# A timer ("policies/timer/<key>"): when it is due.
struct TimerRow {
  dueUs @0 :Int64;
}

# The last reading of a watched meter circuit ("policies/watch/<address>/<circuit>").
struct CircuitWatchRow {
  readAtUs @0 :Int64;
  powerW @1 :Int32;
  powerFactorMilli @2 :Int32;
  currentMa @3 :Int32;
  relayOpen @4 :Bool;
  overLimit @5 :UInt32;          # consecutive readings above the load or current limit
  tripCount @6 :UInt32;          # of the meter's last self-trip record seen
  recentPowerW @7 :List(Int32);  # for anti-restriction sockets, newest last
}
