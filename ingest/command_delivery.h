// Carrying out one control command on its meter. A relay command is a
// remote-control frame (0x1C, valid for ten minutes of campus time) followed
// by a read of run status word 3 that must show the result:
//
//   trip              relay open
//   close-direct      relay closed
//   close-permit      relay command state "closed" (the occupant closes it)
//   keep-power        keep-power flag set
//   keep-power-clear  keep-power flag clear
//
// Parameters are written one data identifier at a time (0x14; the table in
// ingest/dlt645/README.md), every period slot of both day tables included so
// no stale period survives, each acknowledged by the meter.
#pragma once

#include <string>

#include "ingest/bus_link.h"
#include "ingest/meter_poller.h"
#include "projections/control/control_book.h"

namespace wattledger::ingest {

inline constexpr int64_t kRemoteControlValidityUs = 10 * 60'000'000LL;

struct DeliveryResult {
  bool confirmed = false;
  bool relay_open = false;  // read back
  bool link_lost = false;   // the collector connection dropped: try again on reconnect
  std::string failure;      // why not, when not confirmed
};

// One attempt at `entry` (a ControlBook entry) on the meter at `address`.
Awaitable<DeliveryResult> DeliverCommand(BusLink& link, const projections::ControlEntry& entry,
                                         const PollSettings& settings, const ledger::Clock& clock,
                                         LinkCounters& counters);

}  // namespace wattledger::ingest
