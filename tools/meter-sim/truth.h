// The truth file: what the simulator holds, for tests that compare the
// ledger against it. Rewritten atomically (temporary file + rename) so a
// reader never sees half a file. Grammar (one JSON object):
//
//   {"version":1, "seed":S, "speed":K, "sim_time_us":T, "sim_time":"YYYY-MM-DDThh:mm:ss",
//    "gateways":[{"id", "mode":"server"|"client", "address", "registration",
//                 "meters", "connections", "bus":{counters}, "link":{counters}}, ...],
//    "meters":{"<address>" (circuit 1) or "<address>/<circuit>" (2..4): {
//       "gateway", "room", "circuit",
//       "register_wh"      exact register (Wh, modulo 10^9 = after 999 999.99 kWh)
//       "displayed_wh"     what a read answers now (10 Wh steps)
//       "consumed_wh"      energy since the simulator started (never rolls over)
//       "answered_wh"      last energy value delivered intact on the bus (-1: none yet)
//       "answered_energy_reads", "answered_at_us",
//       "relay":"closed"|"open", "relay_command":"closed"|"open" (a remote trip in force),
//       "keep_power", "alarm", "powered", "awaiting_user_close",
//       "self_trip": null | "load_limit"|"malicious_load"|"schedule"|"night_limit",
//       "schedule_action":"unused"|"off"|"on"|"night",
//       "power_w" (metered), "room_power_w" (what the room would draw), "meter_time",
//       "parameters":{"load_limit_w", "malicious_power_w", "malicious_power_factor_milli",
//                     "recovery_delay_min", "overdraft_limit_fen",
//                     "workday":[{"slot":1..8,"time":"hh:mm","action","night_power_w"}...],
//                     "holiday":[...]}   (used slots only),
//       "trip_count", "trips":[{"reason","at_us","at","meter_time","power_w"}...] (last 32)}}}
//
// Times "at"/"sim_time" are local civil time (UTC + the profile's offset).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/meter-sim/building.h"
#include "tools/meter-sim/bus.h"
#include "tools/meter-sim/collector.h"

namespace wattledger::meter_sim {

struct GatewayTruth {
  GatewaySpec spec;
  std::string address;
  size_t connections = 0;
  BusStats bus = {};
  CollectorStats link = {};
  std::vector<CircuitTruth> circuits;
};

struct TruthHeader {
  uint64_t seed = 0;
  double speed = 1;
  int64_t sim_now_us = 0;
  int32_t utc_offset_s = 0;
};

std::string TruthJson(const TruthHeader& header, const std::vector<GatewayTruth>& gateways);

// Writes `contents` to `path` through `path`.tmp and a rename. kUnavailable on I/O errors.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace wattledger::meter_sim
