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
    registryImported @27 :RegistryImported;
    refundSettled @28 :RefundSettled;
    exchangeSettled @29 :ExchangeSettled;
    gatewayStatusChanged @30 :GatewayStatusChanged;
    meterStatusChanged @31 :MeterStatusChanged;
    controlPolicySet @32 :ControlPolicySet;
    arrearsLevelChanged @33 :ArrearsLevelChanged;
    violationRecorded @34 :ViolationRecorded;
    clockTick @35 :ClockTick;
    notificationQueued @36 :NotificationQueued;
    notificationSent @37 :NotificationSent;
    notificationFailed @38 :NotificationFailed;
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

# --- domain events -------------------------------------------------------
# Units: money in fen (0.01 CNY), energy in Wh, prices in 0.0001 CNY/kWh,
# power in W, voltage in 0.1 V, current in mA, power factor in 0.001.
# Times are microseconds since the Unix epoch; the campus calendar is UTC+8.

# Registry ----------------------------------------------------------------

struct BuildingRegistered {
  buildingId @0 :Text;       # e.g. "B01"
  name @1 :Text;
  campus @2 :Text;
}

struct RoomRegistered {
  roomId @0 :Text;           # unique on campus, e.g. "B01-301"
  buildingId @1 :Text;
  floor @2 :Int32;
  number @3 :Text;           # as on the door, e.g. "301"
  capacity @4 :UInt32;       # beds
  tariffClass @5 :Text;      # empty: the room's tariff follows its occupants (projections/README.md)
}

struct OccupantAssigned {
  roomId @0 :Text;
  personId @1 :Text;         # student or staff number
  name @2 :Text;
  identityClass @3 :Text;    # undergraduate, postgraduate, doctoral, staff, other, ...
  cardNo @4 :Text;           # campus card number
}

struct OccupantMovedOut {
  roomId @0 :Text;
  personId @1 :Text;
  reason @2 :Text;
}

enum GatewayMode {
  server @0;                 # the collector listens; wattd connects to it
  client @1;                 # the collector connects to wattd and registers
}

struct GatewayRegistered {
  gatewayId @0 :Text;
  address @1 :Text;          # host:port (server mode) or the registration id (client mode)
  location @2 :Text;
  mode @3 :GatewayMode;
}

struct MeterInstalled {
  meterAddress @0 :Text;     # 12 decimal digits, as printed on the meter
  gatewayId @1 :Text;
  roomId @2 :Text;
  circuit @3 :UInt8;         # 1..4; 1 for single-circuit meters
  initialReadingWh @4 :Int64;
  ratedCurrentMa @5 :Int64;  # the most the circuit can pass, e.g. 40 A = 40000
  nominalVoltageDv @6 :Int32;  # 2200 = 220.0 V
}

struct MeterReplaced {
  oldMeterAddress @0 :Text;
  newMeterAddress @1 :Text;
  circuit @2 :UInt8;
  oldFinalReadingWh @3 :Int64;   # read off the old meter when it was removed
  newInitialReadingWh @4 :Int64;
  ratedCurrentMa @5 :Int64;
}

# All rows of one CSV import, admitted all or nothing.
struct RegistryImported {
  source @0 :Text;           # file name, for the record
  buildings @1 :List(BuildingRegistered);
  gateways @2 :List(GatewayRegistered);
  rooms @3 :List(RoomRegistered);
  occupants @4 :List(OccupantAssigned);
  meters @5 :List(MeterInstalled);
}

# Tariffs ------------------------------------------------------------------

struct Tier {
  uptoWh @0 :Int64;          # monthly room consumption this tier reaches; 0 = no bound (last tier)
  pricePerKwh @1 :Int64;     # 0.0001 CNY per kWh
}

struct TariffSet {
  identityClass @0 :Text;
  effectiveFromUs @1 :Int64; # applies to energy read at or after this time; never re-prices history
  tiers @2 :List(Tier);      # ascending uptoWh, the last one unbounded
  allowanceWhPerYear @3 :Int64;  # free energy per occupant of this class per year
}

