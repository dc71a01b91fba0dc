#include "api/query/query.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/query/views.h"

namespace wattledger::query {
namespace {

using Run = std::function<absl::StatusOr<Answer>(const QuerySource&, const views::Args&)>;

struct Entry {
  QueryInfo info;
  Run run;
  bool cashier = false;  // cashiers may run it too
};

Run ReportOf(const std::string& which) {
  return [which](const QuerySource& source, const views::Args& args) {
    return views::Report(source, which, args);
  };
}

const std::vector<Entry>& Table() {
  static const auto* const table = new std::vector<Entry>{
      {{"rooms", {"room"}, true, "every room (or one) with balance, allowance and occupants"},
       views::Rooms,
       true},
      {{"balance", {"room"}, true, "a room's balance, what it still buys, power on or off"},
       views::Balance,
       true},
      {{"room-status",
        {"room"},
        true,
        "live V, I, P, PF and relay of a room's meters; power and why"},
       views::RoomStatus,
       true},
      {{"control-why", {"room"}, true, "the relay state a room's meters should have, and why"},
       views::ControlWhy},
      {{"commands", {"meter"}, true, "each meter's latest commands: pending, delivered, failed"},
       views::Commands},
      {{"devices", {"gateway", "meter"}, true, "gateways and meters online/offline/fault, errors"},
       views::Devices},
      {{"power", {"building"}, true, "each building's load now (the latest sweep's sum of P)"},
       views::Power},
      {{"violations", {"room"}, false, "load and malicious-load violations with their evidence"},
       views::Violations},
      {{"alarms", {"all", "format"}, true, "open alarms, most severe first (all: cleared too)"},
       views::Alarms},
      {{"notifications", {"person", "pending"}, true, "the reminder outbox and delivery states"},
       views::Notifications},
      {{"report.consumption",
        {"since", "until", "by", "period", "id", "format"},
        false,
        "energy and money by room or building per day, month, quarter or year"},
       ReportOf("consumption")},
      {{"report.violations",
        {"since", "until", "by", "period", "id", "format"},
        false,
        "violation counts by room or building per period"},
       ReportOf("violations")},
      {{"report.deposits",
        {"since", "until", "by", "format"},
        false,
        "deposits and reversals per day by cashier, channel or in total"},
       ReportOf("deposits"),
       true},
      {{"report.refunds", {"since", "until", "format"}, false, "refunds per day"},
       ReportOf("refunds")},
      {{"report.settlement",
        {"since", "until", "format"},
        false,
        "the card center's deposits and reversals per day, with totals"},
       ReportOf("settlement"),
       true},
      {{"report.balances",
        {"seq", "until", "format"},
        false,
        "every room's balance at a seq or at the end of a day (replays the log)"},
       ReportOf("balances")},
  };
  return *table;
}

const Entry* FindEntry(absl::string_view name) {
  for (const Entry& entry : Table()) {
    if (entry.info.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

const std::vector<QueryInfo>& Queries() {
  static const auto* const infos = [] {
    auto* out = new std::vector<QueryInfo>();
    for (const Entry& entry : Table()) out->push_back(entry.info);
    return out;
  }();
  return *infos;
}

const QueryInfo* FindQuery(absl::string_view name) {
  const Entry* entry = FindEntry(name);
  return entry == nullptr ? nullptr : &entry->info;
}

bool RoleMayQuery(ledger::Role role, absl::string_view name) {
  const Entry* entry = FindEntry(name);
  if (entry == nullptr) return false;
  switch (role) {
    case ledger::Role::ADMIN:
    case ledger::Role::OPERATOR:
    case ledger::Role::AUDITOR:
      return true;
    case ledger::Role::CASHIER:
      return entry->cashier;
    default:
      return false;
  }
}

absl::StatusOr<Answer> RunQuery(const QuerySource& source, const Query& query) {
  const Entry* entry = FindEntry(query.name);
  if (entry == nullptr) {
    std::vector<std::string> names;
    for (const Entry& e : Table()) names.push_back(e.info.name);
    return absl::InvalidArgumentError(
        absl::StrCat("no query '", query.name, "' (", absl::StrJoin(names, ", "), ")"));
  }
  for (const auto& [name, value] : query.args) {
    const auto& accepted = entry->info.args;
    if (std::find(accepted.begin(), accepted.end(), name) == accepted.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          query.name, " takes no argument '", name,
          "' (it takes: ", accepted.empty() ? "none" : absl::StrJoin(accepted, ", "), ")"));
    }
  }
  if (source.store == nullptr || (entry->info.needs_domain && source.domain == nullptr)) {
    return absl::FailedPreconditionError(absl::StrCat(query.name, " cannot be answered here"));
  }
  return entry->run(source, query.args);
}

}  // namespace wattledger::query
