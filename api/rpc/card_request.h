// The card center's state-changing calls carry a signed request whose body
// must be a DepositMade on the card-center channel (idempotency key "trade/"
// tradeNo) or a DepositReversed by trade number ("reverse/" tradeNo). This
// parses and checks that shape before anything reaches the ledger; the
// ledger then checks the signature, the key's role and the domain's rules.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "api/rpc/ledger.capnp.h"
#include "ledger/event_format.h"

namespace wattledger::rpc {

struct CardRequest {
  ledger::SignedRequest request;
  ledger::CanonicalMessage<schema::EventBody> body;
  std::string trade_no;
};

// kInvalidArgument, with what is wrong, for anything but `kind` under the
// idempotency key `key_prefix` + its trade number.
absl::StatusOr<CardRequest> ParseCardRequest(SignedRequest::Reader wire,
                                             schema::EventBody::Which kind,
                                             absl::string_view key_prefix);

}  // namespace wattledger::rpc
