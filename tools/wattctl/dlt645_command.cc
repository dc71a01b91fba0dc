// wattctl dlt645: DL/T 645-2007 frames offline, for commissioning and
// debugging meters by hand. `decode` prints each frame in its hex input as a
// JSON line (FE preambles and junk skipped, bad frames reported as errors);
// `encode` prints one request as hex, ready for a serial terminal or a
// collector's test page. Everything is done by ingest/dlt645; no server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ingest/dlt645/describe.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/frame.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"
#include "ingest/dlt645/values.h"
#include "ledger/structured_log.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/flags.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(std::string, di, "", "dlt645 encode: the data identifier, 8 hex digits (00010000)");
ABSL_FLAG(std::string, action, "",
          "dlt645 encode control: trip, close-permit, close-direct, keep-power, keep-power-clear");
ABSL_FLAG(
    std::string, valid_until, "",
    "dlt645 encode control: deadline YYYY-MM-DDThh:mm:ss, meter local time (default: +10 min)");
ABSL_FLAG(std::string, at, "", "dlt645 encode time: YYYY-MM-DDThh:mm:ss (default: now, local)");
ABSL_FLAG(std::string, password, "02000000",
          "dlt645 encode write/control: PA P0 P1 P2 as 8 hex digits");
ABSL_FLAG(std::string, operator_code, "00000000", "dlt645 encode write/control: 8 hex digits");
ABSL_FLAG(std::string, parameter, "",
          "dlt645 encode write: load-limit, malicious-load-power, malicious-load-power-factor, "
          "recovery-delay, overdraft-limit, workday-period, holiday-period");
ABSL_FLAG(int64_t, value, 0, "dlt645 encode write: the parameter's value (W, 0.001, min, fen)");
ABSL_FLAG(int32_t, slot, 1, "dlt645 encode write: on/off period number 1-8");
ABSL_FLAG(std::string, schedule, "", "dlt645 encode write: a period, hh:mm,on|off|night[,W]");
ABSL_FLAG(std::string, value_hex, "", "dlt645 encode write --di: the raw value bytes, low first");
ABSL_FLAG(uint32_t, preamble, 4, "dlt645 encode: FE wake-up bytes before the frame (0-4)");

