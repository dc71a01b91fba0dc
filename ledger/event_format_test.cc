#include "ledger/event_format.h"

#include <capnp/schema.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/limits.h"
#include "tests/testing/ledger_fixture.h"

#ifndef WL_TESTDATA_DIR
#error "WL_TESTDATA_DIR must name tests/testdata"
#endif

namespace wattledger::ledger {
namespace {

using ::testing::HasSubstr;
using testing::kTestEpochUs;
using testing::MakeBody;
using testing::TestKey;

// ---------------------------------------------------------------------------
// The checked-in vector: tests/testdata/ledger/event_v1.txt.
//
// It pins the v1 wire format: if any of these bytes change, every stored
// event's hash changes, so a failure here means a format change, not a flaky
// test. To regenerate after a deliberate format change (and only then):
//   WL_WRITE_TESTDATA=1 ledger_event_format_test --gtest_filter='EventFormatVector.*'
// ---------------------------------------------------------------------------

constexpr uint64_t kVectorSeq = 4;
constexpr int64_t kVectorIssuedAtUs = kTestEpochUs;
constexpr int64_t kVectorAppendedAtUs = kTestEpochUs + 250'000;
constexpr absl::string_view kVectorStream = "room:A-101";

std::string TestdataPath() {
  const char* dir = std::getenv("WL_TESTDATA");
  return absl::StrCat(dir != nullptr ? dir : WL_TESTDATA_DIR, "/ledger/event_v1.txt");
}

Hash VectorPrevHash() {
  Hash prev;
  for (size_t i = 0; i < prev.size(); ++i) prev[i] = static_cast<uint8_t>(i);  // 00 01 .. 1f
  return prev;
}

std::string VectorBody() {
  return MakeBody("vector/deposit/1", kVectorIssuedAtUs, std::string(kVectorStream), [](auto body) {
    auto deposit = body.initDepositMade();
    deposit.setRoomId("A-101");
    deposit.setAmountFen(5000);
    deposit.setChannel(schema::DepositChannel::WEB);
    deposit.setPayerCardNo("20260001");
    deposit.setCashierId("cashier-1");
  });
}

std::string VectorEnvelope(absl::string_view body, const Signature& signature) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::Envelope>();
  envelope.setSeq(kVectorSeq);
  envelope.setStream(std::string(kVectorStream));
  envelope.setAppendedAtUs(kVectorAppendedAtUs);
  envelope.setSignerKeyId(AsData(absl::MakeConstSpan(TestKey(3).key_id())));
  envelope.setSignature(AsData(absl::MakeConstSpan(signature)));
  envelope.setPrevHash(AsData(absl::MakeConstSpan(VectorPrevHash())));
  envelope.setBody(AsData(body));
  return Canonical(envelope.asReader());
}

std::string VectorCheckpoint(const Hash& chain_hash) {
  Signature signature = TestKey(1).Sign(AsBytes(CheckpointSigningMessage(kVectorSeq, chain_hash)));
  capnp::MallocMessageBuilder message;
  auto checkpoint = message.initRoot<schema::Checkpoint>();
  checkpoint.setSeq(kVectorSeq);
  checkpoint.setChainHash(AsData(absl::MakeConstSpan(chain_hash)));
  checkpoint.setSignature(AsData(absl::MakeConstSpan(signature)));
  return Canonical(checkpoint.asReader());
}

// What the code builds today, as name -> bytes.
std::map<std::string, std::string> BuildVector() {
  std::map<std::string, std::string> out;
  out["body"] = VectorBody();
  Signature signature = TestKey(3).Sign(AsBytes(EventSigningMessage(out["body"])));
  out["signature"] = std::string(reinterpret_cast<const char*>(signature.data()), signature.size());
  out["envelope"] = VectorEnvelope(out["body"], signature);
  Hash chain_hash = ChainHash(out["envelope"]);
  out["chain_hash"] = std::string(reinterpret_cast<const char*>(chain_hash.data()), 32);
  out["checkpoint"] = VectorCheckpoint(chain_hash);
  return out;
}

void WriteVector(const std::map<std::string, std::string>& vector) {
  std::ofstream out(TestdataPath(), std::ios::trunc);
  out << "# wattledger/v1 event format test vector (hex; see ledger/event_format_test.cc).\n"
      << "# A cashier deposit (signer seed 32 x 0x03) at seq 4, prev hash 00..1f,\n"
      << "# and the ledger key's (seed 32 x 0x01) checkpoint over it.\n";
  for (const char* name : {"body", "signature", "envelope", "chain_hash", "checkpoint"}) {
    out << name << " " << ToHex(AsBytes(vector.at(name))) << "\n";
  }
}

// The checked-in file, as name -> bytes.
std::map<std::string, std::string> LoadVector() {
  if (std::getenv("WL_WRITE_TESTDATA") != nullptr) WriteVector(BuildVector());
  std::ifstream in(TestdataPath());
  EXPECT_TRUE(in.good()) << "cannot read " << TestdataPath();
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    EXPECT_EQ(parts.size(), 2u) << line;
    if (parts.size() != 2) continue;
    auto bytes = FromHex(parts[1]);
    EXPECT_TRUE(bytes.ok()) << parts[0] << ": " << bytes.status();
    if (bytes.ok()) out[parts[0]] = *bytes;
  }
  return out;
}

