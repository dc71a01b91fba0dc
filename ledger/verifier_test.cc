#include "ledger/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "ledger/message_stream.h"
#include "ledger/status_macros.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::ledger {
namespace {

using testing::DepositBody;
using ::testing::HasSubstr;
using testing::RevokeKeyBody;
using testing::Sign;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TestKey;
using testing::TestLedger;

// --- export and verify, as `wattctl export` and `wattctl verify --file` do ---

absl::Status ExportLedger(const EventStore& store, const std::string& path) {
  WL_ASSIGN_OR_RETURN(Head head, store.GetHead());
  WL_ASSIGN_OR_RETURN(auto events, MessageStreamWriter::Create(path));
  for (uint64_t seq = 1; seq <= head.seq;) {
    WL_ASSIGN_OR_RETURN(
        auto page, store.ReadRange(seq, std::min<uint64_t>(kReadEventsMax, head.seq - seq + 1)));
    if (page.empty()) return absl::DataLossError(absl::StrCat("seq ", seq, " is missing"));
    for (const std::string& envelope : page) WL_RETURN_IF_ERROR(events->Append(envelope));
    seq += page.size();
  }
  WL_RETURN_IF_ERROR(events->Close());
  WL_ASSIGN_OR_RETURN(auto checkpoints, MessageStreamWriter::Create(path + ".checkpoints"));
  WL_ASSIGN_OR_RETURN(auto stored, store.ReadCheckpoints(0, SIZE_MAX));
  for (const StoredCheckpoint& checkpoint : stored) {
    WL_RETURN_IF_ERROR(checkpoints->Append(checkpoint.canonical));
  }
  return checkpoints->Close();
}

// Reads FILE.checkpoints then FILE into a Verifier. A message the reader
// cannot frame is named by its position, as wattctl names it.
absl::StatusOr<VerifySummary> VerifyExport(const std::string& path, const VerifyOptions& options) {
  Verifier verifier(options);
  {
    WL_ASSIGN_OR_RETURN(auto reader, MessageStreamReader::Open(path + ".checkpoints"));
    for (int i = 0; i < 1'000'000; ++i) {
      WL_ASSIGN_OR_RETURN(auto message, reader->Next(1024));
      if (!message.has_value()) break;
      WL_RETURN_IF_ERROR(verifier.AddCheckpoint(*message));
    }
  }
  WL_ASSIGN_OR_RETURN(auto reader, MessageStreamReader::Open(path));
  uint64_t seq = 1;
  std::vector<std::string> page;
  for (int i = 0; i < 1'000'000; ++i) {
    auto message = reader->Next(kEnvelopeBytesMax);
    if (!message.ok()) {
      WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
      return absl::DataLossError(
          absl::StrCat("seq ", seq + page.size(), ": ", message.status().message()));
    }
    if (!message->has_value()) break;
    page.push_back(std::move(**message));
    if (page.size() == 64) {  // small pages: problems straddle page boundaries too
      WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
      seq += page.size();
      page.clear();
    }
  }
  WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
  return verifier.Finish();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Frames envelopes as the export format does.
std::string Frame(const std::vector<std::string>& envelopes) {
  std::string out;
  for (const std::string& envelope : envelopes) {
    uint32_t words = static_cast<uint32_t>(envelope.size() / 8);
    out.append(4, '\0');
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(words >> (8 * i)));
    out += envelope;
  }
  return out;
}

// A ledger with key registrations, deposits by two cashiers and a revocation,
// stopped (so its head carries a signed checkpoint) and exported.
//   1 genesis  2 admin  3 cashier  4 operator  5 second cashier
//   6..12 deposits  13 second cashier's deposit  14 its revocation  15..20 deposits
class ExportedLedger : public ::testing::Test {
 protected:
  static constexpr uint64_t kMiddleDeposit = 10;
  static constexpr uint64_t kRevocation = 14;
  static constexpr uint64_t kHead = 20;