struct OverdraftLimitSet {
  roomId @0 :Text;
  limitFen @1 :Int64;        # the balance may fall to -limitFen before power is cut
}

# Money --------------------------------------------------------------------

struct DepositMade {
  roomId @0 :Text;
  amountFen @1 :Int64;
  channel @2 :DepositChannel;
  payerCardNo @3 :Text;
  cashierId @4 :Text;        # the counter cashier, the card center terminal, "web"
  tradeNo @5 :Text;          # the card center's trade number, when it comes from there
  tradeTimeUs @6 :Int64;     # when the card center took the money (its clock); 0: not given
}

# Names the deposit by its seq, or (depositSeq 0) by the card center's trade
# number. A reversal of a trade the ledger has not seen voids the trade: its
# deposit is refused when it arrives late.
struct DepositReversed {
  depositSeq @0 :UInt64;     # the DepositMade being reversed
  reason @1 :Text;
  tradeNo @2 :Text;          # instead of depositSeq
}

enum RefundReason {
  graduation @0;
  transfer @1;
  other @2;
}

# An operator's decision to settle and refund an occupant who leaves; the
# ledger derives the amount (RefundSettled) by the rule in projections/.
struct RefundIssued {
  roomId @0 :Text;
  personId @1 :Text;
  reason @2 :RefundReason;
}

# An occupant moves to another room (or two swap); their share of the
# balance moves with them (ExchangeSettled).
struct RoomExchanged {
  personId @0 :Text;
  fromRoomId @1 :Text;
  toRoomId @2 :Text;
  swapPersonId @3 :Text;     # non-empty: this occupant of toRoomId moves to fromRoomId
}

# Readings from one gateway sweep, signed once by the ingest key.
struct ReadingsBatch {
  gatewayId @0 :Text;
  sweepStartedUs @1 :Int64;
  readings @2 :List(Reading);
}

struct Reading {
  meterAddress @0 :Text;
  circuit @1 :UInt8;
  readAtUs @2 :Int64;
  totalWh @3 :Int64;         # forward active energy register (the meter counts 10 Wh steps)
  voltageDv @4 :Int32;
  currentMa @5 :Int32;
  powerW @6 :Int32;
  powerFactorMilli @7 :Int32;
  relayOpen @8 :Bool;
  lastTrip @9 :MeterTrip;    # the meter's record of its last self-trip, read when the relay is seen newly open; absent otherwise
}

# --- derived by the ledger (signed by the ledger key) ---

struct Deduction {
  roomId @0 :Text;
  meterAddress @1 :Text;
  circuit @2 :UInt8;
  fromWh @3 :Int64;          # register values this deduction covers
  toWh @4 :Int64;
  energyWh @5 :Int64;
  freeWh @6 :Int64;          # taken from the room's free allowance
  chargedWh @7 :Int64;
  amountFen @8 :Int64;
  balanceAfterFen @9 :Int64;
  remainderAfter @10 :Int64; # sub-fen remainder carried, in 1/100000 fen
}

enum AnomalyKind {
  negativeDelta @0;          # the register went backwards (not a rollover)
  implausibleDelta @1;       # more than rated current x voltage x elapsed time allows
  unknownMeter @2;           # not installed
  noTariff @3;               # the room has no tariff in force: energy recorded, nothing charged
  futureReading @4;          # read "later" than the ledger's clock allows (a collector's clock is off): ignored
}

struct ReadingAnomaly {
  meterAddress @0 :Text;
  circuit @1 :UInt8;
  kind @2 :AnomalyKind;
  fromWh @3 :Int64;
  toWh @4 :Int64;
  elapsedUs @5 :Int64;
  maxPlausibleWh @6 :Int64;
}

