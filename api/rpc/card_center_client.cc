#include "api/rpc/card_center_client.h"

#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "api/rpc/card_center.capnp.h"
#include "api/rpc/rpc_connection.h"
#include "api/rpc/status_convert.h"
#include "api/rpc/wire.h"

namespace wattledger::rpc {
namespace {

using ledger::AsData;

void SetRequest(SignedRequest::Builder out, const ledger::SignedRequest& request) {
  out.setBody(AsData(request.body));
  out.setSignerKeyId(AsData(absl::MakeConstSpan(request.signer_key_id)));
  out.setSignature(AsData(absl::MakeConstSpan(request.signature)));
}

CardTrade ToTrade(rpc::TradeStatus::Reader in) {
  CardTradeState state = CardTradeState::kUnknown;
  switch (in.getState()) {
    case rpc::TradeState::UNKNOWN:
      break;
    case rpc::TradeState::APPLIED:
      state = CardTradeState::kApplied;
      break;
    case rpc::TradeState::REVERSED:
      state = CardTradeState::kReversed;
      break;
    case rpc::TradeState::VOIDED:
      state = CardTradeState::kVoided;
      break;
  }
  return CardTrade{Str(in.getTradeNo()), state,
                   in.getDepositSeq(),   in.getReversalSeq(),
                   Str(in.getRoomId()),  in.getAmountFen(),
                   in.getTimeUs()};
}

absl::string_view LineKindName(LineKind kind) {
  switch (kind) {
    case LineKind::DEPOSIT:
      return "deposit";
    case LineKind::REVERSAL:
      return "reversal";
    case LineKind::VOIDED:
      return "voided";
  }
  return "unknown";
}

absl::string_view DifferenceName(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::MISSING_HERE:
      return "missingHere";
    case DifferenceKind::MISSING_THERE:
      return "missingThere";
    case DifferenceKind::AMOUNT_DIFFERS:
      return "amountDiffers";
    case DifferenceKind::ROOM_DIFFERS:
      return "roomDiffers";
    case DifferenceKind::UNKNOWN_ROOM:
      return "unknownRoom";
    case DifferenceKind::REVERSAL_DIFFERS:
      return "reversalDiffers";
  }
  return "unknown";
}

}  // namespace

absl::string_view TradeStateName(CardTradeState state) {
  switch (state) {
    case CardTradeState::kUnknown:
      return "unknown";
    case CardTradeState::kApplied:
      return "applied";
    case CardTradeState::kReversed:
      return "reversed";
    case CardTradeState::kVoided:
      return "voided";
  }
  return "unknown";
}

bool SignedSettlementView::Verified() const {
  auto key = ledger::VerifyingKey::FromRaw(ledger_public_key);
  if (!key.ok()) return false;
  std::string message = absl::StrCat(ledger::kSettlementSigningDomain, statement);
  return key->Verify(ledger::AsBytes(message), signature);
}

struct CardCenterClient::Impl {
  explicit Impl(std::unique_ptr<RpcConnection> connection_in)
      : connection(std::move(connection_in)), card_center(connection->Bootstrap<CardCenter>()) {}
  kj::WaitScope& wait_scope() { return connection->wait_scope(); }
  std::unique_ptr<RpcConnection> connection;
  CardCenter::Client card_center;
};

CardCenterClient::CardCenterClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CardCenterClient::~CardCenterClient() = default;

absl::StatusOr<std::unique_ptr<CardCenterClient>> CardCenterClient::Connect(
    const std::string& address, const TlsFiles& tls) {
  auto connection = RpcConnection::Connect(address, tls);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<CardCenterClient>(
      new CardCenterClient(std::make_unique<Impl>(std::move(*connection))));
}

absl::StatusOr<std::vector<CardRoom>> CardCenterClient::Rooms() {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<std::vector<CardRoom>> {
    auto response = impl_->card_center.roomsRequest().send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    std::vector<CardRoom> out;
    for (auto campus : response.getDirectory().getCampuses()) {
      for (auto building : campus.getBuildings()) {
        for (auto floor : building.getFloors()) {
          for (auto room : floor.getRoomIds()) {
            out.push_back(CardRoom{Str(campus.getName()), Str(building.getBuildingId()),
                                   floor.getFloor(), Str(room)});
          }
        }
      }
    }
    return out;
  });
}