  void SetUp() override {
    LedgerOptions options;
    options.checkpoint_every_events = 8;
    ledger_ = std::make_unique<TestLedger>(options);
    TestLedger& t = *ledger_;
    ASSERT_TRUE(t.RegisterKey(Role::OPERATOR).ok());
    auto second = t.RegisterKey(Role::CASHIER);
    ASSERT_TRUE(second.ok());
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(t.Deposit(absl::StrCat("A-", 100 + i), 5000 + i).ok());
    ASSERT_TRUE(t.Append(Sign(DepositBody("second-1", t.now_us(), "B-1", 700), *second)).ok());
    auto revoked =
        t.Append(Sign(RevokeKeyBody("revoke-second", t.now_us(), second->key_id()), t.admin()));
    ASSERT_TRUE(revoked.ok()) << revoked.status();
    ASSERT_EQ(revoked->seq, kRevocation);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(t.Deposit(absl::StrCat("C-", 200 + i), 100).ok());
    ASSERT_EQ(t.ledger().head().seq, kHead);
    t.ledger().Stop();  // signs a checkpoint at the head

    path_ = dir_.Sub("export.capnp");
    ASSERT_TRUE(ExportLedger(t.ledger().store(), path_).ok());
    auto envelopes = t.ledger().store().ReadRange(1, kHead);
    ASSERT_TRUE(envelopes.ok());
    envelopes_ = *envelopes;
    file_ = ReadFile(path_);
  }

  VerifyOptions Trusting() const {
    VerifyOptions options;
    options.ledger_key = ledger_->ledger_key().public_key();
    return options;
  }

  // Byte range of message `seq` (its 8-byte header included) in the export.
  std::pair<size_t, size_t> MessageRange(uint64_t seq) const {
    size_t begin = 0;
    for (uint64_t s = 1; s < seq; ++s) begin += 8 + envelopes_[s - 1].size();
    return {begin, begin + 8 + envelopes_[seq - 1].size()};
  }

  // Verifies `file` as the export; the status.
  absl::Status VerifyAs(absl::string_view file) {
    WriteFile(path_, file);
    return VerifyExport(path_, Trusting()).status();
  }

  TempDir dir_;
  std::unique_ptr<TestLedger> ledger_;
  std::string path_;
  std::string file_;
  std::vector<std::string> envelopes_;
};

TEST_F(ExportedLedger, VerifiesWithItsTrustedKey) {
  auto summary = VerifyExport(path_, Trusting());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, kHead);
  EXPECT_EQ(summary->head.seq, kHead);
  EXPECT_EQ(summary->head.chain_hash, ledger_->ledger().head().chain_hash);
  EXPECT_EQ(summary->ledger_key, ledger_->ledger_key().public_key());
  EXPECT_EQ(summary->last_checkpoint_seq, kHead);
  EXPECT_EQ(summary->checkpoints, ledger_->ledger().store().ReadCheckpoints(0, 100)->size());
  EXPECT_GE(summary->checkpoints, 3u);  // 2, 10, 18 and the head
  // The store verifies the same way.
  auto store = VerifyStore(ledger_->ledger().store(), Trusting());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->head.chain_hash, summary->head.chain_hash);
}

TEST_F(ExportedLedger, FileIsAPlainMessageStreamOfTheStoredEnvelopes) {
  EXPECT_EQ(file_, Frame(envelopes_));
  auto reader = MessageStreamReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  for (uint64_t seq = 1; seq <= kHead; ++seq) {
    auto message = (*reader)->Next(kEnvelopeBytesMax);
    ASSERT_TRUE(message.ok() && message->has_value()) << "seq " << seq;
    EXPECT_EQ(**message, envelopes_[seq - 1]);
  }
  auto end = (*reader)->Next(kEnvelopeBytesMax);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST_F(ExportedLedger, FlippingAnyByteOfAnEventNamesThatEvent) {
  for (uint64_t seq : {uint64_t{2}, kMiddleDeposit, kRevocation, kHead}) {
    SCOPED_TRACE(absl::StrCat("tampered seq ", seq));
    const std::string expected_prefix = absl::StrCat("seq ", seq, ":");
    auto [begin, end] = MessageRange(seq);
    std::vector<std::string> misses;
    for (size_t offset = begin; offset < end; ++offset) {
      std::string tampered = file_;
      tampered[offset] = static_cast<char>(tampered[offset] ^ 0xff);
      absl::Status status = VerifyAs(tampered);
      if (status.code() != absl::StatusCode::kDataLoss ||
          !absl::StartsWith(status.message(), expected_prefix)) {
        if (misses.size() < 8) {
          misses.push_back(absl::StrCat("offset ", offset - begin, ": ", status.ToString()));
        } else {
          misses.back() = "...";
        }
      }
    }
    EXPECT_TRUE(misses.empty()) << absl::StrJoin(misses, "\n");
  }
}

TEST_F(ExportedLedger, DeletedEventIsNamed) {
  for (uint64_t seq : {uint64_t{2}, kMiddleDeposit, kHead}) {
    SCOPED_TRACE(absl::StrCat("deleted seq ", seq));
    std::vector<std::string> envelopes = envelopes_;
    envelopes.erase(envelopes.begin() + static_cast<ptrdiff_t>(seq - 1));
    absl::Status status = VerifyAs(Frame(envelopes));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(absl::StrCat("seq ", seq, ":")));
  }
}