std::string Hex(absl::string_view bytes) { return ToHex(AsBytes(bytes)); }

TEST(EventFormatVector, BodyCanonicalBytesMatchTheCheckedInVector) {
  auto checked_in = LoadVector();
  ASSERT_EQ(checked_in.count("body"), 1u);
  EXPECT_EQ(Hex(VectorBody()), Hex(checked_in["body"]));
}

TEST(EventFormatVector, SignatureCoversTheEventDomainThenTheBody) {
  auto checked_in = LoadVector();
  const std::string& body = checked_in["body"];
  const std::string message = EventSigningMessage(body);
  EXPECT_EQ(message, std::string("wattledger/v1/event") + body);

  // Ed25519 is deterministic, so the signature is part of the vector.
  Signature signature = TestKey(3).Sign(AsBytes(message));
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<const char*>(signature.data()), 64)),
            Hex(checked_in["signature"]));
  auto verifier = VerifyingKey::FromRaw(TestKey(3).public_key());
  ASSERT_TRUE(verifier.ok());
  auto checked_in_signature = FixedFromHex<64>(Hex(checked_in["signature"]));
  ASSERT_TRUE(checked_in_signature.ok());
  EXPECT_TRUE(verifier->Verify(AsBytes(message), *checked_in_signature));
  // Domain separation: the same signature does not verify over the bare body
  // or under the checkpoint domain.
  EXPECT_FALSE(verifier->Verify(AsBytes(body), *checked_in_signature));
  EXPECT_FALSE(verifier->Verify(AsBytes(std::string(kCheckpointSigningDomain) + body),
                                *checked_in_signature));
}

TEST(EventFormatVector, EnvelopeCanonicalBytesMatchTheCheckedInVector) {
  auto checked_in = LoadVector();
  auto built = BuildVector();
  EXPECT_EQ(Hex(built["envelope"]), Hex(checked_in["envelope"]));
}

TEST(EventFormatVector, ChainHashIsSha256OfTheCheckedInEnvelopeBytes) {
  auto checked_in = LoadVector();
  const std::string& envelope = checked_in["envelope"];
  ASSERT_FALSE(envelope.empty());
  // Bytes in, hash out, with OpenSSL directly rather than our wrapper.
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(envelope.data()), envelope.size(), digest);
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest))),
            Hex(checked_in["chain_hash"]));
  Hash ours = ChainHash(envelope);
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<const char*>(ours.data()), 32)),
            Hex(checked_in["chain_hash"]));
}

TEST(EventFormatVector, CheckedInEnvelopeParsesBackToItsFields) {
  auto checked_in = LoadVector();
  auto parsed = ParsedEnvelope::Parse(checked_in["envelope"], kEnvelopeBytesMax);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto envelope = parsed->get();
  EXPECT_EQ(envelope.getSeq(), kVectorSeq);
  EXPECT_EQ(absl::string_view(envelope.getStream().cStr()), kVectorStream);
  EXPECT_EQ(envelope.getAppendedAtUs(), kVectorAppendedAtUs);
  EXPECT_EQ(AsView(envelope.getSignerKeyId()),
            absl::string_view(reinterpret_cast<const char*>(TestKey(3).key_id().data()), 32));
  EXPECT_EQ(AsView(envelope.getSignature()), checked_in["signature"]);
  EXPECT_EQ(AsView(envelope.getPrevHash()),
            absl::string_view(reinterpret_cast<const char*>(VectorPrevHash().data()), 32));
  EXPECT_EQ(AsView(envelope.getBody()), checked_in["body"]);
  EXPECT_TRUE(ValidateEnvelopeShape(envelope).ok());
  EXPECT_EQ(parsed->bytes(), checked_in["envelope"]);

  auto body = ParsedBody::Parse(AsView(envelope.getBody()), kEventBodyBytesMax);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_TRUE(body->get().isDepositMade());
  EXPECT_EQ(body->get().getDepositMade().getAmountFen(), 5000);
  EXPECT_EQ(body->get().getDepositMade().getChannel(), schema::DepositChannel::WEB);
  EXPECT_EQ(body->get().getIssuedAtUs(), kVectorIssuedAtUs);
}

