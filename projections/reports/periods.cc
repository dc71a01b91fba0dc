#include "projections/reports/periods.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "projections/calendar.h"

namespace wattledger::projections::reports {

absl::string_view PeriodName(Period period) {
  switch (period) {
    case Period::kMonth:
      return "month";
    case Period::kQuarter:
      return "quarter";
    case Period::kYear:
      return "year";
    case Period::kDay:
      return "day";
  }
  return "month";
}

absl::StatusOr<Period> ParsePeriod(absl::string_view name) {
  for (Period period : kPeriods) {
    if (PeriodName(period) == name) return period;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("period '", name, "' is not day, month, quarter or year"));
}

std::string DayOf(int64_t time_us) {
  CivilDate date = CampusDate(time_us);
  return absl::StrFormat("%04d-%02d-%02d", date.year, date.month, date.day);
}

std::string PeriodOf(Period period, int64_t time_us) {
  CivilDate date = CampusDate(time_us);
  switch (period) {
    case Period::kMonth:
      return absl::StrFormat("%04d-%02d", date.year, date.month);
    case Period::kQuarter:
      return absl::StrFormat("%04d-Q%d", date.year, (date.month - 1) / 3 + 1);
    case Period::kYear:
      return absl::StrFormat("%04d", date.year);
    case Period::kDay:
      return DayOf(time_us);
  }
  return "";
}

absl::StatusOr<int64_t> DayStartOf(absl::string_view day) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(absl::StrCat("'", day, "' is not a date (YYYY-MM-DD)"));
  };
  int year = 0;
  int month = 0;
  int day_of_month = 0;
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return bad();
  for (size_t i = 0; i < day.size(); ++i) {
    if (i != 4 && i != 7 && !absl::ascii_isdigit(static_cast<unsigned char>(day[i]))) return bad();
  }
  if (!absl::SimpleAtoi(day.substr(0, 4), &year) || !absl::SimpleAtoi(day.substr(5, 2), &month) ||
      !absl::SimpleAtoi(day.substr(8, 2), &day_of_month)) {
    return bad();
  }
  absl::CivilDay civil(year, month, day_of_month);
  // CivilDay normalises out-of-range fields (2026-02-30 is 2026-03-02): refuse those.
  if (civil.year() != year || civil.month() != month || civil.day() != day_of_month) return bad();
  absl::Time start = absl::FromCivil(civil, absl::FixedTimeZone(kCampusUtcOffsetSeconds));
  return absl::ToUnixMicros(start);
}

absl::Status Validate(const DayRange& range) {
  int64_t since_us = INT64_MIN;
  int64_t until_us = INT64_MAX;
  if (!range.since.empty()) {
    auto start = DayStartOf(range.since);
    if (!start.ok()) return start.status();
    since_us = *start;
  }
  if (!range.until.empty()) {
    auto start = DayStartOf(range.until);
    if (!start.ok()) return start.status();
    until_us = *start;
  }
  if (since_us > until_us) {
    return absl::InvalidArgumentError(
        absl::StrCat("since ", range.since, " is after until ", range.until));
  }
  return absl::OkStatus();
}

}  // namespace wattledger::projections::reports