struct DeductionsApplied {
  sourceSeq @0 :UInt64;      # the ReadingsBatch
  deductions @1 :List(Deduction);
  anomalies @2 :List(ReadingAnomaly);
}

struct RefundSettled {
  refundSeq @0 :UInt64;      # the RefundIssued
  roomId @1 :Text;
  personId @2 :Text;
  cardNo @3 :Text;
  amountFen @4 :Int64;       # paid back; 0 when the balance is not positive
  balanceBeforeFen @5 :Int64;
  balanceAfterFen @6 :Int64;
  personNetDepositsFen @7 :Int64;
  roomNetDepositsFen @8 :Int64;  # of the occupants present before the refund
  lastOccupant @9 :Bool;     # took the whole remainder
}

struct BalanceTransfer {
  personId @0 :Text;
  fromRoomId @1 :Text;
  toRoomId @2 :Text;
  amountFen @3 :Int64;
}

struct ExchangeSettled {
  exchangeSeq @0 :UInt64;
  transfers @1 :List(BalanceTransfer);
}

enum PeriodKind {
  day @0;
  month @1;
}

# Appended by the ledger from its own clock at each campus day and month end.
struct PeriodClosed {
  periodEndUs @0 :Int64;     # the first microsecond after the period
  kind @1 :PeriodKind;
}

# --- control and monitoring (filled in by the control issue) ---

# What a meter's relay should do: the N1 of the DL/T 645 remote-control frame.
enum RelayAction {
  trip @0;                   # 1A: open the relay
  closePermit @1;            # 1B: the occupant may close it at the meter
  closeDirect @2;            # 1C: close it now
  keepPower @3;              # 3A: never trip (a medical need, say) until cleared
  keepPowerClear @4;         # 3B
}

enum PeriodMode {
  on @0;
  off @1;
  night @2;                  # on, but trip above the period's power limit
}

# One of up to 8 switching periods of a day: from startMinute until the next.
struct SwitchPeriod {
  startMinute @0 :UInt16;    # 0..1439, campus time
  mode @1 :PeriodMode;
  nightLimitW @2 :Int32;     # for mode night
}

# The parameters the meter enforces on its own (ingest/dlt645/README.md maps
# each to its data identifier).
struct MeterParameters {
  loadLimitW @0 :Int32;            # sustained power above this trips; 0 = none
  maliciousStepW @1 :Int32;        # a resistive step above this trips; 0 = off
  maliciousPfMilli @2 :Int32;      # power factor at or above this counts as resistive
  recoveryDelayMinutes @3 :UInt8;  # automatic recovery after a trip; 0 = none
  overdraftFen @4 :Int64;          # the meter's own overdraft allowance
  workdayPeriods @5 :List(SwitchPeriod);  # empty: always on
  holidayPeriods @6 :List(SwitchPeriod);
}

# A command to one meter (and circuit), on stream "meter:<address>". The
# meter side delivers the latest relay command and the latest parameters of
# each meter and records ControlDelivered or ControlFailed.
struct ControlCommanded {
  meterAddress @0 :Text;
  reason @1 :Text;           # why, in words a student can read
  roomId @2 :Text;
  circuit @3 :UInt8;
  origin @4 :Text;           # "operator"; the control policies add theirs
  union {
    relay @5 :RelayAction;
    parameters @6 :MeterParameters;
  }
}

# Signed by the ingest key once the meter confirmed the command (its status
# word read back, or the parameters acknowledged).
struct ControlDelivered {
  commandSeq @0 :UInt64;
  attempts @1 :UInt32;       # 0: the meter was already in that state
  meterAddress @2 :Text;
  relayOpen @3 :Bool;        # the relay state read back
}

# Signed by the ingest key when delivery gave up (an alarm).
struct ControlFailed {
  commandSeq @0 :UInt64;
  attempts @1 :UInt32;
  meterAddress @2 :Text;
  reason @3 :Text;
}

