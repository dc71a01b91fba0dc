// What a dormitory room draws, minute by minute: a pure function of the
// room's seed and the minute, shaped by the hour of day and by who is in the
// room. The meter model (meter_model.h) meters it; nothing here knows about
// relays or registers.
//
// The room: standby load (router, chargers), a fridge on some rooms cycling
// its compressor, one laptop per occupant present and awake, lights in the
// evening, an air conditioner in some rooms, and now and then a resistive
// appliance (kettle, hair dryer, heater; power factor 1) for three minutes —
// the "malicious load" dormitory meters are built to catch. Occupancy is
// decided per occupant per hour from a table of hours (asleep at night, away
// in class in the day, most present in the evening).
#pragma once

#include <cstdint>

namespace wattledger::meter_sim {

// A load as active and reactive power; apparent power and power factor follow.
struct Load {
  int32_t active_w = 0;
  int32_t reactive_var = 0;
  friend bool operator==(const Load&, const Load&) = default;
};

// Apparent power in VA (rounded down).
int64_t ApparentVa(const Load& load);
// Power factor in thousandths (0..1000); 1000 for no load.
int32_t PowerFactorMilli(const Load& load);
// True when `step` (the added load) looks resistive: its power factor is at
// least `power_factor_milli_min`. Exact integer comparison.
bool IsResistive(const Load& step, int32_t power_factor_milli_min);

struct LoadProfileOptions {
  // Chance per 5-minute block that an occupied, awake room starts a
  // resistive appliance (parts per million). 10'000 = about 2 a day.
  uint32_t resistive_ppm = 10'000;
  // Local time = UTC + this, for the hour-of-day shape.
  int32_t utc_offset_s = 8 * 3600;
};

inline constexpr int64_t kMinuteUs = 60'000'000;

// The room's load during the minute [minute * 60 s, minute * 60 s + 60 s) of
// Unix time. Pure: the same arguments give the same load.
Load RoomLoad(uint64_t room_seed, int64_t minute, const LoadProfileOptions& options);

// How many occupants the room has (1..4), from its seed.
int RoomOccupants(uint64_t room_seed);

}  // namespace wattledger::meter_sim
