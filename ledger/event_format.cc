#include "ledger/event_format.h"

#include <capnp/compat/json.h>

#include "absl/strings/str_cat.h"
#include "ledger/limits.h"
#include "ledger/roles.h"
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

namespace internal {
namespace {

void ReadEveryTextIn(capnp::DynamicValue::Reader value) {
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT:
      ReadEveryText(value.as<capnp::DynamicStruct>());
      break;
    case capnp::DynamicValue::LIST:
      for (capnp::DynamicValue::Reader element : value.as<capnp::DynamicList>()) {
        ReadEveryTextIn(element);
      }
      break;
    default:  // a text was checked when get() read it; nothing else has a terminator
      break;
  }
}

}  // namespace

void ReadEveryText(capnp::DynamicStruct::Reader message) {
  for (capnp::StructSchema::Field field : message.getSchema().getFields()) {
    // Skips null pointers and union members that are not the active one.
    if (!message.has(field)) continue;
    ReadEveryTextIn(message.get(field));
  }
}

}  // namespace internal

absl::Status ValidateBodyShape(schema::EventBody::Reader body) {
  std::string error;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
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
                 if (static_cast<uint16_t>(body.which()) >= EventKindCount()) {
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
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 if (envelope.getSignerKeyId().size() != 32)
                   error = "signer key id is not 32 bytes";
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
  auto hex = [](capnp::Data::Reader data) {
    return ToHex(absl::MakeConstSpan(data.begin(), data.size()));
  };
  return absl::StrCat("{\"seq\":", envelope.getSeq(), ",\"stream\":",
                      codec
                          .encode(capnp::DynamicValue::Reader(envelope.getStream()),
                                  capnp::Type(capnp::schema::Type::TEXT))
                          .cStr(),
                      ",\"appendedAtUs\":", envelope.getAppendedAtUs(), ",\"signerKeyId\":\"",
                      hex(envelope.getSignerKeyId()), "\",\"signature\":\"",
                      hex(envelope.getSignature()), "\",\"prevHash\":\"",
                      hex(envelope.getPrevHash()), "\",\"body\":", body_json, "}");
}

}  // namespace wattledger::ledger
