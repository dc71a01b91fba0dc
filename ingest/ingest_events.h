// The events the meter side signs with the ingest key, as canonical
// EventBody bytes, and their idempotency keys (unique per signer, so a retry
// after a crash returns the first result instead of appending twice):
//
//   ReadingsBatch         readings/<gateway>/<sweep started, us>
//   GatewayStatusChanged  link/<run id>/<n>   (a fresh key per change)
//   MeterStatusChanged    link/<run id>/<n>
//   ControlDelivered      control/<command seq>/outcome
//   ControlFailed         control/<command seq>/outcome
//
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/schema/event.capnp.h"

namespace wattledger::ingest {

// The meter's record of its last self-trip (Reading.lastTrip), in the
// ledger's units: the meter's local time already converted to Unix time.
struct MeterTripRecord {
  schema::MeterTripReason reason = schema::MeterTripReason::UNKNOWN;
  int64_t at_us = 0;
  int32_t power_before_w = 0;
  int32_t power_w = 0;
  int32_t power_factor_milli = 0;
  uint32_t trip_count = 0;
};

// One meter circuit's values from one sweep, in the ledger's integer units.
struct MeterSample {
  std::string meter_address;
  uint8_t circuit = 1;
  int64_t read_at_us = 0;
  int64_t total_wh = 0;
  int32_t voltage_dv = 0;
  int32_t current_ma = 0;
  int32_t power_w = 0;
  int32_t power_factor_milli = 0;
  bool relay_open = false;
  // Read only in the sweep that first sees the relay open (GatewaySession).
  std::optional<MeterTripRecord> last_trip;
};

// Communication counters of one meter since the ingest service started.
struct LinkCounters {
  uint64_t requests = 0;
  uint64_t timeouts = 0;
  uint64_t checksum_errors = 0;
  uint64_t garbled_replies = 0;
  uint64_t abnormal_replies = 0;
};

std::string ReadingsBatchBody(const std::string& gateway_id, int64_t sweep_started_us,
                              int64_t issued_at_us, const std::vector<MeterSample>& samples);
std::string GatewayStatusBody(const std::string& idempotency_key, const std::string& gateway_id,
                              schema::LinkState state, const std::string& detail,
                              const std::string& peer, int64_t issued_at_us);
std::string MeterStatusBody(const std::string& idempotency_key, const std::string& meter_address,
                            const std::string& gateway_id, schema::LinkState state,
                            const std::string& detail, const LinkCounters& counters,
                            int64_t issued_at_us);
std::string ControlDeliveredBody(uint64_t command_seq, const std::string& meter_address,
                                 uint32_t attempts, bool relay_open, int64_t issued_at_us);
std::string ControlFailedBody(uint64_t command_seq, const std::string& meter_address,
                              uint32_t attempts, const std::string& reason, int64_t issued_at_us);

}  // namespace wattledger::ingest
