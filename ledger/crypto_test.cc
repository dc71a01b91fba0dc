#include "ledger/crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// RFC 8032 section 7.1, Ed25519 (pure). Secret keys are the 32-byte seeds.
struct Rfc8032Vector {
  const char* name;
  const char* secret_key;
  const char* public_key;
  std::string message;  // hex
  const char* signature;
};

const std::string kTest1024Message =
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f5"
    "4e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37"
    "c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efc"
    "b8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b"
    "3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573c"
    "b116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204"
    "ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958"
    "d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c6"
    "5adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2"
    "cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a"
    "71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
    "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9"
    "b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb"
    "038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f672451"
    "7b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e"
    "2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d"
    "5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0"
    "f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041"
    "e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa9"
    "33a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185"
    "c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c"
    "15fc910840b94c00a0b9d0";

const std::vector<Rfc8032Vector>& Rfc8032Vectors() {
  static const auto* vectors = new std::vector<Rfc8032Vector>{
      {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
       "9"
       "b46bd25bf5f0595bbe24655141438e7a100b"},
      {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f"
       "1"
       "1d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984"
       "d"
       "c6594a7c15e9716ed28dc027beceea1ec40a"},
      {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
       "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", kTest1024Message,
       "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c43"
       "6"
       "d94b5e8fcd4f681e30a6ac00a9704a188a03"},
  };
  return *vectors;
}