absl::StatusOr<CardBalance> CardCenterClient::Balance(const std::string& room_id) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<CardBalance> {
    auto call = impl_->card_center.balanceRequest();
    call.setRoomId(room_id);
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    auto in = response.getBalance();
    return CardBalance{Str(in.getRoomId()),       in.getBalanceFen(),  in.getAllowanceLeftWh(),
                       in.getPricePerKwh(),       in.getRemainingWh(), in.getPowerOn(),
                       Str(in.getArrearsLevel()), Str(in.getStatus())};
  });
}

absl::StatusOr<std::vector<CardBalance>> CardCenterClient::Balances(
    const std::vector<std::string>& room_ids) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<std::vector<CardBalance>> {
    auto calls = kj::heapArrayBuilder<kj::Promise<capnp::Response<CardCenter::BalanceResults>>>(
        room_ids.size());
    for (const std::string& room_id : room_ids) {
      auto call = impl_->card_center.balanceRequest();
      call.setRoomId(room_id);
      calls.add(call.send());
    }
    auto responses = kj::joinPromises(calls.finish()).wait(impl_->wait_scope());
    std::vector<CardBalance> out;
    out.reserve(responses.size());
    for (auto& response : responses) {
      if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
      auto in = response.getBalance();
      out.push_back(CardBalance{Str(in.getRoomId()), in.getBalanceFen(), in.getAllowanceLeftWh(),
                                in.getPricePerKwh(), in.getRemainingWh(), in.getPowerOn(),
                                Str(in.getArrearsLevel()), Str(in.getStatus())});
    }
    return out;
  });
}

absl::StatusOr<CardReceipt> CardCenterClient::Deposit(const ledger::SignedRequest& request) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<CardReceipt> {
    auto call = impl_->card_center.depositRequest();
    SetRequest(call.initRequest(), request);
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    auto in = response.getReceipt();
    return CardReceipt{Str(in.getReceiptNo()),
                       Str(in.getTradeNo()),
                       Str(in.getRoomId()),
                       in.getAmountFen(),
                       in.getBalanceAfterFen(),
                       in.getTimeUs(),
                       in.getSeq(),
                       FixedBytes<32>(in.getChainHash()),
                       in.getDuplicate()};
  });
}

absl::StatusOr<CardTrade> CardCenterClient::Reverse(const ledger::SignedRequest& request) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<CardTrade> {
    auto call = impl_->card_center.reverseRequest();
    SetRequest(call.initRequest(), request);
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    return ToTrade(response.getTrade());
  });
}

absl::StatusOr<CardTrade> CardCenterClient::Status(const std::string& trade_no) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<CardTrade> {
    auto call = impl_->card_center.statusRequest();
    call.setTradeNo(trade_no);
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    return ToTrade(response.getTrade());
  });
}

absl::StatusOr<SignedSettlementView> CardCenterClient::Settlement(const std::string& day) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<SignedSettlementView> {
    auto call = impl_->card_center.settlementRequest();
    call.setDay(day);
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    auto signed_in = response.getSettlement();
    SignedSettlementView out;
    out.statement = ledger::ToString(signed_in.getStatement());
    out.signature = FixedBytes<64>(signed_in.getSignature());
    out.ledger_public_key = FixedBytes<32>(signed_in.getLedgerPublicKey());
    auto parsed = ledger::CanonicalMessage<rpc::Settlement>::Parse(out.statement, 64 << 20);
    if (!parsed.ok()) return parsed.status();
    auto in = parsed->get();
    out.day = Str(in.getDay());
    out.deposit_count = in.getDepositCount();
    out.deposits_fen = in.getDepositsFen();
    out.reversal_count = in.getReversalCount();
    out.reversals_fen = in.getReversalsFen();
    out.first_seq = in.getFirstSeq();
    out.last_seq = in.getLastSeq();
    out.head_seq = in.getHeadSeq();
    for (auto line : in.getLines()) {
      out.lines.push_back(SettlementLineView{
          line.getSeq(), std::string(LineKindName(line.getKind())), line.getDepositSeq(),
          line.getTimeUs(), Str(line.getTradeNo()), Str(line.getTerminalId()),
          Str(line.getRoomId()), Str(line.getPayerCardNo()), line.getAmountFen()});
    }
    return out;
  });
}