TEST(EventFormatVector, CheckpointSigningMessageIsDomainSeqBigEndianThenHash) {
  auto checked_in = LoadVector();
  auto chain_hash = FixedFromHex<32>(Hex(checked_in["chain_hash"]));
  ASSERT_TRUE(chain_hash.ok());
  std::string expected = "wattledger/v1/checkpoint";
  expected += std::string("\x00\x00\x00\x00\x00\x00\x00\x04", 8);
  expected += checked_in["chain_hash"];
  EXPECT_EQ(Hex(CheckpointSigningMessage(4, *chain_hash)), Hex(expected));

  // Big-endian, all eight bytes.
  std::string wide = CheckpointSigningMessage(0x0102030405060708ULL, kZeroHash);
  EXPECT_EQ(Hex(wide.substr(kCheckpointSigningDomain.size(), 8)), "0102030405060708");
  EXPECT_EQ(wide.size(), kCheckpointSigningDomain.size() + 8 + 32);

  // The checked-in checkpoint is the ledger key's signature over that message.
  EXPECT_EQ(Hex(VectorCheckpoint(*chain_hash)), Hex(checked_in["checkpoint"]));
  auto checkpoint = ParsedCheckpoint::Parse(checked_in["checkpoint"], 1024);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->get().getSeq(), 4u);
  EXPECT_EQ(AsView(checkpoint->get().getChainHash()), checked_in["chain_hash"]);
  auto signature = FixedFromHex<64>(Hex(AsView(checkpoint->get().getSignature())));
  ASSERT_TRUE(signature.ok());
  auto ledger_key = VerifyingKey::FromRaw(TestKey(1).public_key());
  ASSERT_TRUE(ledger_key.ok());
  EXPECT_TRUE(ledger_key->Verify(AsBytes(expected), *signature));
  EXPECT_FALSE(ledger_key->Verify(AsBytes(CheckpointSigningMessage(5, *chain_hash)), *signature));
}

TEST(EventFormat, BigEndianHelpersRoundTrip) {
  for (uint64_t value :
       {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708}, uint64_t{UINT64_MAX}}) {
    std::string bytes;
    PutU64BigEndian(bytes, value);
    ASSERT_EQ(bytes.size(), 8u);
    EXPECT_EQ(GetU64BigEndian(bytes), value);
  }
  std::string one;
  PutU64BigEndian(one, 1);
  EXPECT_EQ(one, std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8));
}

// ---------------------------------------------------------------------------
// Canonical parsing: one event, one encoding, one hash.
// ---------------------------------------------------------------------------

TEST(CanonicalMessage, ExtraTrailingWordIsInvalidArgument) {
  std::string body = VectorBody();
  ASSERT_TRUE(ParsedBody::Parse(body, kEventBodyBytesMax).ok());
  for (absl::string_view extra :
       {absl::string_view("\0\0\0\0\0\0\0\0", 8), absl::string_view("trailing")}) {
    auto parsed = ParsedBody::Parse(body + std::string(extra), kEventBodyBytesMax);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  }
}

TEST(CanonicalMessage, NonzeroPaddingIsInvalidArgument) {
  const std::string body = VectorBody();
  // "vector/deposit/1" is 16 bytes + NUL, padded with 7 zero bytes to 3 words.
  size_t text = body.find("vector/deposit/1");
  ASSERT_NE(text, std::string::npos);
  size_t padding = text + 17;
  ASSERT_EQ(body[padding - 1], '\0');
  for (size_t i = padding; i < text + 24; ++i) {
    ASSERT_EQ(body[i], '\0') << "byte " << i << " should be padding";
    std::string padded = body;
    padded[i] = 'x';
    auto parsed = ParsedBody::Parse(padded, kEventBodyBytesMax);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << "padding byte " << i << ": " << parsed.status();
  }
}

