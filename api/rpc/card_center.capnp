# The campus one-card center's interface to wattd: it sells electricity at
# its terminals and portals. Served on its own endpoint, over TLS with a
# client certificate (mutual authentication); plaintext only on loopback and
# only when configured. Every state change is also a request signed by the
# card center's key (role cardCenter), so the ledger holds its signature.
#
# Every method answers with a Status (absl codes) instead of throwing: a
# refusal is an answer, a transport failure is an exception.
@0xe92944203f826b1f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::rpc");
using L = import "ledger.capnp";

# campus -> building -> floor -> room ids, for a portal's room picker.
struct Directory {
  campuses @0 :List(CampusEntry);
  struct CampusEntry {
    name @0 :Text;
    buildings @1 :List(BuildingEntry);
  }
  struct BuildingEntry {
    buildingId @0 :Text;
    name @1 :Text;
    floors @2 :List(FloorEntry);
  }
  struct FloorEntry {
    floor @0 :Int32;
    roomIds @1 :List(Text);
  }
}

struct RoomBalance {
  roomId @0 :Text;
  balanceFen @1 :Int64;
  allowanceLeftWh @2 :Int64;    # free energy left this month
  pricePerKwh @3 :Int64;        # 1/100 fen, the price of the room's next kWh
  remainingWh @4 :Int64;        # the allowance left plus what the balance buys
  powerOn @5 :Bool;             # what the control policies want for the room
  arrearsLevel @6 :Text;        # "normal", "low", "warning", "cut-off"
  status @7 :Text;              # why, in words (the last decision)
}

# What a deposit answers; a retry of the same trade gets the first again.
struct Receipt {
  receiptNo @0 :Text;
  tradeNo @1 :Text;
  roomId @2 :Text;
  amountFen @3 :Int64;
  balanceAfterFen @4 :Int64;
  timeUs @5 :Int64;             # booked at (the ledger's clock)
  seq @6 :UInt64;
  chainHash @7 :Data;           # H(seq): proves the deposit is in the log
  duplicate @8 :Bool;           # the trade was already applied; nothing new
}

enum TradeState {
  unknown @0;                   # never seen (or older than the reversal window)
  applied @1;
  reversed @2;
  voided @3;                    # reversed before its deposit came; the deposit is refused
}

struct TradeStatus {
  tradeNo @0 :Text;
  state @1 :TradeState;
  depositSeq @2 :UInt64;
  reversalSeq @3 :UInt64;
  roomId @4 :Text;
  amountFen @5 :Int64;
  timeUs @6 :Int64;
}

enum LineKind {
  deposit @0;
  reversal @1;
  voided @2;
}

struct SettlementLine {
  seq @0 :UInt64;
  kind @1 :LineKind;
  depositSeq @2 :UInt64;
  timeUs @3 :Int64;
  tradeNo @4 :Text;
  terminalId @5 :Text;
  roomId @6 :Text;
  payerCardNo @7 :Text;
  amountFen @8 :Int64;
}

# One campus day of card-center activity as the ledger booked it.
struct Settlement {
  day @0 :Text;                 # YYYY-MM-DD, campus time
  depositCount @1 :UInt64;
  depositsFen @2 :Int64;
  reversalCount @3 :UInt64;
  reversalsFen @4 :Int64;
  firstSeq @5 :UInt64;
  lastSeq @6 :UInt64;
  headSeq @7 :UInt64;           # the log's head when the statement was made
  lines @8 :List(SettlementLine);
}

# The statement and the ledger key's Ed25519 signature over
# "wattledger/v1/settlement" || canonical(statement).
struct SignedSettlement {
  statement @0 :Data;           # canonical Settlement
  signature @1 :Data;
  ledgerPublicKey @2 :Data;
}

# One line of the card center's own records for the day.
struct TheirLine {
  tradeNo @0 :Text;
  roomId @1 :Text;
  amountFen @2 :Int64;
  kind @3 :LineKind;            # deposit or reversal (voided is the ledger's word)
}

enum DifferenceKind {
  missingHere @0;               # they have a live deposit the ledger does not
  missingThere @1;              # the ledger has a live deposit they do not
  amountDiffers @2;
  roomDiffers @3;
  unknownRoom @4;               # their line names a room the campus does not have
  reversalDiffers @5;           # reversed on one side only
}

struct Difference {
  kind @0 :DifferenceKind;
  tradeNo @1 :Text;
  ours @2 :Text;                # what the ledger has, in words ("" when nothing)
  theirs @3 :Text;
  seq @4 :UInt64;               # the ledger's entry, when it has one
}

interface CardCenter {
  rooms @0 () -> (status :L.Status, directory :Directory);
  balance @1 (roomId :Text) -> (status :L.Status, balance :RoomBalance);
  # A signed DepositMade on the card-center channel, its idempotency key
  # "trade/" tradeNo. A retry returns the first receipt (duplicate true);
  # the same trade number with other fields is kAlreadyExists.
  deposit @2 (request :L.SignedRequest) -> (status :L.Status, receipt :Receipt);
  # A signed DepositReversed naming the trade number, its idempotency key
  # "reverse/" tradeNo. Idempotent: a reversal of a reversed (or voided)
  # trade answers OK with the trade's status.
  reverse @3 (request :L.SignedRequest) -> (status :L.Status, trade :TradeStatus);
  status @4 (tradeNo :Text) -> (status :L.Status, trade :TradeStatus);
  settlement @5 (day :Text) -> (status :L.Status, settlement :SignedSettlement);
  # Compares their lines with the day's settlement; changes nothing.
  reconcile @6 (day :Text, theirLines :List(TheirLine))
      -> (status :L.Status, differences :List(Difference), matched :UInt32);
}
