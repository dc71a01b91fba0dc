#include "projections/monitoring/alarm_book.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/schema/monitoring.capnp.h"
#include "projections/state_rows.h"

namespace wattledger::projections {
namespace {

using EventKind = schema::EventBody::Which;
using Severity = schema::AlarmSeverity;
constexpr size_t kRowBytesMax = 1 << 16;

// The reading alarms each circuit keeps a flag for, so that a reading asks
// "is it open?" without building the alarm's id.
constexpr uint8_t kFlagEnergyWhileOpen = 1;
constexpr uint8_t kFlagBackwards = 2;
constexpr uint8_t kFlagVoltage = 4;
constexpr uint8_t kFlagSupplyLost = 8;

uint8_t FlagOf(absl::string_view kind) {
  if (kind == kAlarmTheftEnergyWhileOpen) return kFlagEnergyWhileOpen;
  if (kind == kAlarmTheftBackwards) return kFlagBackwards;
  if (kind == kAlarmVoltage) return kFlagVoltage;
  if (kind == kAlarmSupplyLost) return kFlagSupplyLost;
  return 0;
}

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// Circuit 1 (every single-circuit meter) is the meter itself.
std::string MeterSubject(absl::string_view address, uint8_t circuit) {
  if (circuit == 1) return absl::StrCat("meter:", address);
  return absl::StrCat("meter:", address, "/", circuit);
}

std::string CircuitKey(absl::string_view address, uint8_t circuit) {
  return absl::StrCat(address, "/", circuit);
}

std::string VoltText(int64_t dv) {
  const char* sign = dv < 0 ? "-" : "";
  int64_t magnitude = std::abs(dv);
  return absl::StrFormat("%s%d.%d V", sign, magnitude / 10, magnitude % 10);
}

std::string PermilleText(int64_t permille) {
  return absl::StrFormat("%d.%d%%", permille / 10, permille % 10);
}

// The most energy a circuit can pass in `elapsed_us`: the campus's rule
// (campus_deductions.cc), so a register that went back is a rollover here
// exactly when the campus charged it as one.
int64_t MaxPlausibleWh(int64_t rated_current_ma, int64_t nominal_voltage_dv, int64_t elapsed_us) {
  int64_t watts = rated_current_ma * nominal_voltage_dv / 10'000;
  constexpr int64_t kMicrosPerHour = 3'600'000'000LL;
  int64_t product = 0;
  if (!__builtin_mul_overflow(watts, elapsed_us, &product)) {
    return product / kMicrosPerHour + kPlausibilitySlackWh;
  }
  return static_cast<int64_t>(static_cast<__int128>(watts) * elapsed_us / kMicrosPerHour) +
         kPlausibilitySlackWh;
}

std::string HistoryKey(uint64_t n) {
  std::string key(kAlarmClearedPrefix);
  ledger::PutU64BigEndian(key, n);
  return key;
}

// "Cut-off", "Restore", ...: what a control command asked for.
std::string ActionText(const ControlEntry* entry) {
  if (entry == nullptr) return "control command";
  if (!entry->is_relay) return "parameter update";
  switch (entry->relay) {
    case schema::RelayAction::TRIP:
      return "cut-off";
    case schema::RelayAction::CLOSE_PERMIT:
      return "restore (close permitted)";
    case schema::RelayAction::CLOSE_DIRECT:
      return "restore";
    case schema::RelayAction::KEEP_POWER:
      return "keep-power";
    case schema::RelayAction::KEEP_POWER_CLEAR:
      return "keep-power release";
  }
  return "control command";
}

std::string Capitalized(std::string text) {
  if (!text.empty()) text[0] = absl::ascii_toupper(static_cast<unsigned char>(text[0]));
  return text;
}

std::string EncodeCircuitRow(int64_t last_wh, int64_t last_read_at_us, bool relay_open,
                             int64_t backwards_from_wh) {
  capnp::MallocMessageBuilder message(16);
  auto row = message.initRoot<state::AlarmCircuitRecord>();
  row.setLastWh(last_wh);
  row.setLastReadAtUs(last_read_at_us);
  row.setRelayOpen(relay_open);
  row.setBackwardsFromWh(backwards_from_wh);
  return ledger::Canonical(row.asReader());
}

std::string EncodeBuildingRow(int64_t window_start_us, int64_t master_wh, int64_t rooms_wh) {
  capnp::MallocMessageBuilder message(16);
  auto row = message.initRoot<state::AlarmBuildingRecord>();
  row.setWindowStartUs(window_start_us);
  row.setMasterWh(master_wh);
  row.setRoomsWh(rooms_wh);
  return ledger::Canonical(row.asReader());
}

}  // namespace

// What one event raised and cleared, in order.
struct AlarmBook::Derivation {
  struct Item {
    bool raised;
    Alarm alarm;
  };
  std::vector<Item> items;
  std::vector<BuildingWindow*> due;  // master windows a reading batch closed
};

absl::string_view AlarmSeverityName(schema::AlarmSeverity severity) {
  switch (severity) {
    case Severity::INFO:
      return "info";
    case Severity::WARNING:
      return "warning";
    case Severity::MAJOR:
      return "major";
    case Severity::CRITICAL:
      return "critical";
  }
  return "unknown";
}

std::string EncodeAlarm(const Alarm& alarm) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<state::AlarmRecord>();
  row.setAlarmId(alarm.id);
  row.setKind(alarm.kind);
  row.setSubject(alarm.subject);
  row.setSeverity(alarm.severity);
  row.setText(alarm.text);
  row.setRaisedSeq(alarm.raised_seq);
  row.setRaisedAtUs(alarm.raised_at_us);
  row.setClearedSeq(alarm.cleared_seq);
  row.setClearedAtUs(alarm.cleared_at_us);
  row.setClearText(alarm.clear_text);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<Alarm> DecodeAlarm(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(
      auto parsed, ledger::CanonicalMessage<state::AlarmRecord>::ParseTrusted(bytes, kRowBytesMax));
  auto row = parsed.get();
  Alarm alarm;
  alarm.id = Str(row.getAlarmId());
  alarm.kind = Str(row.getKind());
  alarm.subject = Str(row.getSubject());
  alarm.severity = row.getSeverity();
  alarm.text = Str(row.getText());
  alarm.raised_seq = row.getRaisedSeq();
  alarm.raised_at_us = row.getRaisedAtUs();
  alarm.cleared_seq = row.getClearedSeq();
  alarm.cleared_at_us = row.getClearedAtUs();
  alarm.clear_text = Str(row.getClearText());
  return alarm;
}

// --- Load, Check, Apply, Flush ------------------------------------------------

absl::Status AlarmBook::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  WL_RETURN_IF_ERROR(ScanStateRows(
      store, kAlarmMeterPrefix, [&](absl::string_view id, absl::string_view value) -> absl::Status {
        size_t slash = id.rfind('/');
        if (slash == absl::string_view::npos || slash + 2 != id.size() || id[slash + 1] < '1' ||
            id[slash + 1] > '9') {
          return absl::InvalidArgumentError("not <address>/<circuit>");
        }
        WL_ASSIGN_OR_RETURN(
            auto parsed,
            ledger::CanonicalMessage<state::AlarmCircuitRecord>::ParseTrusted(value, kRowBytesMax));
        auto row = parsed.get();
        auto circuit = std::make_unique<Circuit>();
        circuit->address = std::string(id.substr(0, slash));
        circuit->circuit = static_cast<uint8_t>(id[slash + 1] - '0');
        circuit->subject = MeterSubject(circuit->address, circuit->circuit);
        circuit->last_wh = row.getLastWh();
        circuit->last_read_at_us = row.getLastReadAtUs();
        circuit->relay_open = row.getRelayOpen();
        circuit->backwards_from_wh = row.getBackwardsFromWh();
        circuits_[std::string(id)] = std::move(circuit);
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(ScanStateRows(
      store, kAlarmBuildingPrefix,
      [&](absl::string_view id, absl::string_view value) -> absl::Status {
        WL_ASSIGN_OR_RETURN(auto parsed,
                            ledger::CanonicalMessage<state::AlarmBuildingRecord>::ParseTrusted(
                                value, kRowBytesMax));
        BuildingWindow& building = BuildingOf(std::string(id));
        building.window_start_us = parsed.get().getWindowStartUs();
        building.master_wh = parsed.get().getMasterWh();
        building.rooms_wh = parsed.get().getRoomsWh();
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(ScanStateRows(
      store, kAlarmOpenPrefix, [&](absl::string_view id, absl::string_view value) -> absl::Status {
        WL_ASSIGN_OR_RETURN(Alarm alarm, DecodeAlarm(value));
        if (alarm.id != id || !alarm.open())
          return absl::InvalidArgumentError("not this open alarm");
        SetFlag(alarm.kind, alarm.subject, true);
        open_.emplace(alarm.id, std::move(alarm));
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(
      ScanStateRows(store, kAlarmClearedPrefix,
                    [&](absl::string_view id, absl::string_view value) -> absl::Status {
                      if (id.size() != 8) return absl::InvalidArgumentError("not a u64be number");
                      WL_ASSIGN_OR_RETURN(Alarm alarm, DecodeAlarm(value));
                      if (alarm.open())
                        return absl::InvalidArgumentError("a cleared alarm without its clear");
                      cleared_total_ = ledger::GetU64BigEndian(id);  // rows come in ascending order
                      history_.push_back(std::move(alarm));
                      return absl::OkStatus();
                    }));
  history_flushed_ = cleared_total_;
  return absl::OkStatus();
}

absl::Status AlarmBook::Check(const ledger::PendingEvent& event) const {
  switch (event.body.which()) {
    case EventKind::ALARM_RAISED:
    case EventKind::ALARM_CLEARED: {
      absl::ReaderMutexLock lock(&mu_);
      if (derived_expected_ == 0) {
        return absl::FailedPreconditionError(
            "alarms are raised and cleared by the monitoring rules, not submitted");
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

ledger::Applied AlarmBook::Apply(const ledger::PendingEvent& event, ledger::StateWriter&) {
  absl::MutexLock lock(&mu_);
  Derivation out;
  switch (event.body.which()) {
    case EventKind::ALARM_RAISED:
    case EventKind::ALARM_CLEARED:
      // A record of what the event before it raised or cleared: nothing to do.
      WL_CHECK(derived_expected_ > 0);
      --derived_expected_;
      return {};
    case EventKind::READINGS_BATCH:
      ApplyReadings(event, out);
      break;
    case EventKind::METER_STATUS_CHANGED:
      ApplyMeterStatus(event, out);
      break;
    case EventKind::GATEWAY_STATUS_CHANGED:
      ApplyGatewayStatus(event, out);
      break;
    case EventKind::CONTROL_FAILED:
    case EventKind::CONTROL_DELIVERED:
      ApplyControlOutcome(event, out);
      break;
    case EventKind::BUILDING_REGISTERED:
    case EventKind::ROOM_REGISTERED:
    case EventKind::METER_INSTALLED:
    case EventKind::METER_REPLACED:
    case EventKind::REGISTRY_IMPORTED:
      ApplyRegistry(event, out);
      break;
    default:
      return {};
  }
  ledger::Applied applied;
  for (size_t i = 0; i < out.items.size(); ++i) {
    if (event.outputs == ledger::ApplyOutputs::kStateOnly) {
      ++applied.derived_unbuilt;  // the replay skips it in the log unread
      continue;
    }
    const Alarm& alarm = out.items[i].alarm;
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey(absl::StrCat("alarm/", event.seq, "/", i));
    body.setIssuedAtUs(event.appended_at_us);
    body.setStream(std::string(kAlarmStream));
    if (out.items[i].raised) {
      auto raised = body.initAlarmRaised();
      raised.setAlarmId(alarm.id);
      raised.setText(alarm.text);
      raised.setSeverity(alarm.severity);
      raised.setKind(alarm.kind);
      raised.setSubject(alarm.subject);
      raised.setEvidenceSeq(event.seq);
    } else {
      auto cleared = body.initAlarmCleared();
      cleared.setAlarmId(alarm.id);
      cleared.setText(alarm.clear_text);
      cleared.setEvidenceSeq(event.seq);
    }
    applied.derived_bodies.push_back(ledger::Canonical(body.asReader()));
    ++derived_expected_;
  }
  return applied;
}

void AlarmBook::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : dirty_open_) {
    std::string key = absl::StrCat(kAlarmOpenPrefix, id);
    auto it = open_.find(id);
    if (it == open_.end()) {
      writer.Delete(key);
    } else {
      writer.Put(key, EncodeAlarm(it->second));
    }
  }
  dirty_open_.clear();
  for (uint64_t n : history_evicted_) writer.Delete(HistoryKey(n));
  history_evicted_.clear();
  uint64_t first_kept = cleared_total_ - history_.size() + 1;
  for (uint64_t n = std::max(history_flushed_ + 1, first_kept); n <= cleared_total_; ++n) {
    writer.Put(HistoryKey(n), EncodeAlarm(history_[n - first_kept]));
  }
  history_flushed_ = cleared_total_;
  for (Circuit* circuit : dirty_circuits_) {
    writer.Put(absl::StrCat(kAlarmMeterPrefix, circuit->address, "/", circuit->circuit),
               EncodeCircuitRow(circuit->last_wh, circuit->last_read_at_us, circuit->relay_open,
                                circuit->backwards_from_wh));
    circuit->dirty = false;
  }
  dirty_circuits_.clear();
  for (BuildingWindow* building : dirty_buildings_) {
    writer.Put(
        absl::StrCat(kAlarmBuildingPrefix, building->building_id),
        EncodeBuildingRow(building->window_start_us, building->master_wh, building->rooms_wh));
    building->dirty = false;
  }
  dirty_buildings_.clear();
}

// --- Queries ------------------------------------------------------------------

std::vector<Alarm> AlarmBook::Open() const {
  std::vector<Alarm> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    out.reserve(open_.size());
    for (const auto& [id, alarm] : open_) out.push_back(alarm);
  }
  std::sort(out.begin(), out.end(), [](const Alarm& a, const Alarm& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.raised_seq != b.raised_seq) return a.raised_seq < b.raised_seq;
    return a.id < b.id;
  });
  return out;
}

std::vector<Alarm> AlarmBook::History(size_t limit) const {
  std::vector<Alarm> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    out.reserve(open_.size() + history_.size());
    for (const auto& [id, alarm] : open_) out.push_back(alarm);
    out.insert(out.end(), history_.begin(), history_.end());
  }
  auto last_seq = [](const Alarm& alarm) {
    return alarm.open() ? alarm.raised_seq : alarm.cleared_seq;
  };
  std::sort(out.begin(), out.end(), [&](const Alarm& a, const Alarm& b) {
    if (last_seq(a) != last_seq(b)) return last_seq(a) > last_seq(b);
    if (a.raised_seq != b.raised_seq) return a.raised_seq > b.raised_seq;
    return a.id < b.id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

// --- Raising and clearing -----------------------------------------------------

bool AlarmBook::Raise(const ledger::PendingEvent& event, absl::string_view kind,
                      const std::string& subject, schema::AlarmSeverity severity, std::string text,
                      Derivation& out) {
  std::string id = absl::StrCat(kind, "/", subject);
  auto [it, inserted] = open_.try_emplace(id);
  if (!inserted) return false;
  Alarm& alarm = it->second;
  alarm.id = id;
  alarm.kind = std::string(kind);
  alarm.subject = subject;
  alarm.severity = severity;
  alarm.text = std::move(text);
  alarm.raised_seq = event.seq;
  alarm.raised_at_us = event.appended_at_us;
  dirty_open_.insert(id);
  SetFlag(kind, subject, true);
  out.items.push_back({true, alarm});
  return true;
}

bool AlarmBook::Clear(const ledger::PendingEvent& event, absl::string_view kind,
                      const std::string& subject, std::string text, Derivation& out) {
  std::string id = absl::StrCat(kind, "/", subject);
  auto it = open_.find(id);
  if (it == open_.end()) return false;
  Alarm alarm = std::move(it->second);
  open_.erase(it);
  alarm.cleared_seq = event.seq;
  alarm.cleared_at_us = event.appended_at_us;
  alarm.clear_text = std::move(text);
  dirty_open_.insert(id);
  SetFlag(kind, subject, false);
  out.items.push_back({false, alarm});
  history_.push_back(std::move(alarm));
  ++cleared_total_;
  while (history_.size() > kAlarmHistoryMax) {
    uint64_t oldest = cleared_total_ - history_.size() + 1;
    if (oldest <= history_flushed_) history_evicted_.push_back(oldest);
    history_.pop_front();
  }
  return true;
}

bool AlarmBook::IsOpen(absl::string_view kind, const std::string& subject) const {
  return open_.count(absl::StrCat(kind, "/", subject)) > 0;
}

void AlarmBook::SetFlag(absl::string_view kind, const std::string& subject, bool open) {
  uint8_t flag = FlagOf(kind);
  if (flag == 0) return;
  absl::string_view rest = subject;
  if (!absl::ConsumePrefix(&rest, "meter:")) return;
  uint8_t circuit_number = 1;
  size_t slash = rest.find('/');
  if (slash != absl::string_view::npos) {
    if (slash + 2 != rest.size()) return;
    circuit_number = static_cast<uint8_t>(rest[slash + 1] - '0');
    rest = rest.substr(0, slash);
  }
  auto it = circuits_.find(CircuitKey(rest, circuit_number));
  if (it == circuits_.end()) return;
  if (open) {
    it->second->open_flags |= flag;
  } else {
    it->second->open_flags &= static_cast<uint8_t>(~flag);
  }
}

// --- Circuits and buildings ---------------------------------------------------

AlarmBook::Circuit* AlarmBook::FindCircuit(absl::string_view address, uint8_t circuit) {
  if (circuit == 0 || circuit > 9) return nullptr;
  key_.assign(address.data(), address.size());
  key_.push_back('/');
  key_.push_back(static_cast<char>('0' + circuit));
  auto found = circuits_.find(key_);
  if (found != circuits_.end()) return found->second.get();
  // A meter installed before this book kept memory: start it at the campus's
  // baseline (this reading, which the campus has applied).
  std::string address_text(address);
  SeedCircuit(address_text, circuit);
  found = circuits_.find(CircuitKey(address_text, circuit));
  return found == circuits_.end() ? nullptr : found->second.get();
}

void AlarmBook::SeedCircuit(const std::string& address, uint8_t circuit_number) {
  std::optional<Meter> meter = campus_.FindMeter(address, circuit_number);
  if (!meter.has_value()) return;
  std::unique_ptr<Circuit>& slot = circuits_[CircuitKey(address, circuit_number)];
  if (slot == nullptr) {
    slot = std::make_unique<Circuit>();
    slot->address = address;
    slot->circuit = circuit_number;
    slot->subject = MeterSubject(address, circuit_number);
  }
  slot->last_wh = meter->last_wh;
  slot->last_read_at_us = meter->last_read_at_us;
  slot->relay_open = false;
  slot->backwards_from_wh = 0;
  slot->info_version = 0;
  MarkDirty(*slot);
}

void AlarmBook::RefreshInfo(Circuit& circuit) {
  circuit.info_version = registry_version_;
  circuit.building = nullptr;
  circuit.master = false;
  std::optional<Meter> meter = campus_.FindMeter(circuit.address, circuit.circuit);
  if (!meter.has_value()) {
    circuit.retired = true;
    return;
  }
  circuit.retired = meter->retired;
  circuit.room_id = meter->room_id;
  circuit.rated_current_ma = meter->rated_current_ma;
  circuit.nominal_voltage_dv =
      meter->nominal_voltage_dv > 0 ? meter->nominal_voltage_dv : kDefaultNominalVoltageDv;
  std::optional<Room> room = campus_.FindRoom(meter->room_id);
  if (!room.has_value() || room->building_id.empty()) return;
  BuildingWindow& building = BuildingOf(room->building_id);
  circuit.building = &building;
  circuit.master = room->room_id == absl::StrCat(room->building_id, kMasterRoomSuffix);
  if (circuit.master) building.master_address = circuit.address;
}

AlarmBook::BuildingWindow& AlarmBook::BuildingOf(const std::string& building_id) {
  std::unique_ptr<BuildingWindow>& slot = buildings_[building_id];
  if (slot == nullptr) {
    slot = std::make_unique<BuildingWindow>();
    slot->building_id = building_id;
  }
  return *slot;
}

void AlarmBook::MarkDirty(Circuit& circuit) {
  if (circuit.dirty) return;
  circuit.dirty = true;
  dirty_circuits_.push_back(&circuit);
}

void AlarmBook::MarkDirty(BuildingWindow& building) {
  if (building.dirty) return;
  building.dirty = true;
  dirty_buildings_.push_back(&building);
}

// --- Readings -----------------------------------------------------------------

void AlarmBook::ApplyReadings(const ledger::PendingEvent& event, Derivation& out) {
  auto batch = event.body.getReadingsBatch();
  auto readings = batch.getReadings();
  // A collector sends its meters in the same order every sweep: remember
  // which circuit each position named, and check it with one comparison.
  absl::string_view gateway_id(batch.getGatewayId().cStr(), batch.getGatewayId().size());
  auto cached = batch_circuits_.find(gateway_id);
  if (cached == batch_circuits_.end()) {
    cached = batch_circuits_.emplace(std::string(gateway_id), std::vector<Circuit*>()).first;
  }
  std::vector<Circuit*>& positions = cached->second;
  if (positions.size() < readings.size()) positions.resize(readings.size(), nullptr);
  for (unsigned i = 0; i < readings.size(); ++i) {
    auto reading = readings[i];
    capnp::Text::Reader address = reading.getMeterAddress();
    Circuit* found = positions[i];
    if (found == nullptr || found->circuit != reading.getCircuit() ||
        found->address != absl::string_view(address.cStr(), address.size())) {
      found = FindCircuit(absl::string_view(address.cStr(), address.size()), reading.getCircuit());
      positions[i] = found;
    }
    if (found != nullptr) ApplyReading(event, reading, *found, out);
  }
  for (BuildingWindow* building : out.due) CloseMasterWindow(event, *building, out);
  CheckClockDrift(event, out);
}

void AlarmBook::ApplyReading(const ledger::PendingEvent& event, schema::Reading::Reader reading,
                             Circuit& circuit, Derivation& out) {
  if (circuit.info_version != registry_version_) RefreshInfo(circuit);
  if (circuit.retired) return;
  // The campus's rules for which readings count: one too far in the future
  // is ignored, one at or before the baseline was counted already.
  int64_t read_at = reading.getReadAtUs();
  if (read_at > event.appended_at_us + kReadingClockSkewMaxUs) return;
  if (read_at <= circuit.last_read_at_us) return;
  int64_t from = circuit.last_wh;
  int64_t to = reading.getTotalWh();
  int64_t max_wh = MaxPlausibleWh(circuit.rated_current_ma, circuit.nominal_voltage_dv,
                                  read_at - circuit.last_read_at_us);
  int64_t rise = to - from;
  bool backwards = false;
  bool implausible = false;
  if (rise < 0) {
    int64_t across_rollover = kRegisterModulusWh - from + to;
    if (across_rollover <= max_wh) {
      rise = across_rollover;
    } else {
      backwards = true;
      rise = 0;
    }
  } else if (rise > max_wh) {
    implausible = true;
  }
  CheckTheft(event, circuit, reading, from, rise, backwards, out);
  CheckVoltage(event, circuit, reading, out);
  if (!backwards && !implausible && circuit.building != nullptr) {
    BuildingWindow& building = *circuit.building;
    if (circuit.master) {
      // The master's first reading opens the window, its first reading of a
      // later campus day closes it; either takes effect once the whole batch
      // is counted, so the rooms read in the same sweep fall on the same
      // side of the boundary as the master, whatever their order.
      if (building.window_start_us != 0) building.master_wh += rise;
      if (!building.due && (building.window_start_us == 0 ||
                            DayStartUs(read_at) > DayStartUs(building.window_start_us))) {
        building.due = true;
        building.next_start_us = read_at;
        out.due.push_back(&building);
      }
      MarkDirty(building);
    } else if (building.window_start_us != 0 && rise > 0) {
      building.rooms_wh += rise;
      MarkDirty(building);
    }
  }
  circuit.last_wh = to;
  circuit.last_read_at_us = read_at;
  circuit.relay_open = reading.getRelayOpen();
  MarkDirty(circuit);
}

void AlarmBook::CheckTheft(const ledger::PendingEvent& event, Circuit& circuit,
                           schema::Reading::Reader reading, int64_t from_wh, int64_t rise_wh,
                           bool backwards, Derivation& out) {
  int64_t read_at = reading.getReadAtUs();
  int64_t to = reading.getTotalWh();
  if (backwards) {
    if (circuit.open_flags & kFlagBackwards) {
      circuit.backwards_from_wh = std::max(circuit.backwards_from_wh, from_wh);
    } else {
      Raise(event, kAlarmTheftBackwards, circuit.subject, Severity::CRITICAL,
            absl::StrCat("meter ", circuit.address, " (room ", circuit.room_id,
                         "): the register went back from ", KwhText(from_wh), " to ", KwhText(to),
                         " at ", CampusTimeText(read_at),
                         ", not a rollover: the meter may have been tampered with or reset"),
            out);
      circuit.backwards_from_wh = from_wh;
    }
  } else if ((circuit.open_flags & kFlagBackwards) && to >= circuit.backwards_from_wh) {
    Clear(event, kAlarmTheftBackwards, circuit.subject,
          absl::StrCat("the register is back at ", KwhText(to), " at ", CampusTimeText(read_at),
                       ", past the ", KwhText(circuit.backwards_from_wh),
                       " it had before it went back"),
          out);
    circuit.backwards_from_wh = 0;
  }

  // Energy past an open relay: only when the relay was open at the previous
  // reading too, so the trip happened before this interval began.
  bool open_now = reading.getRelayOpen();
  bool flagged = (circuit.open_flags & kFlagEnergyWhileOpen) != 0;
  if (open_now && circuit.relay_open) {
    bool flowing = rise_wh > 0 || reading.getPowerW() > kOpenRelayPowerWMax;
    if (flowing && !flagged) {
      Raise(event, kAlarmTheftEnergyWhileOpen, circuit.subject, Severity::CRITICAL,
            absl::StrCat("meter ", circuit.address, " (room ", circuit.room_id,
                         "): its relay is open, yet it counted ", KwhText(rise_wh), " and ",
                         reading.getPowerW(), " W from ", CampusTimeText(circuit.last_read_at_us),
                         " to ", CampusTimeText(read_at), ": the relay may be bypassed"),
            out);
    } else if (!flowing && flagged) {
      Clear(event, kAlarmTheftEnergyWhileOpen, circuit.subject,
            absl::StrCat("no energy past the open relay by ", CampusTimeText(read_at)), out);
    }
  } else if (!open_now && flagged) {
    Clear(event, kAlarmTheftEnergyWhileOpen, circuit.subject,
          absl::StrCat("the relay is closed again at ", CampusTimeText(read_at)), out);
  }
}

void AlarmBook::CheckVoltage(const ledger::PendingEvent& event, Circuit& circuit,
                             schema::Reading::Reader reading, Derivation& out) {
  int32_t voltage_dv = reading.getVoltageDv();
  // A register read alone (by hand, or by a collector that reads nothing
  // else) carries no electrical values at all and says nothing of the
  // supply; a meter with no current reports a power factor of 1.
  if (voltage_dv == 0 && reading.getCurrentMa() == 0 && reading.getPowerW() == 0 &&
      reading.getPowerFactorMilli() == 0) {
    return;
  }
  int64_t read_at = reading.getReadAtUs();
  if (voltage_dv <= 0) {
    // Meters that measure behind the relay read 0 V while it is open.
    if (reading.getRelayOpen()) return;
    if ((circuit.open_flags & kFlagSupplyLost) == 0) {
      Raise(event, kAlarmSupplyLost, circuit.subject, Severity::WARNING,
            absl::StrCat("meter ", circuit.address, " (room ", circuit.room_id,
                         ") reads 0 V with its relay closed at ", CampusTimeText(read_at),
                         ": the supply is lost"),
            out);
    }
    return;
  }
  if (circuit.open_flags & kFlagSupplyLost) {
    Clear(event, kAlarmSupplyLost, circuit.subject,
          absl::StrCat("supply back at ", CampusTimeText(read_at), ": ", VoltText(voltage_dv)),
          out);
  }
  int64_t nominal = circuit.nominal_voltage_dv;
  int64_t off_permille = std::abs(int64_t{voltage_dv} - nominal) * 1000;
  if (off_permille > nominal * kVoltageRaisePermille) {
    if ((circuit.open_flags & kFlagVoltage) == 0) {
      int64_t band_dv = nominal * kVoltageRaisePermille / 1000;
      Raise(event, kAlarmVoltage, circuit.subject, Severity::WARNING,
            absl::StrCat("meter ", circuit.address, " (room ", circuit.room_id, ") reads ",
                         VoltText(voltage_dv), " at ", CampusTimeText(read_at), ", outside ",
                         VoltText(nominal - band_dv), " to ", VoltText(nominal + band_dv),
                         " (nominal ", VoltText(nominal), " ±", PermilleText(kVoltageRaisePermille),
                         ")"),
            out);
    }
  } else if ((circuit.open_flags & kFlagVoltage) &&
             off_permille <= nominal * kVoltageClearPermille) {
    Clear(event, kAlarmVoltage, circuit.subject,
          absl::StrCat("voltage back in range at ", CampusTimeText(read_at), ": ",
                       VoltText(voltage_dv)),
          out);
  }
}

void AlarmBook::CloseMasterWindow(const ledger::PendingEvent& event, BuildingWindow& building,
                                  Derivation& out) {
  if (building.window_start_us != 0) JudgeMasterWindow(event, building, out);
  building.window_start_us = building.next_start_us;
  building.master_wh = 0;
  building.rooms_wh = 0;
  building.due = false;
  building.next_start_us = 0;
  MarkDirty(building);
}

void AlarmBook::JudgeMasterWindow(const ledger::PendingEvent& event, const BuildingWindow& building,
                                  Derivation& out) {
  int64_t loss_wh = building.master_wh - building.rooms_wh;
  bool over =
      loss_wh >= kMasterLossMinWh && loss_wh * 1000 > building.rooms_wh * kMasterLossPermille;
  std::string share = building.rooms_wh > 0
                          ? PermilleText(loss_wh * 1000 / building.rooms_wh) + " of the rooms'"
                          : std::string("all of it");
  std::string facts = absl::StrCat(
      "building ", building.building_id, ", ", CampusTimeText(building.window_start_us), " to ",
      CampusTimeText(building.next_start_us), ": master meter ", building.master_address,
      " counted ", KwhText(building.master_wh), ", its rooms ", KwhText(building.rooms_wh));
  std::string subject = absl::StrCat("building:", building.building_id);
  if (over) {
    Raise(event, kAlarmTheftMasterMeter, subject, Severity::CRITICAL,
          absl::StrCat(facts, "; ", KwhText(loss_wh), " (", share,
                       ") is unaccounted for: energy may be taken past the room meters"),
          out);
  } else {
    Clear(event, kAlarmTheftMasterMeter, subject,
          absl::StrCat(facts, ": the difference is back under ", PermilleText(kMasterLossPermille),
                       " or ", KwhText(kMasterLossMinWh)),
          out);
  }
}

void AlarmBook::CheckClockDrift(const ledger::PendingEvent& event, Derivation& out) {
  auto batch = event.body.getReadingsBatch();
  int64_t started = batch.getSweepStartedUs();
  int64_t worst_us = 0;
  int worst = -1;
  auto readings = batch.getReadings();
  for (unsigned i = 0; i < readings.size(); ++i) {
    int64_t drift = readings[i].getReadAtUs() - started;
    if (drift < 0) drift = -drift;
    if (drift > worst_us) {
      worst_us = drift;
      worst = static_cast<int>(i);
    }
  }
  std::string gateway = Str(batch.getGatewayId());
  std::string subject = absl::StrCat("gateway:", gateway);
  if (worst_us > kClockDriftMaxUs) {
    auto reading = readings[static_cast<unsigned>(worst)];
    int64_t minutes = (worst_us + 30'000'000) / 60'000'000;  // to the nearest minute
    Raise(
        event, kAlarmClockDrift, subject, Severity::WARNING,
        absl::StrCat("gateway ", gateway, ": meter ", Str(reading.getMeterAddress()),
                     " was read at ", CampusTimeText(reading.getReadAtUs()), ", ", minutes, " min ",
                     reading.getReadAtUs() < started ? "before" : "after", " its sweep began at ",
                     CampusTimeText(started), ": the collector's or the meter's clock is off"),
        out);
  } else {
    Clear(event, kAlarmClockDrift, subject,
          absl::StrCat("the sweep at ", CampusTimeText(started), " read every meter within ",
                       kClockDriftMaxUs / 60'000'000, " min of its start"),
          out);
  }
}

// --- Links, control outcomes, the registry ------------------------------------

void AlarmBook::ApplyMeterStatus(const ledger::PendingEvent& event, Derivation& out) {
  auto changed = event.body.getMeterStatusChanged();
  std::string address = Str(changed.getMeterAddress());
  std::string subject = MeterSubject(address, 1);
  std::string at = CampusTimeText(event.appended_at_us);
  std::optional<Meter> meter = campus_.FindMeter(address, 1);
  std::string where =
      absl::StrCat("meter ", address, " (",
                   meter.has_value() ? absl::StrCat("room ", meter->room_id, ", ") : std::string(),
                   "gateway ", Str(changed.getGatewayId()), ")");
  std::string counters = absl::StrCat(
      changed.getTimeouts(), " timeouts, ", changed.getChecksumErrors(), " checksum errors, ",
      changed.getGarbledReplies(), " garbled and ", changed.getAbnormalReplies(),
      " abnormal replies in ", changed.getRequests(), " requests");
  switch (changed.getState()) {
    case schema::LinkState::ONLINE:
      Clear(event, kAlarmMeterOffline, subject, absl::StrCat("answers again at ", at), out);
      Clear(event, kAlarmCommError, subject, absl::StrCat("answers correctly again at ", at), out);
      break;
    case schema::LinkState::OFFLINE:
      Raise(event, kAlarmMeterOffline, subject, Severity::WARNING,
            absl::StrCat(where, " stopped answering at ", at, ": ", Str(changed.getDetail()), " (",
                         counters, ")"),
            out);
      Clear(event, kAlarmCommError, subject,
            absl::StrCat("stopped answering at ", at, " (see meterOffline)"), out);
      break;
    case schema::LinkState::FAULT:
      Raise(event, kAlarmCommError, subject, Severity::WARNING,
            absl::StrCat(where, " answers wrongly since ", at, ": ", Str(changed.getDetail()), " (",
                         counters, ")"),
            out);
      Clear(event, kAlarmMeterOffline, subject,
            absl::StrCat("answers again at ", at, ", with errors (see commError)"), out);
      break;
  }
}

void AlarmBook::ApplyGatewayStatus(const ledger::PendingEvent& event, Derivation& out) {
  auto changed = event.body.getGatewayStatusChanged();
  std::string gateway = Str(changed.getGatewayId());
  std::string subject = absl::StrCat("gateway:", gateway);
  std::string at = CampusTimeText(event.appended_at_us);
  if (changed.getState() == schema::LinkState::ONLINE) {
    std::string peer = Str(changed.getPeer());
    Clear(event, kAlarmGatewayOffline, subject,
          absl::StrCat("back online at ", at, peer.empty() ? "" : absl::StrCat(" from ", peer)),
          out);
    return;
  }
  std::string location;
  for (const Gateway& known : campus_.Gateways()) {
    if (known.gateway_id == gateway && !known.location.empty()) {
      location = absl::StrCat(" (", known.location, ")");
    }
  }
  Raise(event, kAlarmGatewayOffline, subject, Severity::MAJOR,
        absl::StrCat("gateway ", gateway, location, " offline since ", at, ": ",
                     Str(changed.getDetail()), "; none of its meters can be read or switched"),
        out);
}

void AlarmBook::ApplyControlOutcome(const ledger::PendingEvent& event, Derivation& out) {
  bool failed = event.body.which() == EventKind::CONTROL_FAILED;
  std::string address = failed ? Str(event.body.getControlFailed().getMeterAddress())
                               : Str(event.body.getControlDelivered().getMeterAddress());
  uint64_t command_seq = failed ? event.body.getControlFailed().getCommandSeq()
                                : event.body.getControlDelivered().getCommandSeq();
  std::string subject = MeterSubject(address, 1);
  if (!failed && !IsOpen(kAlarmControlFailure, subject)) return;
  // The control book has recorded this outcome: its entry names the command.
  std::optional<ControlEntry> command;
  for (ControlEntry& entry : control_.ForMeter(address)) {
    if (entry.seq == command_seq) command = std::move(entry);
  }
  std::string action = ActionText(command.has_value() ? &*command : nullptr);
  std::optional<Meter> meter =
      campus_.FindMeter(address, command.has_value() ? command->circuit : 1);
  std::string room = meter.has_value() ? absl::StrCat("room ", meter->room_id, ", ") : "";
  if (failed) {
    auto outcome = event.body.getControlFailed();
    Raise(event, kAlarmControlFailure, subject, Severity::MAJOR,
          absl::StrCat(
              Capitalized(action), " of meter ", address, " (", room, "command ", command_seq,
              ") failed after ", outcome.getAttempts(),
              outcome.getAttempts() == 1 ? " attempt: " : " attempts: ", Str(outcome.getReason())),
          out);
  } else {
    Clear(event, kAlarmControlFailure, subject,
          absl::StrCat(Capitalized(action), " of meter ", address, " (command ", command_seq,
                       ") delivered after ", event.body.getControlDelivered().getAttempts(),
                       event.body.getControlDelivered().getAttempts() == 1 ? " attempt at "
                                                                           : " attempts at ",
                       CampusTimeText(event.appended_at_us)),
          out);
  }
}

void AlarmBook::ApplyRegistry(const ledger::PendingEvent& event, Derivation& out) {
  ++registry_version_;  // rooms, buildings and meters the circuits know may have changed
  auto body = event.body;
  switch (body.which()) {
    case EventKind::METER_INSTALLED: {
      auto installed = body.getMeterInstalled();
      SeedCircuit(Str(installed.getMeterAddress()), installed.getCircuit());
      break;
    }
    case EventKind::REGISTRY_IMPORTED:
      for (auto installed : body.getRegistryImported().getMeters()) {
        SeedCircuit(Str(installed.getMeterAddress()), installed.getCircuit());
      }
      break;
    case EventKind::METER_REPLACED: {
      auto replaced = body.getMeterReplaced();
      std::string old_address = Str(replaced.getOldMeterAddress());
      std::string new_address = Str(replaced.getNewMeterAddress());
      uint8_t circuit = replaced.getCircuit();
      std::string why = absl::StrCat("meter ", old_address, " was replaced by ", new_address,
                                     " at ", CampusTimeText(event.appended_at_us));
      std::string subject = MeterSubject(old_address, circuit);
      for (absl::string_view kind :
           {kAlarmTheftEnergyWhileOpen, kAlarmTheftBackwards, kAlarmVoltage, kAlarmSupplyLost}) {
        Clear(event, kind, subject, why, out);
      }
      if (!campus_.HasMeter(old_address)) {  // its last circuit left the bus
        for (absl::string_view kind : {kAlarmMeterOffline, kAlarmCommError, kAlarmControlFailure}) {
          Clear(event, kind, MeterSubject(old_address, 1), why, out);
        }
      }
      SeedCircuit(new_address, circuit);
      break;
    }
    default:
      break;
  }
}

}  // namespace wattledger::projections