namespace wattledger::wattctl {
namespace {

namespace dlt645 = ingest::dlt645;

// Every failure here comes from the flags or the hex given: bad usage.
int Refuse(const absl::Status& status) { return Usage(status.message()); }

int PrintFrame(const absl::StatusOr<dlt645::Frame>& frame) {
  if (!frame.ok()) return Refuse(frame.status());
  auto wire = dlt645::EncodeFrame(*frame, absl::GetFlag(FLAGS_preamble));
  if (!wire.ok()) return Refuse(wire.status());
  std::printf("%s\n", dlt645::ToHex(*wire).c_str());
  return 0;
}

dlt645::DateTime LocalNow(absl::Duration offset) {
  absl::CivilSecond now = absl::ToCivilSecond(absl::Now() + offset, absl::LocalTimeZone());
  return dlt645::DateTime{.year = static_cast<int>(now.year()),
                          .month = now.month(),
                          .day = now.day(),
                          .hour = now.hour(),
                          .minute = now.minute(),
                          .second = now.second()};
}

absl::StatusOr<dlt645::DateTime> TimeFlag(const std::string& text, absl::Duration default_offset) {
  if (text.empty() || text == "now") return LocalNow(default_offset);
  return dlt645::ParseDateTime(text);
}

absl::StatusOr<dlt645::Address> AddressFlag() {
  std::string address = absl::GetFlag(FLAGS_address);
  if (address.empty()) return absl::InvalidArgumentError("--address 12DIGITS is required");
  return dlt645::Address::Parse(address);
}

absl::StatusOr<dlt645::Credentials> CredentialsFlags() {
  auto password = dlt645::ParseHex4(absl::GetFlag(FLAGS_password));
  if (!password.ok()) return password.status();
  auto operator_code = dlt645::ParseHex4(absl::GetFlag(FLAGS_operator_code));
  if (!operator_code.ok()) return operator_code.status();
  return dlt645::Credentials{.password = *password, .operator_code = *operator_code};
}

absl::StatusOr<dlt645::Frame> EncodeRead() {
  auto address = AddressFlag();
  if (!address.ok()) return address.status();
  auto id = dlt645::ParseDataId(absl::GetFlag(FLAGS_di));
  if (!id.ok()) return id.status();
  int circuit = static_cast<int>(absl::GetFlag(FLAGS_circuit));
  if (circuit != 1) {
    id = dlt645::CircuitDataId(*id, circuit);
    if (!id.ok()) return id.status();
  }
  return dlt645::ReadRequest(*address, *id);
}

absl::StatusOr<dlt645::Frame> EncodeControl() {
  auto address = AddressFlag();
  if (!address.ok()) return address.status();
  auto action = dlt645::ParseRemoteAction(absl::GetFlag(FLAGS_action));
  if (!action.ok()) return action.status();
  auto valid_until = TimeFlag(absl::GetFlag(FLAGS_valid_until), absl::Minutes(10));
  if (!valid_until.ok()) return valid_until.status();
  auto credentials = CredentialsFlags();
  if (!credentials.ok()) return credentials.status();
  return dlt645::RemoteControlRequest(
      *address, dlt645::RemoteControlCommand{
                    .credentials = *credentials, .action = *action, .valid_until = *valid_until});
}

// The DI and value bytes of `encode write`: a named parameter or raw --di/--value-hex.
absl::StatusOr<std::pair<dlt645::DataId, std::vector<uint8_t>>> WriteTarget() {
  std::string name = absl::GetFlag(FLAGS_parameter);
  if (name.empty()) {
    auto id = dlt645::ParseDataId(absl::GetFlag(FLAGS_di));
    if (!id.ok()) return id.status();
    auto value = dlt645::ParseHex(absl::GetFlag(FLAGS_value_hex));
    if (!value.ok()) return value.status();
    return std::make_pair(*id, *value);
  }
  auto parameter = dlt645::ParseParameter(name);
  if (!parameter.ok()) return parameter.status();
  bool period = *parameter == dlt645::Parameter::kWorkdayPeriod ||
                *parameter == dlt645::Parameter::kHolidayPeriod;
  auto id = dlt645::ParameterDataId(
      dlt645::ParameterId{.parameter = *parameter,
                          .circuit = static_cast<int>(absl::GetFlag(FLAGS_circuit)),
                          .period = period ? absl::GetFlag(FLAGS_slot) : 0});
  if (!id.ok()) return id.status();
  absl::StatusOr<std::vector<uint8_t>> value;
  if (period) {
    auto schedule = dlt645::ParseSchedulePeriod(absl::GetFlag(FLAGS_schedule));
    if (!schedule.ok()) return schedule.status();
    value = dlt645::EncodeSchedulePeriod(*schedule);
  } else {
    value = dlt645::EncodeScalarParameter(*parameter, absl::GetFlag(FLAGS_value));
  }
  if (!value.ok()) return value.status();
  return std::make_pair(*id, *value);
}

absl::StatusOr<dlt645::Frame> EncodeWrite() {
  auto address = AddressFlag();
  if (!address.ok()) return address.status();
  auto target = WriteTarget();
  if (!target.ok()) return target.status();
  auto credentials = CredentialsFlags();
  if (!credentials.ok()) return credentials.status();
  return dlt645::WriteRequest(*address, target->first, *credentials, target->second);
}

}  // namespace

int Dlt645Decode(const std::string& hex) {
  if (hex.empty()) return Usage("dlt645 decode needs the frame as hex");
  auto bytes = dlt645::ParseHex(hex);
  if (!bytes.ok()) return Refuse(bytes.status());
  dlt645::FrameDecoder decoder;
  decoder.Append(*bytes);
  int frames = 0;
  int errors = 0;
  while (auto next = decoder.Next()) {
    if (next->ok()) {
      std::printf("%s\n", dlt645::FrameToJson(**next).c_str());
      ++frames;
      continue;
    }
    std::printf("{\"error\":\"%s\",\"message\":%s}\n",
                std::string(dlt645::ErrorName(dlt645::ErrorOf(next->status()))).c_str(),
                ledger::JsonEscape(next->status().message()).c_str());
    ++errors;
  }
  if (decoder.buffered_bytes() > 0 || frames + errors == 0) {
    std::printf("{\"error\":\"truncated\",\"message\":%s}\n",
                ledger::JsonEscape(
                    absl::StrCat(decoder.buffered_bytes(), " bytes left without a complete frame"))
                    .c_str());
    ++errors;
  }
  return errors == 0 ? 0 : 1;
}

int Dlt645Encode(const std::string& what) {
  if (what == "read") return PrintFrame(EncodeRead());
  if (what == "control") return PrintFrame(EncodeControl());
  if (what == "write") return PrintFrame(EncodeWrite());
  if (what == "address") return PrintFrame(dlt645::ReadAddressRequest());
  if (what == "time") {
    auto at = TimeFlag(absl::GetFlag(FLAGS_at), absl::ZeroDuration());
    if (!at.ok()) return Refuse(at.status());
    return PrintFrame(dlt645::BroadcastTimeRequest(*at));
  }
  return Usage(absl::StrCat("no dlt645 encode ", what));
}

}  // namespace wattledger::wattctl
