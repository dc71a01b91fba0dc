// What a key signs to open an RPC session (api/rpc/ledger.capnp
// `authenticate`): a domain-separation prefix and the server's single-use
// nonce, so the signature cannot be replayed elsewhere or later.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace wattledger::rpc {

inline constexpr absl::string_view kSessionProofPrefix = "wattledger/v1/session";
inline constexpr size_t kSessionNonceBytes = 32;

inline std::string SessionProofMessage(absl::string_view nonce) {
  return absl::StrCat(kSessionProofPrefix, nonce);
}

}  // namespace wattledger::rpc
