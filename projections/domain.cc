#include "projections/domain.h"

#include "ledger/status_macros.h"

namespace wattledger::projections {
namespace {

void Merge(ledger::Applied& into, ledger::Applied more) {
  if (into.result.empty()) into.result = std::move(more.result);
  for (std::string& body : more.derived_bodies) into.derived_bodies.push_back(std::move(body));
  into.derived_unbuilt += more.derived_unbuilt;
}

}  // namespace

absl::Status Domain::Load(const ledger::EventStore& store) {
  WL_RETURN_IF_ERROR(campus_.Load(store));
  WL_RETURN_IF_ERROR(control_.Load(store));
  WL_RETURN_IF_ERROR(policies_.Load(store));
  WL_RETURN_IF_ERROR(outbox_.Load(store));
  WL_RETURN_IF_ERROR(devices_.Load(store));
  return alarms_.Load(store);
}

absl::Status Domain::Check(const ledger::PendingEvent& event) const {
  WL_RETURN_IF_ERROR(campus_.Check(event));
  WL_RETURN_IF_ERROR(control_.Check(event));
  WL_RETURN_IF_ERROR(policies_.Check(event));
  WL_RETURN_IF_ERROR(outbox_.Check(event));
  WL_RETURN_IF_ERROR(devices_.Check(event));
  return alarms_.Check(event);
}

ledger::Applied Domain::Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) {
  ledger::Applied applied = campus_.Apply(event, writer);
  Merge(applied, control_.Apply(event, writer));
  ControlPolicies::Outcome decided =
      policies_.Apply(event, writer, event.seq + 1 + applied.DerivedEvents());
  Merge(applied, std::move(decided.applied));
  Merge(applied, outbox_.Apply(event, writer, decided.arrears));
  Merge(applied, devices_.Apply(event, writer));
  Merge(applied, alarms_.Apply(event, writer));
  return applied;
}

void Domain::Flush(ledger::StateWriter& writer) {
  campus_.Flush(writer);
  control_.Flush(writer);
  policies_.Flush(writer);
  outbox_.Flush(writer);
  devices_.Flush(writer);
  alarms_.Flush(writer);
}

}  // namespace wattledger::projections
