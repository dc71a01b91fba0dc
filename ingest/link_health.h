// Whether a meter answers, from the outcome of each poll: online on the first
// good poll; offline after `failed_polls_max` polls in a row without any
// reply; fault after as many polls in a row that got replies but bad ones
// (checksum, garbled, abnormal). A change is returned once, so the caller
// records it as an event on change, never per poll. Counters accumulate for
// monitoring. Pure: no clock, no I/O.
#pragma once

#include <optional>
#include <string>

#include "ingest/ingest_events.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::ingest {

enum class PollOutcome { kOk, kNoReply, kBadReplies };

struct LinkChange {
  schema::LinkState state = schema::LinkState::ONLINE;
  std::string detail;
};

class LinkHealth {
 public:
  // `recorded`: the state the ledger last recorded (nullopt: never recorded).
  LinkHealth(std::optional<schema::LinkState> recorded, int failed_polls_max)
      : recorded_(recorded), failed_polls_max_(failed_polls_max) {}

  std::optional<LinkChange> Observe(PollOutcome outcome);
  // Call once the change has been appended (a refused append leaves the
  // recorded state as it was, so the next poll tries again).
  void Recorded(schema::LinkState state) { recorded_ = state; }

  LinkCounters& counters() { return counters_; }
  const LinkCounters& counters() const { return counters_; }
  std::optional<schema::LinkState> recorded() const { return recorded_; }

 private:
  std::optional<schema::LinkState> recorded_;
  int failed_polls_max_;
  int no_reply_run_ = 0;
  int bad_reply_run_ = 0;
  LinkCounters counters_;
};

}  // namespace wattledger::ingest
