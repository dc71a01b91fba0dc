// The control policies: from events alone, the relay state every room should
// have and why, and the parameters its meters should hold. They derive every
// decision as an event signed by the ledger key — ArrearsLevelChanged,
// ViolationRecorded, and ControlCommanded (origin "arrears", "load-limit",
// "lockout", "recovery", "keep-power", "policy", ...) which the meter side
// delivers — recording each command in the control book with the seq it will
// have. projections/control/README.md states the rules and their precedence.
//
// Part of the Domain (an inline projection in all but name: the Domain hands
// it the seq its first derived event will get). No clock, I/O or randomness:
// time is the ledger time of the event being applied; timers (recoveries,
// the end of a no-cut window, a schedule taking effect) fire on the ClockTick
// the ledger's ticker appends once NextTimerUs() is due.
// Check and Apply run on the writer thread; the queries are safe from any.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ledger/inline_projection.h"
#include "projections/campus.h"
#include "projections/control/arrears_change.h"
#include "projections/control/control_book.h"
#include "projections/control/policy_rules.h"

namespace wattledger::projections {

// What the policies hold for one room.
struct RoomControl {
  schema::ArrearsLevel level = schema::ArrearsLevel::NORMAL;
  int64_t cut_deferred_until_us = 0;
  bool arrears_cut = false;
  bool operator_cut = false;
  bool keep_power = false;
  bool lockout = false;
  int64_t load_trip_until_us = 0;  // kUntilOperator: until an operator restores
  std::vector<int64_t> violations_us;
  std::string cause;  // the last decision, in words
  uint64_t cause_seq = 0;
  std::string origin;
  std::string operator_reason;
  std::string arrears_reason;
  std::string load_reason;

  // Whether the power should be off at `t`.
  bool WantsOpen(int64_t t) const {
    return !keep_power && (operator_cut || lockout || arrears_cut || load_trip_until_us > t);
  }
  bool operator==(const RoomControl&) const = default;
};

// The last reading of a watched circuit.
struct CircuitWatch {
  int64_t read_at_us = 0;
  int32_t power_w = 0;
  int32_t power_factor_milli = 0;
  int32_t current_ma = 0;
  bool relay_open = false;
  uint32_t over_limit = 0;
  uint32_t trip_count = 0;
  std::vector<int32_t> recent_power_w;
};

class ControlPolicies final {
 public:
  ControlPolicies(const Campus& campus, ControlBook& control)
      : campus_(campus), control_(control) {}

  absl::Status Load(const ledger::EventStore& store);
  absl::Status Check(const ledger::PendingEvent& event) const;
  struct Outcome {
    ledger::Applied applied;
    std::vector<ArrearsChange> arrears;
  };
  // `first_derived_seq`: the seq the first event derived here will get.
  Outcome Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer,
                uint64_t first_derived_seq);
  void Flush(ledger::StateWriter& writer);

  // The earliest time a timer is due (0: none); safe from any thread.
  int64_t NextTimerUs() const { return next_timer_us_.load(std::memory_order_acquire); }

  // Queries.
  std::optional<RoomControl> ForRoom(const std::string& room_id) const;
  // The policy in force for a room and the scope it comes from ("room:R",
  // "building:B", "campus", or "" for the defaults).
  std::pair<Policy, std::string> EffectivePolicy(const std::string& room_id) const;
  std::map<std::string, Policy> Policies() const;

 private:
  struct Decider;  // one Apply's work: the derived events it builds
  struct Violation;

  void ApplyLocked(Decider& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnPolicySet(Decider& d, schema::ControlPolicySet::Reader set)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnOperatorCommand(Decider& d, schema::ControlCommanded::Reader command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnReadings(Decider& d, schema::ReadingsBatch::Reader batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchReading(Decider& d, const std::string& room_id, const Policy& policy,
                    schema::Reading::Reader reading) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordViolation(Decider& d, const Violation& violation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvaluateArrears(Decider& d, const std::string& room_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvaluateArrears(Decider& d, const std::string& room_id, const Campus::RoomMoney& money)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FireTimers(Decider& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commands each circuit of the room whose relay differs from what the room
  // should have; `close_origin`/`close_reason` say what lifted a cut.
  void Reconcile(Decider& d, const std::string& room_id, absl::string_view close_origin,
                 const std::string& close_reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeliverParameters(Decider& d, const std::string& room_id, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RoomControl& RoomLocked(const std::string& room_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The installed circuits of a room, from an index rebuilt after registry changes.
  const std::vector<std::pair<std::string, uint8_t>>& CircuitsLocked(const std::string& room_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Policy& EffectiveLocked(const std::string& room_id, const std::string& building_id,
                                std::string* scope = nullptr) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void SetTimerLocked(const std::string& key, int64_t due_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishNextTimerLocked() ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const Campus& campus_;
  ControlBook& control_;
  mutable absl::Mutex mu_;
  std::map<std::string, Policy> policies_ ABSL_GUARDED_BY(mu_);  // by scope
  absl::flat_hash_map<std::string, RoomControl> rooms_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CircuitWatch> watches_ ABSL_GUARDED_BY(mu_);  // "<addr>/<c>"
  // Due timers: (due µs, "arrears/<room>" | "recovery/<room>" | "schedule/<scope>").
  std::set<std::pair<int64_t, std::string>> timers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> timer_due_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_rooms_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_watches_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_policies_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_timers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<std::pair<std::string, uint8_t>>> room_circuits_
      ABSL_GUARDED_BY(mu_);
  bool circuits_stale_ ABSL_GUARDED_BY(mu_) = true;
  std::atomic<int64_t> next_timer_us_{0};
};

inline constexpr absl::string_view kPoliciesPrefix = "policies/";

}  // namespace wattledger::projections
