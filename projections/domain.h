// The domain's inline projections as one, in the order they must see each
// event: the campus (registry and money) first; then the control book (what
// each meter was commanded), the control policies (what each meter should
// do, deriving commands), the notification outbox (fed the policies' arrears
// changes), the device status and the alarms, which read the parts before
// them. wattd, tests and replays register a Domain with the ledger; a refusal
// by any part refuses the event, and Apply merges the parts' results and
// derived events, in that order (the policies need to know the seq of each
// command they derive: derived events follow their source in order).
#pragma once

#include "ledger/inline_projection.h"
#include "projections/campus.h"
#include "projections/control/control_book.h"
#include "projections/control/control_policies.h"
#include "projections/monitoring/alarm_book.h"
#include "projections/monitoring/device_status.h"
#include "projections/monitoring/notification_outbox.h"

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
  const ControlPolicies& policies() const { return policies_; }
  const NotificationOutbox& outbox() const { return outbox_; }
  const DeviceStatus& devices() const { return devices_; }
  const AlarmBook& alarms() const { return alarms_; }

  // The earliest time one of the parts' timers is due (0: none), for the
  // ledger's ticker (ClockTick). Safe from any thread.
  int64_t NextTimerUs() const { return policies_.NextTimerUs(); }

 private:
  Campus campus_;
  ControlBook control_{campus_};
  ControlPolicies policies_{campus_, control_};
  NotificationOutbox outbox_{campus_};
  DeviceStatus devices_{campus_};
  AlarmBook alarms_{campus_, control_, devices_};
};

}  // namespace wattledger::projections
