// Device status: the last recorded link state of every gateway and meter
// (online, offline, fault), when it changed, and the meter's cumulative
// communication counters, from GatewayStatusChanged and MeterStatusChanged
// events (the meter side records them on change, not per poll). The meter
// side reads it at start so it records only real changes across restarts;
// monitoring and `wattctl device status` show it.
//
// An inline projection: it refuses a status for a gateway or meter that is
// not registered. Check and Apply run on the writer thread; the accessors are
// safe from any thread.
#pragma once

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

absl::string_view LinkStateName(schema::LinkState state);  // "online", "offline", "fault"

struct LinkStatus {
  std::string id;  // gateway id or meter address
  std::string gateway_id;
  schema::LinkState state = schema::LinkState::OFFLINE;
  std::string detail;
  std::string peer;
  uint64_t changed_seq = 0;
  int64_t changed_at_us = 0;
  uint64_t requests = 0;
  uint64_t timeouts = 0;
  uint64_t checksum_errors = 0;
  uint64_t garbled_replies = 0;
  uint64_t abnormal_replies = 0;

  bool operator==(const LinkStatus&) const = default;
};

class DeviceStatus final : public ledger::InlineProjection {
 public:
  explicit DeviceStatus(const Campus& campus) : campus_(campus) {}

  absl::Status Load(const ledger::EventStore& store) override;
  absl::Status Check(const ledger::PendingEvent& event) const override;
  ledger::Applied Apply(const ledger::PendingEvent& event, ledger::StateWriter& writer) override;
  void Flush(ledger::StateWriter& writer) override;

  std::optional<LinkStatus> Gateway(const std::string& gateway_id) const;
  std::optional<LinkStatus> Meter(const std::string& meter_address) const;
  std::vector<LinkStatus> Gateways() const;
  std::vector<LinkStatus> Meters() const;

 private:
  const Campus& campus_;
  mutable absl::Mutex mu_;
  std::map<std::string, LinkStatus> gateways_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LinkStatus> meters_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);  // row keys
};

inline constexpr absl::string_view kDeviceGatewayPrefix = "device/gateway/";
inline constexpr absl::string_view kDeviceMeterPrefix = "device/meter/";
std::string EncodeLinkStatus(const LinkStatus& status);
absl::StatusOr<LinkStatus> DecodeLinkStatus(absl::string_view id, absl::string_view bytes);

}  // namespace wattledger::projections
