#include "projections/tariff.h"

#include <algorithm>

#include "ledger/status_macros.h"
#include "projections/calendar.h"

namespace wattledger::projections {

const TariffVersion* Tariff::At(int64_t time_us) const {
  const TariffVersion* found = nullptr;
  for (const TariffVersion& version : versions) {
    if (version.effective_from_us <= time_us) found = &version;
  }
  return found;
}

bool ValidTiers(const std::vector<TierPrice>& tiers) {
  if (tiers.empty() || tiers.back().upto_wh != 0) return false;
  int64_t previous = 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].price_per_kwh < 0) return false;
    if (i + 1 < tiers.size() && tiers[i].upto_wh <= previous) return false;
    previous = tiers[i].upto_wh;
  }
  return true;
}

Charge ChargeEnergy(const TariffVersion& tariff, int64_t energy_wh, int64_t month_energy_wh,
                    int64_t allowance_left_wh, int64_t remainder) {
  WL_CHECK(energy_wh >= 0 && month_energy_wh >= 0 && allowance_left_wh >= 0);
  WL_CHECK(remainder >= 0 && remainder < kCostUnitsPerFen);
  Charge charge;
  charge.free_wh = std::min(energy_wh, allowance_left_wh);
  charge.allowance_left_after_wh = allowance_left_wh - charge.free_wh;
  charge.charged_wh = energy_wh - charge.free_wh;

  // Walk the tiers by monthly consumption; the free part comes first.
  int64_t position = month_energy_wh + charge.free_wh;
  int64_t left = charge.charged_wh;
  int64_t units = remainder;
  for (const TierPrice& tier : tariff.tiers) {
    if (left == 0) break;
    int64_t room_in_tier = tier.upto_wh == 0 ? left : std::max<int64_t>(0, tier.upto_wh - position);
    int64_t here = std::min(left, room_in_tier);
    units += here * tier.price_per_kwh;
    position += here;
    left -= here;
  }
  WL_CHECK(left == 0);
  charge.amount_fen = units / kCostUnitsPerFen;
  charge.remainder_after = units % kCostUnitsPerFen;
  charge.month_energy_after_wh = month_energy_wh + energy_wh;
  return charge;
}

int64_t MonthlyAllowanceWh(const TariffVersion& tariff) {
  return tariff.allowance_wh_per_year / 12;
}

int64_t AllowanceFromDayWh(const TariffVersion& tariff, int64_t from_us) {
  int64_t days = DaysInMonth(from_us);
  int64_t remaining_days = days - DayOfMonth(from_us) + 1;
  return MonthlyAllowanceWh(tariff) * remaining_days / days;
}

}  // namespace wattledger::projections
