# How the alarm book persists its rows in the ledger's "state" family
# (projections/monitoring/README.md lists the keys). Derived data: replay
# rebuilds them byte for byte. Evolve by adding fields with new ordinals only.
@0xd04702bd7df468c8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::projections::state");
using Event = import "/ledger/schema/event.capnp";

# One alarm: open (clearedSeq = 0, row alarms/open/<alarmId>) or cleared
# (row alarms/cleared/<n:u64be>, the n-th alarm cleared).
struct AlarmRecord {
  alarmId @0 :Text;
  kind @1 :Text;
  subject @2 :Text;
  severity @3 :Event.AlarmSeverity;
  text @4 :Text;
  raisedSeq @5 :UInt64;      # the event that raised it
  raisedAtUs @6 :Int64;
  clearedSeq @7 :UInt64;     # the event that cleared it; 0 while open
  clearedAtUs @8 :Int64;
  clearText @9 :Text;
}

# What the rules remember of one meter circuit between readings
# (alarms/meter/<address>/<circuit>).
struct AlarmCircuitRecord {
  lastWh @0 :Int64;          # the register at the last accepted reading
  lastReadAtUs @1 :Int64;
  relayOpen @2 :Bool;        # as that reading reported it
  backwardsFromWh @3 :Int64; # while theftBackwards is open: the register before it went back
}

# A building's master-meter window (alarms/building/<id>): the energy its
# master meter and its room meters counted since the window opened.
struct AlarmBuildingRecord {
  windowStartUs @0 :Int64;   # the master's reading that opened it; 0: none yet
  masterWh @1 :Int64;
  roomsWh @2 :Int64;
}