TEST(CanonicalMessage, ValidButNonPreorderLayoutIsInvalidArgument) {
  // Setting the stream before the idempotency key lays the texts out in a
  // different order than canonical preorder: a valid message, not canonical.
  capnp::MallocMessageBuilder builder;
  auto body = builder.initRoot<schema::EventBody>();
  body.setStream(std::string(kVectorStream));
  body.setIdempotencyKey("vector/deposit/1");
  body.setIssuedAtUs(kVectorIssuedAtUs);
  auto deposit = body.initDepositMade();
  deposit.setRoomId("A-101");
  deposit.setAmountFen(5000);
  auto segments = builder.getSegmentsForOutput();
  ASSERT_EQ(segments.size(), 1u);
  auto raw_bytes = segments[0].asBytes();
  std::string raw(reinterpret_cast<const char*>(raw_bytes.begin()), raw_bytes.size());
  std::string canonical = Canonical(body.asReader());
  ASSERT_NE(raw, canonical);

  capnp::SegmentArrayMessageReader reader(segments);
  EXPECT_EQ(absl::string_view(reader.getRoot<schema::EventBody>().getStream().cStr()),
            kVectorStream);                                  // a perfectly readable message...
  auto parsed = ParsedBody::Parse(raw, kEventBodyBytesMax);  // ...that is not canonical
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  EXPECT_THAT(parsed.status().message(), HasSubstr("canonical"));
  EXPECT_TRUE(ParsedBody::Parse(canonical, kEventBodyBytesMax).ok());
}

TEST(CanonicalMessage, TextWithoutItsNulTerminatorIsInvalidArgument) {
  // Cap'n Proto checks a text's terminator only when the text is read, so
  // Parse must read them: otherwise a later accessor throws past every check.
  const std::string envelope = BuildVector()["envelope"];
  size_t stream = envelope.find("room:A-101");
  ASSERT_NE(stream, std::string::npos);
  std::string unterminated = envelope;
  unterminated[stream + kVectorStream.size()] = 'x';
  auto parsed = ParsedEnvelope::Parse(unterminated, kEnvelopeBytesMax);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();

  const std::string body = VectorBody();
  size_t cashier = body.find("cashier-1");
  ASSERT_NE(cashier, std::string::npos);
  std::string unterminated_body = body;
  unterminated_body[cashier + 9] = 'x';  // a text deep in the DepositMade union member
  auto parsed_body = ParsedBody::Parse(unterminated_body, kEventBodyBytesMax);
  EXPECT_EQ(parsed_body.status().code(), absl::StatusCode::kInvalidArgument)
      << parsed_body.status();
}

