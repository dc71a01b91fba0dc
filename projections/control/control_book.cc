#include "projections/control/control_book.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/schema/control.capnp.h"
#include "projections/state_rows.h"

namespace wattledger::projections {
namespace {

using EventKind = schema::EventBody::Which;
constexpr size_t kRowBytesMax = 1 << 16;

bool IsKeepPower(schema::RelayAction action) {
  return action == schema::RelayAction::KEEP_POWER ||
         action == schema::RelayAction::KEEP_POWER_CLEAR;
}

// Keep-power has its own slot: setting or clearing it must not supersede a
// pending trip or close, nor be superseded by one.
std::string EntryKey(const ControlEntry& entry) {
  absl::string_view kind = !entry.is_relay            ? "parameters/"
                           : IsKeepPower(entry.relay) ? "keep/"
                                                      : "relay/";
  return absl::StrCat(kControlPrefix, kind, entry.meter_address, "/", entry.circuit);
}

state::CommandState ToRow(CommandState state) {
  switch (state) {
    case CommandState::kPending:
      return state::CommandState::PENDING;
    case CommandState::kDelivered:
      return state::CommandState::DELIVERED;
    case CommandState::kFailed:
      return state::CommandState::FAILED;
  }
  return state::CommandState::PENDING;
}

ControlEntry EntryFrom(uint64_t seq, int64_t at_us, schema::ControlCommanded::Reader command) {
  ControlEntry entry;
  entry.seq = seq;
  entry.commanded_at_us = at_us;
  entry.command = ledger::Canonical(command);
  entry.meter_address = command.getMeterAddress();
  entry.circuit = command.getCircuit();
  entry.is_relay = command.which() == schema::ControlCommanded::RELAY;
  if (entry.is_relay) entry.relay = command.getRelay();
  return entry;
}

}  // namespace

absl::Status CheckPeriods(capnp::List<schema::SwitchPeriod>::Reader periods,
                          absl::string_view which) {
  if (periods.size() > kSwitchPeriodsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kSwitchPeriodsMax, " ", which, " periods a day"));
  }
  int previous = -1;
  for (auto period : periods) {
    if (period.getStartMinute() >= 24 * 60 ||
        static_cast<int>(period.getStartMinute()) <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, " periods must start at ascending minutes of the day (0..1439)"));
    }
    previous = period.getStartMinute();
    if (period.getMode() == schema::PeriodMode::NIGHT &&
        (period.getNightLimitW() <= 0 || period.getNightLimitW() > kLoadLimitWMax)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a night period needs a power limit of 1..", kLoadLimitWMax, " W"));
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckParameters(schema::MeterParameters::Reader parameters) {
  if (parameters.getLoadLimitW() < 0 || parameters.getLoadLimitW() > kLoadLimitWMax ||
      parameters.getMaliciousStepW() < 0 || parameters.getMaliciousStepW() > kLoadLimitWMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("power limits must be 0..", kLoadLimitWMax, " W"));
  }
  if (parameters.getMaliciousPfMilli() < 0 || parameters.getMaliciousPfMilli() > 1000) {
    return absl::InvalidArgumentError("the malicious-load power factor must be 0..1000 (0.001)");
  }
  if (parameters.getOverdraftFen() < 0 || parameters.getOverdraftFen() > 99'999'999) {
    return absl::InvalidArgumentError("the meter's overdraft must be 0..999999.99 CNY");
  }
  WL_RETURN_IF_ERROR(CheckPeriods(parameters.getWorkdayPeriods(), "workday"));
  return CheckPeriods(parameters.getHolidayPeriods(), "holiday");
}

}  // namespace