enum LinkState {
  online @0;
  offline @1;                # no answer
  fault @2;                  # answers, but wrong: checksum, garbled, abnormal replies
}

# A gateway's connection changed (recorded on change, not per poll).
struct GatewayStatusChanged {
  gatewayId @0 :Text;
  state @1 :LinkState;       # online or offline
  detail @2 :Text;
  peer @3 :Text;             # the collector's address as seen by wattd
}

# A meter's communication state changed; the counters are cumulative since
# the ingest service started, for the error rates monitoring shows.
struct MeterStatusChanged {
  meterAddress @0 :Text;
  gatewayId @1 :Text;
  state @2 :LinkState;
  detail @3 :Text;
  requests @4 :UInt64;
  timeouts @5 :UInt64;
  checksumErrors @6 :UInt64;
  garbledReplies @7 :UInt64;
  abnormalReplies @8 :UInt64;
}
# What the meter did by itself (vendor DI 04C20001, ingest/dlt645/README.md).
enum MeterTripReason {
  unknown @0;
  loadLimit @1;
  maliciousLoad @2;
  schedule @3;               # the schedule's "off" period
  nightLimit @4;             # above the night limit in a "night" period
}

struct MeterTrip {
  reason @0 :MeterTripReason;
  atUs @1 :Int64;            # by the meter's clock, as Unix time
  powerBeforeW @2 :Int32;    # metered load just before the step that tripped
  powerW @3 :Int32;          # metered load at the trip
  powerFactorMilli @4 :Int32;  # of the step (malicious) or the load (load limit)
  tripCount @5 :UInt32;      # self-trips the meter has counted, to tell records apart
}

enum AlarmSeverity {
  info @0;
  warning @1;
  major @2;
  critical @3;
}

# Signed by the ledger key: the monitoring rules raised an alarm
# (projections/monitoring/README.md lists each kind and its clearing rule).
struct AlarmRaised {
  alarmId @0 :Text;          # "<kind>/<subject>": one open alarm per kind and subject
  text @1 :Text;             # for people, e.g. "meter 000000010001 offline since 23:41"
  severity @2 :AlarmSeverity;
  kind @3 :Text;             # controlFailure, commError, meterOffline, gatewayOffline, theft..., voltage, clockDrift
  subject @4 :Text;          # "meter:<address>", "gateway:<id>", "room:<id>", "building:<id>"
  evidenceSeq @5 :UInt64;    # the event that raised it
}
struct AlarmCleared {
  alarmId @0 :Text;
  text @1 :Text;             # why it cleared
  evidenceSeq @2 :UInt64;
}

# --- control policies (projections/control/README.md) ---

# A time the arrears policy must not cut power in: daily from startMinute to
# endMinute (campus time; it may wrap past midnight; equal: all day), on the
# days from fromUs until untilUs (0: unbounded). Nights, exam weeks.
struct NoCutWindow {
  label @0 :Text;
  startMinute @1 :UInt16;
  endMinute @2 :UInt16;
  fromUs @3 :Int64;
  untilUs @4 :Int64;
}

# An appliance a room may use although it looks like a malicious load.
struct Appliance {
  name @0 :Text;
  powerW @1 :Int32;
}

# The rules for a room, a building or the campus. A room follows its own
# policy, else its building's, else the campus's; each replaces the whole.
struct ControlPolicy {
  reminderBelowFen @0 :Int64;      # level 1: a low-balance reminder below this
  warningBelowFen @1 :Int64;       # level 2: a pre-trip warning below this
  noCutWindows @2 :List(NoCutWindow);
  loadLimitW @3 :Int32;            # 0: none
  currentLimitMa @4 :Int32;        # 0: none (checked by the server from readings)
  maliciousStepW @5 :Int32;        # 0: off
  maliciousPfMilli @6 :Int32;      # 0: 950
  recoveryDelayMinutes @7 :UInt8;  # 0: no automatic recovery
  escalateAfter @8 :UInt8;         # this many violations within the window lock out; 0: never
  escalateWindowMinutes @9 :UInt32;
  workdayPeriods @10 :List(SwitchPeriod);
  holidayPeriods @11 :List(SwitchPeriod);
  scheduleFromUs @12 :Int64;       # the schedule is in force from (0: always) ...
  scheduleUntilUs @13 :Int64;      # ... until (0: no end)
  whitelist @14 :List(Appliance);
}

