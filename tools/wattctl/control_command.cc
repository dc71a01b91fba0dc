// wattctl's control commands: an operator's relay command or parameters for
// one meter, signed with --key and submitted to wattd (which delivers it to
// the meter and records the outcome); and the read-only views of what is
// pending and how every gateway and meter answers, from a data directory.
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "ingest/dlt645/parameters.h"
#include "ledger/structured_log.h"
#include "projections/control/control_book.h"
#include "projections/monitoring/device_status.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(std::string, meter, "", "control: the meter's 12-digit address");
ABSL_FLAG(int32_t, load_limit_w, 0, "control params: sustained power that trips (W; 0 = none)");
ABSL_FLAG(int32_t, malicious_step_w, 0, "control params: resistive step that trips (W; 0 = off)");
ABSL_FLAG(int32_t, malicious_pf_milli, 950,
          "control params: power factor (0.001) at or above which a step counts as resistive");
ABSL_FLAG(int32_t, recovery_minutes, 0, "control params: automatic recovery after a trip (0-255)");
ABSL_FLAG(int64_t, overdraft_fen, 0, "control params: the meter's own overdraft allowance");
ABSL_FLAG(std::string, workday, "",
          "control params: workday periods 'hh:mm,on|off|night[,W];...' (at most 8)");
ABSL_FLAG(std::string, holiday, "", "control params: holiday periods, like --workday");

namespace wattledger::wattctl {
namespace {

using ledger::JsonEscape;

absl::Status FillPeriods(
    const std::string& text,
    capnp::List<schema::SwitchPeriod>::Builder (*init)(schema::MeterParameters::Builder, unsigned),
    schema::MeterParameters::Builder parameters) {
  std::vector<std::string> items = absl::StrSplit(text, ';', absl::SkipEmpty());
  auto periods = init(parameters, static_cast<unsigned>(items.size()));
  for (unsigned i = 0; i < items.size(); ++i) {
    WL_ASSIGN_OR_RETURN(auto period, ingest::dlt645::ParseSchedulePeriod(items[i]));
    periods[i].setStartMinute(static_cast<uint16_t>(period.hour * 60 + period.minute));
    switch (period.action) {
      case ingest::dlt645::ScheduleAction::kOff:
        periods[i].setMode(schema::PeriodMode::OFF);
        break;
      case ingest::dlt645::ScheduleAction::kNight:
        periods[i].setMode(schema::PeriodMode::NIGHT);
        periods[i].setNightLimitW(period.night_power_w);
        break;
      default:
        periods[i].setMode(schema::PeriodMode::ON);
        break;
    }
  }
  return absl::OkStatus();
}

int SubmitCommand(const std::function<absl::Status(schema::ControlCommanded::Builder)>& fill) {
  std::string meter = absl::GetFlag(FLAGS_meter);
  if (meter.empty()) return Usage("control needs --meter ADDRESS");
  if (absl::GetFlag(FLAGS_reason).empty()) return Usage("control needs --reason TEXT");
  return SignAndSubmit("meter:" + meter, [&](schema::EventBody::Builder body) {
    auto command = body.initControlCommanded();
    command.setMeterAddress(meter);
    command.setCircuit(static_cast<uint8_t>(absl::GetFlag(FLAGS_circuit)));
    command.setRoomId(absl::GetFlag(FLAGS_room));
    command.setReason(absl::GetFlag(FLAGS_reason));
    command.setOrigin("operator");
    return fill(command);
  });
}

int Relay(schema::RelayAction action) {
  return SubmitCommand([action](schema::ControlCommanded::Builder command) {
    command.setRelay(action);
    return absl::OkStatus();
  });
}

std::string EntryJson(const projections::ControlEntry& entry) {
  auto command =
      ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(entry.command, 1 << 16);
  std::string what = "parameters";
  std::string reason;
  std::string origin;
  if (command.ok()) {
    reason = command->get().getReason();
    origin = command->get().getOrigin();
    if (entry.is_relay) {
      auto names = capnp::Schema::from<schema::RelayAction>().getEnumerants();
      what = names[static_cast<uint16_t>(entry.relay)].getProto().getName();
    }
  }
  return absl::StrCat("{\"seq\":", entry.seq, ",\"meter\":", JsonEscape(entry.meter_address),
                      ",\"circuit\":", entry.circuit, ",\"command\":", JsonEscape(what),
                      ",\"reason\":", JsonEscape(reason), ",\"origin\":", JsonEscape(origin),
                      ",\"state\":\"", projections::CommandStateName(entry.state),
                      "\",\"attempts\":", entry.attempts, ",\"outcomeSeq\":", entry.outcome_seq,
                      ",\"relayOpen\":", entry.relay_open ? "true" : "false",
                      ",\"failure\":", JsonEscape(entry.outcome_reason), "}");
}

std::string LinkJson(absl::string_view kind, const projections::LinkStatus& status) {
  return absl::StrCat(
      "{\"", kind, "\":", JsonEscape(status.id), ",\"gateway\":", JsonEscape(status.gateway_id),
      ",\"state\":\"", projections::LinkStateName(status.state),
      "\",\"detail\":", JsonEscape(status.detail), ",\"peer\":", JsonEscape(status.peer),
      ",\"changedSeq\":", status.changed_seq, ",\"changedAtUs\":", status.changed_at_us,
      ",\"requests\":", status.requests, ",\"timeouts\":", status.timeouts,
      ",\"checksumErrors\":", status.checksum_errors,
      ",\"garbledReplies\":", status.garbled_replies,
      ",\"abnormalReplies\":", status.abnormal_replies, "}");
}

absl::StatusOr<std::unique_ptr<ledger::EventStore>> OpenData() {
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) data = "data";
  WL_ASSIGN_OR_RETURN(auto store,
                      ledger::EventStore::Open(DataLedgerDir(data), SecondaryOptions()));
  WL_RETURN_IF_ERROR(store->Refresh());
  return store;
}

}  // namespace

