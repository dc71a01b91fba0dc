#include "api/http/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/status_macros.h"

namespace wattledger::http {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr uint64_t kScryptMemoryMax = 256ull << 20;

bool Scrypt(absl::string_view password, absl::string_view salt, const ScryptCost& cost,
            uint8_t* out, size_t out_size) {
  if (cost.log2_n < 1 || cost.log2_n > 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 ||
      cost.p > 16) {
    return false;
  }
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                        uint64_t{1} << cost.log2_n, cost.r, cost.p, kScryptMemoryMax, out,
                        out_size) == 1;
}

}  // namespace

std::string HashPassword(absl::string_view password, ScryptCost cost) {
  std::string salt(kSaltBytes, '\0');
  WL_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), kSaltBytes) == 1);
  std::array<uint8_t, kHashBytes> hash{};
  WL_CHECK(Scrypt(password, salt, cost, hash.data(), hash.size()));
  return absl::StrCat("scrypt$", cost.log2_n, "$", cost.r, "$", cost.p, "$",
                      absl::BytesToHexString(salt), "$",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(hash.data()), hash.size())));
}

bool VerifyPassword(absl::string_view password, absl::string_view stored) {
  std::vector<absl::string_view> parts = absl::StrSplit(stored, '$');
  ScryptCost cost;
  if (parts.size() != 6 || parts[0] != "scrypt" || !absl::SimpleAtoi(parts[1], &cost.log2_n) ||
      !absl::SimpleAtoi(parts[2], &cost.r) || !absl::SimpleAtoi(parts[3], &cost.p) ||
      parts[4].size() != 2 * kSaltBytes || parts[5].size() != 2 * kHashBytes) {
    return false;
  }
  std::string salt = absl::HexStringToBytes(parts[4]);
  std::string expected = absl::HexStringToBytes(parts[5]);
  std::array<uint8_t, kHashBytes> hash{};
  if (!Scrypt(password, salt, cost, hash.data(), hash.size())) return false;
  return CRYPTO_memcmp(hash.data(), expected.data(), kHashBytes) == 0;
}

}  // namespace wattledger::http
