// The control book: what each meter circuit has been commanded to do and what
// became of it. It keeps the latest relay command (trip, close), the latest
// keep-power setting and the latest parameters of every meter circuit; a
// newer command of the same kind supersedes an older one that is still
// pending. Operators' commands come as events; the control policies' are
// derived and recorded through Record. The meter side delivers what is pending
// and records ControlDelivered or ControlFailed naming the command's seq.
//
// An inline projection (decide and apply, no clock or I/O): it refuses a
// command to a meter that is not installed, parameters out of range, and an
// outcome for a command that is not the pending latest of its meter — so a
// confirmed command is never recorded (or, by the deliverer, sent) twice.
// Check and Apply run on the ledger's writer thread; Pending and Find are
// safe from any thread.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ledger/inline_projection.h"
#include "projections/campus.h"

namespace wattledger::projections {

enum class CommandState : uint8_t { kPending = 0, kDelivered = 1, kFailed = 2 };
absl::string_view CommandStateName(CommandState state);  // "pending", "delivered", "failed"

struct ControlEntry {
  uint64_t seq = 0;             // the ControlCommanded
  int64_t commanded_at_us = 0;  // when the ledger appended it
  std::string command;          // canonical bytes of its ControlCommanded
  std::string meter_address;
  uint8_t circuit = 1;
  bool is_relay = true;  // relay action, else parameters
  schema::RelayAction relay = schema::RelayAction::TRIP;
  CommandState state = CommandState::kPending;
  uint32_t attempts = 0;
  uint64_t outcome_seq = 0;
  std::string outcome_reason;  // ControlFailed's reason
  bool relay_open = false;     // ControlDelivered's read-back

  bool operator==(const ControlEntry&) const = default;
};

// Limits a command's parameters must respect (the meter's own ranges).
inline constexpr size_t kSwitchPeriodsMax = 8;
inline constexpr int32_t kLoadLimitWMax = 799'999;  // XX.XXXX kW
// At most 8 periods a day, at ascending minutes; night periods need a limit.
absl::Status CheckPeriods(capnp::List<schema::SwitchPeriod>::Reader periods,
                          absl::string_view which);

class ControlBook final : public ledger::InlineProjection {
 public:
  // `campus` is consulted for the meter registry; it must be registered with
  // the ledger before this projection so its state is current.
  explicit ControlBook(const Campus& campus) : campus_(campus) {}

  absl::Status Load(const ledger::EventStore& store) override;
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override;
  void Flush(ledger::StateWriter& writer) override;

  // Every pending command, oldest first.
  std::vector<ControlEntry> Pending() const;
  // The latest relay command and parameters of a meter's circuits.
  std::vector<ControlEntry> ForMeter(const std::string& meter_address) const;
  std::vector<ControlEntry> All() const;
  // The latest command of a kind ("relay", "keep" or "parameters") to a
  // meter circuit, whatever became of it.
  std::optional<ControlEntry> Latest(absl::string_view kind, absl::string_view address,
                                     uint8_t circuit) const;
  // The relay commands (trip, close) that are the latest of their circuit
  // and failed: the policies send them again.
  std::vector<ControlEntry> FailedRelays() const;
  // Records a command the control policies derived at `seq` (the ledger
  // commits it right after the event it came from; applying it then changes
  // nothing here). Writer thread only.
  void Record(uint64_t seq, int64_t at_us, schema::ControlCommanded::Reader command);
  // Grows with every command appended: the meter side checks it cheaply to
  // learn that there is something new to deliver.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  absl::Status CheckCommand(const ledger::PendingEvent& event) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void RecordLocked(uint64_t seq, int64_t at_us, schema::ControlCommanded::Reader command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOutcome(uint64_t command_seq, absl::string_view meter_address) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const Campus& campus_;
  mutable absl::Mutex mu_;
  // "control/{relay,keep,parameters}/<address>/<circuit>".
  std::map<std::string, ControlEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> pending_ ABSL_GUARDED_BY(mu_);  // seq -> entries_ key
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> failed_relays_ ABSL_GUARDED_BY(mu_);  // entries_ keys
  std::atomic<uint64_t> generation_{0};
};

// Rows: encode and decode one ControlEntry (tests and tools read them).
std::string EncodeControlEntry(const ControlEntry& entry);
absl::StatusOr<ControlEntry> DecodeControlEntry(absl::string_view bytes);
inline constexpr absl::string_view kControlPrefix = "control/";

}  // namespace wattledger::projections
