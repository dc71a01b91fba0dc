# How the notification outbox (projections/monitoring/notification_outbox.h)
# persists its rows in the ledger's "state" family:
#   outbox/note/<source seq, 20 digits>/<index, 6 digits>  -> NotificationRecord
#   outbox/room/<room id>                                  -> RoomNoticeRecord
# Derived data: replay rebuilds them byte for byte from the events. Evolve by
# adding fields with new ordinals only.
@0xfb211cce5de58a38;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::projections::outbox");
using Event = import "/ledger/schema/event.capnp";

enum DeliveryState {
  pending @0;
  sent @1;
  failed @2;                 # the notifier gave up: final
}

# One message for one occupant, and what became of it.
struct NotificationRecord {
  notificationId @0 :Text;   # "n/<source seq>/<index>"
  personId @1 :Text;
  roomId @2 :Text;
  cardNo @3 :Text;
  kind @4 :Event.NotificationKind;
  text @5 :Text;
  queuedSeq @6 :UInt64;      # the event that queued it (its NotificationQueued follows it)
  queuedAtUs @7 :Int64;
  state @8 :DeliveryState;
  attempts @9 :UInt32;
  sender @10 :Text;
  reason @11 :Text;          # NotificationFailed's reason
  outcomeSeq @12 :UInt64;
  outcomeAtUs @13 :Int64;
}

# The last arrears notice a room's occupants got (so a level is not notified
# twice in a row).
enum LastNotice {
  none @0;                   # nothing yet, or the room went back to normal
  lowBalance @1;
  cutWarning @2;
  cutOff @3;
  restored @4;
  cutDeferred @5;            # cut off, the cut waiting for a no-cut window to end
}

# The room's cumulative deductions at one day tick.
struct SpendSample {
  dayEndUs @0 :Int64;
  deductionsFen @1 :Int64;
}

struct RoomNoticeRecord {
  lastNotice @0 :LastNotice;
  samples @1 :List(SpendSample);   # oldest first, at most 8
  lastPredictedAtUs @2 :Int64;     # the last predictedCut (0: never)
}