absl::string_view CommandStateName(CommandState state) {
  switch (state) {
    case CommandState::kPending:
      return "pending";
    case CommandState::kDelivered:
      return "delivered";
    case CommandState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string EncodeControlEntry(const ControlEntry& entry) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<state::ControlRecord>();
  row.setSeq(entry.seq);
  row.setCommandedAtUs(entry.commanded_at_us);
  auto command =
      ledger::CanonicalMessage<schema::ControlCommanded>::ParseTrusted(entry.command, kRowBytesMax);
  WL_CHECK(command.ok());
  row.setCommand(command->get());
  row.setState(ToRow(entry.state));
  row.setAttempts(entry.attempts);
  row.setOutcomeSeq(entry.outcome_seq);
  row.setOutcomeReason(entry.outcome_reason);
  row.setRelayOpen(entry.relay_open);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<ControlEntry> DecodeControlEntry(absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(auto parsed, ledger::CanonicalMessage<state::ControlRecord>::ParseTrusted(
                                       bytes, kRowBytesMax));
  auto row = parsed.get();
  ControlEntry entry = EntryFrom(row.getSeq(), row.getCommandedAtUs(), row.getCommand());
  switch (row.getState()) {
    case state::CommandState::PENDING:
      entry.state = CommandState::kPending;
      break;
    case state::CommandState::DELIVERED:
      entry.state = CommandState::kDelivered;
      break;
    case state::CommandState::FAILED:
      entry.state = CommandState::kFailed;
      break;
  }
  entry.attempts = row.getAttempts();
  entry.outcome_seq = row.getOutcomeSeq();
  entry.outcome_reason = row.getOutcomeReason();
  entry.relay_open = row.getRelayOpen();
  return entry;
}

absl::Status ControlBook::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  return ScanStateRows(
      store, kControlPrefix, [&](absl::string_view id, absl::string_view value) -> absl::Status {
        WL_ASSIGN_OR_RETURN(ControlEntry entry, DecodeControlEntry(value));
        std::string key = absl::StrCat(kControlPrefix, id);
        if (entry.state == CommandState::kPending) pending_[entry.seq] = key;
        if (entry.state == CommandState::kFailed && absl::StartsWith(id, "relay/")) {
          failed_relays_.insert(key);
        }
        entries_.emplace(std::move(key), std::move(entry));
        return absl::OkStatus();
      });
}

absl::Status ControlBook::CheckCommand(const ledger::PendingEvent& event) const {
  auto command = event.body.getControlCommanded();
  std::string address = command.getMeterAddress();
  std::optional<Meter> meter = campus_.FindMeter(address, command.getCircuit());
  if (!meter.has_value() || meter->retired) {
    return absl::FailedPreconditionError(
        absl::StrCat("meter ", address, " circuit ", command.getCircuit(), " is not installed"));
  }
  if (command.getRoomId().size() > 0 && command.getRoomId() != meter->room_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meter ", address, " feeds room ", meter->room_id, ", not ", command.getRoomId().cStr()));
  }
  if (event.body.getStream() != absl::StrCat("meter:", address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a control command belongs on stream meter:", address));
  }
  if (command.getReason().size() == 0) {
    return absl::InvalidArgumentError("a control command needs a reason");
  }
  if (command.which() == schema::ControlCommanded::PARAMETERS) {
    return CheckParameters(command.getParameters());
  }
  if (static_cast<uint16_t>(command.getRelay()) >
      static_cast<uint16_t>(schema::RelayAction::KEEP_POWER_CLEAR)) {
    return absl::InvalidArgumentError("unknown relay action");
  }
  return absl::OkStatus();
}

absl::Status ControlBook::CheckOutcome(uint64_t command_seq,
                                       absl::string_view meter_address) const {
  auto pending = pending_.find(command_seq);
  if (pending != pending_.end()) {
    const ControlEntry& entry = entries_.at(pending->second);
    if (entry.meter_address != meter_address) {
      return absl::InvalidArgumentError(absl::StrCat("command ", command_seq, " is for meter ",
                                                     entry.meter_address, ", not ", meter_address));
    }
    return absl::OkStatus();
  }
  for (const auto& [key, entry] : entries_) {
    if (entry.seq == command_seq) {
      return absl::FailedPreconditionError(
          absl::StrCat("command ", command_seq, " is already ", CommandStateName(entry.state)));
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "command ", command_seq, " is not a pending control command (superseded or unknown)"));
}

absl::Status ControlBook::Check(const ledger::PendingEvent& event) const {
  absl::ReaderMutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::CONTROL_COMMANDED:
      return CheckCommand(event);
    case EventKind::CONTROL_DELIVERED: {
      auto delivered = event.body.getControlDelivered();
      return CheckOutcome(delivered.getCommandSeq(), delivered.getMeterAddress().cStr());
    }
    case EventKind::CONTROL_FAILED: {
      auto failed = event.body.getControlFailed();
      return CheckOutcome(failed.getCommandSeq(), failed.getMeterAddress().cStr());
    }
    default:
      return absl::OkStatus();
  }
}

ledger::Applied ControlBook::Apply(const ledger::PendingEvent& event, ledger::StateWriter&) {
  absl::MutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::CONTROL_COMMANDED:
      // The policies' commands are derived, recorded with the event they
      // came from (Record).
      if (event.signer_role != schema::Role::LEDGER) {
        RecordLocked(event.seq, event.appended_at_us, event.body.getControlCommanded());
      }
      break;
    case EventKind::CONTROL_DELIVERED:
    case EventKind::CONTROL_FAILED: {
      bool delivered = event.body.which() == EventKind::CONTROL_DELIVERED;
      uint64_t command_seq = delivered ? event.body.getControlDelivered().getCommandSeq()
                                       : event.body.getControlFailed().getCommandSeq();
      auto pending = pending_.find(command_seq);
      WL_CHECK(pending != pending_.end());
      ControlEntry& entry = entries_.at(pending->second);
      entry.outcome_seq = event.seq;
      if (delivered) {
        entry.state = CommandState::kDelivered;
        entry.attempts = event.body.getControlDelivered().getAttempts();
        entry.relay_open = event.body.getControlDelivered().getRelayOpen();
      } else {
        entry.state = CommandState::kFailed;
        entry.attempts = event.body.getControlFailed().getAttempts();
        entry.outcome_reason = event.body.getControlFailed().getReason();
        if (absl::StartsWith(pending->second, absl::StrCat(kControlPrefix, "relay/"))) {
          failed_relays_.insert(pending->second);
        }
      }
      dirty_.insert(pending->second);
      pending_.erase(pending);
      break;
    }
    default:
      break;
  }
  return {};
}

