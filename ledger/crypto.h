// SHA-256 and Ed25519 through OpenSSL 3's EVP interface, and the PEM key
// files operators keep. Every function here is thread-safe; SigningKey and
// VerifyingKey are immutable after construction and may be shared by threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace wattledger::ledger {

using Hash = std::array<uint8_t, 32>;
using PublicKey = std::array<uint8_t, 32>;
using KeyId = Hash;  // SHA-256 of the raw 32-byte public key
using Signature = std::array<uint8_t, 64>;

Hash Sha256(absl::Span<const uint8_t> bytes);
Hash Sha256(absl::string_view bytes);
KeyId KeyIdOf(const PublicKey& public_key);

std::string ToHex(absl::Span<const uint8_t> bytes);
// Parses lower- or upper-case hex; kInvalidArgument on odd length or a bad digit.
absl::StatusOr<std::string> FromHex(absl::string_view hex);
template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FixedFromHex(absl::string_view hex);

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// An Ed25519 public key, parsed once, that verifies many signatures.
class VerifyingKey {
 public:
  static absl::StatusOr<VerifyingKey> FromRaw(const PublicKey& raw);
  // True when `signature` is a valid Ed25519 signature of `message`.
  bool Verify(absl::Span<const uint8_t> message, const Signature& signature) const;
  const PublicKey& raw() const { return raw_; }
  const KeyId& key_id() const { return key_id_; }

 private:
  VerifyingKey(std::shared_ptr<EVP_PKEY> key, PublicKey raw);
  std::shared_ptr<EVP_PKEY> key_;
  PublicKey raw_;
  KeyId key_id_;
};

// An Ed25519 private key.
class SigningKey {
 public:
  static absl::StatusOr<SigningKey> Generate();
  static absl::StatusOr<SigningKey> FromSeed(absl::Span<const uint8_t> seed32);
  // Reads a PKCS#8 PEM file, decrypting it with `passphrase` when it is
  // encrypted. kNotFound when the file is missing, kInvalidArgument when it is
  // not an Ed25519 key or the passphrase is wrong.
  static absl::StatusOr<SigningKey> LoadPem(const std::string& path, absl::string_view passphrase);
  static absl::StatusOr<SigningKey> ParsePem(absl::string_view pem, absl::string_view passphrase);

  // Writes PKCS#8 PEM with mode 0600, AES-256-CBC encrypted when `passphrase`
  // is not empty. Refuses to overwrite an existing file (kAlreadyExists).
  absl::Status SavePem(const std::string& path, absl::string_view passphrase) const;
  absl::StatusOr<std::string> ToPem(absl::string_view passphrase) const;

  Signature Sign(absl::Span<const uint8_t> message) const;
  const PublicKey& public_key() const { return public_key_; }
  KeyId key_id() const { return KeyIdOf(public_key_); }

 private:
  SigningKey(std::shared_ptr<EVP_PKEY> key, PublicKey public_key);
  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_key_;
};

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FixedFromHex(absl::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != N) {
    return absl::InvalidArgumentError("expected " + std::to_string(N) + " bytes of hex, got " +
                                      std::to_string(bytes->size()));
  }
  std::array<uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace wattledger::ledger
