#include "api/commands/domain_command.h"

#include <algorithm>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/commands/campus_commands.h"
#include "api/commands/command_args.h"
#include "api/commands/control_settings.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"

namespace wattledger::commands {
namespace {

absl::Status Deposit(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string room, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(int64_t amount, Number<int64_t>(args, "amountFen", 0));
  if (amount <= 0) return absl::InvalidArgumentError("amountFen must be above 0");
  body.setStream(absl::StrCat("room:", room));
  auto deposit = body.initDepositMade();
  deposit.setRoomId(room);
  deposit.setAmountFen(amount);
  std::string channel = Arg(args, "channel");
  if (channel == "counter" || channel.empty()) {
    deposit.setChannel(schema::DepositChannel::COUNTER);
  } else if (channel == "web") {
    deposit.setChannel(schema::DepositChannel::WEB);
  } else if (channel == "card-center") {
    deposit.setChannel(schema::DepositChannel::CARD_CENTER);
  } else {
    return absl::InvalidArgumentError("channel is counter, web or card-center");
  }
  deposit.setPayerCardNo(Arg(args, "cardNo"));
  deposit.setCashierId(Arg(args, "cashier"));
  deposit.setTradeNo(Arg(args, "tradeNo"));
  return absl::OkStatus();
}

absl::Status Reverse(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(uint64_t seq, Number<uint64_t>(args, "seq", 0));
  if (seq == 0) return absl::InvalidArgumentError("needs seq (the deposit's)");
  body.setStream(absl::StrCat("reversal:", seq));
  auto reversal = body.initDepositReversed();
  reversal.setDepositSeq(seq);
  reversal.setReason(Arg(args, "reason"));
  return absl::OkStatus();
}

absl::Status Refund(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string room, Required(args, "room"));
  WL_ASSIGN_OR_RETURN(std::string person, Required(args, "person"));
  body.setStream(absl::StrCat("room:", room));
  auto refund = body.initRefundIssued();
  refund.setRoomId(room);
  refund.setPersonId(person);
  std::string reason = Arg(args, "reason");
  if (reason == "graduation") {
    refund.setReason(schema::RefundReason::GRADUATION);
  } else if (reason == "transfer") {
    refund.setReason(schema::RefundReason::TRANSFER);
  } else if (reason == "other" || reason.empty()) {
    refund.setReason(schema::RefundReason::OTHER);
  } else {
    return absl::InvalidArgumentError("reason is graduation, transfer or other");
  }
  return absl::OkStatus();
}

// The raw 32-byte Ed25519 public key, given as 64 hex digits or base64.
absl::StatusOr<std::string> RawPublicKey(const std::string& text) {
  std::string raw;
  if (text.size() == 64) {
    raw = absl::HexStringToBytes(text);
    if (ledger::ToHex(ledger::AsBytes(raw)) != absl::AsciiStrToLower(text)) raw.clear();
  } else if (!absl::Base64Unescape(text, &raw)) {
    raw.clear();
  }
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(
        "publicKey is the raw 32-byte Ed25519 key, as 64 hex digits or base64");
  }
  return raw;
}

absl::Status KeyRegister(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string text, Required(args, "publicKey"));
  WL_ASSIGN_OR_RETURN(std::string raw, RawPublicKey(text));
  WL_ASSIGN_OR_RETURN(std::string role_name, Required(args, "role"));
  WL_ASSIGN_OR_RETURN(ledger::Role role, ledger::ParseRole(role_name));
  body.setStream("keys");
  auto registered = body.initKeyRegistered();
  registered.setPublicKey(ledger::AsData(raw));
  registered.setRole(role);
  registered.setHolder(Arg(args, "holder"));
  return absl::OkStatus();
}

absl::Status KeyRevoke(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string hex, Required(args, "keyId"));
  WL_ASSIGN_OR_RETURN(auto key_id, ledger::FixedFromHex<32>(hex));
  body.setStream("keys");
  auto revoked = body.initKeyRevoked();
  revoked.setKeyId(ledger::AsData(absl::MakeConstSpan(key_id)));
  revoked.setReason(Arg(args, "reason"));
  return absl::OkStatus();
}

