// Campus days and periods as the reports name them in their keys and rows:
// "2026-09-21", "2026-09", "2026-Q3", "2026". Each is fixed-width text that
// sorts in time order, so a date range is a key range. Pure functions over
// event times (projections/calendar.h: campus time, UTC+8).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wattledger::projections::reports {

enum class Period : uint8_t { kMonth = 0, kQuarter = 1, kYear = 2, kDay = 3 };
inline constexpr Period kPeriods[] = {Period::kDay, Period::kMonth, Period::kQuarter,
                                      Period::kYear};

// "day", "month", "quarter", "year".
absl::string_view PeriodName(Period period);
// kInvalidArgument for anything but the four names.
absl::StatusOr<Period> ParsePeriod(absl::string_view name);

// The campus day of `time_us`: "2026-09-21".
std::string DayOf(int64_t time_us);
// The campus day, month, quarter or year of `time_us`: "2026-09-21", "2026-09",
// "2026-Q3", "2026".
std::string PeriodOf(Period period, int64_t time_us);

// The first microsecond of campus day `day` ("YYYY-MM-DD"); kInvalidArgument
// when it is not a real date in that form.
absl::StatusOr<int64_t> DayStartOf(absl::string_view day);

// An inclusive range of campus days; an empty end is open.
struct DayRange {
  std::string since;  // "YYYY-MM-DD" or ""
  std::string until;  // "YYYY-MM-DD" or ""
};
// kInvalidArgument when a bound is malformed or since is after until.
absl::Status Validate(const DayRange& range);

}  // namespace wattledger::projections::reports
