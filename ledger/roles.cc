#include "ledger/roles.h"

#include <capnp/schema.h>

#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace wattledger::ledger {
namespace {

using K = EventKind;

bool In(Role role, std::initializer_list<Role> allowed) {
  for (Role r : allowed) {
    if (r == role) return true;
  }
  return false;
}

}  // namespace

bool RoleMayIssue(Role role, EventKind kind) {
  switch (kind) {
    case K::LEDGER_INITIALIZED:
    case K::DEDUCTIONS_APPLIED:
    case K::REFUND_SETTLED:
    case K::EXCHANGE_SETTLED:
    case K::PERIOD_CLOSED:
    case K::ARREARS_LEVEL_CHANGED:
    case K::VIOLATION_RECORDED:
    case K::CLOCK_TICK:
    case K::NOTIFICATION_QUEUED:
    case K::NOTIFICATION_SENT:
    case K::NOTIFICATION_FAILED:
      return role == Role::LEDGER;
    case K::KEY_REGISTERED:
    case K::KEY_REVOKED:
      return role == Role::ADMIN;
    case K::BUILDING_REGISTERED:
    case K::ROOM_REGISTERED:
    case K::OCCUPANT_ASSIGNED:
    case K::OCCUPANT_MOVED_OUT:
    case K::GATEWAY_REGISTERED:
    case K::METER_INSTALLED:
    case K::METER_REPLACED:
    case K::TARIFF_SET:
    case K::OVERDRAFT_LIMIT_SET:
    case K::REGISTRY_IMPORTED:
    case K::ROOM_EXCHANGED:
    case K::CONTROL_POLICY_SET:
      return In(role, {Role::ADMIN, Role::OPERATOR});
    case K::DEPOSIT_MADE:
      return In(role, {Role::CASHIER, Role::CARD_CENTER});
    case K::DEPOSIT_REVERSED:
      return In(role, {Role::CASHIER, Role::CARD_CENTER, Role::OPERATOR});
    case K::REFUND_ISSUED:
      return In(role, {Role::OPERATOR, Role::CASHIER});
    case K::READINGS_BATCH:
    case K::CONTROL_DELIVERED:
    case K::CONTROL_FAILED:
    case K::GATEWAY_STATUS_CHANGED:
    case K::METER_STATUS_CHANGED:
      return role == Role::INGEST;
    case K::CONTROL_COMMANDED:
      return In(role, {Role::OPERATOR, Role::LEDGER});
    case K::ALARM_RAISED:
    case K::ALARM_CLEARED:
      return role == Role::LEDGER;
  }
  return false;
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::ADMIN:
      return "admin";
    case Role::OPERATOR:
      return "operator";
    case Role::CASHIER:
      return "cashier";
    case Role::CARD_CENTER:
      return "card-center";
    case Role::INGEST:
      return "ingest";
    case Role::AUDITOR:
      return "auditor";
    case Role::LEDGER:
      return "ledger";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::ADMIN, Role::OPERATOR, Role::CASHIER, Role::CARD_CENTER, Role::INGEST,
                    Role::AUDITOR, Role::LEDGER}) {
    if (RoleName(role) == name) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role '", name,
                   "' (admin, operator, cashier, card-center, ingest, auditor, ledger)"));
}

uint16_t EventKindCount() {
  static const uint16_t count =
      static_cast<uint16_t>(capnp::Schema::from<schema::EventBody>().getUnionFields().size());
  return count;
}

absl::string_view EventKindName(EventKind kind) {
  auto fields = capnp::Schema::from<schema::EventBody>().getUnionFields();
  for (auto field : fields) {
    if (field.getProto().getDiscriminantValue() == static_cast<uint16_t>(kind)) {
      auto name = field.getProto().getName();
      return absl::string_view(name.cStr(), name.size());
    }
  }
  return "unknown";
}

}  // namespace wattledger::ledger
