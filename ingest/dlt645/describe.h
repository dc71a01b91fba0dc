// A readable JSON rendering of one DL/T 645 frame, for `wattctl dlt645
// decode`, logs and tests: the link fields, then what the function's data
// means (DI and value in engineering units, write fields, remote-control
// command, time, error word). Never fails: parts that do not parse are shown
// as "<field>_error": "<Error name>".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ingest/dlt645/frame.h"

namespace wattledger::ingest::dlt645 {

// One JSON object on one line, e.g.
// {"address":"123456789012","control":"91","function":"read","reply":true,
//  "abnormal":false,"follow_up":false,"length":8,"data":"0000010056341200",
//  "di":"00010000","value":{"di":"00010000","name":"forward_active_energy",...}}
std::string FrameToJson(const Frame& frame);

// Names of the bits set in an abnormal reply's error word ("other",
// "no_data", "password", "baud_rate", "year_zones", "daily_periods",
// "tariffs", "reserved").
std::vector<std::string> MeterErrorNames(uint8_t error_word);

}  // namespace wattledger::ingest::dlt645
