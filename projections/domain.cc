#include "projections/domain.h"

#include "ledger/status_macros.h"

namespace wattledger::projections {

absl::Status Domain::Load(const ledger::EventStore& store) {
  WL_RETURN_IF_ERROR(campus_.Load(store));
  WL_RETURN_IF_ERROR(control_.Load(store));
  return devices_.Load(store);
}

absl::Status Domain::Check(const ledger::PendingEvent& event) const {
  WL_RETURN_IF_ERROR(campus_.Check(event));
  WL_RETURN_IF_ERROR(control_.Check(event));
  return devices_.Check(event);
}

ledger::Applied Domain::Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) {
  ledger::Applied applied = campus_.Apply(event, writer);
  for (ledger::InlineProjection* part : {static_cast<ledger::InlineProjection*>(&control_),
                                         static_cast<ledger::InlineProjection*>(&devices_)}) {
    ledger::Applied more = part->Apply(event, writer);
    if (applied.result.empty()) applied.result = std::move(more.result);
    for (std::string& body : more.derived_bodies) applied.derived_bodies.push_back(std::move(body));
    applied.derived_unbuilt += more.derived_unbuilt;
  }
  return applied;
}

void Domain::Flush(ledger::StateWriter& writer) {
  campus_.Flush(writer);
  control_.Flush(writer);
  devices_.Flush(writer);
}

}  // namespace wattledger::projections
