#include "ledger/event_format.h"

#include <capnp/compat/json.h>

#include "absl/strings/str_cat.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"

namespace wattledger::ledger {

std::string EventSigningMessage(absl::string_view body_bytes) {
  return absl::StrCat(kEventSigningDomain, body_bytes);
}

std::string CheckpointSigningMessage(uint64_t seq, const Hash& chain_hash) {
  std::string out(kCheckpointSigningDomain);
  PutU64BigEndian(out, seq);
  out.append(reinterpret_cast<const char*>(chain_hash.data()), chain_hash.size());
  return out;
}

void PutU64BigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

uint64_t GetU64BigEndian(absl::string_view bytes) {
  WL_CHECK(bytes.size() >= 8);
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | static_cast<uint8_t>(bytes[i]);
  return value;
}

template <typename T>
struct CanonicalMessage<T>::Holder {
  kj::Array<capnp::word> words;
  kj::ArrayPtr<const capnp::word> segments[1];
  std::optional<capnp::SegmentArrayMessageReader> reader;
};

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::Parse(absl::string_view bytes,
                                                               size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/true);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseTrusted(absl::string_view bytes,
                                                                      size_t bytes_max) {
  return ParseImpl(bytes, bytes_max, /*check_canonical=*/false);
}

template <typename T>
absl::StatusOr<CanonicalMessage<T>> CanonicalMessage<T>::ParseImpl(absl::string_view bytes,
                                                                   size_t bytes_max,
                                                                   bool check_canonical) {
  if (bytes.empty()) return absl::InvalidArgumentError("empty message");
  if (bytes.size() > bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", bytes.size(), " bytes is over the limit of ", bytes_max));
  }
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return absl::InvalidArgumentError("message length is not a whole number of words");
  }
  auto holder = std::make_shared<Holder>();
  holder->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(holder->words.begin(), bytes.data(), bytes.size());
  holder->segments[0] = kj::ArrayPtr<const capnp::word>(holder->words.begin(), holder->words.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kReaderWordsMax;
  options.nestingLimit = 16;
  CanonicalMessage message;
  std::string error;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&]() {
                holder->reader.emplace(kj::arrayPtr(holder->segments, 1), options);
                message.root_ = holder->reader->template getRoot<T>();
                if (!check_canonical) return;
                // Canonical bytes are unique: re-encoding must give exactly the
                // input, padding included, or the hash would not pin the event.
                kj::Array<capnp::word> again = capnp::canonicalize(message.root_);
                if (again.size() != holder->words.size() ||
                    std::memcmp(again.begin(), holder->words.begin(), bytes.size()) != 0) {
                  error = "message is not in canonical form";
                }
              })) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed message: ", exception->getDescription().cStr()));
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  auto byte_view = holder->words.asBytes();
  message.bytes_ = absl::string_view(reinterpret_cast<const char*>(byte_view.begin()), byte_view.size());
  message.holder_ = std::move(holder);
  return message;
}

template class CanonicalMessage<schema::Envelope>;
template class CanonicalMessage<schema::EventBody>;
template class CanonicalMessage<schema::Checkpoint>;

absl::Status ValidateBodyShape(schema::EventBody::Reader body) {
  std::string error;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&]() {
                size_t key_size = body.getIdempotencyKey().size();
                if (key_size == 0 || key_size > kIdempotencyKeyBytesMax) {
                  error = absl::StrCat("idempotency key must be 1..", kIdempotencyKeyBytesMax,
                                       " bytes");
                  return;
                }
                auto stream = body.getStream();
                if (stream.size() == 0 || stream.size() > kStreamNameBytesMax ||
                    absl::string_view(stream.cStr(), stream.size()).find('\0') !=
                        absl::string_view::npos) {
                  error = absl::StrCat("stream name must be 1..", kStreamNameBytesMax,
                                       " bytes without NUL");
                  return;
                }
                // Reading the union tag of a body from a newer schema gives a
                // kind this build does not know: refuse it rather than guess.
                if (static_cast<uint16_t>(body.which()) > schema::EventBody::PERIOD_CLOSED) {
                  error = "unknown event kind";
                }
              })) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed body: ", exception->getDescription().cStr()));
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return absl::OkStatus();
}

absl::Status ValidateEnvelopeShape(schema::Envelope::Reader envelope) {
  std::string error;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&]() {
                if (envelope.getSignerKeyId().size() != 32) error = "signer key id is not 32 bytes";
                if (envelope.getSignature().size() != 64) error = "signature is not 64 bytes";
                if (envelope.getPrevHash().size() != 32) error = "prev hash is not 32 bytes";
              })) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed envelope: ", exception->getDescription().cStr()));
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return absl::OkStatus();
}

Hash RequestDigest(schema::EventBody::Reader body) {
  capnp::MallocMessageBuilder message;
  message.setRoot(body);
  auto copy = message.getRoot<schema::EventBody>();
  copy.setIssuedAtUs(0);
  return Sha256(Canonical(copy.asReader()));
}

SignedRequest SignBody(schema::EventBody::Reader body, const SigningKey& key) {
  return SignBodyBytes(Canonical(body), key);
}

SignedRequest SignBodyBytes(std::string canonical_body, const SigningKey& key) {
  SignedRequest request;
  request.body = std::move(canonical_body);
  request.signer_key_id = key.key_id();
  request.signature = key.Sign(AsBytes(EventSigningMessage(request.body)));
  return request;
}

std::string EnvelopeToJson(schema::Envelope::Reader envelope) {
  capnp::JsonCodec codec;
  codec.handleByAnnotation<schema::EventBody>();
  std::string body_json;
  auto body = ParsedBody::Parse(AsView(envelope.getBody()), kEventBodyBytesMax);
  if (body.ok()) {
    body_json = codec.encode(body->get()).cStr();
  } else {
    body_json = absl::StrCat("{\"undecodable\":\"", body.status().message(), "\"}");
  }
  auto hex = [](capnp::Data::Reader data) { return ToHex(absl::MakeConstSpan(data.begin(), data.size())); };
  return absl::StrCat("{\"seq\":", envelope.getSeq(), ",\"stream\":",
                      codec.encode(capnp::DynamicValue::Reader(envelope.getStream()),
                                   capnp::Type(capnp::schema::Type::TEXT)).cStr(), ",\"appendedAtUs\":", envelope.getAppendedAtUs(),
                      ",\"signerKeyId\":\"", hex(envelope.getSignerKeyId()), "\",\"signature\":\"",
                      hex(envelope.getSignature()), "\",\"prevHash\":\"", hex(envelope.getPrevHash()),
                      "\",\"body\":", body_json, "}");
}

}  // namespace wattledger::ledger
