#include "ledger/crypto.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {
namespace {

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  ERR_clear_error();
  return buffer;
}

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

absl::StatusOr<PublicKey> RawPublicKey(EVP_PKEY* key) {
  PublicKey raw;
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size()) {
    return absl::InvalidArgumentError("not an Ed25519 key: " + OpenSslError());
  }
  return raw;
}

}  // namespace

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Hash Sha256(absl::Span<const uint8_t> bytes) {
  Hash out;
  SHA256(bytes.data(), bytes.size(), out.data());
  return out;
}

Hash Sha256(absl::string_view bytes) {
  return Sha256(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

KeyId KeyIdOf(const PublicKey& public_key) { return Sha256(absl::MakeConstSpan(public_key)); }

std::string ToHex(absl::Span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

absl::StatusOr<std::string> FromHex(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex string has odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int high = nibble(hex[2 * i]);
    int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad hex digit near offset ", 2 * i));
    }
    out[i] = static_cast<char>(high << 4 | low);
  }
  return out;
}

VerifyingKey::VerifyingKey(std::shared_ptr<EVP_PKEY> key, PublicKey raw)
    : key_(std::move(key)), raw_(raw), key_id_(KeyIdOf(raw)) {}

absl::StatusOr<VerifyingKey> VerifyingKey::FromRaw(const PublicKey& raw) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (key == nullptr)
    return absl::InvalidArgumentError("bad Ed25519 public key: " + OpenSslError());
  return VerifyingKey(Share(key), raw);
}

bool VerifyingKey::Verify(absl::Span<const uint8_t> message, const Signature& signature) const {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  WL_CHECK(context != nullptr);
  bool ok = EVP_DigestVerifyInit(context, nullptr, nullptr, nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(context, signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  EVP_MD_CTX_free(context);
  if (!ok) ERR_clear_error();
  return ok;
}

SigningKey::SigningKey(std::shared_ptr<EVP_PKEY> key, PublicKey public_key)
    : key_(std::move(key)), public_key_(public_key) {}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return absl::InternalError("Ed25519 keygen failed: " + OpenSslError());
  auto shared = Share(key);
  WL_ASSIGN_OR_RETURN(PublicKey raw, RawPublicKey(key));
  return SigningKey(std::move(shared), raw);
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(absl::Span<const uint8_t> seed32) {
  if (seed32.size() != 32) return absl::InvalidArgumentError("an Ed25519 seed is 32 bytes");
  EVP_PKEY* key =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed32.data(), seed32.size());
  if (key == nullptr) return absl::InvalidArgumentError("bad Ed25519 seed: " + OpenSslError());
  auto shared = Share(key);
  WL_ASSIGN_OR_RETURN(PublicKey raw, RawPublicKey(key));
  return SigningKey(std::move(shared), raw);
}

absl::StatusOr<SigningKey> SigningKey::ParsePem(absl::string_view pem,
                                                absl::string_view passphrase) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  WL_CHECK(bio != nullptr);
  std::string pass(passphrase);
  // A non-null empty passphrase stops OpenSSL from prompting on the terminal.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, pass.data());
  BIO_free(bio);
  if (key == nullptr) {
    return absl::InvalidArgumentError("cannot read private key (wrong passphrase or not PEM): " +
                                      OpenSslError());
  }
  auto shared = Share(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("private key is not Ed25519");
  }
  WL_ASSIGN_OR_RETURN(PublicKey raw, RawPublicKey(key));
  return SigningKey(std::move(shared), raw);
}

absl::StatusOr<SigningKey> SigningKey::LoadPem(const std::string& path,
                                               absl::string_view passphrase) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open key file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto key = ParsePem(buffer.str(), passphrase);
  if (!key.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
  return key;
}

absl::StatusOr<std::string> SigningKey::ToPem(absl::string_view passphrase) const {
  BIO* bio = BIO_new(BIO_s_mem());
  WL_CHECK(bio != nullptr);
  std::string pass(passphrase);
  const EVP_CIPHER* cipher = pass.empty() ? nullptr : EVP_aes_256_cbc();
  int ok =
      PEM_write_bio_PKCS8PrivateKey(bio, key_.get(), cipher, pass.empty() ? nullptr : pass.data(),
                                    static_cast<int>(pass.size()), nullptr, nullptr);
  std::string out;
  if (ok == 1) {
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(length));
  }
  BIO_free(bio);
  if (ok != 1) return absl::InternalError("cannot encode private key: " + OpenSslError());
  return out;
}

absl::Status SigningKey::SavePem(const std::string& path, absl::string_view passphrase) const {
  WL_ASSIGN_OR_RETURN(std::string pem, ToPem(passphrase));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + written, pem.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot sync ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

Signature SigningKey::Sign(absl::Span<const uint8_t> message) const {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  WL_CHECK(context != nullptr);
  Signature signature;
  size_t length = signature.size();
  WL_CHECK(EVP_DigestSignInit(context, nullptr, nullptr, nullptr, key_.get()) == 1);
  WL_CHECK(EVP_DigestSign(context, signature.data(), &length, message.data(), message.size()) == 1);
  WL_CHECK(length == signature.size());
  EVP_MD_CTX_free(context);
  return signature;
}

}  // namespace wattledger::ledger