void ControlBook::Record(uint64_t seq, int64_t at_us, schema::ControlCommanded::Reader command) {
  absl::MutexLock lock(&mu_);
  RecordLocked(seq, at_us, command);
}

void ControlBook::RecordLocked(uint64_t seq, int64_t at_us,
                               schema::ControlCommanded::Reader command) {
  ControlEntry entry = EntryFrom(seq, at_us, command);
  std::string key = EntryKey(entry);
  auto previous = entries_.find(key);
  if (previous != entries_.end() && previous->second.state == CommandState::kPending) {
    pending_.erase(previous->second.seq);  // superseded
  }
  pending_[entry.seq] = key;
  failed_relays_.erase(key);
  entries_[key] = std::move(entry);
  dirty_.insert(key);
  generation_.fetch_add(1, std::memory_order_release);
}

std::vector<ControlEntry> ControlBook::FailedRelays() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ControlEntry> out;
  for (const std::string& key : failed_relays_) out.push_back(entries_.at(key));
  return out;
}

std::optional<ControlEntry> ControlBook::Latest(absl::string_view kind, absl::string_view address,
                                                uint8_t circuit) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(absl::StrCat(kControlPrefix, kind, "/", address, "/", circuit));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ControlBook::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : dirty_) writer.Put(key, EncodeControlEntry(entries_.at(key)));
  dirty_.clear();
}

std::vector<ControlEntry> ControlBook::Pending() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ControlEntry> out;
  for (const auto& [seq, key] : pending_) out.push_back(entries_.at(key));
  return out;
}

std::vector<ControlEntry> ControlBook::ForMeter(const std::string& meter_address) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ControlEntry> out;
  for (const auto& [key, entry] : entries_) {
    if (entry.meter_address == meter_address) out.push_back(entry);
  }
  return out;
}

std::vector<ControlEntry> ControlBook::All() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ControlEntry> out;
  for (const auto& [key, entry] : entries_) out.push_back(entry);
  return out;
}

}  // namespace wattledger::projections