TEST(CanonicalMessage, EmptyOversizeOrPartialWordIsInvalidArgument) {
  const std::string body = VectorBody();
  EXPECT_EQ(ParsedBody::Parse("", kEventBodyBytesMax).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsedBody::Parse(body, body.size() - 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParsedBody::Parse(body, body.size()).ok());
  EXPECT_EQ(ParsedBody::Parse(body + "x", kEventBodyBytesMax).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CanonicalMessage, InPlaceParsingReadsTheSameBytesWithoutCopyingThem) {
  const std::string envelope = BuildVector()["envelope"];
  std::vector<capnp::word> aligned(envelope.size() / sizeof(capnp::word) + 1);
  char* start = reinterpret_cast<char*>(aligned.data());
  std::memcpy(start, envelope.data(), envelope.size());
  const absl::string_view bytes(start, envelope.size());
  for (bool trusted : {false, true}) {
    auto parsed = trusted ? ParsedEnvelope::ParseTrustedInPlace(bytes, kEnvelopeBytesMax)
                          : ParsedEnvelope::ParseInPlace(bytes, kEnvelopeBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->bytes().data(), start);  // the caller's memory, not a copy
    EXPECT_EQ(parsed->get().getSeq(), kVectorSeq);
    // The body sits word-aligned inside the envelope: it parses in place too.
    auto body = ParsedBody::ParseInPlace(AsView(parsed->get().getBody()), kEventBodyBytesMax);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(body->bytes(), VectorBody());
  }
  // The same checks as Parse: a trailing word makes it not canonical.
  std::memset(start + envelope.size(), 0, sizeof(capnp::word));
  const absl::string_view longer(start, envelope.size() + sizeof(capnp::word));
  EXPECT_EQ(ParsedEnvelope::ParseInPlace(longer, kEnvelopeBytesMax).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParsedEnvelope::ParseTrustedInPlace(longer, kEnvelopeBytesMax).ok());
}

TEST(CanonicalMessage, InPlaceParsingRefusesUnalignedBytes) {
  const std::string envelope = BuildVector()["envelope"];
  std::vector<capnp::word> aligned(envelope.size() / sizeof(capnp::word) + 2);
  char* unaligned = reinterpret_cast<char*>(aligned.data()) + 4;
  std::memcpy(unaligned, envelope.data(), envelope.size());
  for (bool trusted : {false, true}) {
    absl::string_view bytes(unaligned, envelope.size());
    auto parsed = trusted ? ParsedEnvelope::ParseTrustedInPlace(bytes, kEnvelopeBytesMax)
                          : ParsedEnvelope::ParseInPlace(bytes, kEnvelopeBytesMax);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  }
}

template <typename T>
void ExpectEveryTruncationRefused(const std::string& bytes) {
  ASSERT_TRUE(CanonicalMessage<T>::Parse(bytes, kEnvelopeBytesMax).ok());
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto parsed =
        CanonicalMessage<T>::Parse(absl::string_view(bytes).substr(0, length), kEnvelopeBytesMax);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << "length " << length;
  }
}

TEST(CanonicalMessage, EveryTruncationIsRefusedWithoutCrashing) {
  auto vector = BuildVector();
  ExpectEveryTruncationRefused<schema::EventBody>(vector["body"]);
  ExpectEveryTruncationRefused<schema::Envelope>(vector["envelope"]);
  ExpectEveryTruncationRefused<schema::Checkpoint>(vector["checkpoint"]);
}

TEST(CanonicalMessage, EveryByteFlipEitherStaysCanonicalOrIsInvalidArgument) {
  const std::string envelope = BuildVector()["envelope"];
  size_t parsed_ok = 0;
  for (size_t offset = 0; offset < envelope.size(); ++offset) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string flipped = envelope;
      flipped[offset] = static_cast<char>(flipped[offset] ^ mask);
      auto parsed = ParsedEnvelope::Parse(flipped, kEnvelopeBytesMax);
      if (parsed.ok()) {
        // Still canonical: the parsed view is exactly the input bytes, and
        // every field (the body's too) reads without throwing.
        EXPECT_EQ(parsed->bytes(), flipped);
        EXPECT_NO_THROW(EnvelopeToJson(parsed->get())) << "offset " << offset;
        ++parsed_ok;
      } else {
        EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
            << "offset " << offset << " mask " << int{mask} << ": " << parsed.status();
      }
    }
  }
  // Flips inside data and byte fields stay canonical; structural ones do not.
  EXPECT_GT(parsed_ok, 0u);
  EXPECT_LT(parsed_ok, envelope.size() * 3);
}

TEST(CanonicalMessage, RandomGarbageIsRefusedWithoutCrashing) {
  const uint64_t seed = std::random_device{}();
  std::printf("RandomGarbageIsRefusedWithoutCrashing seed=%llu\n",
              static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);
  for (int round = 0; round < 2000; ++round) {
    size_t words = 1 + random() % 64;
    std::string garbage(words * 8, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    // Keep some rounds structurally plausible: a struct root pointer at offset 0.
    if (round % 2 == 0) garbage[0] = static_cast<char>(garbage[0] & 0xfc);
    auto envelope = ParsedEnvelope::Parse(garbage, kEnvelopeBytesMax);
    if (!envelope.ok()) {
      EXPECT_EQ(envelope.status().code(), absl::StatusCode::kInvalidArgument) << "seed " << seed;
    } else {
      EXPECT_EQ(envelope->bytes(), garbage);
      // Whatever parsed must also read back without throwing.
      (void)ValidateEnvelopeShape(envelope->get());
      EXPECT_NO_THROW(EnvelopeToJson(envelope->get())) << "seed " << seed;
    }
    auto body = ParsedBody::Parse(garbage, kEventBodyBytesMax);
    if (!body.ok()) {
      EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument) << "seed " << seed;
    } else {
      (void)ValidateBodyShape(body->get());
    }
  }
}

