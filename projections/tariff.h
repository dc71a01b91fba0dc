// Tariffs and the cost rule. Prices are in 0.0001 CNY per kWh, energy in Wh,
// money in fen, so the exact cost of `wh` at `price` is wh * price / 100000
// fen. Each account carries the sub-fen remainder (in 1/100000 fen) into its
// next charge: the sum of charged fen never differs from the exact cost of
// the energy by a fen or more. Pure functions over plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wattledger::projections {

// 1 fen = 100000 units of (Wh x 0.0001 CNY/kWh).
inline constexpr int64_t kCostUnitsPerFen = 100'000;

struct TierPrice {
  int64_t upto_wh = 0;  // monthly room consumption this tier reaches; 0: unbounded
  int64_t price_per_kwh = 0;
};

struct TariffVersion {
  int64_t effective_from_us = 0;
  std::vector<TierPrice> tiers;  // ascending upto_wh, last unbounded
  int64_t allowance_wh_per_year = 0;
};

// The versions of one identity class's tariff, ascending by effective time.
struct Tariff {
  std::string identity_class;
  std::vector<TariffVersion> versions;
  // The version in force at `time_us`, or nullptr before the first.
  const TariffVersion* At(int64_t time_us) const;
};

struct Charge {
  int64_t free_wh = 0;
  int64_t charged_wh = 0;
  int64_t amount_fen = 0;
  int64_t remainder_after = 0;
  int64_t month_energy_after_wh = 0;
  int64_t allowance_left_after_wh = 0;
};

// Charges `energy_wh` consumed by a room that has used `month_energy_wh` this
// month and has `allowance_left_wh` free energy left: free energy first, then
// the tiers by monthly consumption, carrying `remainder` forward.
Charge ChargeEnergy(const TariffVersion& tariff, int64_t energy_wh, int64_t month_energy_wh,
                    int64_t allowance_left_wh, int64_t remainder);

// An occupant's free energy for a whole month, and prorated for the part of
// the month from `from_us` on (move-in) or before it (move-out).
int64_t MonthlyAllowanceWh(const TariffVersion& tariff);
int64_t AllowanceFromDayWh(const TariffVersion& tariff, int64_t from_us);

// Checks tiers are ascending with one unbounded last tier and prices >= 0.
bool ValidTiers(const std::vector<TierPrice>& tiers);

}  // namespace wattledger::projections
