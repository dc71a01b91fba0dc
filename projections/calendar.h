// The campus calendar: months and days in campus time (UTC+8, no daylight
// saving), computed from event times only. Pure functions.
#pragma once

#include <cstdint>

namespace wattledger::projections {

inline constexpr int64_t kCampusUtcOffsetSeconds = 8 * 3600;
inline constexpr int64_t kMicrosPerDay = 86'400'000'000;

// The first microsecond of the campus month containing `time_us`.
int64_t MonthStartUs(int64_t time_us);
// The first microsecond of the next campus month.
int64_t NextMonthStartUs(int64_t time_us);
// The first microsecond of the campus day containing `time_us`.
int64_t DayStartUs(int64_t time_us);
int DaysInMonth(int64_t time_us);
// 1-based day of the campus month.
int DayOfMonth(int64_t time_us);
// "2026-11" and "2026-11-26" in campus time, for reports.
struct CivilDate {
  int year = 0;
  int month = 0;
  int day = 0;
};
CivilDate CampusDate(int64_t time_us);

}  // namespace wattledger::projections
