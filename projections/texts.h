// How amounts, energy and times read in the texts the domain writes for
// people (reasons, alarms, reminders): one way everywhere, since these texts
// are part of signed events and replay must rebuild them byte for byte.
#pragma once

#include <cstdint>
#include <string>

namespace wattledger::projections {

std::string FormatCny(int64_t fen);     // "-12.34"
std::string Cny(int64_t fen);           // "-12.34 CNY"
std::string KwhText(int64_t wh);        // "1013.63 kWh" (down to 10 Wh)
std::string CampusTimeText(int64_t t);  // "2026-11-26 23:41", campus time (UTC+8)

}  // namespace wattledger::projections