# Signed by an operator: scope is "campus", "building:<id>" or "room:<id>".
struct ControlPolicySet {
  scope @0 :Text;
  policy @1 :ControlPolicy;
  reason @2 :Text;
}

enum ArrearsLevel {
  normal @0;
  low @1;                    # reminder
  warning @2;                # pre-trip warning
  cutOff @3;                 # below the overdraft limit
}

# Signed by the ledger key: a room's arrears level changed.
struct ArrearsLevelChanged {
  roomId @0 :Text;
  level @1 :ArrearsLevel;
  previous @2 :ArrearsLevel;
  balanceFen @3 :Int64;
  thresholdFen @4 :Int64;    # the bound crossed
  cutDeferredUntilUs @5 :Int64;  # cutOff inside a no-cut window: the cut waits until then
  reason @6 :Text;
}

enum ViolationKind {
  loadLimit @0;
  currentLimit @1;
  maliciousLoad @2;
  antiRestriction @3;        # load switched on and off to stay under the limit
  nightLimit @4;
  meterTrip @5;              # the meter tripped itself and did not say why
}

# Signed by the ledger key: a load rule was broken, with its evidence.
struct ViolationRecorded {
  roomId @0 :Text;
  meterAddress @1 :Text;
  circuit @2 :UInt8;
  kind @3 :ViolationKind;
  atUs @4 :Int64;
  powerBeforeW @5 :Int32;
  powerAfterW @6 :Int32;
  powerFactorMilli @7 :Int32;
  currentMa @8 :Int32;
  limit @9 :Int32;           # W, or mA for currentLimit
  action @10 :Text;          # what followed: "tripped by the meter", "trip commanded", "recorded"
  recoveryAtUs @11 :Int64;   # 0: no automatic recovery
  countInWindow @12 :UInt32;
  lockout @13 :Bool;         # this one escalated to a lockout only an operator clears
  readingsSeq @14 :UInt64;   # the readings batch that showed it
  detail @15 :Text;
}

# Signed by the ledger key when a projection's timer is due (a recovery, the
# end of a no-cut window, a schedule taking effect): time reaching dueUs.
struct ClockTick {
  dueUs @0 :Int64;
}

# --- notifications (projections/monitoring/) ---

enum NotificationKind {
  lowBalance @0;
  cutWarning @1;
  cutOff @2;
  restored @3;
  predictedCut @4;
}

# Signed by the ledger key: a message for an occupant, in the outbox.
struct NotificationQueued {
  notificationId @0 :Text;   # unique; senders pass it on so receivers drop duplicates
  personId @1 :Text;
  roomId @2 :Text;
  kind @3 :NotificationKind;
  text @4 :Text;
  cardNo @5 :Text;
}

# Signed by the ledger key (wattd's notifier): what became of one.
struct NotificationSent {
  notificationId @0 :Text;
  attempts @1 :UInt32;
  sender @2 :Text;           # "log", "webhook", ...
}
struct NotificationFailed {
  notificationId @0 :Text;
  attempts @1 :UInt32;
  sender @2 :Text;
  reason @3 :Text;
}

# --- results returned to submitters (not events) ---

struct Receipt {
  receiptNo @0 :Text;
  roomId @1 :Text;
  amountFen @2 :Int64;
  balanceAfterFen @3 :Int64;
  timeUs @4 :Int64;
  payerCardNo @5 :Text;
  channel @6 :DepositChannel;
}
