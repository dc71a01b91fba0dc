#include "projections/tariff.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace wattledger::projections {
namespace {

// 0.5880 and 0.6380 CNY/kWh, the prices the campus charges students.
constexpr int64_t kLow = 5880;
constexpr int64_t kHigh = 6380;

TariffVersion Tiers(std::vector<TierPrice> tiers, int64_t allowance_wh_per_year = 0) {
  return TariffVersion{.effective_from_us = 0,
                       .tiers = std::move(tiers),
                       .allowance_wh_per_year = allowance_wh_per_year};
}

TariffVersion TwoTiers(int64_t threshold_wh) {
  return Tiers(
      {{.upto_wh = threshold_wh, .price_per_kwh = kLow}, {.upto_wh = 0, .price_per_kwh = kHigh}});
}

TEST(ChargeEnergy, EnergyWithinTheAllowanceIsFreeAndKeepsTheRemainder) {
  Charge charge = ChargeEnergy(TwoTiers(1000), 300, 40, 500, 12345);
  EXPECT_EQ(charge.free_wh, 300);
  EXPECT_EQ(charge.charged_wh, 0);
  EXPECT_EQ(charge.amount_fen, 0);
  EXPECT_EQ(charge.remainder_after, 12345);
  EXPECT_EQ(charge.allowance_left_after_wh, 200);
  EXPECT_EQ(charge.month_energy_after_wh, 340);
}

TEST(ChargeEnergy, FreeFirstThenTheFirstTier) {
  Charge charge = ChargeEnergy(TwoTiers(1000), 300, 0, 100, 0);
  EXPECT_EQ(charge.free_wh, 100);
  EXPECT_EQ(charge.charged_wh, 200);
  // 200 Wh x 0.5880 CNY/kWh = 11.76 fen.
  EXPECT_EQ(charge.amount_fen, 11);
  EXPECT_EQ(charge.remainder_after, 76'000);
  EXPECT_EQ(charge.allowance_left_after_wh, 0);
  EXPECT_EQ(charge.month_energy_after_wh, 300);
}

TEST(ChargeEnergy, EnergyUpToTheThresholdIsAllFirstTier) {
  Charge at = ChargeEnergy(TwoTiers(1000), 1000, 0, 0, 0);
  EXPECT_EQ(at.amount_fen, 58);  // 58.80 fen
  EXPECT_EQ(at.remainder_after, 80'000);
  // One Wh more is at the second tier's price.
  Charge past = ChargeEnergy(TwoTiers(1000), 1001, 0, 0, 0);
  EXPECT_EQ(past.amount_fen, 58);
  EXPECT_EQ(past.remainder_after, 80'000 + kHigh);
}

TEST(ChargeEnergy, ConsumptionAlreadyAtTheThresholdPaysTheSecondTier) {
  Charge charge = ChargeEnergy(TwoTiers(1000), 10, 1000, 0, 0);
  EXPECT_EQ(charge.amount_fen, 0);
  EXPECT_EQ(charge.remainder_after, 10 * kHigh);
  EXPECT_EQ(charge.month_energy_after_wh, 1010);
}

TEST(ChargeEnergy, AChargeAcrossTheThresholdSplitsAndCarriesTheRemainder) {
  // 10 Wh at 5880 + 10 Wh at 6380 + 50000 carried = 172600 units.
  Charge charge = ChargeEnergy(TwoTiers(1000), 20, 990, 0, 50'000);
  EXPECT_EQ(charge.amount_fen, 1);
  EXPECT_EQ(charge.remainder_after, 72'600);
}

TEST(ChargeEnergy, FreeEnergyCountsTowardsTheMonthsTiers) {
  // 900 used; 150 free moves the position to 1050, so the 50 charged are tier two.
  Charge charge = ChargeEnergy(TwoTiers(1000), 200, 900, 150, 0);
  EXPECT_EQ(charge.free_wh, 150);
  EXPECT_EQ(charge.charged_wh, 50);
  EXPECT_EQ(charge.amount_fen, 3);
  EXPECT_EQ(charge.remainder_after, 19'000);
}

TEST(ChargeEnergy, ThreeTiersAreWalkedInOrder) {
  TariffVersion tariff = Tiers({{100, 1000}, {300, 2000}, {0, 3000}});
  // 50 Wh at 1000, 200 Wh at 2000, 150 Wh at 3000 = 900000 units.
  Charge charge = ChargeEnergy(tariff, 400, 50, 0, 0);
  EXPECT_EQ(charge.amount_fen, 9);
  EXPECT_EQ(charge.remainder_after, 0);
  EXPECT_EQ(charge.month_energy_after_wh, 450);
}

TEST(ChargeEnergy, RemainderRollsIntoAWholeFen) {
  Charge charge = ChargeEnergy(Tiers({{0, 1}}), 1, 0, 0, kCostUnitsPerFen - 1);
  EXPECT_EQ(charge.amount_fen, 1);
  EXPECT_EQ(charge.remainder_after, 0);
}

TEST(ChargeEnergy, NoEnergyChargesNothing) {
  Charge charge = ChargeEnergy(TwoTiers(1000), 0, 500, 7, 99'999);
  EXPECT_EQ(charge.amount_fen, 0);
  EXPECT_EQ(charge.remainder_after, 99'999);
  EXPECT_EQ(charge.allowance_left_after_wh, 7);
  EXPECT_EQ(charge.month_energy_after_wh, 500);
}

TEST(ChargeEnergy, FreeTierPriceZeroChargesNothing) {
  Charge charge = ChargeEnergy(Tiers({{100, 0}, {0, kHigh}}), 150, 0, 0, 0);
  EXPECT_EQ(charge.charged_wh, 150);
  EXPECT_EQ(charge.amount_fen, 3);  // only the 50 Wh past the free tier cost
  EXPECT_EQ(charge.remainder_after, 19'000);
}

// The sum of charged fen over many small charges is the exact cost rounded
// down once: no fen lost or created by rounding each charge.
TEST(ChargeEnergy, AMillionSmallChargesLoseAndCreateNoFen) {
  constexpr int64_t kThresholdWh = 7'000'000;  // crossed about half way
  const TariffVersion tariff = TwoTiers(kThresholdWh);
  std::mt19937_64 random(20261126);
  int64_t month_wh = 0;
  int64_t remainder = 0;
  int64_t fen = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    int64_t wh = 1 + static_cast<int64_t>(random() % 30);
    Charge charge = ChargeEnergy(tariff, wh, month_wh, 0, remainder);
    ASSERT_GE(charge.amount_fen, 0);
    ASSERT_GE(charge.remainder_after, 0);
    ASSERT_LT(charge.remainder_after, kCostUnitsPerFen);
    fen += charge.amount_fen;
    remainder = charge.remainder_after;
    month_wh = charge.month_energy_after_wh;
  }
  ASSERT_GT(month_wh, kThresholdWh);
  const int64_t exact_units = kThresholdWh * kLow + (month_wh - kThresholdWh) * kHigh;
  EXPECT_EQ(fen, exact_units / kCostUnitsPerFen);
  EXPECT_EQ(remainder, exact_units % kCostUnitsPerFen);
}

TEST(ChargeEnergy, ChargesAtChangingPricesSumExactly) {
  const int64_t prices[] = {kLow, kHigh, 5000, 1, 99'999};
  std::mt19937_64 random(7);
  int64_t remainder = 0;
  int64_t fen = 0;
  int64_t exact_units = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    int64_t wh = 1 + static_cast<int64_t>(random() % 30);
    int64_t price = prices[random() % 5];
    Charge charge = ChargeEnergy(Tiers({{0, price}}), wh, 0, 0, remainder);
    fen += charge.amount_fen;
    remainder = charge.remainder_after;
    exact_units += wh * price;
  }
  EXPECT_EQ(fen, exact_units / kCostUnitsPerFen);
  EXPECT_EQ(remainder, exact_units % kCostUnitsPerFen);
}

TEST(ChargeEnergy, FreeAllowanceIsNeverCharged) {
  // Random grants of free energy between charges: charged fen are the exact
  // cost of the energy beyond the allowance, at one price.
  std::mt19937_64 random(11);
  const TariffVersion tariff = Tiers({{0, kLow}});
  int64_t allowance = 0;
  int64_t remainder = 0;
  int64_t fen = 0;
  int64_t free_wh = 0;
  int64_t total_wh = 0;
  for (int i = 0; i < 200'000; ++i) {
    if (random() % 100 == 0) allowance += static_cast<int64_t>(random() % 500);
    int64_t wh = 1 + static_cast<int64_t>(random() % 30);
    Charge charge = ChargeEnergy(tariff, wh, 0, allowance, remainder);
    ASSERT_EQ(charge.free_wh + charge.charged_wh, wh);
    ASSERT_EQ(charge.free_wh, std::min(wh, allowance));
    allowance = charge.allowance_left_after_wh;
    remainder = charge.remainder_after;
    fen += charge.amount_fen;
    free_wh += charge.free_wh;
    total_wh += wh;
  }
  ASSERT_GT(free_wh, 0);
  const int64_t exact_units = (total_wh - free_wh) * kLow;
  EXPECT_EQ(fen, exact_units / kCostUnitsPerFen);
  EXPECT_EQ(remainder, exact_units % kCostUnitsPerFen);
}

TEST(ValidTiers, RequireRisingBoundsNonNegativePricesAndAnUnboundedLastTier) {
  EXPECT_TRUE(ValidTiers({{0, kLow}}));
  EXPECT_TRUE(ValidTiers({{100, kLow}, {200, kHigh}, {0, 7000}}));
  EXPECT_TRUE(ValidTiers({{100, 0}, {0, kHigh}}));
  EXPECT_FALSE(ValidTiers({}));
  EXPECT_FALSE(ValidTiers({{100, kLow}}));                        // bounded last tier
  EXPECT_FALSE(ValidTiers({{200, kLow}, {100, kHigh}, {0, 1}}));  // falling
  EXPECT_FALSE(ValidTiers({{100, kLow}, {100, kHigh}, {0, 1}}));  // not rising
  EXPECT_FALSE(ValidTiers({{100, kLow}, {0, kHigh}, {0, 1}}));    // unbounded in the middle
  EXPECT_FALSE(ValidTiers({{-5, kLow}, {0, kHigh}}));             // a negative bound
  EXPECT_FALSE(ValidTiers({{100, -1}, {0, kHigh}}));              // a negative price
}

TEST(Tariff, AtPicksTheLatestVersionInForce) {
  Tariff tariff{.identity_class = "undergraduate",
                .versions = {TariffVersion{.effective_from_us = 100, .tiers = {{0, 1}}},
                             TariffVersion{.effective_from_us = 200, .tiers = {{0, 2}}}}};
  EXPECT_EQ(tariff.At(99), nullptr);
  EXPECT_EQ(tariff.At(100), &tariff.versions[0]);
  EXPECT_EQ(tariff.At(199), &tariff.versions[0]);
  EXPECT_EQ(tariff.At(200), &tariff.versions[1]);
  EXPECT_EQ(tariff.At(1'000'000), &tariff.versions[1]);
}

// Campus months (UTC+8), as Unix seconds.
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kSecond;
constexpr int64_t k20261101 = 1793462400;  // 30 days
constexpr int64_t k20240201 = 1706716800;  // 29 days
constexpr int64_t k20260201 = 1769875200;  // 28 days

TEST(Allowance, MonthlyIsATwelfthOfTheYearRoundedDown) {
  EXPECT_EQ(MonthlyAllowanceWh(Tiers({{0, kLow}}, 140'000)), 11'666);
  EXPECT_EQ(MonthlyAllowanceWh(Tiers({{0, kLow}}, 120'000)), 10'000);
  EXPECT_EQ(MonthlyAllowanceWh(Tiers({{0, kLow}}, 0)), 0);
}

TEST(Allowance, ProratedByTheDaysLeftIncludingToday) {
  const TariffVersion tariff = Tiers({{0, kLow}}, 120'000);  // 10000 Wh a month
  const int64_t nov = k20261101 * kSecond;
  EXPECT_EQ(AllowanceFromDayWh(tariff, nov), 10'000);                      // the 1st
  EXPECT_EQ(AllowanceFromDayWh(tariff, nov + kMicrosPerDay - 1), 10'000);  // still the 1st
  EXPECT_EQ(AllowanceFromDayWh(tariff, nov + 15 * kMicrosPerDay), 10'000 * 15 / 30);  // the 16th
  EXPECT_EQ(AllowanceFromDayWh(tariff, nov + 29 * kMicrosPerDay), 10'000 / 30);       // the 30th
  // February: the last day is the 29th in a leap year, the 28th otherwise.
  EXPECT_EQ(AllowanceFromDayWh(tariff, k20240201 * kSecond + 28 * kMicrosPerDay), 10'000 / 29);
  EXPECT_EQ(AllowanceFromDayWh(tariff, k20260201 * kSecond + 27 * kMicrosPerDay), 10'000 / 28);
  EXPECT_EQ(AllowanceFromDayWh(tariff, k20260201 * kSecond + 14 * kMicrosPerDay), 10'000 * 14 / 28);
  // Campus time, not UTC: `nov` is 2026-10-31 16:00 UTC, already November 1st
  // on campus, while four hours earlier is October 31st, the last of 31 days.
  EXPECT_EQ(AllowanceFromDayWh(tariff, nov - 4 * 3600 * kSecond), 10'000 / 31);
}

}  // namespace
}  // namespace wattledger::projections
