#include "projections/calendar.h"

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace wattledger::projections {
namespace {

const absl::TimeZone& CampusZone() {
  static const absl::TimeZone zone = absl::FixedTimeZone(kCampusUtcOffsetSeconds);
  return zone;
}

absl::CivilSecond Civil(int64_t time_us) {
  return absl::ToCivilSecond(absl::FromUnixMicros(time_us), CampusZone());
}

int64_t Micros(absl::CivilSecond civil) {
  return absl::ToUnixMicros(absl::FromCivil(civil, CampusZone()));
}

}  // namespace

int64_t MonthStartUs(int64_t time_us) { return Micros(absl::CivilMonth(Civil(time_us))); }

int64_t NextMonthStartUs(int64_t time_us) { return Micros(absl::CivilMonth(Civil(time_us)) + 1); }

int64_t DayStartUs(int64_t time_us) { return Micros(absl::CivilDay(Civil(time_us))); }

int DaysInMonth(int64_t time_us) {
  absl::CivilMonth month(Civil(time_us));
  return static_cast<int>(absl::CivilDay(month + 1) - absl::CivilDay(month));
}

int DayOfMonth(int64_t time_us) { return Civil(time_us).day(); }

CivilDate CampusDate(int64_t time_us) {
  absl::CivilSecond civil = Civil(time_us);
  return CivilDate{static_cast<int>(civil.year()), civil.month(), civil.day()};
}

}  // namespace wattledger::projections
