// The campus registry's commands an admin or operator signs, built from named
// text arguments (wattctl's flags, the console's forms). domain_command.cc's
// table names them and the arguments each takes; defaults in parentheses.
// Amounts are decimal text parsed exactly (no floating point).
// kInvalidArgument names what is missing or malformed.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::commands {

using Args = std::map<std::string, std::string>;

// building: id, name, campus
absl::Status BuildBuilding(const Args& args, schema::EventBody::Builder body);
// gateway: id, address (host:port), location, mode (server|client; server)
absl::Status BuildGateway(const Args& args, schema::EventBody::Builder body);
// room: id, building, floor (0), number, capacity (4), tariffClass
absl::Status BuildRoom(const Args& args, schema::EventBody::Builder body);
// occupant-assign: room, person, name, identity, card
absl::Status BuildOccupantAssign(const Args& args, schema::EventBody::Builder body);
// occupant-moveout: room, person, reason
absl::Status BuildOccupantMoveOut(const Args& args, schema::EventBody::Builder body);
// meter-install: address, gateway, room, circuit (1), initialWh (0),
// ratedCurrentMa (40000), voltageDv (2200)
absl::Status BuildMeterInstall(const Args& args, schema::EventBody::Builder body);
// meter-replace: oldMeter, newMeter, circuit (1), oldFinalWh, newInitialWh
absl::Status BuildMeterReplace(const Args& args, schema::EventBody::Builder body);
// tariff: identity, tiers ("upto_kwh:price_cny,...,0:price_cny"),
// allowanceKwhPerYear (decimal; 0), effectiveFrom (RFC 3339, or "now": the
// body's issued-at, which the caller sets first)
absl::Status BuildTariff(const Args& args, schema::EventBody::Builder body);
// overdraft: room, limitFen
absl::Status BuildOverdraft(const Args& args, schema::EventBody::Builder body);
// exchange: person, room (the one they leave), to, swapPerson (for a swap:
// who moves the other way)
absl::Status BuildExchange(const Args& args, schema::EventBody::Builder body);

}  // namespace wattledger::commands
