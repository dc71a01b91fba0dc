// Operators' read-only views of the campus: rooms, the relay state of a room
// and why, meters and gateways, commands pending delivery, violations,
// alarms, reminders and the reports. One implementation serves wattctl over
// a data directory, wattd's authenticated RPC sessions (api/rpc/) and the
// HTTP API, so every client sees the same answer.
//
// A query is a name and text arguments; the answer is lines (JSON objects,
// CSV rows or text, as the query says) and notes for a human (a report that
// has not caught up with the log). Unknown names or arguments are
// kInvalidArgument. Who may run which query is one table, deny by default.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/event_store.h"
#include "ledger/roles.h"

namespace wattledger::projections {
class Domain;
}  // namespace wattledger::projections

namespace wattledger::query {

struct Query {
  std::string name{};
  std::map<std::string, std::string> args{};
};

struct Answer {
  std::vector<std::string> lines{};
  std::vector<std::string> notes{};
};

// What a query reads. `domain` is the live (or freshly loaded) projections;
// it may be null for a query whose QueryInfo says it does not need them.
struct QuerySource {
  const projections::Domain* domain = nullptr;
  const ledger::EventStore* store = nullptr;
  int64_t now_us = 0;
  // A scratch directory for queries that replay the log (balances at a seq).
  std::string scratch_dir{};
};

struct QueryInfo {
  std::string name;
  std::vector<std::string> args;  // the arguments it accepts
  bool needs_domain = true;       // false: reads only the store
  std::string what;               // one line for --help and the API docs
};

// Every query, in a stable order.
const std::vector<QueryInfo>& Queries();
const QueryInfo* FindQuery(absl::string_view name);

// Whether a key of `role` may run `name`: admins, operators and auditors run
// every query; cashiers the rooms, a room's balance and status and the
// deposits and settlement reports; other roles none.
bool RoleMayQuery(ledger::Role role, absl::string_view name);

// Runs `query` against `source`; kInvalidArgument for an unknown query or
// argument, kNotFound for an unknown room, kFailedPrecondition for a report
// the store does not hold.
absl::StatusOr<Answer> RunQuery(const QuerySource& source, const Query& query);

}  // namespace wattledger::query
