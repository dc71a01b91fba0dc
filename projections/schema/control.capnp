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
