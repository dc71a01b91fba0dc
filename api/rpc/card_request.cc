#include "api/rpc/card_request.h"

#include "absl/strings/str_cat.h"
#include "api/rpc/ledger_service.h"
#include "api/rpc/wire.h"
#include "ledger/limits.h"

namespace wattledger::rpc {

absl::StatusOr<CardRequest> ParseCardRequest(SignedRequest::Reader wire,
                                             schema::EventBody::Which kind,
                                             absl::string_view key_prefix) {
  auto request = ToSignedRequest(wire);
  if (!request.ok()) return request.status();
  auto body =
      ledger::CanonicalMessage<schema::EventBody>::Parse(request->body, ledger::kEventBodyBytesMax);
  if (!body.ok()) return absl::InvalidArgumentError(body.status().message());
  auto reader = body->get();
  if (reader.which() != kind) {
    return absl::InvalidArgumentError(kind == schema::EventBody::DEPOSIT_MADE
                                          ? "a card-center deposit is a signed DepositMade"
                                          : "a card-center reversal is a signed DepositReversed");
  }
  std::string trade_no;
  if (kind == schema::EventBody::DEPOSIT_MADE) {
    auto deposit = reader.getDepositMade();
    if (deposit.getChannel() != schema::DepositChannel::CARD_CENTER) {
      return absl::InvalidArgumentError("a card-center deposit is on the card-center channel");
    }
    trade_no = Str(deposit.getTradeNo());
  } else {
    auto reversal = reader.getDepositReversed();
    if (reversal.getDepositSeq() != 0) {
      return absl::InvalidArgumentError("the card center reverses by trade number");
    }
    trade_no = Str(reversal.getTradeNo());
  }
  if (trade_no.empty()) return absl::InvalidArgumentError("the trade number is missing");
  if (Str(reader.getIdempotencyKey()) != absl::StrCat(key_prefix, trade_no)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the idempotency key must be \"", key_prefix, trade_no, "\""));
  }
  return CardRequest{std::move(*request), std::move(*body), std::move(trade_no)};
}

}  // namespace wattledger::rpc
