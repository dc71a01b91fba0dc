// The event format in code: canonical Cap'n Proto encoding, the signed and
// hashed byte strings defined in ledger/README.md, and parsed views over
// stored envelopes and bodies. Parsing never trusts its input: reader limits
// are explicit, kj exceptions become kInvalidArgument, and a message that is
// not in canonical form is refused so that one event has exactly one hash.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/crypto.h"
#include "ledger/limits.h"
#include "ledger/schema/event.capnp.h"

namespace wattledger::ledger {

inline constexpr absl::string_view kEventSigningDomain = "wattledger/v1/event";
inline constexpr absl::string_view kCheckpointSigningDomain = "wattledger/v1/checkpoint";
// The card center's daily settlement statement (api/rpc/card_center.capnp).
inline constexpr absl::string_view kSettlementSigningDomain = "wattledger/v1/settlement";

inline absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline absl::string_view AsView(capnp::Data::Reader data) {
  return absl::string_view(reinterpret_cast<const char*>(data.begin()), data.size());
}
inline std::string ToString(capnp::Data::Reader data) { return std::string(AsView(data)); }
inline capnp::Data::Reader AsData(absl::Span<const uint8_t> bytes) {
  return capnp::Data::Reader(bytes.data(), bytes.size());
}
inline capnp::Data::Reader AsData(absl::string_view bytes) {
  return capnp::Data::Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Canonical bytes of any struct reader (Cap'n Proto canonical form: one
// segment, no segment table, preorder layout, trailing zeros truncated).
template <typename Reader>
std::string Canonical(Reader reader) {
  kj::Array<capnp::word> words = capnp::canonicalize(reader);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// "wattledger/v1/event" || body: what an event's signature covers.
std::string EventSigningMessage(absl::string_view body_bytes);
// "wattledger/v1/checkpoint" || seq (u64 big-endian) || H(seq).
std::string CheckpointSigningMessage(uint64_t seq, const Hash& chain_hash);

// H(n) = SHA-256 of the canonical bytes of envelope n.
inline Hash ChainHash(absl::string_view canonical_envelope) { return Sha256(canonical_envelope); }
inline constexpr Hash kZeroHash{};

void PutU64BigEndian(std::string& out, uint64_t value);
uint64_t GetU64BigEndian(absl::string_view bytes);  // requires bytes.size() >= 8

// A parsed canonical message of type T that owns its (8-byte aligned) words.
template <typename T>
class CanonicalMessage {
 public:
  // kInvalidArgument when `bytes` is empty, over `bytes_max`, malformed or not
  // canonical.
  static absl::StatusOr<CanonicalMessage> Parse(absl::string_view bytes, size_t bytes_max);
  // As Parse, without re-encoding to check canonical form: for bytes this
  // process already checked (its own store). Still bounded by reader limits.
  static absl::StatusOr<CanonicalMessage> ParseTrusted(absl::string_view bytes, size_t bytes_max);
  // As Parse and ParseTrusted, over `bytes` that are 8-byte aligned and stay
  // valid and unchanged while the message is used: nothing is copied (replay
  // parses each event where it read it, and each body inside its envelope).
  // kInvalidArgument when `bytes` are not aligned.
  static absl::StatusOr<CanonicalMessage> ParseInPlace(absl::string_view bytes, size_t bytes_max);
  static absl::StatusOr<CanonicalMessage> ParseTrustedInPlace(absl::string_view bytes,
                                                              size_t bytes_max);
  typename T::Reader get() const { return root_; }
  absl::string_view bytes() const { return bytes_; }

 private:
  struct Holder;
  static absl::StatusOr<CanonicalMessage> ParseImpl(absl::string_view bytes, size_t bytes_max,
                                                    bool check_canonical, bool copy);
  std::shared_ptr<Holder> holder_;
  typename T::Reader root_;
  absl::string_view bytes_;
};

using ParsedEnvelope = CanonicalMessage<schema::Envelope>;
using ParsedBody = CanonicalMessage<schema::EventBody>;
using ParsedCheckpoint = CanonicalMessage<schema::Checkpoint>;

// Checks the shape of an envelope: field lengths, and that the body parses.
absl::Status ValidateEnvelopeShape(schema::Envelope::Reader envelope);
// Checks the shape of a body: idempotency key and stream present and bounded.
absl::Status ValidateBodyShape(schema::EventBody::Reader body);

// What makes two submissions "the same request" for idempotency: SHA-256 of
// the canonical body with issuedAtUs set to 0, so a client that retries with
// a fresh timestamp gets the first result, while any other difference under
// the same idempotency key is refused.
Hash RequestDigest(schema::EventBody::Reader body);

// --- CanonicalMessage, defined here so any module can parse its own types ---

namespace internal {
// Reads every text field of `message`, nested structs included. Cap'n Proto
// checks a text's NUL terminator only when the text is read, so Parse reads
// them all inside its exception guard; otherwise a malformed text would throw
// later, from an accessor no one guards. Throws kj::Exception on a bad one.
void ReadEveryText(capnp::DynamicStruct::Reader message);
}  // namespace internal

template <typename T>
struct CanonicalMessage<T>::Holder {
  kj::Array<capnp::word> words;  // empty when parsed in place
  kj::ArrayPtr<const capnp::word> segments[1];
  std::optional<capnp::SegmentArrayMessageReader> reader;
};

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::Parse(absl::string_view bytes,
                                                               size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/true, /*copy=*/true);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseTrusted(absl::string_view bytes,
                                                                      size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/false, /*copy=*/true);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseInPlace(absl::string_view bytes,
                                                                      size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/true, /*copy=*/false);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseTrustedInPlace(
    absl::string_view bytes, size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/false, /*copy=*/false);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseImpl(absl::string_view bytes,
                                                                   size_t bytes_max,
                                                                   bool check_canonical,
                                                                   bool copy) {
  if (bytes.empty()) return absl::InvalidArgumentError("empty message");
  if (bytes.size() > bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", bytes.size(), " bytes is over the limit of ", bytes_max));
  }
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return absl::InvalidArgumentError("message length is not a whole number of words");
  }
  if (!copy && reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) != 0) {
    return absl::InvalidArgumentError("message to parse in place is not 8-byte aligned");
  }
  auto holder = std::make_shared<Holder>();
  const size_t word_count = bytes.size() / sizeof(capnp::word);
  if (copy) {
    holder->words = kj::heapArray<capnp::word>(word_count);
    std::memcpy(holder->words.begin(), bytes.data(), bytes.size());
    holder->segments[0] = kj::ArrayPtr<const capnp::word>(holder->words.begin(), word_count);
  } else {
    holder->segments[0] = kj::ArrayPtr<const capnp::word>(
        reinterpret_cast<const capnp::word*>(bytes.data()), word_count);
  }
  const capnp::word* words = holder->segments[0].begin();
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kReaderWordsMax;
  options.nestingLimit = 16;
  CanonicalMessage message;
  std::string error;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 holder->reader.emplace(kj::arrayPtr(holder->segments, 1), options);
                 message.root_ = holder->reader->template getRoot<T>();
                 if (!check_canonical) return;
                 // Canonical bytes are unique: re-encoding must give exactly the
                 // input, padding included, or the hash would not pin the event.
                 kj::Array<capnp::word> again = capnp::canonicalize(message.root_);
                 if (again.size() != word_count ||
                     std::memcmp(again.begin(), words, bytes.size()) != 0) {
                   error = "message is not in canonical form";
                   return;
                 }
                 internal::ReadEveryText(capnp::toDynamic(message.root_));
               })) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed message: ", exception->getDescription().cStr()));
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  message.bytes_ = absl::string_view(reinterpret_cast<const char*>(words), bytes.size());
  message.holder_ = std::move(holder);
  return message;
}

// A request as a signer submits it: canonical body bytes and the signature.
struct SignedRequest {
  std::string body;  // canonical EventBody bytes
  KeyId signer_key_id{};
  Signature signature{};
  // Optimistic concurrency: the stream version the signer expects to extend
  // (0 = the stream must be empty). Unset: no expectation.
  std::optional<uint64_t> expected_stream_version;
};

// Canonicalises `body` and signs it with `key`.
SignedRequest SignBody(schema::EventBody::Reader body, const SigningKey& key);
// Signs canonical body bytes with `key`.
SignedRequest SignBodyBytes(std::string canonical_body, const SigningKey& key);

// The JSON text of an envelope with its body decoded, for `wattctl log`.
std::string EnvelopeToJson(schema::Envelope::Reader envelope);

}  // namespace wattledger::ledger
