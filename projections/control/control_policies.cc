#include "projections/control/control_policies.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/schema/control.capnp.h"
#include "projections/state_rows.h"

namespace wattledger::projections {
namespace {

using EventKind = schema::EventBody::Which;

constexpr int64_t kUsPerMinute = 60'000'000;
constexpr size_t kRowBytesMax = 64 * 1024;
constexpr absl::string_view kScopeRows = "policies/scope/";
constexpr absl::string_view kRoomRows = "policies/room/";
constexpr absl::string_view kWatchRows = "policies/watch/";
constexpr absl::string_view kTimerRows = "policies/timer/";

std::string WatchKey(absl::string_view address, uint8_t circuit) {
  return absl::StrCat(address, "/", circuit);
}

std::string EncodeRoomControl(const RoomControl& room) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<state::RoomControlRow>();
  row.setLevel(room.level);
  row.setCutDeferredUntilUs(room.cut_deferred_until_us);
  row.setArrearsCut(room.arrears_cut);
  row.setOperatorCut(room.operator_cut);
  row.setKeepPower(room.keep_power);
  row.setLockout(room.lockout);
  row.setLoadTripUntilUs(room.load_trip_until_us);
  auto times = row.initViolationsUs(static_cast<unsigned>(room.violations_us.size()));
  for (unsigned i = 0; i < room.violations_us.size(); ++i) times.set(i, room.violations_us[i]);
  row.setCause(room.cause);
  row.setCauseSeq(room.cause_seq);
  row.setOrigin(room.origin);
  row.setOperatorReason(room.operator_reason);
  row.setArrearsReason(room.arrears_reason);
  row.setLoadReason(room.load_reason);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<RoomControl> DecodeRoomControl(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(auto parsed, ledger::CanonicalMessage<state::RoomControlRow>::ParseTrusted(
                                       bytes, kRowBytesMax));
  auto row = parsed.get();
  RoomControl room;
  room.level = row.getLevel();
  room.cut_deferred_until_us = row.getCutDeferredUntilUs();
  room.arrears_cut = row.getArrearsCut();
  room.operator_cut = row.getOperatorCut();
  room.keep_power = row.getKeepPower();
  room.lockout = row.getLockout();
  room.load_trip_until_us = row.getLoadTripUntilUs();
  for (int64_t t : row.getViolationsUs()) room.violations_us.push_back(t);
  room.cause = row.getCause();
  room.cause_seq = row.getCauseSeq();
  room.origin = row.getOrigin();
  room.operator_reason = row.getOperatorReason();
  room.arrears_reason = row.getArrearsReason();
  room.load_reason = row.getLoadReason();
  return room;
}

std::string EncodeWatch(const CircuitWatch& watch) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<state::CircuitWatchRow>();
  row.setReadAtUs(watch.read_at_us);
  row.setPowerW(watch.power_w);
  row.setPowerFactorMilli(watch.power_factor_milli);
  row.setCurrentMa(watch.current_ma);
  row.setRelayOpen(watch.relay_open);
  row.setOverLimit(watch.over_limit);
  row.setTripCount(watch.trip_count);
  auto powers = row.initRecentPowerW(static_cast<unsigned>(watch.recent_power_w.size()));
  for (unsigned i = 0; i < watch.recent_power_w.size(); ++i) powers.set(i, watch.recent_power_w[i]);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<CircuitWatch> DecodeWatch(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(auto parsed, ledger::CanonicalMessage<state::CircuitWatchRow>::ParseTrusted(
                                       bytes, kRowBytesMax));
  auto row = parsed.get();
  CircuitWatch watch;
  watch.read_at_us = row.getReadAtUs();
  watch.power_w = row.getPowerW();
  watch.power_factor_milli = row.getPowerFactorMilli();
  watch.current_ma = row.getCurrentMa();
  watch.relay_open = row.getRelayOpen();
  watch.over_limit = row.getOverLimit();
  watch.trip_count = row.getTripCount();
  for (int32_t p : row.getRecentPowerW()) watch.recent_power_w.push_back(p);
  return watch;
}

std::string EncodeTimer(int64_t due_us) {
  capnp::MallocMessageBuilder message;
  message.initRoot<state::TimerRow>().setDueUs(due_us);
  return ledger::Canonical(message.getRoot<state::TimerRow>().asReader());
}

// The scopes a room's policy may come from, most specific first.
std::string RoomScope(absl::string_view room_id) { return absl::StrCat("room:", room_id); }
std::string BuildingScope(absl::string_view building_id) {
  return absl::StrCat("building:", building_id);
}
constexpr absl::string_view kCampusScope = "campus";

bool IsDerivedHere(const ledger::PendingEvent& event) {
  if (event.signer_role != schema::Role::LEDGER) return false;
  switch (event.body.which()) {
    case EventKind::CONTROL_COMMANDED:
    case EventKind::ARREARS_LEVEL_CHANGED:
    case EventKind::VIOLATION_RECORDED:
      return true;
    default:
      return false;
  }
}

}  // namespace

// One Apply's decisions: builds the derived events in order and knows the seq
// each will get.
struct ControlPolicies::Decider {
  ControlPolicies& self;
  const ledger::PendingEvent& event;
  uint64_t next_seq;
  Outcome out;

