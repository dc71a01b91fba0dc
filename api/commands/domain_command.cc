#include "api/commands/domain_command.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/status_macros.h"

namespace wattledger::commands {
namespace {

using Args = std::map<std::string, std::string>;

std::string Arg(const Args& args, const std::string& name) {
  auto it = args.find(name);
  return it == args.end() ? std::string() : it->second;
}

absl::StatusOr<std::string> Required(const Args& args, const std::string& name) {
  std::string value = Arg(args, name);
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("needs ", name));
  return value;
}

template <typename T>
absl::StatusOr<T> Number(const Args& args, const std::string& name, T fallback) {
  std::string text = Arg(args, name);
  if (text.empty()) return fallback;
  T value{};
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " '", text, "' is not a whole number"));
  }
  return value;
}

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

absl::Status Control(const Args& args, schema::EventBody::Builder body) {
  WL_ASSIGN_OR_RETURN(std::string meter, Required(args, "meter"));
  WL_ASSIGN_OR_RETURN(std::string reason, Required(args, "reason"));
  WL_ASSIGN_OR_RETURN(uint32_t circuit, Number<uint32_t>(args, "circuit", 1));
  if (circuit < 1 || circuit > 4) return absl::InvalidArgumentError("circuit is 1 to 4");
  static const std::map<std::string, schema::RelayAction> kActions = {
      {"trip", schema::RelayAction::TRIP},
      {"close-permit", schema::RelayAction::CLOSE_PERMIT},
      {"close-direct", schema::RelayAction::CLOSE_DIRECT},
      {"keep-power", schema::RelayAction::KEEP_POWER},
      {"keep-power-clear", schema::RelayAction::KEEP_POWER_CLEAR}};
  auto action = kActions.find(Arg(args, "action"));
  if (action == kActions.end()) {
    return absl::InvalidArgumentError(
        "action is trip, close-permit, close-direct, keep-power or keep-power-clear");
  }
  body.setStream(absl::StrCat("meter:", meter));
  auto command = body.initControlCommanded();
  command.setMeterAddress(meter);
  command.setCircuit(static_cast<uint8_t>(circuit));
  command.setRoomId(Arg(args, "room"));
  command.setReason(reason);
  command.setOrigin("operator");
  command.setRelay(action->second);
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
       Control},
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