template <size_t N>
std::array<uint8_t, N> Fixed(absl::string_view hex) {
  auto bytes = FixedFromHex<N>(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::array<uint8_t, N>{};
}

std::string Bytes(absl::string_view hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(Ed25519, Rfc8032SecretKeyGivesThePublishedPublicKey) {
  for (const auto& vector : Rfc8032Vectors()) {
    SCOPED_TRACE(vector.name);
    auto key = SigningKey::FromSeed(Fixed<32>(vector.secret_key));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(ToHex(key->public_key()), vector.public_key);
  }
}

TEST(Ed25519, Rfc8032MessageGivesThePublishedSignatureByteForByte) {
  ASSERT_EQ(kTest1024Message.size(), 2 * 1023u);
  for (const auto& vector : Rfc8032Vectors()) {
    SCOPED_TRACE(vector.name);
    auto key = SigningKey::FromSeed(Fixed<32>(vector.secret_key));
    ASSERT_TRUE(key.ok()) << key.status();
    std::string message = Bytes(vector.message);
    EXPECT_EQ(ToHex(key->Sign(AsBytes(message))), vector.signature);
  }
}

TEST(Ed25519, Rfc8032SignatureVerifiesUnderThePublishedPublicKey) {
  for (const auto& vector : Rfc8032Vectors()) {
    SCOPED_TRACE(vector.name);
    auto verifier = VerifyingKey::FromRaw(Fixed<32>(vector.public_key));
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    std::string message = Bytes(vector.message);
    EXPECT_TRUE(verifier->Verify(AsBytes(message), Fixed<64>(vector.signature)));
  }
}

TEST(Ed25519, AnyFlippedSignatureBitFailsVerification) {
  for (const auto& vector : Rfc8032Vectors()) {
    SCOPED_TRACE(vector.name);
    auto verifier = VerifyingKey::FromRaw(Fixed<32>(vector.public_key));
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    std::string message = Bytes(vector.message);
    const Signature good = Fixed<64>(vector.signature);
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
      Signature bad = good;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(verifier->Verify(AsBytes(message), bad)) << "bit " << bit;
    }
  }
}

TEST(Ed25519, FlippedMessageBitOrOtherKeyFailsVerification) {
  for (const auto& vector : Rfc8032Vectors()) {
    SCOPED_TRACE(vector.name);
    auto verifier = VerifyingKey::FromRaw(Fixed<32>(vector.public_key));
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    const Signature signature = Fixed<64>(vector.signature);
    std::string message = Bytes(vector.message);
    if (!message.empty()) {
      std::string flipped = message;
      flipped[flipped.size() / 2] ^= 0x01;
      EXPECT_FALSE(verifier->Verify(AsBytes(flipped), signature));
    }
    std::string longer = message + "x";
    EXPECT_FALSE(verifier->Verify(AsBytes(longer), signature));
    auto other = VerifyingKey::FromRaw(testing::TestKey(9).public_key());
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_FALSE(other->Verify(AsBytes(message), signature));
  }
}

TEST(Ed25519, SeedMustBe32Bytes) {
  std::array<uint8_t, 31> short_seed{};
  EXPECT_EQ(SigningKey::FromSeed(short_seed).status().code(), absl::StatusCode::kInvalidArgument);
  std::array<uint8_t, 33> long_seed{};
  EXPECT_EQ(SigningKey::FromSeed(long_seed).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519, GeneratedKeysAreDistinctAndSignVerifiably) {
  auto first = SigningKey::Generate();
  auto second = SigningKey::Generate();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->public_key(), second->public_key());
  const std::string message = "wattledger";
  auto verifier = VerifyingKey::FromRaw(first->public_key());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(verifier->Verify(AsBytes(message), first->Sign(AsBytes(message))));
  EXPECT_FALSE(verifier->Verify(AsBytes(message), second->Sign(AsBytes(message))));
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256(absl::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256(absl::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // FIPS 180-2 appendix B.2, the two-block message.
  EXPECT_EQ(
      ToHex(Sha256(absl::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, SpanAndStringOverloadsAgree) {
  const std::string text = "abc";
  EXPECT_EQ(Sha256(AsBytes(text)), Sha256(absl::string_view(text)));
}

TEST(KeyId, IsSha256OfTheRawPublicKey) {
  const PublicKey test1 =
      Fixed<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  // sha256 of the 32 raw bytes, computed independently (sha256sum).
  EXPECT_EQ(ToHex(KeyIdOf(test1)),
            "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
  auto signing = SigningKey::FromSeed(
      Fixed<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(signing.ok());
  EXPECT_EQ(signing->key_id(), KeyIdOf(test1));
  auto verifying = VerifyingKey::FromRaw(test1);
  ASSERT_TRUE(verifying.ok());
  EXPECT_EQ(verifying->key_id(), KeyIdOf(test1));
  EXPECT_EQ(verifying->raw(), test1);
}

TEST(Hex, RoundTripsAndAcceptsEitherCase) {
  const std::string bytes("\x00\x01\x7f\x80\xfe\xff", 6);
  EXPECT_EQ(ToHex(AsBytes(bytes)), "00017f80feff");
  auto lower = FromHex("00017f80feff");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(*lower, bytes);
  auto upper = FromHex("00017F80FEFF");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, bytes);
  auto empty = FromHex("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Hex, OddLengthIsInvalidArgument) {
  EXPECT_EQ(FromHex("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromHex("0").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Hex, BadDigitIsInvalidArgument) {
  for (absl::string_view bad : {"0g", "g0", "zz", "0x12", "12 4", "-1", "\xff\xfe"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(FromHex(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(Hex, FixedWidthRefusesTheWrongLength) {
  EXPECT_EQ(FixedFromHex<32>("00").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedFromHex<2>("000000").status().code(), absl::StatusCode::kInvalidArgument);
  auto ok = FixedFromHex<2>("beef");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], 0xbe);
  EXPECT_EQ((*ok)[1], 0xef);
}

TEST(PemFile, SaveWritesMode0600AndLoadsTheSameKey) {
  TempDir dir;
  const std::string path = dir.Sub("key.pem");
  SigningKey key = testing::TestKey(42);
  ASSERT_TRUE(key.SavePem(path, "").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_THAT(ReadFile(path), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto loaded = SigningKey::LoadPem(path, "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  const std::string message = "same key, same signature";
  EXPECT_EQ(loaded->Sign(AsBytes(message)), key.Sign(AsBytes(message)));
}

TEST(PemFile, SaveRefusesToOverwriteAndLeavesTheFileAlone) {
  TempDir dir;
  const std::string path = dir.Sub("key.pem");
  ASSERT_TRUE(testing::TestKey(42).SavePem(path, "").ok());
  const std::string before = ReadFile(path);
  absl::Status again = testing::TestKey(43).SavePem(path, "");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(ReadFile(path), before);
  auto loaded = SigningKey::LoadPem(path, "");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), testing::TestKey(42).public_key());
}

TEST(PemFile, PassphraseEncryptedRoundTrip) {
  TempDir dir;
  const std::string path = dir.Sub("key.pem");
  SigningKey key = testing::TestKey(44);
  ASSERT_TRUE(key.SavePem(path, "correct horse battery staple").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const std::string pem = ReadFile(path);
  EXPECT_THAT(pem, HasSubstr("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  auto loaded = SigningKey::LoadPem(path, "correct horse battery staple");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key(), key.public_key());
}

TEST(PemFile, WrongOrMissingPassphraseIsInvalidArgument) {
  TempDir dir;
  const std::string path = dir.Sub("key.pem");
  ASSERT_TRUE(testing::TestKey(45).SavePem(path, "right").ok());
  for (absl::string_view wrong : {"wrong", "Right", "right ", ""}) {
    SCOPED_TRACE(wrong);
    auto loaded = SigningKey::LoadPem(path, wrong);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << loaded.status();
  }
}

TEST(PemFile, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(SigningKey::LoadPem(dir.Sub("absent.pem"), "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PemFile, SaveIntoAMissingDirectoryIsUnavailable) {
  TempDir dir;
  absl::Status saved = testing::TestKey(46).SavePem(dir.Sub("no/such/dir/key.pem"), "");
  EXPECT_EQ(saved.code(), absl::StatusCode::kUnavailable) << saved;
}

TEST(PemFile, GarbageOrNonEd25519KeyIsInvalidArgument) {
  EXPECT_EQ(SigningKey::ParsePem("not a pem file", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::ParsePem("", "").status().code(), absl::StatusCode::kInvalidArgument);

  // A well-formed PKCS#8 key of another type (P-256) must be refused, not used.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(length));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto parsed = SigningKey::ParsePem(pem, "");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
}

TEST(PemFile, ToPemAndParsePemRoundTripInMemory) {
  SigningKey key = testing::TestKey(47);
  for (absl::string_view passphrase : {"", "secret"}) {
    SCOPED_TRACE(passphrase);
    auto pem = key.ToPem(passphrase);
    ASSERT_TRUE(pem.ok()) << pem.status();
    auto parsed = SigningKey::ParsePem(*pem, passphrase);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->public_key(), key.public_key());
  }
}

}  // namespace
}  // namespace wattledger::ledger
