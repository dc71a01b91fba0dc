#include "projections/texts.h"

#include "absl/strings/str_format.h"
#include "projections/calendar.h"

namespace wattledger::projections {
namespace {

uint64_t Magnitude(int64_t v) {
  return v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

std::string FormatCny(int64_t fen) {
  return absl::StrFormat("%s%d.%02d", fen < 0 ? "-" : "", Magnitude(fen) / 100,
                         Magnitude(fen) % 100);
}

std::string Cny(int64_t fen) { return FormatCny(fen) + " CNY"; }

std::string KwhText(int64_t wh) {
  return absl::StrFormat("%s%d.%02d kWh", wh < 0 ? "-" : "", Magnitude(wh) / 1000,
                         Magnitude(wh) % 1000 / 10);
}

std::string CampusTimeText(int64_t t) {
  CivilDate date = CampusDate(t);
  int64_t minute = (t - DayStartUs(t)) / 60'000'000;
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d", date.year, date.month, date.day, minute / 60,
                         minute % 60);
}

}  // namespace wattledger::projections
