# wattd's interface for operators, cashiers, auditors and wattctl: submit
# signed requests, read the log, its head and its signed checkpoints, and
# (in a session) the operators' queries. Every state change is authorised by
# the request's own signature, never by the connection. Reading the log and
# querying need a session opened by a registered key (challenge, then
# authenticate) and are authorised by that key's role; only a plaintext
# loopback endpoint also serves the log's reads without one.
@0x8f8e1d728cb9748e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("wattledger::rpc");
using Event = import "/ledger/schema/event.capnp";

# absl::StatusCode numbers (0 = OK) with a human-readable message.
struct Status {
  code @0 :UInt32;
  message @1 :Text;
}

struct SignedRequest {
  body @0 :Data;                         # canonical EventBody bytes
  signerKeyId @1 :Data;                  # 32 bytes
  signature @2 :Data;                    # 64 bytes
  expectedStreamVersion @3 :Int64 = -1;  # -1: no expectation
}

struct AppendOutcome {
  status @0 :Status;
  seq @1 :UInt64;
  chainHash @2 :Data;
  result @3 :Data;
  duplicate @4 :Bool;                    # an idempotent retry; nothing appended
  # The request's event and every event derived from it (deductions,
  # settlements, control commands), as canonical envelopes; for a duplicate
  # only the first event.
  events @5 :List(Data);
}

struct KeyInfo {
  keyId @0 :Data;
  publicKey @1 :Data;
  role @2 :Event.Role;
  holder @3 :Text;
  revoked @4 :Bool;
  registeredSeq @5 :UInt64;
}

# Receives the log in seq order, a batch per call; the next batch waits for
# this one's return (flow control).
interface EventSink {
  push @0 (envelopes :List(Data)) -> ();
}

# Held by a follower; dropping it ends the stream.
interface Subscription {}

interface Ledger {
  submit @0 (request :SignedRequest) -> (outcome :AppendOutcome);
  # Up to `limit` (capped by the server) canonical envelopes from `fromSeq`.
  events @1 (fromSeq :UInt64, limit :UInt32) -> (envelopes :List(Data));
  streamEvents @2 (stream :Text, fromVersion :UInt64, limit :UInt32) -> (envelopes :List(Data));
  head @3 () -> (seq :UInt64, chainHash :Data, ledgerPublicKey :Data);
  checkpoints @4 (fromSeq :UInt64, limit :UInt32) -> (checkpoints :List(Data));
  keys @5 () -> (keys :List(KeyInfo));
  # The log from `fromSeq` as an auditor or a standby follows it: what is
  # stored (catch-up), then every event once durable, pushed to `sink` until
  # the subscription is dropped or the sink fails.
  subscribe @6 (fromSeq :UInt64, sink :EventSink) -> (subscription :Subscription);

  # A fresh single-use nonce for `authenticate`, valid for a minute.
  challenge @7 () -> (nonce :Data);
  # Opens a session for `keyId`: `signature` is its Ed25519 signature over
  # "wattledger/v1/session" ++ nonce. Unknown key: UNAUTHENTICATED; revoked
  # key, bad signature, stale or reused nonce: PERMISSION_DENIED or
  # UNAUTHENTICATED, with no session.
  authenticate @8 (keyId :Data, nonce :Data, signature :Data)
      -> (status :Status, session :Session);
}

struct QueryArg {
  name @0 :Text;
  value @1 :Text;
}

# A registered key's session: every Ledger call, the log's reads allowed to
# admins, operators and auditors, and the operators' queries (api/query/)
# allowed by the key's role. Each call checks the key is still registered and
# not revoked.
interface Session extends(Ledger) {
  # `name` and `args` as in api/query/query.h: rooms, balance, room-status,
  # control-why, commands, devices, violations, alarms, notifications,
  # report.<consumption|violations|deposits|refunds|settlement|balances>.
  query @0 (name :Text, args :List(QueryArg))
      -> (status :Status, lines :List(Text), notes :List(Text));
  # The key this session speaks for.
  whoami @1 () -> (keyId :Data, role :Event.Role, holder :Text);
}
