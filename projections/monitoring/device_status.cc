#include "projections/monitoring/device_status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ledger/event_format.h"
#include "ledger/status_macros.h"
#include "projections/schema/control.capnp.h"
#include "projections/state_rows.h"

namespace wattledger::projections {
namespace {

using EventKind = schema::EventBody::Which;
constexpr size_t kRowBytesMax = 1 << 16;

absl::Status LoadRows(const ledger::EventStore& store, absl::string_view prefix,
                      std::map<std::string, LinkStatus>& out) {
  return ScanStateRows(store, prefix,
                       [&](absl::string_view id, absl::string_view value) -> absl::Status {
                         WL_ASSIGN_OR_RETURN(LinkStatus status, DecodeLinkStatus(id, value));
                         out.emplace(std::string(id), std::move(status));
                         return absl::OkStatus();
                       });
}

std::optional<LinkStatus> Find(const std::map<std::string, LinkStatus>& map,
                               const std::string& id) {
  auto it = map.find(id);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

std::vector<LinkStatus> Values(const std::map<std::string, LinkStatus>& map) {
  std::vector<LinkStatus> out;
  out.reserve(map.size());
  for (const auto& [id, status] : map) out.push_back(status);
  return out;
}

}  // namespace

absl::string_view LinkStateName(schema::LinkState state) {
  switch (state) {
    case schema::LinkState::ONLINE:
      return "online";
    case schema::LinkState::OFFLINE:
      return "offline";
    case schema::LinkState::FAULT:
      return "fault";
  }
  return "unknown";
}

std::string EncodeLinkStatus(const LinkStatus& status) {
  capnp::MallocMessageBuilder message;
  auto row = message.initRoot<state::LinkRecord>();
  row.setState(status.state);
  row.setDetail(status.detail);
  row.setPeer(status.peer);
  row.setGatewayId(status.gateway_id);
  row.setChangedSeq(status.changed_seq);
  row.setChangedAtUs(status.changed_at_us);
  row.setRequests(status.requests);
  row.setTimeouts(status.timeouts);
  row.setChecksumErrors(status.checksum_errors);
  row.setGarbledReplies(status.garbled_replies);
  row.setAbnormalReplies(status.abnormal_replies);
  return ledger::Canonical(row.asReader());
}

absl::StatusOr<LinkStatus> DecodeLinkStatus(absl::string_view id, absl::string_view bytes) {
  WL_ASSIGN_OR_RETURN(
      auto parsed, ledger::CanonicalMessage<state::LinkRecord>::ParseTrusted(bytes, kRowBytesMax));
  auto row = parsed.get();
  LinkStatus status;
  status.id = std::string(id);
  status.gateway_id = row.getGatewayId();
  status.state = row.getState();
  status.detail = row.getDetail();
  status.peer = row.getPeer();
  status.changed_seq = row.getChangedSeq();
  status.changed_at_us = row.getChangedAtUs();
  status.requests = row.getRequests();
  status.timeouts = row.getTimeouts();
  status.checksum_errors = row.getChecksumErrors();
  status.garbled_replies = row.getGarbledReplies();
  status.abnormal_replies = row.getAbnormalReplies();
  return status;
}

absl::Status DeviceStatus::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  WL_RETURN_IF_ERROR(LoadRows(store, kDeviceGatewayPrefix, gateways_));
  return LoadRows(store, kDeviceMeterPrefix, meters_);
}

absl::Status DeviceStatus::Check(const ledger::PendingEvent& event) const {
  switch (event.body.which()) {
    case EventKind::GATEWAY_STATUS_CHANGED: {
      std::string id = event.body.getGatewayStatusChanged().getGatewayId();
      if (campus_.HasGateway(id)) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat("gateway ", id, " is not registered"));
    }
    case EventKind::METER_STATUS_CHANGED: {
      std::string address = event.body.getMeterStatusChanged().getMeterAddress();
      if (campus_.HasMeter(address)) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat("meter ", address, " is not installed"));
    }
    default:
      return absl::OkStatus();
  }
}

ledger::Applied DeviceStatus::Apply(const ledger::PendingEvent& event, ledger::StateWriter&) {
  absl::MutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::GATEWAY_STATUS_CHANGED: {
      auto changed = event.body.getGatewayStatusChanged();
      std::string id = changed.getGatewayId();
      LinkStatus& status = gateways_[id];
      status.id = id;
      status.gateway_id = id;
      status.state = changed.getState();
      status.detail = changed.getDetail();
      status.peer = changed.getPeer();
      status.changed_seq = event.seq;
      status.changed_at_us = event.appended_at_us;
      dirty_.insert(absl::StrCat(kDeviceGatewayPrefix, id));
      break;
    }
    case EventKind::METER_STATUS_CHANGED: {
      auto changed = event.body.getMeterStatusChanged();
      std::string address = changed.getMeterAddress();
      LinkStatus& status = meters_[address];
      status.id = address;
      status.gateway_id = changed.getGatewayId();
      status.state = changed.getState();
      status.detail = changed.getDetail();
      status.changed_seq = event.seq;
      status.changed_at_us = event.appended_at_us;
      status.requests = changed.getRequests();
      status.timeouts = changed.getTimeouts();
      status.checksum_errors = changed.getChecksumErrors();
      status.garbled_replies = changed.getGarbledReplies();
      status.abnormal_replies = changed.getAbnormalReplies();
      dirty_.insert(absl::StrCat(kDeviceMeterPrefix, address));
      break;
    }
    default:
      break;
  }
  return {};
}

void DeviceStatus::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : dirty_) {
    absl::string_view id = key;
    if (absl::ConsumePrefix(&id, kDeviceGatewayPrefix)) {
      writer.Put(key, EncodeLinkStatus(gateways_.at(std::string(id))));
    } else if (absl::ConsumePrefix(&id, kDeviceMeterPrefix)) {
      writer.Put(key, EncodeLinkStatus(meters_.at(std::string(id))));
    }
  }
  dirty_.clear();
}

std::optional<LinkStatus> DeviceStatus::Gateway(const std::string& gateway_id) const {
  absl::ReaderMutexLock lock(&mu_);
  return Find(gateways_, gateway_id);
}

std::optional<LinkStatus> DeviceStatus::Meter(const std::string& meter_address) const {
  absl::ReaderMutexLock lock(&mu_);
  return Find(meters_, meter_address);
}

std::vector<LinkStatus> DeviceStatus::Gateways() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(gateways_);
}

std::vector<LinkStatus> DeviceStatus::Meters() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(meters_);
}

}  // namespace wattledger::projections