absl::StatusOr<ReconcileReport> CardCenterClient::Reconcile(
    const std::string& day, const std::vector<TheirLineInput>& theirs) {
  if (impl_ == nullptr) return absl::FailedPreconditionError("the connection was cut");
  return GuardRpc([&]() -> absl::StatusOr<ReconcileReport> {
    auto call = impl_->card_center.reconcileRequest();
    call.setDay(day);
    auto lines = call.initTheirLines(static_cast<unsigned>(theirs.size()));
    for (unsigned i = 0; i < theirs.size(); ++i) {
      lines[i].setTradeNo(theirs[i].trade_no);
      lines[i].setRoomId(theirs[i].room_id);
      lines[i].setAmountFen(theirs[i].amount_fen);
      lines[i].setKind(theirs[i].reversal ? LineKind::REVERSAL : LineKind::DEPOSIT);
    }
    auto response = call.send().wait(impl_->wait_scope());
    if (absl::Status status = ToStatus(response.getStatus()); !status.ok()) return status;
    ReconcileReport out;
    out.matched = response.getMatched();
    for (auto difference : response.getDifferences()) {
      out.differences.push_back(ReconcileDifference{
          std::string(DifferenceName(difference.getKind())), Str(difference.getTradeNo()),
          Str(difference.getOurs()), Str(difference.getTheirs()), difference.getSeq()});
    }
    return out;
  });
}

void CardCenterClient::SendThenCut(const ledger::SignedRequest& request, bool reversal,
                                   absl::Duration after) {
  kj::runCatchingExceptions([&]() {
    auto delay = static_cast<int64_t>(absl::ToInt64Microseconds(after)) * kj::MICROSECONDS;
    if (reversal) {
      auto call = impl_->card_center.reverseRequest();
      SetRequest(call.initRequest(), request);
      auto pending = call.send();
      impl_->connection->timer().afterDelay(delay).wait(impl_->wait_scope());
    } else {
      auto call = impl_->card_center.depositRequest();
      SetRequest(call.initRequest(), request);
      auto pending = call.send();
      impl_->connection->timer().afterDelay(delay).wait(impl_->wait_scope());
    }
  });
  impl_.reset();  // closes the connection with the call in flight
}

std::string CardDepositBody(const std::string& trade_no, const std::string& room_id,
                            int64_t amount_fen, const std::string& card_no,
                            const std::string& terminal_id, int64_t trade_time_us,
                            int64_t issued_at_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("trade/", trade_no));
  body.setIssuedAtUs(issued_at_us);
  body.setStream(absl::StrCat("room:", room_id));
  auto deposit = body.initDepositMade();
  deposit.setRoomId(room_id);
  deposit.setAmountFen(amount_fen);
  deposit.setChannel(schema::DepositChannel::CARD_CENTER);
  deposit.setPayerCardNo(card_no);
  deposit.setCashierId(terminal_id);
  deposit.setTradeNo(trade_no);
  deposit.setTradeTimeUs(trade_time_us);
  return ledger::Canonical(body.asReader());
}

std::string CardReversalBody(const std::string& trade_no, const std::string& reason,
                             int64_t issued_at_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat("reverse/", trade_no));
  body.setIssuedAtUs(issued_at_us);
  body.setStream(absl::StrCat("trade:", trade_no));
  auto reversal = body.initDepositReversed();
  reversal.setTradeNo(trade_no);
  reversal.setReason(reason);
  return ledger::Canonical(body.asReader());
}

}  // namespace wattledger::rpc