  int64_t now() const { return event.appended_at_us; }

  // Starts a derived body; `fill` sets its union member.
  template <typename Fill>
  uint64_t Emit(absl::string_view stream, Fill fill) {
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey(
        absl::StrCat("policy/", event.seq, "/", out.applied.derived_bodies.size()));
    body.setIssuedAtUs(event.appended_at_us);
    body.setStream(std::string(stream));
    fill(body);
    out.applied.derived_bodies.push_back(ledger::Canonical(body.asReader()));
    return next_seq++;
  }

  void Command(const std::string& room_id, const std::string& address, uint8_t circuit,
               absl::string_view origin, const std::string& reason,
               std::optional<schema::RelayAction> relay, const std::string& parameters_bytes = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(self.mu_) {
    capnp::MallocMessageBuilder scratch;
    std::string command_bytes;
    uint64_t seq = Emit(absl::StrCat("meter:", address), [&](schema::EventBody::Builder body) {
      auto command = body.initControlCommanded();
      command.setMeterAddress(address);
      command.setReason(reason);
      command.setRoomId(room_id);
      command.setCircuit(circuit);
      command.setOrigin(std::string(origin));
      if (relay.has_value()) {
        command.setRelay(*relay);
      } else {
        auto parsed = ledger::CanonicalMessage<schema::MeterParameters>::ParseTrusted(
            parameters_bytes, kRowBytesMax);
        WL_CHECK(parsed.ok());
        command.setParameters(parsed->get());
      }
      command_bytes = ledger::Canonical(command.asReader());
    });
    auto parsed = ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(command_bytes,
                                                                                   kRowBytesMax);
    WL_CHECK(parsed.ok());
    self.control_.Record(seq, event.appended_at_us, parsed->get());
  }
};

absl::Status ControlPolicies::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  WL_RETURN_IF_ERROR(
      ScanStateRows(store, kScopeRows, [&](absl::string_view scope, absl::string_view value) {
        WL_ASSIGN_OR_RETURN(
            auto parsed,
            ledger::CanonicalMessage<schema::ControlPolicy>::ParseTrusted(value, kRowBytesMax));
        policies_[std::string(scope)] = DecodePolicy(parsed.get());
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(
      ScanStateRows(store, kRoomRows, [&](absl::string_view room, absl::string_view value) {
        WL_ASSIGN_OR_RETURN(RoomControl decoded, DecodeRoomControl(value));
        rooms_[std::string(room)] = std::move(decoded);
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(
      ScanStateRows(store, kWatchRows, [&](absl::string_view key, absl::string_view value) {
        WL_ASSIGN_OR_RETURN(CircuitWatch decoded, DecodeWatch(value));
        watches_[std::string(key)] = std::move(decoded);
        return absl::OkStatus();
      }));
  WL_RETURN_IF_ERROR(
      ScanStateRows(store, kTimerRows, [&](absl::string_view key, absl::string_view value) {
        WL_ASSIGN_OR_RETURN(auto parsed,
                            ledger::CanonicalMessage<state::TimerRow>::ParseTrusted(value, 64));
        timer_due_[std::string(key)] = parsed.get().getDueUs();
        timers_.emplace(parsed.get().getDueUs(), std::string(key));
        return absl::OkStatus();
      }));
  PublishNextTimerLocked();
  return absl::OkStatus();
}

absl::Status ControlPolicies::Check(const ledger::PendingEvent& event) const {
  switch (event.body.which()) {
    case EventKind::CONTROL_POLICY_SET: {
      auto set = event.body.getControlPolicySet();
      std::string scope = set.getScope();
      if (set.getReason().size() == 0) {
        return absl::InvalidArgumentError("a policy needs a reason");
      }
      if (event.body.getStream() != absl::StrCat("policy:", scope)) {
        return absl::InvalidArgumentError(
            absl::StrCat("a policy belongs on stream policy:", scope));
      }
      if (absl::StartsWith(scope, "room:")) {
        if (!campus_.MoneyOf(scope.substr(5)).has_value()) {
          return absl::FailedPreconditionError(absl::StrCat("no room ", scope.substr(5)));
        }
      } else if (absl::StartsWith(scope, "building:")) {
        bool known = false;
        for (const Building& building : campus_.Buildings()) {
          known = known || building.building_id == scope.substr(9);
        }
        if (!known) {
          return absl::FailedPreconditionError(absl::StrCat("no building ", scope.substr(9)));
        }
      } else if (scope != kCampusScope) {
        return absl::InvalidArgumentError("a policy's scope is campus, building:<id> or room:<id>");
      }
      return CheckPolicy(set.getPolicy());
    }
    case EventKind::CLOCK_TICK:
      if (event.body.getClockTick().getDueUs() > event.appended_at_us) {
        return absl::InvalidArgumentError("a clock tick cannot be due after it is appended");
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

const Policy& ControlPolicies::EffectiveLocked(const std::string& room_id,
                                               const std::string& building_id,
                                               std::string* scope) const {
  static const Policy* const kDefaults = new Policy();
  if (policies_.empty()) {
    if (scope != nullptr) scope->clear();
    return *kDefaults;
  }
  for (std::string key :
       {RoomScope(room_id), BuildingScope(building_id), std::string(kCampusScope)}) {
    auto it = policies_.find(key);
    if (it != policies_.end()) {
      if (scope != nullptr) *scope = key;
      return it->second;
    }
  }
  if (scope != nullptr) scope->clear();
  return *kDefaults;
}

void ControlPolicies::SetTimerLocked(const std::string& key, int64_t due_us) {
  auto it = timer_due_.find(key);
  if (it != timer_due_.end()) {
    timers_.erase({it->second, key});
    timer_due_.erase(it);
  }
  if (due_us > 0) {
    timer_due_[key] = due_us;
    timers_.emplace(due_us, key);
  }
  dirty_timers_.insert(key);
  PublishNextTimerLocked();
}

void ControlPolicies::PublishNextTimerLocked() {
  next_timer_us_.store(timers_.empty() ? 0 : timers_.begin()->first, std::memory_order_release);
}

struct ControlPolicies::Violation {
  std::string room_id;
  std::string address;
  uint8_t circuit = 1;
  schema::ViolationKind kind = schema::ViolationKind::METER_TRIP;
  int64_t at_us = 0;
  int32_t power_before_w = 0;
  int32_t power_after_w = 0;
  int32_t power_factor_milli = 0;
  int32_t current_ma = 0;
  int32_t limit = 0;
  bool meter_tripped = false;  // the meter opened by itself
  bool trip = false;           // the server must trip the room
  const Policy* policy = nullptr;
};

RoomControl& ControlPolicies::RoomLocked(const std::string& room_id) {
  dirty_rooms_.insert(room_id);
  return rooms_[room_id];
}

const std::vector<std::pair<std::string, uint8_t>>& ControlPolicies::CircuitsLocked(
    const std::string& room_id) {
  if (circuits_stale_) {
    room_circuits_.clear();
    for (const Meter& meter : campus_.Meters()) {
      if (!meter.retired) room_circuits_[meter.room_id].emplace_back(meter.address, meter.circuit);
    }
    circuits_stale_ = false;
  }
  static const std::vector<std::pair<std::string, uint8_t>>* const kNone =
      new std::vector<std::pair<std::string, uint8_t>>();
  auto it = room_circuits_.find(room_id);
  return it == room_circuits_.end() ? *kNone : it->second;
}

void ControlPolicies::ApplyLocked(Decider& d) {
  auto body = d.event.body;
  switch (body.which()) {
    case EventKind::CONTROL_POLICY_SET:
      OnPolicySet(d, body.getControlPolicySet());
      break;
    case EventKind::CONTROL_COMMANDED:
      OnOperatorCommand(d, body.getControlCommanded());
      break;
    case EventKind::READINGS_BATCH:
      OnReadings(d, body.getReadingsBatch());
      break;
    case EventKind::DEPOSIT_MADE:
      EvaluateArrears(d, body.getDepositMade().getRoomId());
      break;
    case EventKind::DEPOSIT_REVERSED: {
      std::string room = campus_.RoomOfReversal(body.getDepositReversed());
      if (!room.empty()) EvaluateArrears(d, room);
      break;
    }
    case EventKind::REFUND_ISSUED:
      EvaluateArrears(d, body.getRefundIssued().getRoomId());
      break;
    case EventKind::ROOM_EXCHANGED:
      EvaluateArrears(d, body.getRoomExchanged().getFromRoomId());
      EvaluateArrears(d, body.getRoomExchanged().getToRoomId());
      break;
    case EventKind::OVERDRAFT_LIMIT_SET:
      EvaluateArrears(d, body.getOverdraftLimitSet().getRoomId());
      break;
    case EventKind::METER_INSTALLED:
    case EventKind::METER_REPLACED:
    case EventKind::REGISTRY_IMPORTED: {
      circuits_stale_ = true;
      // New circuits get the room's parameters and relay state.
      std::vector<std::string> rooms;
      if (body.isMeterInstalled()) rooms.push_back(body.getMeterInstalled().getRoomId());
      if (body.isMeterReplaced()) {
        auto replaced = body.getMeterReplaced();
        rooms.push_back(campus_.RoomOfMeter(replaced.getNewMeterAddress(), replaced.getCircuit()));
      }
      if (body.isRegistryImported()) {
        for (auto meter : body.getRegistryImported().getMeters())
          rooms.push_back(meter.getRoomId());
      }
      std::sort(rooms.begin(), rooms.end());
      rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
      for (const std::string& room : rooms) {
        if (room.empty()) continue;
        DeliverParameters(d, room, "a meter was installed");
        Reconcile(d, room, "", "");
      }
      break;
    }
    case EventKind::CLOCK_TICK:
      FireTimers(d);
      break;
    default:
      break;
  }
}

void ControlPolicies::OnPolicySet(Decider& d, schema::ControlPolicySet::Reader set) {
  const std::string scope = set.getScope();
  policies_[scope] = DecodePolicy(set.getPolicy());
  dirty_policies_.insert(scope);
  std::vector<std::string> rooms;
  if (absl::StartsWith(scope, "room:")) {
    rooms.push_back(scope.substr(5));
  } else if (absl::StartsWith(scope, "building:")) {
    rooms = campus_.RoomIds(scope.substr(9));
  } else {
    rooms = campus_.RoomIds();
  }
  const std::string why = set.getReason();
  for (const std::string& room : rooms) {
    DeliverParameters(d, room, why);
    EvaluateArrears(d, room);
  }
  // A schedule with dates is delivered again when it starts and ends.
  const Policy& policy = policies_[scope];
  int64_t next = 0;
  for (int64_t boundary : {policy.schedule_from_us, policy.schedule_until_us}) {
    if (policy.has_schedule && boundary > d.now() && (next == 0 || boundary < next)) {
      next = boundary;
    }
  }
  SetTimerLocked(absl::StrCat("schedule/", scope), next);
}

void ControlPolicies::OnOperatorCommand(Decider& d, schema::ControlCommanded::Reader command) {
  if (command.which() != schema::ControlCommanded::RELAY) return;
  std::string room = command.getRoomId();
  if (room.empty()) room = campus_.RoomOfMeter(command.getMeterAddress(), command.getCircuit());
  if (room.empty()) return;
  RoomControl& rc = RoomLocked(room);
  const std::string when = CampusTimeText(d.now());
  const std::string reason = command.getReason();
  switch (command.getRelay()) {
    case schema::RelayAction::TRIP:
      rc.operator_cut = true;
      rc.operator_reason = absl::StrCat("cut off by an operator at ", when, ": ", reason);
      Reconcile(d, room, "", "");
      break;
    case schema::RelayAction::CLOSE_PERMIT:
    case schema::RelayAction::CLOSE_DIRECT:
      rc.operator_cut = false;
      rc.lockout = false;
      rc.violations_us.clear();
      if (rc.load_trip_until_us != 0) {
        rc.load_trip_until_us = 0;
        SetTimerLocked(absl::StrCat("recovery/", room), 0);
      }
      Reconcile(d, room, "operator",
                absl::StrCat("restored by an operator at ", when, ": ", reason));
      break;
    case schema::RelayAction::KEEP_POWER:
      rc.keep_power = true;
      Reconcile(d, room, "keep-power",
                absl::StrCat("keep-power set by an operator at ", when, ": ", reason));
      break;
    case schema::RelayAction::KEEP_POWER_CLEAR:
      rc.keep_power = false;
      Reconcile(d, room, "operator",
                absl::StrCat("keep-power cleared by an operator at ", when, ": ", reason));
      break;
  }
}

void ControlPolicies::OnReadings(Decider& d, schema::ReadingsBatch::Reader batch) {
  // Load rules: only rooms whose policy has them are watched, reading by reading.
  if (!policies_.empty()) {
    for (auto reading : batch.getReadings()) {
      std::string room = campus_.RoomOfMeter(reading.getMeterAddress(), reading.getCircuit());
      if (room.empty()) continue;
      auto money = campus_.MoneyOf(room);
      const Policy& policy = EffectiveLocked(room, money.has_value() ? money->building_id : "");
      if (policy.watches_load()) WatchReading(d, room, policy, reading);
    }
  }
  // Arrears: only the rooms this batch charged can have changed level; the
  // campus names them in the order of their first charge.
  for (const Campus::ChargedRoom& charged : campus_.LastBatchCharged()) {
    EvaluateArrears(d, charged.room_id, charged.money);
  }
  // A relay command that failed (a collector that lost it) is sent again
  // with the readings of its meter, once the failure is old enough.
  for (const ControlEntry& failed : control_.FailedRelays()) {
    if (d.now() - failed.commanded_at_us < kRetryFailedAfterUs) continue;
    bool read = false;
    for (auto reading : batch.getReadings()) {
      read = read || (reading.getMeterAddress() == failed.meter_address &&
                      reading.getCircuit() == failed.circuit);
    }
    std::string room = campus_.RoomOfMeter(failed.meter_address, failed.circuit);
    if (!read || room.empty()) continue;
    rooms_.try_emplace(room);
    Reconcile(d, room, "retry", "the last command did not reach the meter; sent again");
  }
}

void ControlPolicies::WatchReading(Decider& d, const std::string& room_id, const Policy& policy,
                                   schema::Reading::Reader reading) {
  const std::string address = reading.getMeterAddress();
  const uint8_t circuit = reading.getCircuit();
  const std::string key = WatchKey(address, circuit);
  CircuitWatch& w = watches_[key];
  const bool have = w.read_at_us != 0;
  const int64_t read_at = reading.getReadAtUs();
  if (have && read_at <= w.read_at_us) return;  // a resent batch
  dirty_watches_.insert(key);
  const bool open = reading.getRelayOpen();
  std::optional<ControlEntry> latest = control_.Latest("relay", address, circuit);
  const bool commanded_open = latest.has_value() && latest->relay == schema::RelayAction::TRIP;

  Violation v{.room_id = room_id,
              .address = address,
              .circuit = circuit,
              .at_us = read_at,
              .power_before_w = w.power_w,
              .power_after_w = reading.getPowerW(),
              .power_factor_milli = reading.getPowerFactorMilli(),
              .current_ma = reading.getCurrentMa(),
              .policy = &policy};
  // A circuit not watched before counts as closed, as the meter side does.
  if (open && (!have || !w.relay_open) && !commanded_open &&
      ScheduleModeAt(policy, read_at) != schema::PeriodMode::OFF) {
    // The meter opened its relay by itself: reconcile with what we expected.
    bool record = true;
    v.meter_tripped = true;
    // A record already seen (an older trip) says nothing about this one.
    if (reading.hasLastTrip() && reading.getLastTrip().getTripCount() != w.trip_count) {
      auto trip = reading.getLastTrip();
      w.trip_count = trip.getTripCount();
      if (trip.getAtUs() != 0) v.at_us = trip.getAtUs();
      v.power_before_w = trip.getPowerBeforeW();
      v.power_after_w = trip.getPowerW();
      v.power_factor_milli = trip.getPowerFactorMilli();
      switch (trip.getReason()) {
        case schema::MeterTripReason::LOAD_LIMIT:
          v.kind = schema::ViolationKind::LOAD_LIMIT;
          v.limit = policy.load_limit_w;
          break;
        case schema::MeterTripReason::MALICIOUS_LOAD:
          v.kind = schema::ViolationKind::MALICIOUS_LOAD;
          v.limit = MeterMaliciousStepW(policy);
          break;
        case schema::MeterTripReason::NIGHT_LIMIT:
          v.kind = schema::ViolationKind::NIGHT_LIMIT;
          break;
        case schema::MeterTripReason::SCHEDULE:
          record = false;  // the schedule did what it was given to do
          break;
        case schema::MeterTripReason::UNKNOWN:
          break;
      }
    } else {
      v.power_factor_milli = w.power_factor_milli;
    }
    if (record) RecordViolation(d, v);
  } else if (!open) {
    const bool over_power = policy.load_limit_w > 0 && reading.getPowerW() > policy.load_limit_w;
    const bool over_current =
        policy.current_limit_ma > 0 && reading.getCurrentMa() > policy.current_limit_ma;
    w.over_limit = over_power || over_current ? w.over_limit + 1 : 0;
    const int32_t step = reading.getPowerW() - w.power_w;
    if (w.over_limit >= kSustainedReadings) {
      v.kind =
          over_power ? schema::ViolationKind::LOAD_LIMIT : schema::ViolationKind::CURRENT_LIMIT;
      v.limit = over_power ? policy.load_limit_w : policy.current_limit_ma;
      v.trip = true;
      w.over_limit = 0;
      RecordViolation(d, v);
    } else if (have && !w.relay_open && policy.malicious_step_w > 0 &&
               step >= policy.malicious_step_w &&
               reading.getPowerFactorMilli() >= policy.malicious_pf_milli &&
               !Whitelisted(policy, step)) {
      v.kind = schema::ViolationKind::MALICIOUS_LOAD;
      v.limit = policy.malicious_step_w;
      v.trip = true;
      RecordViolation(d, v);
    }
    if (policy.load_limit_w > 0 || policy.malicious_step_w > 0) {
      w.recent_power_w.push_back(reading.getPowerW());
      if (w.recent_power_w.size() > kAntiRestrictionReadings) {
        w.recent_power_w.erase(w.recent_power_w.begin());
      }
      if (AntiRestrictionPattern(w.recent_power_w)) {
        v.kind = schema::ViolationKind::ANTI_RESTRICTION;
        v.trip = false;
        v.limit = policy.load_limit_w;
        v.power_before_w = *std::min_element(w.recent_power_w.begin(), w.recent_power_w.end());
        v.power_after_w = *std::max_element(w.recent_power_w.begin(), w.recent_power_w.end());
        RecordViolation(d, v);
        w.recent_power_w.clear();
      }
    }
  }
  w.read_at_us = read_at;
  w.power_w = reading.getPowerW();
  w.power_factor_milli = reading.getPowerFactorMilli();
  w.current_ma = reading.getCurrentMa();
  w.relay_open = open;
}

void ControlPolicies::RecordViolation(Decider& d, const Violation& v) {
  const Policy& policy = *v.policy;
  RoomControl& rc = RoomLocked(v.room_id);
  const int64_t t = d.now();
  const int64_t window_us = int64_t{policy.escalate_window_minutes} * kUsPerMinute;
  std::erase_if(rc.violations_us,
                [&](int64_t at) { return window_us == 0 || at <= t - window_us; });
  rc.violations_us.push_back(t);
  const uint32_t count = static_cast<uint32_t>(rc.violations_us.size());
  const bool lockout = policy.escalate_after > 0 && count >= policy.escalate_after && !rc.lockout;
  const int64_t delay_us = int64_t{policy.recovery_delay_minutes} * kUsPerMinute;

  std::string evidence;
  const std::string pf = absl::StrFormat("%.3f", v.power_factor_milli / 1000.0);
  switch (v.kind) {
    case schema::ViolationKind::MALICIOUS_LOAD:
      evidence = absl::StrCat("a resistive step from ", v.power_before_w, " W to ", v.power_after_w,
                              " W (power factor ", pf, ")", v.limit > 0 ? " above " : "",
                              v.limit > 0 ? absl::StrCat(v.limit, " W") : "");
      break;
    case schema::ViolationKind::LOAD_LIMIT:
    case schema::ViolationKind::NIGHT_LIMIT:
      evidence = absl::StrCat(v.power_after_w, " W");
      if (v.limit > 0) absl::StrAppend(&evidence, " above the limit of ", v.limit, " W");
      break;
    case schema::ViolationKind::CURRENT_LIMIT:
      evidence = absl::StrCat(v.current_ma, " mA above the limit of ", v.limit, " mA");
      break;
    case schema::ViolationKind::ANTI_RESTRICTION:
      evidence = absl::StrCat("load switched between ", v.power_before_w, " W and ",
                              v.power_after_w, " W in the last readings");
      break;
    case schema::ViolationKind::METER_TRIP:
      evidence = absl::StrCat("the relay opened; load was ", v.power_before_w,
                              " W before and the meter gave no reason");
      break;
  }
  std::string action;
  int64_t recovery_at = 0;
  if (v.meter_tripped) {
    action = "tripped by the meter";
    if (delay_us > 0) recovery_at = v.at_us + delay_us;
  } else if (v.trip) {
    action = "trip commanded";
    if (delay_us > 0) recovery_at = t + delay_us;
  } else {
    action = "recorded";
  }
  std::string text = absl::StrCat(ViolationKindName(v.kind), " on meter ", v.address, " at ",
                                  CampusTimeText(v.at_us), ": ", evidence, "; ", action);
  if (v.meter_tripped || v.trip) {
    absl::StrAppend(&text, recovery_at > 0
                               ? absl::StrCat(", recovery at ", CampusTimeText(recovery_at))
                               : ", no automatic recovery");
  }
  if (lockout) {
    absl::StrAppend(&text, "; locked out after ", count, " violations within ",
                    policy.escalate_window_minutes, " min until an operator restores");
  }
  d.Emit(absl::StrCat("room:", v.room_id), [&](schema::EventBody::Builder body) {
    auto out = body.initViolationRecorded();
    out.setRoomId(v.room_id);
    out.setMeterAddress(v.address);
    out.setCircuit(v.circuit);
    out.setKind(v.kind);
    out.setAtUs(v.at_us);
    out.setPowerBeforeW(v.power_before_w);
    out.setPowerAfterW(v.power_after_w);
    out.setPowerFactorMilli(v.power_factor_milli);
    out.setCurrentMa(v.current_ma);
    out.setLimit(v.limit);
    out.setAction(action);
    out.setRecoveryAtUs(recovery_at);
    out.setCountInWindow(count);
    out.setLockout(lockout);
    out.setReadingsSeq(d.event.seq);
    out.setDetail(text);
  });
  rc.load_reason = text;
  if (v.trip) {
    rc.load_trip_until_us = delay_us > 0 ? t + delay_us : kUntilOperator;
    SetTimerLocked(absl::StrCat("recovery/", v.room_id), delay_us > 0 ? t + delay_us : 0);
  }
  if (lockout) rc.lockout = true;
  if (v.trip || lockout) Reconcile(d, v.room_id, "", "");
}

void ControlPolicies::EvaluateArrears(Decider& d, const std::string& room_id) {
  auto money = campus_.MoneyOf(room_id);
  if (money.has_value()) EvaluateArrears(d, room_id, *money);
}

void ControlPolicies::EvaluateArrears(Decider& d, const std::string& room_id,
                                      const Campus::RoomMoney& money_after) {
  const Campus::RoomMoney* money = &money_after;
  const Policy& policy = EffectiveLocked(room_id, money->building_id);
  const Level now = ArrearsLevelOf(policy, money->balance_fen, money->overdraft_limit_fen);
  auto found = rooms_.find(room_id);
  const schema::ArrearsLevel previous =
      found == rooms_.end() ? schema::ArrearsLevel::NORMAL : found->second.level;
  if (now.level == previous) return;
  const int64_t t = d.now();
  RoomControl& rc = RoomLocked(room_id);
  rc.level = now.level;
  ArrearsChange change{.room_id = room_id,
                       .level = now.level,
                       .previous = previous,
                       .balance_fen = money->balance_fen,
                       .threshold_fen = now.threshold_fen,
                       .at_us = t};
  const std::string balance = Cny(money->balance_fen);
  const std::string cut_bound = Cny(-money->overdraft_limit_fen);
  std::string reason;
  bool cut_now = false;
  switch (now.level) {
    case schema::ArrearsLevel::CUT_OFF: {
      rc.arrears_reason = absl::StrCat("balance ", balance, " fell below the overdraft limit ",
                                       cut_bound, " at ", CampusTimeText(t));
      std::string label;
      const int64_t until = NoCutUntil(policy, t, &label);
      reason = rc.arrears_reason;
      if (until != 0) {
        rc.cut_deferred_until_us = until;
        change.cut_deferred_until_us = until;
        SetTimerLocked(absl::StrCat("arrears/", room_id), until);
        absl::StrAppend(&reason, "; the cut waits for the no-cut window \"", label, "\" to end at ",
                        CampusTimeText(until));
      } else {
        rc.arrears_cut = true;
        cut_now = true;
      }
      break;
    }
    case schema::ArrearsLevel::WARNING:
      reason = absl::StrCat("balance ", balance, " is below the pre-trip warning bound ",
                            Cny(now.threshold_fen), "; power is cut below ", cut_bound);
      break;
    case schema::ArrearsLevel::LOW:
      reason = absl::StrCat("balance ", balance, " is below the reminder bound ",
                            Cny(now.threshold_fen));
      break;
    case schema::ArrearsLevel::NORMAL:
      reason = absl::StrCat("balance ", balance, " is above the reminder bound ",
                            Cny(policy.reminder_below_fen));
      break;
  }
  if (now.level != schema::ArrearsLevel::CUT_OFF) {
    change.restored = rc.arrears_cut;
    rc.arrears_cut = false;
    if (rc.cut_deferred_until_us != 0) {
      rc.cut_deferred_until_us = 0;
      SetTimerLocked(absl::StrCat("arrears/", room_id), 0);
    }
    if (change.restored) {
      reason = absl::StrCat("balance ", balance, " is back above the overdraft limit ", cut_bound,
                            "; power restored");
    }
  }
  d.Emit(absl::StrCat("room:", room_id), [&](schema::EventBody::Builder body) {
    auto out = body.initArrearsLevelChanged();
    out.setRoomId(room_id);
    out.setLevel(now.level);
    out.setPrevious(previous);
    out.setBalanceFen(money->balance_fen);
    out.setThresholdFen(now.threshold_fen);
    out.setCutDeferredUntilUs(change.cut_deferred_until_us);
    out.setReason(reason);
  });
  d.out.arrears.push_back(std::move(change));
  if (cut_now || d.out.arrears.back().restored) Reconcile(d, room_id, "arrears", reason);
}

void ControlPolicies::FireTimers(Decider& d) {
  const int64_t t = d.now();
  while (!timers_.empty() && timers_.begin()->first <= t) {
    const auto [due, key] = *timers_.begin();
    SetTimerLocked(key, 0);
    if (absl::StartsWith(key, "arrears/")) {
      const std::string room = key.substr(8);
      auto found = rooms_.find(room);
      if (found == rooms_.end() || found->second.level != schema::ArrearsLevel::CUT_OFF) continue;
      auto money = campus_.MoneyOf(room);
      const Policy& policy = EffectiveLocked(room, money.has_value() ? money->building_id : "");
      RoomControl& rc = RoomLocked(room);
      const int64_t until = NoCutUntil(policy, t);
      if (until != 0) {
        rc.cut_deferred_until_us = until;
        SetTimerLocked(key, until);
        continue;
      }
      rc.cut_deferred_until_us = 0;
      rc.arrears_cut = true;
      absl::StrAppend(&rc.arrears_reason, "; cut when the no-cut window ended at ",
                      CampusTimeText(due));
      Reconcile(d, room, "", "");
    } else if (absl::StartsWith(key, "recovery/")) {
      const std::string room = key.substr(9);
      auto found = rooms_.find(room);
      if (found == rooms_.end() || found->second.load_trip_until_us > t) continue;
      RoomControl& rc = RoomLocked(room);
      rc.load_trip_until_us = 0;
      Reconcile(d, room, "recovery",
                absl::StrCat("recovered automatically at ", CampusTimeText(due),
                             " after: ", rc.load_reason));
    } else if (absl::StartsWith(key, "schedule/")) {
      const std::string scope = key.substr(9);
      std::vector<std::string> rooms;
      if (absl::StartsWith(scope, "room:")) {
        rooms.push_back(scope.substr(5));
      } else if (absl::StartsWith(scope, "building:")) {
        rooms = campus_.RoomIds(scope.substr(9));
      } else {
        rooms = campus_.RoomIds();
      }
      for (const std::string& room : rooms) {
        DeliverParameters(d, room,
                          absl::StrCat("the schedule's dates (", CampusTimeText(due), ")"));
      }
      auto policy = policies_.find(scope);
      if (policy != policies_.end() && policy->second.schedule_until_us > t) {
        SetTimerLocked(key, policy->second.schedule_until_us);
      }
    }
  }
}

void ControlPolicies::Reconcile(Decider& d, const std::string& room_id,
                                absl::string_view close_origin, const std::string& close_reason) {
  auto found = rooms_.find(room_id);
  if (found == rooms_.end()) return;
  RoomControl& rc = found->second;
  const bool open = rc.WantsOpen(d.now());
  std::string origin;
  std::string reason;
  if (open) {
    if (rc.operator_cut) {
      origin = "operator";
      reason = rc.operator_reason;
    } else if (rc.lockout) {
      origin = "lockout";
      reason = rc.load_reason;
    } else if (rc.arrears_cut) {
      origin = "arrears";
      reason = rc.arrears_reason;
    } else {
      origin = "load";
      reason = rc.load_reason;
    }
  } else if (rc.keep_power) {
    origin = "keep-power";
    reason = close_reason.empty() ? "keep-power is in force" : close_reason;
  } else {
    origin = close_origin.empty() ? "policy" : std::string(close_origin);
    reason = close_reason.empty() ? "no rule holds the power off" : close_reason;
  }
  bool commanded = false;
  for (const auto& [address, circuit] : CircuitsLocked(room_id)) {
    std::optional<ControlEntry> latest = control_.Latest("relay", address, circuit);
    if (!open && !latest.has_value()) continue;  // never commanded: closed
    const bool is_open = latest.has_value() && latest->relay == schema::RelayAction::TRIP;
    // A command that failed is sent again once it is kRetryFailedAfterUs old.
    const bool failed = latest.has_value() && latest->state == CommandState::kFailed;
    const bool retry = failed && d.now() - latest->commanded_at_us >= kRetryFailedAfterUs;
    if (open == is_open && !retry) continue;
    d.Command(room_id, address, circuit, origin, reason,
              open ? schema::RelayAction::TRIP : schema::RelayAction::CLOSE_DIRECT);
    commanded = true;
  }
  if (commanded || rc.cause != reason || rc.origin != origin) {
    rc.cause = reason;
    rc.origin = origin;
    rc.cause_seq = d.event.seq;
    dirty_rooms_.insert(room_id);
  }
}

void ControlPolicies::DeliverParameters(Decider& d, const std::string& room_id,
                                        const std::string& why) {
  auto money = campus_.MoneyOf(room_id);
  if (!money.has_value()) return;
  std::string scope;
  const Policy& policy = EffectiveLocked(room_id, money->building_id, &scope);
  if (!policy.explicit_policy()) return;
  capnp::MallocMessageBuilder message;
  auto parameters = message.initRoot<schema::MeterParameters>();
  parameters.setLoadLimitW(policy.load_limit_w);
  parameters.setMaliciousStepW(MeterMaliciousStepW(policy));
  parameters.setMaliciousPfMilli(policy.malicious_pf_milli);
  parameters.setRecoveryDelayMinutes(policy.recovery_delay_minutes);
  parameters.setOverdraftFen(std::clamp<int64_t>(money->overdraft_limit_fen, 0, 99'999'999));
  if (policy.schedule_in_force(d.now())) {
    auto fill = [](const std::vector<SchedulePeriod>& from, auto list) {
      for (unsigned i = 0; i < from.size(); ++i) {
        list[i].setStartMinute(static_cast<uint16_t>(from[i].start_minute));
        list[i].setMode(from[i].mode);
        list[i].setNightLimitW(from[i].night_limit_w);
      }
    };
    fill(policy.workday,
         parameters.initWorkdayPeriods(static_cast<unsigned>(policy.workday.size())));
    fill(policy.holiday,
         parameters.initHolidayPeriods(static_cast<unsigned>(policy.holiday.size())));
  }
  const std::string bytes = ledger::Canonical(parameters.asReader());
  for (const auto& [address, circuit] : CircuitsLocked(room_id)) {
    std::optional<ControlEntry> latest = control_.Latest("parameters", address, circuit);
    if (latest.has_value()) {
      auto command = ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(
          latest->command, kRowBytesMax);
      if (command.ok() && ledger::Canonical(command->get().getParameters()) == bytes) continue;
    }
    d.Command(room_id, address, circuit, "policy", absl::StrCat("policy ", scope, ": ", why),
              std::nullopt, bytes);
  }
}

void ControlPolicies::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (const std::string& scope : dirty_policies_) {
    writer.Put(absl::StrCat(kScopeRows, scope), policies_.at(scope).bytes);
  }
  for (const std::string& room : dirty_rooms_) {
    writer.Put(absl::StrCat(kRoomRows, room), EncodeRoomControl(rooms_.at(room)));
  }
  for (const std::string& key : dirty_watches_) {
    writer.Put(absl::StrCat(kWatchRows, key), EncodeWatch(watches_.at(key)));
  }
  for (const std::string& key : dirty_timers_) {
    auto it = timer_due_.find(key);
    if (it == timer_due_.end()) {
      writer.Delete(absl::StrCat(kTimerRows, key));
    } else {
      writer.Put(absl::StrCat(kTimerRows, key), EncodeTimer(it->second));
    }
  }
  dirty_policies_.clear();
  dirty_rooms_.clear();
  dirty_watches_.clear();
  dirty_timers_.clear();
}

std::optional<RoomControl> ControlPolicies::ForRoom(const std::string& room_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  return it->second;
}

std::pair<Policy, std::string> ControlPolicies::EffectivePolicy(const std::string& room_id) const {
  auto money = campus_.MoneyOf(room_id);
  absl::ReaderMutexLock lock(&mu_);
  std::string scope;
  const Policy& policy =
      EffectiveLocked(room_id, money.has_value() ? money->building_id : "", &scope);
  return {policy, scope};
}

std::map<std::string, Policy> ControlPolicies::Policies() const {
  absl::ReaderMutexLock lock(&mu_);
  return policies_;
}

ControlPolicies::Outcome ControlPolicies::Apply(const ledger::PendingEvent& event,
                                                ledger::StateWriter&, uint64_t first_derived_seq) {
  Decider decider{*this, event, first_derived_seq, {}};
  if (IsDerivedHere(event)) return {};
  absl::MutexLock lock(&mu_);
  ApplyLocked(decider);
  return std::move(decider.out);
}

}  // namespace wattledger::projections
