// The domain's inline projections as one, in the order they must see each
// event: the campus (registry and money) first, then the control book and
// the device status, which read the campus's registry. wattd, tests and
// replays register a Domain with the ledger; a refusal by any part refuses
// the event, and Apply merges the parts' results and derived events.
#pragma once

#include "ledger/inline_projection.h"
#include "projections/campus.h"
#include "projections/control/control_book.h"
#include "projections/monitoring/device_status.h"

namespace wattledger::projections {

class Domain final : public ledger::InlineProjection {
 public:
  Domain() = default;
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  absl::Status Load(const ledger::EventStore& store) override;
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override;
  void Flush(ledger::StateWriter& writer) override;

  const Campus& campus() const { return campus_; }
  const ControlBook& control() const { return control_; }
  const DeviceStatus& devices() const { return devices_; }

 private:
  Campus campus_;
  ControlBook control_{campus_};
  DeviceStatus devices_{campus_};
};

}  // namespace wattledger::projections