TEST_F(ExportedLedger, SwappedAdjacentEventsNameTheFirst) {
  for (uint64_t seq : {uint64_t{1}, kMiddleDeposit, kHead - 1}) {
    SCOPED_TRACE(absl::StrCat("swapped seq ", seq, " and ", seq + 1));
    std::vector<std::string> envelopes = envelopes_;
    std::swap(envelopes[seq - 1], envelopes[seq]);
    absl::Status status = VerifyAs(Frame(envelopes));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(absl::StrCat("seq ", seq, ":")));
  }
}

TEST_F(ExportedLedger, ExportCutShortIsCaughtByItsLastCheckpoint) {
  std::vector<std::string> envelopes(envelopes_.begin(), envelopes_.begin() + 15);
  absl::Status status = VerifyAs(Frame(envelopes));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("seq 16:"));
}

TEST_F(ExportedLedger, WrongTrustedLedgerKeyIsRefused) {
  VerifyOptions options;
  options.ledger_key = TestKey(99).public_key();
  auto summary = VerifyExport(path_, options);
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << summary.status();
  EXPECT_THAT(std::string(summary.status().message()), StartsWith("seq 1:"));
  EXPECT_THAT(summary.status().message(), HasSubstr("different ledger key"));
  auto store = VerifyStore(ledger_->ledger().store(), options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(ExportedLedger, ForgeryWithARecomputedChainIsCaughtBySignature) {
  // Whoever can rewrite the file can recompute every hash after the change;
  // they cannot re-sign the body, and without checkpoints only that is left.
  std::vector<std::string> envelopes = envelopes_;
  auto forged = testing::WithDepositAmount(envelopes[kMiddleDeposit - 1], 9'999'999);
  ASSERT_TRUE(forged.ok()) << forged.status();
  envelopes[kMiddleDeposit - 1] = *forged;
  for (uint64_t seq = kMiddleDeposit + 1; seq <= kHead; ++seq) {
    auto envelope = ParsedEnvelope::Parse(envelopes[seq - 1], kEnvelopeBytesMax);
    ASSERT_TRUE(envelope.ok());
    capnp::MallocMessageBuilder message;
    message.setRoot(envelope->get());
    Hash prev = ChainHash(envelopes[seq - 2]);
    message.getRoot<schema::Envelope>().setPrevHash(AsData(absl::MakeConstSpan(prev)));
    envelopes[seq - 1] = Canonical(message.getRoot<schema::Envelope>().asReader());
  }
  WriteFile(path_ + ".checkpoints", "");
  absl::Status status = VerifyAs(Frame(envelopes));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()),
              StartsWith(absl::StrCat("seq ", kMiddleDeposit, ": bad signature")));
}

