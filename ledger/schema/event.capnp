# The wattledger event format. Every fact is an EventBody, signed by its
# originator and wrapped in an Envelope that the ledger chains by hash.
# Schemas evolve only by adding fields with new ordinals; never renumber.
# The hash and signature definitions over these structs are the contract in
# ledger/README.md.
@0x8412d2b434eb6ca8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::schema");
using Json = import "/capnp/compat/json.capnp";

struct Envelope {
  seq @0 :UInt64;            # global, gap-free, from 1
  stream @1 :Text;           # copy of body.stream, for indexing
  appendedAtUs @2 :Int64;    # ledger clock, microseconds since the Unix epoch
  signerKeyId @3 :Data;      # SHA-256 of the signer's raw 32-byte Ed25519 public key
  signature @4 :Data;        # Ed25519 over "wattledger/v1/event" || body
  prevHash @5 :Data;         # H(seq - 1); 32 zero bytes for seq 1
  body @6 :Data;             # canonical bytes of an EventBody
}

# A signed checkpoint: the ledger key's signature over
# "wattledger/v1/checkpoint" || seq (8 bytes big-endian) || H(seq).
struct Checkpoint {
  seq @0 :UInt64;
  chainHash @1 :Data;
  signature @2 :Data;
}

enum Role {
  admin @0;
  operator @1;
  cashier @2;
  cardCenter @3;
  ingest @4;
  auditor @5;
  ledger @6;
}

enum DepositChannel {
  counter @0;
  cardCenter @1;
  web @2;
}

struct EventBody {
  idempotencyKey @0 :Text;   # unique per signer; with issuedAtUs the replay protection
  issuedAtUs @1 :Int64;      # signer's clock; admitted only within the ledger's window
  stream @2 :Text;           # the stream this event belongs to, e.g. "room:A-101"

  union {
    ledgerInitialized @3 :LedgerInitialized;
    keyRegistered @4 :KeyRegistered;
    keyRevoked @5 :KeyRevoked;

    buildingRegistered @6 :BuildingRegistered;
    roomRegistered @7 :RoomRegistered;
    occupantAssigned @8 :OccupantAssigned;
    occupantMovedOut @9 :OccupantMovedOut;
    gatewayRegistered @10 :GatewayRegistered;
    meterInstalled @11 :MeterInstalled;
    meterReplaced @12 :MeterReplaced;

    tariffSet @13 :TariffSet;
    overdraftLimitSet @14 :OverdraftLimitSet;

    depositMade @15 :DepositMade;
    depositReversed @16 :DepositReversed;
    deductionsApplied @17 :DeductionsApplied;
    refundIssued @18 :RefundIssued;
    roomExchanged @19 :RoomExchanged;

    readingsBatch @20 :ReadingsBatch;
    controlCommanded @21 :ControlCommanded;
    controlDelivered @22 :ControlDelivered;
    controlFailed @23 :ControlFailed;
    alarmRaised @24 :AlarmRaised;
    alarmCleared @25 :AlarmCleared;
    periodClosed @26 :PeriodClosed;
  }
}

# --- ledger-level events (filled in by the ledger core) ---

# Always seq 1, signed by the ledger key itself: declares that key.
struct LedgerInitialized {
  ledgerPublicKey @0 :Data $Json.hex;  # raw 32 bytes
  campusName @1 :Text;
}

# Signed by an admin key (or, for the first admin at initialisation, by the
# ledger key in the event right after LedgerInitialized).
struct KeyRegistered {
  publicKey @0 :Data $Json.hex;  # raw 32 bytes
  role @1 :Role;
  holder @2 :Text;           # who holds it: a person, a service
}

struct KeyRevoked {
  keyId @0 :Data $Json.hex;
  reason @1 :Text;
}

# --- domain events (fields are filled in by the domain issues) ---

struct BuildingRegistered { buildingId @0 :Text; name @1 :Text; }
struct RoomRegistered { roomId @0 :Text; buildingId @1 :Text; floor @2 :Int32; }
struct OccupantAssigned { roomId @0 :Text; personId @1 :Text; }
struct OccupantMovedOut { roomId @0 :Text; personId @1 :Text; }
struct GatewayRegistered { gatewayId @0 :Text; address @1 :Text; }
struct MeterInstalled { meterAddress @0 :Text; gatewayId @1 :Text; roomId @2 :Text; }
struct MeterReplaced { oldMeterAddress @0 :Text; newMeterAddress @1 :Text; }
struct TariffSet { tariffClass @0 :Text; }
struct OverdraftLimitSet { roomId @0 :Text; limitFen @1 :Int64; }

struct DepositMade {
  roomId @0 :Text;
  amountFen @1 :Int64;
  channel @2 :DepositChannel;
  payerCardNo @3 :Text;
  cashierId @4 :Text;
}

struct DepositReversed { depositSeq @0 :UInt64; reason @1 :Text; }
struct DeductionsApplied { sourceSeq @0 :UInt64; }
struct RefundIssued { roomId @0 :Text; personId @1 :Text; amountFen @2 :Int64; }
struct RoomExchanged { personId @0 :Text; fromRoomId @1 :Text; toRoomId @2 :Text; }
struct ReadingsBatch { gatewayId @0 :Text; }
struct ControlCommanded { meterAddress @0 :Text; reason @1 :Text; }
struct ControlDelivered { commandSeq @0 :UInt64; attempts @1 :UInt32; }
struct ControlFailed { commandSeq @0 :UInt64; attempts @1 :UInt32; }
struct AlarmRaised { alarmId @0 :Text; text @1 :Text; }
struct AlarmCleared { alarmId @0 :Text; }
struct PeriodClosed { periodEndUs @0 :Int64; }
