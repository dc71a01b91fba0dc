// Small conversions from Cap'n Proto readers that every RPC file needs.
#pragma once

#include <capnp/blob.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace wattledger::rpc {

// A fixed-size byte field (a key id, a hash, a signature); zeros when the
// field has another size.
template <size_t N>
std::array<uint8_t, N> FixedBytes(capnp::Data::Reader data) {
  std::array<uint8_t, N> out{};
  if (data.size() == N) std::memcpy(out.data(), data.begin(), N);
  return out;
}

inline std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

}  // namespace wattledger::rpc
