// The Cap'n Proto reader limits every RPC connection reads with, on both
// ends: a message may be as large as the largest envelope list a call
// returns, nested no deeper than 32.
#pragma once

#include <capnp/message.h>

#include "ledger/limits.h"

namespace wattledger::rpc {

inline capnp::ReaderOptions RpcReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = ledger::kReaderWordsMax;
  options.nestingLimit = 32;
  return options;
}

}  // namespace wattledger::rpc