// ---------------------------------------------------------------------------
// Shape checks: the bounds a signed body must respect.
// ---------------------------------------------------------------------------

// Texts are set with their explicit size so embedded NULs survive.
std::string BodyWith(const std::string& idempotency_key, const std::string& stream) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(capnp::Text::Reader(idempotency_key.data(), idempotency_key.size()));
  body.setIssuedAtUs(kTestEpochUs);
  body.setStream(capnp::Text::Reader(stream.data(), stream.size()));
  body.initDepositMade().setAmountFen(1);
  return Canonical(body.asReader());
}

absl::Status ShapeOf(const std::string& bytes) {
  auto parsed = ParsedBody::Parse(bytes, kEventBodyBytesMax);
  if (!parsed.ok()) return parsed.status();
  return ValidateBodyShape(parsed->get());
}

TEST(BodyShape, IdempotencyKeyMustBe1To128Bytes) {
  EXPECT_EQ(ShapeOf(BodyWith("", "room:A")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ShapeOf(BodyWith("k", "room:A")).ok());
  EXPECT_TRUE(ShapeOf(BodyWith(std::string(kIdempotencyKeyBytesMax, 'k'), "room:A")).ok());
  EXPECT_EQ(ShapeOf(BodyWith(std::string(kIdempotencyKeyBytesMax + 1, 'k'), "room:A")).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BodyShape, StreamMustBe1To128BytesWithoutNul) {
  EXPECT_EQ(ShapeOf(BodyWith("k", "")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ShapeOf(BodyWith("k", std::string(kStreamNameBytesMax, 's'))).ok());
  EXPECT_EQ(ShapeOf(BodyWith("k", std::string(kStreamNameBytesMax + 1, 's'))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShapeOf(BodyWith("k", std::string("room\0A", 6))).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BodyShape, UnknownEventKindIsInvalidArgument) {
  // A body from a newer schema: the union tag names a kind this build lacks.
  std::string body = VectorBody();
  uint32_t offset16 =
      capnp::Schema::from<schema::EventBody>().getProto().getStruct().getDiscriminantOffset();
  size_t at = 8 + 2 * offset16;  // data section starts after the root pointer
  ASSERT_EQ(static_cast<uint8_t>(body[at]), schema::EventBody::DEPOSIT_MADE);
  body[at] = static_cast<char>(0xe7);  // 999
  body[at + 1] = static_cast<char>(0x03);
  auto parsed = ParsedBody::Parse(body, kEventBodyBytesMax);
  ASSERT_TRUE(parsed.ok()) << parsed.status();  // canonical, just unknown
  absl::Status shape = ValidateBodyShape(parsed->get());
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument) << shape;
  EXPECT_THAT(shape.message(), HasSubstr("unknown event kind"));
}

TEST(EnvelopeShape, WrongFieldLengthsAreInvalidArgument) {
  auto build = [](size_t signer_bytes, size_t signature_bytes, size_t prev_bytes) {
    capnp::MallocMessageBuilder message;
    auto envelope = message.initRoot<schema::Envelope>();
    envelope.setSeq(1);
    envelope.setStream("s");
    envelope.setSignerKeyId(AsData(std::string(signer_bytes, 'k')));
    envelope.setSignature(AsData(std::string(signature_bytes, 's')));
    envelope.setPrevHash(AsData(std::string(prev_bytes, 'p')));
    envelope.setBody(AsData(VectorBody()));
    return ValidateEnvelopeShape(envelope.asReader());
  };
  EXPECT_TRUE(build(32, 64, 32).ok());
  EXPECT_EQ(build(31, 64, 32).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(build(32, 63, 32).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(build(32, 64, 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EnvelopeJson, ShowsTheDecodedBody) {
  auto parsed = ParsedEnvelope::Parse(BuildVector()["envelope"], kEnvelopeBytesMax);
  ASSERT_TRUE(parsed.ok());
  std::string json = EnvelopeToJson(parsed->get());
  EXPECT_THAT(json, HasSubstr("\"seq\":4"));
  EXPECT_THAT(json, HasSubstr("\"stream\":\"room:A-101\""));
  EXPECT_THAT(json, HasSubstr("depositMade"));
  EXPECT_THAT(json, HasSubstr("\"prevHash\":\"000102030405060708090a0b0c0d0e0f"));
}

}  // namespace
}  // namespace wattledger::ledger