TEST_F(ExportedLedger, TamperedCheckpointIsDataLoss) {
  const std::string checkpoints = ReadFile(path_ + ".checkpoints");
  ASSERT_FALSE(checkpoints.empty());
  // Every byte of the last checkpoint message (header included).
  auto stored = ledger_->ledger().store().ReadCheckpoints(0, 100);
  ASSERT_TRUE(stored.ok());
  const size_t last_size = 8 + stored->back().canonical.size();
  for (size_t offset = checkpoints.size() - last_size; offset < checkpoints.size(); ++offset) {
    std::string tampered = checkpoints;
    tampered[offset] = static_cast<char>(tampered[offset] ^ 0xff);
    WriteFile(path_ + ".checkpoints", tampered);
    auto summary = VerifyExport(path_, Trusting());
    // A framing error is the reader's kInvalidArgument; anything else that
    // gets through framing is found as data loss.
    EXPECT_FALSE(summary.ok()) << "offset " << offset;
    if (!summary.ok() && summary.status().code() != absl::StatusCode::kInvalidArgument) {
      EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss)
          << "offset " << offset << ": " << summary.status();
    }
  }
}

// --- the verifier's rules against a live store --------------------------------

std::string DepositWithKey(const std::string& idempotency_key, int64_t issued_at_us) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  // With its explicit size, so bytes after an embedded NUL are kept.
  body.setIdempotencyKey(capnp::Text::Reader(idempotency_key.data(), idempotency_key.size()));
  body.setIssuedAtUs(issued_at_us);
  body.setStream("room:A-101");
  auto deposit = body.initDepositMade();
  deposit.setRoomId("A-101");
  deposit.setAmountFen(100);
  return Canonical(body.asReader());
}

TEST(Verifier, IdempotencyKeysDifferingAfterANulAreDistinctRequests) {
  // The ledger treats idempotency keys as byte strings: these are two requests.
  TestLedger t;
  auto first = t.Append(Sign(DepositWithKey(std::string("pay\0a", 5), t.now_us()), t.cashier()));
  auto second = t.Append(Sign(DepositWithKey(std::string("pay\0b", 5), t.now_us()), t.cashier()));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_FALSE(second->duplicate);
  // So an auditor must not call the log a double execution.
  auto summary = VerifyStore(t.ledger().store(), VerifyOptions{});
  EXPECT_TRUE(summary.ok()) << summary.status();
}

TEST(Verifier, EmptyLogIsDataLoss) {
  Verifier verifier(VerifyOptions{});
  EXPECT_EQ(verifier.Finish().status().code(), absl::StatusCode::kDataLoss);
}

TEST(Verifier, GarbageCheckpointIsDataLoss) {
  Verifier verifier(VerifyOptions{});
  EXPECT_EQ(verifier.AddCheckpoint("not a checkpoint").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(verifier.AddCheckpoint(std::string(16, '\0')).code(), absl::StatusCode::kDataLoss);
}

TEST(MessageStream, TruncatedOrMultiSegmentMessagesAreInvalidArgument) {
  TempDir dir;
  const std::string path = dir.Sub("stream");
  const std::string message(16, 'm');
  std::string framed = Frame({message});
  auto next_of = [&path](absl::string_view bytes) {
    WriteFile(path, bytes);
    auto reader = MessageStreamReader::Open(path);
    EXPECT_TRUE(reader.ok());
    return (*reader)->Next(1024);
  };
  auto whole = next_of(framed);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  EXPECT_EQ(**whole, message);
  EXPECT_EQ(next_of(framed.substr(0, 5)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(next_of(framed.substr(0, framed.size() - 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string two_segments = framed;
  two_segments[0] = 1;
  EXPECT_EQ(next_of(two_segments).status().code(), absl::StatusCode::kInvalidArgument);
  std::string empty_message = framed;
  empty_message[4] = 0;
  EXPECT_EQ(next_of(empty_message).status().code(), absl::StatusCode::kInvalidArgument);
  std::string oversize = framed;
  oversize[7] = 0x7f;
  EXPECT_EQ(next_of(oversize).status().code(), absl::StatusCode::kInvalidArgument);
  auto clean_end = next_of("");
  ASSERT_TRUE(clean_end.ok());
  EXPECT_FALSE(clean_end->has_value());
  EXPECT_EQ(MessageStreamReader::Open(dir.Sub("absent")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MessageStream, WriterRefusesAPartialWord) {
  TempDir dir;
  auto writer = MessageStreamWriter::Create(dir.Sub("stream"));
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ((*writer)->Append("seven b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*writer)->Close().ok());
}

}  // namespace
}  // namespace wattledger::ledger
