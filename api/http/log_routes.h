// The log as the console's audit page and a room's history read it: events
// with their canonical envelope bytes, so the browser checks each signature
// (WebCrypto Ed25519 over "wattledger/v1/event" || body) and the hash chain
// (SHA-256 of each envelope is the next one's prevHash) itself, and can write
// the export file `wattctl verify` reads offline; the registered keys; the
// signed checkpoints. Internal to api/http/.
#pragma once

#include "api/http/route_call.h"

namespace wattledger::http {

// GET /api/events?from=SEQ&limit=N (N <= 2000): events from SEQ on, with
// "envelope" and "bodyBytes" base64, "chainHash" and the signer's holder and role.
Response ListEvents(Call& call);
// GET /api/rooms/{id}/events?limit=N: the room's own stream, newest first.
Response RoomEvents(Call& call, const std::string& room);
// GET /api/keys: every registered key: id, raw public key, role, holder, revoked.
Response ListKeys(Call& call);
// GET /api/checkpoints?from=SEQ&limit=N (N <= 5000, default 1000; 0: none):
// signed checkpoints in seq order with their canonical bytes, and "latest".
Response ListCheckpoints(Call& call);

}  // namespace wattledger::http
