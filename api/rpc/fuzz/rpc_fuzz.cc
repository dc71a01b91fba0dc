// libFuzzer target for what wattd decodes from an RPC peer before any of it
// reaches the ledger: arbitrary bytes read as one framed Cap'n Proto message
// under the server's reader limits, its root taken as an rpc::Message and,
// for a call, its parameters as each CardCenter and Ledger method's; every
// text of those is read, and each signed request goes through the shape
// check the card center's deposit and reverse apply (ParseCardRequest), then
// the canonical-body parser. Oracles: nothing crashes, hangs or reads out of
// bounds (ASan/UBSan); a malformed message is an exception or a refusal,
// never anything else.
// Built by tools/fuzz.sh with clang; the GCC test build links the same entry
// point into api_rpc_test to replay fuzz/corpus/ (corpus_replay_test.cc).
#include <capnp/dynamic.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <cstddef>
#include <cstdint>

#include "api/rpc/card_center.capnp.h"
#include "api/rpc/card_request.h"
#include "api/rpc/ledger.capnp.h"
#include "api/rpc/reader_limits.h"
#include "ledger/event_format.h"

namespace wattledger::rpc {
namespace {

template <typename Params>
void ReadAll(capnp::AnyPointer::Reader content) {
  auto params = content.getAs<Params>();
  ledger::internal::ReadEveryText(capnp::DynamicStruct::Reader(params));
}

void CheckRequest(SignedRequest::Reader request) {
  for (auto [kind, prefix] : {std::pair{schema::EventBody::DEPOSIT_MADE, "trade/"},
                              std::pair{schema::EventBody::DEPOSIT_REVERSED, "reverse/"}}) {
    auto parsed = ParseCardRequest(request, kind, prefix);
    if (parsed.ok())
      ledger::internal::ReadEveryText(capnp::DynamicStruct::Reader(parsed->body.get()));
  }
}

void DecodeCall(capnp::rpc::Call::Reader call) {
  auto content = call.getParams().getContent();
  ReadAll<CardCenter::BalanceParams>(content);
  ReadAll<CardCenter::StatusParams>(content);
  ReadAll<CardCenter::SettlementParams>(content);
  ReadAll<CardCenter::ReconcileParams>(content);
  ReadAll<Ledger::EventsParams>(content);
  ReadAll<Ledger::StreamEventsParams>(content);
  CheckRequest(content.getAs<CardCenter::DepositParams>().getRequest());
  CheckRequest(content.getAs<CardCenter::ReverseParams>().getRequest());
  CheckRequest(content.getAs<Ledger::SubmitParams>().getRequest());
}

}  // namespace
}  // namespace wattledger::rpc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wattledger::rpc;
  kj::ArrayInputStream input(kj::arrayPtr(data, size));
  kj::runCatchingExceptions([&]() {
    capnp::InputStreamMessageReader reader(input, RpcReaderOptions());
    auto message = reader.getRoot<capnp::rpc::Message>();
    wattledger::ledger::internal::ReadEveryText(capnp::DynamicStruct::Reader(message));
    if (message.isCall()) DecodeCall(message.getCall());
    if (message.isReturn() && message.getReturn().isResults()) {
      auto content = message.getReturn().getResults().getContent();
      ReadAll<CardCenter::SettlementResults>(content);
      ReadAll<CardCenter::DepositResults>(content);
    }
  });
  return 0;
}
