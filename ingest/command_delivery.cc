#include "ingest/command_delivery.h"

#include "absl/strings/str_cat.h"
#include "ingest/dlt645/error.h"
#include "ingest/dlt645/parameters.h"
#include "ledger/event_format.h"

namespace wattledger::ingest {
namespace {

namespace d = dlt645;

d::RemoteAction ActionOf(schema::RelayAction action) {
  switch (action) {
    case schema::RelayAction::TRIP:
      return d::RemoteAction::kTrip;
    case schema::RelayAction::CLOSE_PERMIT:
      return d::RemoteAction::kClosePermit;
    case schema::RelayAction::CLOSE_DIRECT:
      return d::RemoteAction::kCloseDirect;
    case schema::RelayAction::KEEP_POWER:
      return d::RemoteAction::kKeepPower;
    case schema::RelayAction::KEEP_POWER_CLEAR:
      return d::RemoteAction::kKeepPowerClear;
  }
  return d::RemoteAction::kTrip;
}

bool Shows(schema::RelayAction action, const d::RunStatus3& status) {
  switch (action) {
    case schema::RelayAction::TRIP:
      return status.relay_open;
    case schema::RelayAction::CLOSE_DIRECT:
      return !status.relay_open;
    case schema::RelayAction::CLOSE_PERMIT:
      return !status.relay_command_open;
    case schema::RelayAction::KEEP_POWER:
      return status.keep_power;
    case schema::RelayAction::KEEP_POWER_CLEAR:
      return !status.keep_power;
  }
  return false;
}

DeliveryResult Failure(const absl::Status& status, absl::string_view doing) {
  DeliveryResult result;
  result.link_lost = status.code() == absl::StatusCode::kUnavailable;
  result.failure =
      absl::StrCat(doing, ": ", d::ErrorName(d::ErrorOf(status)), " (", status.message(), ")");
  return result;
}

struct Write {
  d::DataId id = 0;
  std::vector<uint8_t> value;
};

absl::Status AddScalar(std::vector<Write>& writes, d::Parameter parameter, uint8_t circuit,
                       int64_t value) {
  auto id = d::ParameterDataId({parameter, circuit, 0});
  if (!id.ok()) return id.status();
  auto bytes = d::EncodeScalarParameter(parameter, value);
  if (!bytes.ok()) return bytes.status();
  writes.push_back({*id, std::move(*bytes)});
  return absl::OkStatus();
}

absl::Status AddPeriods(std::vector<Write>& writes, d::Parameter table, uint8_t circuit,
                        capnp::List<schema::SwitchPeriod>::Reader periods) {
  for (int slot = 1; slot <= d::kSchedulePeriodsMax; ++slot) {
    d::SchedulePeriod period;
    if (static_cast<unsigned>(slot) <= periods.size()) {
      auto in = periods[static_cast<unsigned>(slot - 1)];
      period.hour = in.getStartMinute() / 60;
      period.minute = in.getStartMinute() % 60;
      switch (in.getMode()) {
        case schema::PeriodMode::ON:
          period.action = d::ScheduleAction::kOn;
          break;
        case schema::PeriodMode::OFF:
          period.action = d::ScheduleAction::kOff;
          break;
        case schema::PeriodMode::NIGHT:
          period.action = d::ScheduleAction::kNight;
          period.night_power_w = in.getNightLimitW();
          break;
      }
    }
    auto id = d::ParameterDataId({table, circuit, slot});
    if (!id.ok()) return id.status();
    auto bytes = d::EncodeSchedulePeriod(period);
    if (!bytes.ok()) return bytes.status();
    writes.push_back({*id, std::move(*bytes)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Write>> ParameterWrites(schema::MeterParameters::Reader parameters,
                                                   uint8_t circuit) {
  std::vector<Write> writes;
  absl::Status status =
      AddScalar(writes, d::Parameter::kLoadLimit, circuit, parameters.getLoadLimitW());
  if (status.ok()) {
    status = AddScalar(writes, d::Parameter::kMaliciousLoadPower, circuit,
                       parameters.getMaliciousStepW());
  }
  if (status.ok()) {
    status = AddScalar(writes, d::Parameter::kMaliciousLoadPowerFactor, circuit,
                       parameters.getMaliciousPfMilli());
  }
  if (status.ok()) {
    status = AddScalar(writes, d::Parameter::kRecoveryDelay, circuit,
                       parameters.getRecoveryDelayMinutes());
  }
  if (status.ok()) {
    status =
        AddScalar(writes, d::Parameter::kOverdraftLimit, circuit, parameters.getOverdraftFen());
  }
  if (status.ok()) {
    status =
        AddPeriods(writes, d::Parameter::kWorkdayPeriod, circuit, parameters.getWorkdayPeriods());
  }
  if (status.ok()) {
    status =
        AddPeriods(writes, d::Parameter::kHolidayPeriod, circuit, parameters.getHolidayPeriods());
  }
  if (!status.ok()) return status;
  return writes;
}

}  // namespace

Awaitable<DeliveryResult> DeliverCommand(BusLink& link, const projections::ControlEntry& entry,
                                         const PollSettings& settings, const ledger::Clock& clock,
                                         LinkCounters& counters) {
  auto address = d::Address::Parse(entry.meter_address);
  if (!address.ok()) co_return Failure(address.status(), "meter address");
  auto command =
      ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(entry.command, 1 << 16);
  if (!command.ok()) co_return Failure(command.status(), "command");

  if (entry.is_relay) {
    d::RemoteControlCommand remote;
    remote.credentials = settings.credentials;
    remote.action = ActionOf(entry.relay);
    remote.valid_until = CampusDateTime(clock.NowMicros() + kRemoteControlValidityUs);
    auto request = d::RemoteControlRequest(*address, remote);
    if (!request.ok()) co_return Failure(request.status(), "remote control frame");
    auto ack = co_await Transact(link, *request, settings, counters);
    if (!ack.ok()) co_return Failure(ack.status(), "remote control");
  } else {
    auto writes = ParameterWrites(command->get().getParameters(), entry.circuit);
    if (!writes.ok()) co_return Failure(writes.status(), "parameters");
    for (const Write& write : *writes) {
      auto request = d::WriteRequest(*address, write.id, settings.credentials, write.value);
      if (!request.ok()) co_return Failure(request.status(), "write frame");
      auto ack = co_await Transact(link, *request, settings, counters);
      if (!ack.ok())
        co_return Failure(ack.status(), absl::StrCat("write ", d::DataIdToString(write.id)));
    }
  }

  auto status = co_await ReadRunStatus(link, *address, entry.circuit, settings, counters);
  if (!status.ok()) co_return Failure(status.status(), "status read-back");
  DeliveryResult result;
  result.relay_open = status->relay_open;
  if (entry.is_relay && !Shows(entry.relay, *status)) {
    result.failure = absl::StrCat("the meter acknowledged but its status word shows otherwise (0x",
                                  absl::Hex(status->raw), ")");
    co_return result;
  }
  result.confirmed = true;
  co_return result;
}

}  // namespace wattledger::ingest
