// absl::Status <-> rpc::Status, so refusals cross the wire with their code.
#pragma once

#include "absl/status/status.h"
#include "api/rpc/ledger.capnp.h"

namespace wattledger::rpc {

inline void FillStatus(Status::Builder out, const absl::Status& status) {
  out.setCode(static_cast<uint32_t>(status.code()));
  out.setMessage(std::string(status.message()));
}

inline absl::Status ToStatus(Status::Reader status) {
  if (status.getCode() == 0) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.getCode()), status.getMessage().cStr());
}

}  // namespace wattledger::rpc
