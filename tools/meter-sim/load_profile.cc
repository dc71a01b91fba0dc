#include "tools/meter-sim/load_profile.h"

#include <cmath>

#include "tools/meter-sim/sim_random.h"

namespace wattledger::meter_sim {
namespace {

// Salts keep the hash streams of the components apart.
enum Salt : uint64_t {
  kSaltTraits = 1,
  kSaltPresent = 2,
  kSaltLaptop = 3,
  kSaltAirConditioner = 4,
  kSaltResistiveStart = 5,
  kSaltResistivePower = 6,
  kSaltFridge = 7,
  kSaltOccupants = 8,
};

// Chance (ppm) that an occupant is in the room during each local hour:
// asleep at night, in class in the morning and afternoon, back for lunch
// and in the evening.
constexpr uint32_t kPresentPpm[24] = {
    950'000, 960'000, 970'000, 970'000, 970'000, 970'000, 960'000, 900'000,  // 00-07
    450'000, 250'000, 250'000, 350'000, 650'000, 550'000, 300'000, 250'000,  // 08-15
    300'000, 450'000, 700'000, 800'000, 850'000, 900'000, 920'000, 940'000,  // 16-23
};
// Chance (ppm) that a present occupant is awake and using a laptop/lamp.
constexpr uint32_t kAwakePpm[24] = {
    350'000, 150'000, 50'000,  20'000,  10'000,  10'000,  30'000,  300'000,  // 00-07
    600'000, 700'000, 700'000, 700'000, 800'000, 600'000, 700'000, 700'000,  // 08-15
    750'000, 800'000, 850'000, 900'000, 950'000, 950'000, 900'000, 700'000,  // 16-23
};

// Reactive power of a component with power factor pf: P * tan(acos(pf)),
// given here as a permille ratio per power factor used below.
constexpr int32_t kTanPf065Permille = 1169;  // laptops, chargers (switch-mode)
constexpr int32_t kTanPf050Permille = 1732;  // standby supplies
constexpr int32_t kTanPf070Permille = 1020;  // fridge compressor
constexpr int32_t kTanPf090Permille = 484;   // LED lights, inverter air conditioner

void Add(Load& load, int32_t active_w, int32_t tan_permille) {
  load.active_w += active_w;
  load.reactive_var += active_w * tan_permille / 1000;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t ApparentVa(const Load& load) {
  const int64_t p = load.active_w;
  const int64_t q = load.reactive_var;
  const uint64_t square = static_cast<uint64_t>(p * p + q * q);
  auto root = static_cast<uint64_t>(std::sqrt(static_cast<double>(square)));
  // Exact integer square root: correct the floating estimate.
  while (root * root > square) --root;
  while ((root + 1) * (root + 1) <= square) ++root;
  return static_cast<int64_t>(root);
}

int32_t PowerFactorMilli(const Load& load) {
  const int64_t apparent = ApparentVa(load);
  if (apparent == 0) return 1000;
  int64_t pf = (static_cast<int64_t>(load.active_w) * 1000 + apparent / 2) / apparent;
  if (pf > 1000) pf = 1000;
  if (pf < -1000) pf = -1000;
  return static_cast<int32_t>(pf);
}

bool IsResistive(const Load& step, int32_t power_factor_milli_min) {
  if (step.active_w <= 0) return false;
  // P / sqrt(P^2 + Q^2) >= m / 1000  <=>  P^2 * 10^6 >= m^2 * (P^2 + Q^2).
  const __int128 p = step.active_w;
  const __int128 q = step.reactive_var;
  const __int128 m = power_factor_milli_min;
  return p * p * 1'000'000 >= m * m * (p * p + q * q);
}

int RoomOccupants(uint64_t room_seed) {
  return 1 + static_cast<int>(Below(Hash({room_seed, kSaltOccupants}), 4));
}

Load RoomLoad(uint64_t room_seed, int64_t minute, const LoadProfileOptions& options) {
  const int64_t local_minute = minute + FloorDiv(options.utc_offset_s, 60);
  const int64_t hour_index = FloorDiv(local_minute, 60);
  const int hour = static_cast<int>(hour_index - FloorDiv(hour_index, 24) * 24);
  const uint64_t traits = Hash({room_seed, kSaltTraits});

  Load load;
  // Standby: router, chargers left plugged in, 10..49 W.
  Add(load, 10 + static_cast<int32_t>(Below(traits, 40)), kTanPf050Permille);
  // A fridge in 30% of the rooms: compressor on 15 minutes of every 45.
  if (Below(traits >> 8, 10) < 3) {
    const int64_t phase = static_cast<int64_t>(Below(Hash({room_seed, kSaltFridge}), 45));
    const int64_t cycle = (minute + phase) % 45;
    if (cycle < 15)
      Add(load, 70 + static_cast<int32_t>(Below(traits >> 16, 30)), kTanPf070Permille);
  }

  const int occupants = RoomOccupants(room_seed);
  int present = 0;
  int awake = 0;
  for (int person = 0; person < occupants; ++person) {
    const uint64_t h = Hash({room_seed, kSaltPresent, static_cast<uint64_t>(hour_index),
                             static_cast<uint64_t>(person)});
    if (!ChancePpm(h, kPresentPpm[hour])) continue;
    ++present;
    if (!ChancePpm(Mix64(h), kAwakePpm[hour])) continue;
    ++awake;
    // A laptop or desktop: 30..119 W, varying by the quarter hour.
    const uint64_t use = Hash({room_seed, kSaltLaptop, static_cast<uint64_t>(person),
                               static_cast<uint64_t>(FloorDiv(minute, 15))});
    Add(load, 30 + static_cast<int32_t>(Below(use, 90)), kTanPf065Permille);
  }
  // Lights when someone is awake in the evening or early morning.
  if (awake > 0 && (hour >= 17 || hour < 8)) Add(load, 36, kTanPf090Permille);
  // An air conditioner in half the rooms, on in some hours when people are in.
  if (present > 0 && Below(traits >> 24, 2) == 0) {
    const uint64_t h = Hash({room_seed, kSaltAirConditioner, static_cast<uint64_t>(hour_index)});
    if (ChancePpm(h, 250'000))
      Add(load, 600 + static_cast<int32_t>(Below(h >> 20, 600)), kTanPf090Permille);
  }
  // A resistive appliance: starts at a 5-minute block, runs 3 minutes.
  if (awake > 0) {
    const int64_t block = FloorDiv(minute, 5);
    const uint64_t h = Hash({room_seed, kSaltResistiveStart, static_cast<uint64_t>(block)});
    if (minute - block * 5 < 3 && ChancePpm(h, options.resistive_ppm)) {
      const uint64_t power = Hash({room_seed, kSaltResistivePower, static_cast<uint64_t>(block)});
      Add(load, 800 + static_cast<int32_t>(Below(power, 1000)), 0);
    }
  }
  return load;
}

}  // namespace wattledger::meter_sim
