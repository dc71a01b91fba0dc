// Which role may sign which event kind. One checked-in table, deny by
// default; the append pipeline and the offline verifier both consult it, so
// an auditor can check every event was signed by a key allowed to sign it.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::ledger {

using Role = schema::Role;
using EventKind = schema::EventBody::Which;

bool RoleMayIssue(Role role, EventKind kind);
absl::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(absl::string_view name);
absl::string_view EventKindName(EventKind kind);
// How many event kinds this build knows; a body whose union tag is not below
// it comes from a newer schema and is refused.
uint16_t EventKindCount();

}  // namespace wattledger::ledger