struct Entry {
  CommandInfo info;
  std::function<absl::Status(const Args&, schema::EventBody::Builder)> build;
};

const std::vector<Entry>& Table() {
  static const auto* const table = new std::vector<Entry>{
      {{"deposit",
        {"room", "amountFen", "channel", "cardNo", "cashier", "tradeNo"},
        "a deposit into a room's account"},
       Deposit},
      {{"reverse", {"seq", "reason"}, "reverse a deposit (by its seq)"}, Reverse},
      {{"refund", {"room", "person", "reason"}, "refund a leaving occupant's share"}, Refund},
      {{"control",
        {"meter", "circuit", "room", "action", "reason"},
        "an operator's relay command for one meter circuit"},
       BuildRelayCommand},
      {{"params",
        {"meter", "circuit", "room", "reason", "loadLimitW", "maliciousStepW", "maliciousPfMilli",
         "recoveryMinutes", "overdraftFen", "workday", "holiday"},
        "parameters one meter enforces on its own: load limit, malicious load, schedule"},
       BuildMeterParams},
      {{"policy",
        {"scope", "reason", "reminderBelowFen", "warningBelowFen", "noCut", "loadLimitW",
         "currentLimitMa", "maliciousStepW", "maliciousPfMilli", "recoveryMinutes", "escalateAfter",
         "escalateWindowMinutes", "workday", "holiday", "scheduleDates", "whitelist"},
        "a control policy for the campus, a building or a room"},
       BuildControlPolicy},
      {{"building", {"id", "name", "campus"}, "register a building"}, BuildBuilding},
      {{"gateway", {"id", "address", "location", "mode"}, "register a gateway (collector)"},
       BuildGateway},
      {{"room",
        {"id", "building", "floor", "number", "capacity", "tariffClass"},
        "register a room"},
       BuildRoom},
      {{"occupant-assign",
        {"room", "person", "name", "identity", "card"},
        "an occupant moves into a room"},
       BuildOccupantAssign},
      {{"occupant-moveout", {"room", "person", "reason"}, "an occupant moves out"},
       BuildOccupantMoveOut},
      {{"meter-install",
        {"address", "gateway", "room", "circuit", "initialWh", "ratedCurrentMa", "voltageDv"},
        "install a meter circuit for a room behind a gateway"},
       BuildMeterInstall},
      {{"meter-replace",
        {"oldMeter", "newMeter", "circuit", "oldFinalWh", "newInitialWh"},
        "replace a meter, with the old one's final and the new one's first reading"},
       BuildMeterReplace},
      {{"tariff",
        {"identity", "tiers", "allowanceKwhPerYear", "effectiveFrom"},
        "the tiered price and free allowance of an identity class"},
       BuildTariff},
      {{"overdraft", {"room", "limitFen"}, "how far a room's balance may go below zero"},
       BuildOverdraft},
      {{"exchange",
        {"person", "room", "to", "swapPerson"},
        "an occupant moves to another room (or swaps with someone there)"},
       BuildExchange},
      {{"key-register", {"publicKey", "role", "holder"}, "register a signing key with a role"},
       KeyRegister},
      {{"key-revoke", {"keyId", "reason"}, "revoke a signing key"}, KeyRevoke},
  };
  return *table;
}

}  // namespace

const std::vector<CommandInfo>& Commands() {
  static const auto* const infos = [] {
    auto* out = new std::vector<CommandInfo>();
    for (const Entry& entry : Table()) out->push_back(entry.info);
    return out;
  }();
  return *infos;
}

absl::Status BuildCommand(absl::string_view name, const std::map<std::string, std::string>& args,
                          schema::EventBody::Builder body) {
  for (const Entry& entry : Table()) {
    if (entry.info.name != name) continue;
    for (const auto& [arg, value] : args) {
      const auto& accepted = entry.info.args;
      if (std::find(accepted.begin(), accepted.end(), arg) == accepted.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " takes no argument '", arg,
                         "' (it takes: ", absl::StrJoin(accepted, ", "), ")"));
      }
    }
    absl::Status built = entry.build(args, body);
    if (!built.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", built.message()));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("no command '", name, "'"));
}

}  // namespace wattledger::commands
