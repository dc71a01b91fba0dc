// Web users' passwords as scrypt hashes (OpenSSL's EVP_PBE_scrypt), each
// with its own 16-byte random salt, stored as
// "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>" so the cost can rise
// later without invalidating stored hashes. Verification compares in
// constant time.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wattledger::http {

struct ScryptCost {
  uint32_t log2_n = 15;  // N = 32768: 32 MiB and tens of ms per hash
  uint32_t r = 8;
  uint32_t p = 1;
};

std::string HashPassword(absl::string_view password, ScryptCost cost = {});
// False for a wrong password or a malformed stored hash.
bool VerifyPassword(absl::string_view password, absl::string_view stored);

}  // namespace wattledger::http
