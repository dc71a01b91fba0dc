// Reading one meter circuit over a bus, and the request/retry discipline
// under it. A poll reads forward active energy, voltage, current, active
// power, power factor and run status word 3: in one request, the vendor
// reading snapshot (04C10000), when the meter has it; else with the six
// standard DIs (circuits 2-4 through their vendor DIs). Each request gets
// `retries` more attempts after a timeout or a bad frame; an abnormal reply
// is the meter's answer and is not retried. Every attempt is counted in the
// meter's LinkCounters.
#pragma once

#include <chrono>
#include <optional>

#include "absl/status/statusor.h"
#include "ingest/bus_link.h"
#include "ingest/dlt645/messages.h"
#include "ingest/ingest_events.h"
#include "ingest/link_health.h"
#include "ledger/clock.h"

namespace wattledger::ingest {

struct PollSettings {
  std::chrono::milliseconds timeout{500};  // per request
  int retries = 2;                         // further attempts per request
  // For writes and remote control: password 02 000000 (level 2), operator 0.
  dlt645::Credentials credentials{{0x02, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00}};
};

// Sends `request` until it is answered or the attempts run out, counting
// each attempt. kUnavailable when the link is lost (stop the sweep).
Awaitable<absl::StatusOr<dlt645::Frame>> Transact(BusLink& link, const dlt645::Frame& request,
                                                  const PollSettings& settings,
                                                  LinkCounters& counters);

struct PollResult {
  PollOutcome outcome = PollOutcome::kNoReply;
  std::optional<MeterSample> sample;  // set when outcome is kOk
  absl::Status error;                 // the last error otherwise
};

// `snapshot`: whether to try the reading snapshot; set false when the meter
// answers that it has none, so the caller stops asking.
Awaitable<PollResult> PollCircuit(BusLink& link, const dlt645::Address& address,
                                  const std::string& meter_address, uint8_t circuit,
                                  const PollSettings& settings, const ledger::Clock& clock,
                                  LinkCounters& counters, bool& snapshot);

// Reads run status word 3 of a circuit.
Awaitable<absl::StatusOr<dlt645::RunStatus3>> ReadRunStatus(BusLink& link,
                                                            const dlt645::Address& address,
                                                            uint8_t circuit,
                                                            const PollSettings& settings,
                                                            LinkCounters& counters);

// Reads the circuit's record of its last self-trip (vendor DI 04C200cc, one
// request with the usual retries), its time converted from the meter's clock
// (campus time) to Unix µs. nullopt when the meter never tripped. Errors as
// a poll's: kUnavailable when the link is lost; a codec status otherwise (an
// abnormal reply with "no requested data" from a meter without the record,
// kTimeout, a malformed record). Counted in `counters` like any request.
Awaitable<absl::StatusOr<std::optional<MeterTripRecord>>> ReadLastSelfTrip(
    BusLink& link, const dlt645::Address& address, uint8_t circuit, const PollSettings& settings,
    LinkCounters& counters);

// The campus civil time (UTC+8, projections/calendar.h) of `unix_us`, as
// meters keep it.
dlt645::DateTime CampusDateTime(int64_t unix_us);
// The inverse: Unix µs of a campus civil time (a meter's clock reading).
int64_t CampusUnixMicros(const dlt645::DateTime& time);

}  // namespace wattledger::ingest