int ControlCut() { return Relay(schema::RelayAction::TRIP); }
int ControlRestore() { return Relay(schema::RelayAction::CLOSE_DIRECT); }
int ControlClosePermit() { return Relay(schema::RelayAction::CLOSE_PERMIT); }
int ControlKeepPower() { return Relay(schema::RelayAction::KEEP_POWER); }
int ControlKeepPowerClear() { return Relay(schema::RelayAction::KEEP_POWER_CLEAR); }

int ControlParams() {
  return SubmitCommand([](schema::ControlCommanded::Builder command) -> absl::Status {
    auto parameters = command.initParameters();
    parameters.setLoadLimitW(absl::GetFlag(FLAGS_load_limit_w));
    parameters.setMaliciousStepW(absl::GetFlag(FLAGS_malicious_step_w));
    parameters.setMaliciousPfMilli(absl::GetFlag(FLAGS_malicious_pf_milli));
    int32_t recovery = absl::GetFlag(FLAGS_recovery_minutes);
    if (recovery < 0 || recovery > 255) {
      return absl::InvalidArgumentError("--recovery_minutes must be 0..255");
    }
    parameters.setRecoveryDelayMinutes(static_cast<uint8_t>(recovery));
    parameters.setOverdraftFen(absl::GetFlag(FLAGS_overdraft_fen));
    WL_RETURN_IF_ERROR(FillPeriods(
        absl::GetFlag(FLAGS_workday),
        [](schema::MeterParameters::Builder p, unsigned n) { return p.initWorkdayPeriods(n); },
        parameters));
    return FillPeriods(
        absl::GetFlag(FLAGS_holiday),
        [](schema::MeterParameters::Builder p, unsigned n) { return p.initHolidayPeriods(n); },
        parameters);
  });
}

int ControlShow() {
  auto store = OpenData();
  if (!store.ok()) return Fail(store.status());
  projections::Campus campus;  // the book's registry checks are not needed to read it
  projections::ControlBook book(campus);
  absl::Status loaded = book.Load(**store);
  if (!loaded.ok()) return Fail(loaded);
  std::string meter = absl::GetFlag(FLAGS_meter);
  for (const projections::ControlEntry& entry : book.All()) {
    if (!meter.empty() && entry.meter_address != meter) continue;
    std::printf("%s\n", EntryJson(entry).c_str());
  }
  return 0;
}

int DeviceStatusShow() {
  auto store = OpenData();
  if (!store.ok()) return Fail(store.status());
  projections::Campus campus;
  projections::DeviceStatus devices(campus);
  absl::Status loaded = devices.Load(**store);
  if (!loaded.ok()) return Fail(loaded);
  std::string gateway = absl::GetFlag(FLAGS_gateway);
  std::string meter = absl::GetFlag(FLAGS_meter);
  if (meter.empty()) {
    for (const auto& status : devices.Gateways()) {
      if (gateway.empty() || status.id == gateway)
        std::printf("%s\n", LinkJson("gatewayId", status).c_str());
    }
  }
  for (const auto& status : devices.Meters()) {
    if (!gateway.empty() && status.gateway_id != gateway) continue;
    if (!meter.empty() && status.id != meter) continue;
    std::printf("%s\n", LinkJson("meterAddress", status).c_str());
  }
  return 0;
}

}  // namespace wattledger::wattctl
