// The domain commands a person signs, built from named text arguments in one
// place for every client: wattctl fills the arguments from its flags, the
// web console from a form, and both sign the same canonical body. Building
// sets the event and its stream; the caller sets the idempotency key and
// issued-at, then signs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::commands {

struct CommandInfo {
  std::string name;
  std::vector<std::string> args;  // accepted; see each command's builder
  std::string what;
};

// deposit    room, amountFen, channel (counter|web|card-center), cardNo, cashier, tradeNo
// reverse    seq (the deposit's), reason
// refund     room, person, reason (graduation|transfer|other)
// control    meter, circuit (1-4), room, action (trip|close-permit|close-direct|
//            keep-power|keep-power-clear), reason
// params, policy   see control_settings.h
// building, gateway, room, occupant-assign, occupant-moveout, meter-install,
// meter-replace, tariff, overdraft, exchange   see campus_commands.h
// key-register publicKey (64 hex digits or base64 of the raw key), role, holder
// key-revoke   keyId (64 hex digits), reason
const std::vector<CommandInfo>& Commands();

// Fills `body`'s event and stream from `args`; kInvalidArgument naming an
// unknown command or argument, a missing or malformed one.
absl::Status BuildCommand(absl::string_view name, const std::map<std::string, std::string>& args,
                          schema::EventBody::Builder body);

}  // namespace wattledger::commands
