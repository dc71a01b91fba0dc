// Replays the checked-in fuzz corpus (fuzz/corpus/) through the RPC fuzz
// target's entry point in the normal test build, so every seed also runs
// under the ASan/UBSan preset without clang.
#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "api/rpc/card_center.capnp.h"
#include "api/rpc/card_center_client.h"
#include "ledger/crypto.h"
#include "tests/testing/fuzz_corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(RpcFuzzCorpus, EverySeedRunsCleanly) {
  wattledger::testing::ReplayCorpus(WL_RPC_CORPUS_DIR, LLVMFuzzerTestOneInput, 4u);
}

TEST(RpcFuzzCorpus, EmptyTinyAndHugeClaims) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  const uint8_t claim[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3};
  EXPECT_EQ(LLVMFuzzerTestOneInput(claim, sizeof(claim)), 0);
}

// Well-formed calls as a peer sends them: each runs cleanly, and with
// WL_WRITE_RPC_SEEDS=DIR they are written there (how fuzz/corpus/ was made).
TEST(RpcFuzzCorpus, WellFormedCallsRunCleanly) {
  using namespace wattledger;
  auto key = ledger::SigningKey::FromSeed(std::vector<uint8_t>(32, 7));
  ASSERT_TRUE(key.ok());
  std::vector<std::pair<std::string, std::string>> seeds;
  auto add = [&](const std::string& name, auto fill) {
    capnp::MallocMessageBuilder message;
    auto call = message.initRoot<capnp::rpc::Message>().initCall();
    call.setQuestionId(1);
    call.setInterfaceId(0xfffffffful);
    call.setMethodId(2);
    fill(call.initParams().getContent());
    kj::VectorOutputStream out;
    capnp::writeMessage(out, message);
    auto bytes = out.getArray();
    seeds.emplace_back(name,
                       std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
  };
  ledger::SignedRequest deposit = ledger::SignBodyBytes(
      rpc::CardDepositBody("TN1", "B01-101", 3000, "C1", "CC-T1", 1, 2), *key);
  ledger::SignedRequest reversal =
      ledger::SignBodyBytes(rpc::CardReversalBody("TN1", "cancelled", 3), *key);
  for (auto [name, request] :
       {std::pair{"deposit_call", &deposit}, std::pair{"reverse_call", &reversal}}) {
    add(name, [&](capnp::AnyPointer::Builder content) {
      auto out = content.initAs<rpc::CardCenter::DepositParams>().initRequest();
      out.setBody(ledger::AsData(request->body));
      out.setSignerKeyId(ledger::AsData(absl::MakeConstSpan(request->signer_key_id)));
      out.setSignature(ledger::AsData(absl::MakeConstSpan(request->signature)));
    });
  }
  add("reconcile_call", [](capnp::AnyPointer::Builder content) {
    auto params = content.initAs<rpc::CardCenter::ReconcileParams>();
    params.setDay("2026-11-26");
    auto lines = params.initTheirLines(2);
    lines[0].setTradeNo("TN1");
    lines[0].setRoomId("B01-101");
    lines[0].setAmountFen(3000);
    lines[1].setTradeNo("TN1");
    lines[1].setKind(rpc::LineKind::REVERSAL);
  });
  add("balance_call", [](capnp::AnyPointer::Builder content) {
    content.initAs<rpc::CardCenter::BalanceParams>().setRoomId("B01-101");
  });
  const char* write_to = std::getenv("WL_WRITE_RPC_SEEDS");
  for (const auto& [name, bytes] : seeds) {
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              0);
    if (write_to != nullptr)
      std::ofstream(std::string(write_to) + "/" + name, std::ios::binary) << bytes;
  }
}

}  // namespace
