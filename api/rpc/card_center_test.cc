// The card center's endpoint over a real loopback connection with mutual
// TLS: every call, every refusal, retries, reversals in both orders, the
// signed settlement and reconciliation.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "api/rpc/card_center_client.h"
#include "api/rpc/ledger_client.h"
#include "api/rpc/rpc_server.h"
#include "api/rpc/tls_config.h"
#include "projections/domain.h"
#include "projections/reports/periods.h"
#include "projections/reports/reports.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/own_thread.h"

namespace wattledger::rpc {
namespace {

using absl::StatusCode;
using testing::TempDir;
using testing::TestLedger;

using testing::OnOwnThread;

ledger::LedgerOptions DomainOptions(projections::Domain* domain) {
  ledger::LedgerOptions options;
  options.projections = {domain};
  options.projection_families = projections::reports::ReportFamilies();
  return options;
}

class CardCenterTest : public ::testing::Test {
 protected:
  CardCenterTest() : t_(DomainOptions(&domain_)) {}

  void SetUp() override {
    ASSERT_TRUE(IssueDevCertificates(certs_.path(), "card-center").ok());
    auto operator_key = t_.RegisterKey(ledger::Role::OPERATOR);
    auto card_key = t_.RegisterKey(ledger::Role::CARD_CENTER);
    auto auditor_key = t_.RegisterKey(ledger::Role::AUDITOR);
    ASSERT_TRUE(operator_key.ok() && card_key.ok() && auditor_key.ok());
    operator_.emplace(*operator_key);
    card_center_.emplace(*card_key);
    auditor_.emplace(*auditor_key);
    Operator(testing::BuildingBody("b", now(), "B01"));
    for (const char* room : {"B01-101", "B01-102"}) {
      Operator(testing::RoomBody(absl::StrCat("r", room), now(), room, "B01", 4));
    }
    Operator(testing::TariffBody("t", now(), "staff", now(), {{0, 5000}}, 0));
    Operator(testing::OccupantBody("o", now(), "B01-101", "P1", "staff", "C1"));
    auto reports = projections::reports::ReportRunners::Start(t_.ledger());
    ASSERT_TRUE(reports.ok()) << reports.status();
    reports_ = std::move(*reports);
    auto server = RpcServer::Start(
        t_.ledger(), RpcServerOptions{.ledger = {.listen = "127.0.0.1:0"},
                                      .card_center = {.listen = "127.0.0.1:0", .tls = ServerTls()},
                                      .domain = &domain_,
                                      .reports = reports_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto client = CardCenterClient::Connect(Address(), ClientTls());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
    reports_.reset();
  }

  int64_t now() { return t_.now_us(); }
  void Operator(const std::string& body) {
    auto appended = t_.Append(testing::Sign(body, *operator_));
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  TlsFiles ServerTls() {
    return TlsFiles{.cert = certs_.Sub("server.pem"),
                    .key = certs_.Sub("server.key"),
                    .ca = certs_.Sub("ca.pem")};
  }
  TlsFiles ClientTls() {
    return TlsFiles{.cert = certs_.Sub("client.pem"),
                    .key = certs_.Sub("client.key"),
                    .ca = certs_.Sub("ca.pem")};
  }
  std::string Address() { return absl::StrCat("127.0.0.1:", server_->card_center_port()); }

  ledger::SignedRequest Deposit(const std::string& trade, const std::string& room, int64_t fen,
                                int64_t issued_offset_us = 0) {
    return ledger::SignBodyBytes(CardDepositBody(trade, room, fen, "C1", "CC-T1", now() - 5'000'000,
                                                 now() + issued_offset_us),
                                 *card_center_);
  }
  ledger::SignedRequest Reversal(const std::string& trade) {
    return ledger::SignBodyBytes(CardReversalBody(trade, "cancelled at the terminal", now()),
                                 *card_center_);
  }

  TempDir certs_;
  projections::Domain domain_;
  TestLedger t_;
  std::optional<ledger::SigningKey> operator_, card_center_, auditor_;
  std::unique_ptr<projections::reports::ReportRunners> reports_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<CardCenterClient> client_;
};

TEST_F(CardCenterTest, RoomsAndBalances) {
  auto rooms = client_->Rooms();
  ASSERT_TRUE(rooms.ok()) << rooms.status();
  ASSERT_EQ(rooms->size(), 2u);
  EXPECT_EQ((*rooms)[0].building_id, "B01");
  EXPECT_EQ((*rooms)[0].room_id, "B01-101");
  EXPECT_EQ((*rooms)[1].room_id, "B01-102");

  auto balance = client_->Balance("B01-101");
  ASSERT_TRUE(balance.ok()) << balance.status();
  EXPECT_EQ(balance->balance_fen, 0);
  EXPECT_EQ(balance->price_per_kwh, 5000);
  EXPECT_EQ(client_->Balance("B09-999").status().code(), StatusCode::kNotFound);

  // Many calls in flight on one connection answer in order.
  auto both = client_->Balances({"B01-102", "B01-101", "B01-102"});
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->size(), 3u);
  EXPECT_EQ((*both)[0].room_id, "B01-102");
  EXPECT_EQ((*both)[1].room_id, "B01-101");
  EXPECT_EQ(client_->Balances({"B01-101", "B09-999"}).status().code(), StatusCode::kNotFound);
}

TEST_F(CardCenterTest, ADepositIsAppliedOnceWhateverTheRetries) {
  ledger::SignedRequest first = Deposit("TN1", "B01-101", 3000);
  auto receipt = client_->Deposit(first);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_FALSE(receipt->duplicate);
  EXPECT_EQ(receipt->room_id, "B01-101");
  EXPECT_EQ(receipt->amount_fen, 3000);
  EXPECT_EQ(receipt->balance_after_fen, 3000);
  EXPECT_EQ(receipt->trade_no, "TN1");
  EXPECT_FALSE(receipt->receipt_no.empty());
  // The receipt's chain hash is the log's at that seq.
  auto envelopes = t_.ledger().store().ReadRange(receipt->seq, 1);
  ASSERT_TRUE(envelopes.ok() && !envelopes->empty());
  EXPECT_EQ(ledger::ChainHash((*envelopes)[0]), receipt->chain_hash);

  // The same request again, and the same trade signed afresh: the first receipt.
  auto again = client_->Deposit(first);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, receipt->seq);
  auto resigned = client_->Deposit(Deposit("TN1", "B01-101", 3000, /*issued_offset_us=*/1000));
  ASSERT_TRUE(resigned.ok()) << resigned.status();
  EXPECT_TRUE(resigned->duplicate);
  EXPECT_EQ(resigned->seq, receipt->seq);
  EXPECT_EQ(resigned->balance_after_fen, 3000);
  // The same trade number with other fields is refused.
  auto other = client_->Deposit(Deposit("TN1", "B01-101", 4000));
  EXPECT_EQ(other.status().code(), StatusCode::kAlreadyExists) << other.status();
  EXPECT_EQ(client_->Balance("B01-101")->balance_fen, 3000);

  auto status = client_->Status("TN1");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, CardTradeState::kApplied);
  EXPECT_EQ(status->deposit_seq, receipt->seq);
  EXPECT_EQ(client_->Status("TN-never")->state, CardTradeState::kUnknown);
}

TEST_F(CardCenterTest, ReversalsAreIdempotentAndAnEarlyOneRefusesTheLateDeposit) {
  ASSERT_TRUE(client_->Deposit(Deposit("TN1", "B01-101", 3000)).ok());
  auto reversed = client_->Reverse(Reversal("TN1"));
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  EXPECT_EQ(reversed->state, CardTradeState::kReversed);
  EXPECT_EQ(client_->Balance("B01-101")->balance_fen, 0);
  auto twice = client_->Reverse(Reversal("TN1"));
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->reversal_seq, reversed->reversal_seq);

  auto early = client_->Reverse(Reversal("TN2"));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->state, CardTradeState::kVoided);
  auto late = client_->Deposit(Deposit("TN2", "B01-101", 2000));
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition) << late.status();
  EXPECT_EQ(client_->Balance("B01-101")->balance_fen, 0);
  EXPECT_EQ(client_->Status("TN2")->state, CardTradeState::kVoided);
}

TEST_F(CardCenterTest, EveryMalformedOrUnauthorisedCallIsRefused) {
  // Only the card center's key may take card-center deposits.
  auto by_auditor = client_->Deposit(ledger::SignBodyBytes(
      CardDepositBody("TN9", "B01-101", 100, "C1", "CC-T1", now(), now()), *auditor_));
  EXPECT_EQ(by_auditor.status().code(), StatusCode::kPermissionDenied) << by_auditor.status();
  // A bad signature.
  ledger::SignedRequest forged = Deposit("TN9", "B01-101", 100);
  forged.signature[0] ^= 1;
  EXPECT_EQ(client_->Deposit(forged).status().code(), StatusCode::kUnauthenticated);
  // Not a deposit, or not under its trade number.
  EXPECT_EQ(client_->Deposit(Reversal("TN9")).status().code(), StatusCode::kInvalidArgument);
  ledger::SignedRequest wrong_key = ledger::SignBodyBytes(
      testing::DepositBody("not-a-trade", now(), "B01-101", 100), *card_center_);
  EXPECT_EQ(client_->Deposit(wrong_key).status().code(), StatusCode::kInvalidArgument);
  ledger::SignedRequest garbage = Deposit("TN9", "B01-101", 100);
  garbage.body = "not a capnp message";
  EXPECT_EQ(client_->Deposit(garbage).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Deposit(Deposit("TN9", "B09-999", 100)).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(client_->Settlement("2026-13-40").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Settlement("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Balance("B01-101")->balance_fen, 0);
}

TEST_F(CardCenterTest, TheSettlementIsSignedAndReconciliationFlagsEachDifference) {
  ASSERT_TRUE(client_->Deposit(Deposit("TN1", "B01-101", 3000)).ok());
  ASSERT_TRUE(client_->Reverse(Reversal("TN1")).ok());
  ASSERT_TRUE(client_->Reverse(Reversal("TN2")).ok());  // voided
  ASSERT_TRUE(client_->Deposit(Deposit("TN4", "B01-102", 1500)).ok());
  ASSERT_TRUE(client_->Deposit(Deposit("TN5", "B01-101", 1000)).ok());
  std::string day = projections::reports::DayOf(now());

  auto settlement = client_->Settlement(day);
  ASSERT_TRUE(settlement.ok()) << settlement.status();
  EXPECT_TRUE(settlement->Verified());
  EXPECT_EQ(settlement->ledger_public_key, t_.ledger().ledger_public_key());
  EXPECT_EQ(settlement->day, day);
  EXPECT_EQ(settlement->deposit_count, 3u);
  EXPECT_EQ(settlement->deposits_fen, 5500);
  EXPECT_EQ(settlement->reversal_count, 1u);
  EXPECT_EQ(settlement->reversals_fen, 3000);
  ASSERT_EQ(settlement->lines.size(), 5u);
  EXPECT_EQ(settlement->lines[2].kind, "voided");
  EXPECT_EQ(settlement->lines[2].trade_no, "TN2");
  SignedSettlementView tampered = *settlement;
  tampered.statement[tampered.statement.size() - 9] ^= 1;
  EXPECT_FALSE(tampered.Verified());

  // Their file: TN1 and TN2 agree (both reversed); TN3 is not ours; they
  // miss TN4; TN5 is 1200 on their side; TN6 names a room we do not have.
  std::vector<TheirLineInput> theirs = {
      {"TN1", "B01-101", 3000, false}, {"TN1", "", 3000, true},
      {"TN2", "B01-101", 2000, false}, {"TN2", "", 2000, true},
      {"TN3", "B01-102", 700, false},  {"TN5", "B01-101", 1200, false},
      {"TN6", "B77-001", 500, false}};
  auto report = client_->Reconcile(day, theirs);
  ASSERT_TRUE(report.ok()) << report.status();
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& difference : report->differences)
    found.emplace_back(difference.kind, difference.trade_no);
  EXPECT_EQ(found, (std::vector<std::pair<std::string, std::string>>{{"missingHere", "TN3"},
                                                                     {"missingThere", "TN4"},
                                                                     {"amountDiffers", "TN5"},
                                                                     {"unknownRoom", "TN6"}}));
  EXPECT_EQ(report->matched, 2u);
  // Reconciling changed nothing.
  EXPECT_EQ(client_->Settlement(day)->lines.size(), 5u);
}

TEST_F(CardCenterTest, OnlyAClientWithACertificateFromTheCaIsServed) {
  // No client certificate: the handshake fails (TLS 1.3 may report it on
  // the first call rather than at connect).
  OnOwnThread([&] {
    auto anonymous = CardCenterClient::Connect(Address(), TlsFiles{.ca = certs_.Sub("ca.pem")});
    if (anonymous.ok()) {
      EXPECT_EQ((*anonymous)->Balance("B01-101").status().code(), StatusCode::kUnavailable);
    }
    // Plaintext to the TLS port.
    auto plaintext = CardCenterClient::Connect(Address());
    if (plaintext.ok()) {
      EXPECT_EQ((*plaintext)->Balance("B01-101").status().code(), StatusCode::kUnavailable);
    }
    // A certificate from another CA.
    TempDir other;
    EXPECT_TRUE(IssueDevCertificates(other.path(), "intruder").ok());
    auto intruder = CardCenterClient::Connect(Address(), TlsFiles{.cert = other.Sub("client.pem"),
                                                                  .key = other.Sub("client.key"),
                                                                  .ca = certs_.Sub("ca.pem")});
    if (intruder.ok()) {
      EXPECT_EQ((*intruder)->Balance("B01-101").status().code(), StatusCode::kUnavailable);
    }
  });
  // The trusted client was never disturbed.
  EXPECT_TRUE(client_->Balance("B01-101").ok());
}

TEST_F(CardCenterTest, GarbageOnTheWireEndsThatConnectionOnly) {
  for (uint16_t port : {server_->port(), server_->card_center_port()}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    // A segment table claiming a huge message, then noise.
    const char garbage[] = "\x00\x00\x00\x00\xff\xff\xff\x7f noise noise noise";
    ASSERT_GT(::write(fd, garbage, sizeof garbage), 0);
    ::close(fd);
  }
  EXPECT_TRUE(client_->Balance("B01-101").ok());
  OnOwnThread([&] {
    auto ledger_client = LedgerClient::Connect(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(ledger_client.ok()) << ledger_client.status();
    EXPECT_TRUE((*ledger_client)->Head().ok());
  });
}

// The operators' endpoint answers a submission with the events it derived.
TEST_F(CardCenterTest, AnOperatorsSubmissionReturnsTheEventsItDerived) {
  ASSERT_TRUE(client_->Deposit(Deposit("TN1", "B01-101", 3000)).ok());
  OnOwnThread([&] {
    auto ledger_client = LedgerClient::Connect(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(ledger_client.ok()) << ledger_client.status();
    auto refund = (*ledger_client)
                      ->Submit(testing::Sign(
                          testing::MakeBody("refund-p1", now(), "room:B01-101",
                                            [](schema::EventBody::Builder body) {
                                              auto refund = body.initRefundIssued();
                                              refund.setRoomId("B01-101");
                                              refund.setPersonId("P1");
                                              refund.setReason(schema::RefundReason::GRADUATION);
                                            }),
                          *operator_));
    ASSERT_TRUE(refund.ok()) << refund.status();
    ASSERT_GE(refund->derived, 1u);
    auto settled = (*ledger_client)->Events(refund->seq + 1, 1);
    ASSERT_TRUE(settled.ok() && settled->size() == 1);
    auto envelope =
        ledger::CanonicalMessage<schema::Envelope>::Parse((*settled)[0], ledger::kEnvelopeBytesMax);
    ASSERT_TRUE(envelope.ok());
    auto body = ledger::CanonicalMessage<schema::EventBody>::Parse(
        ledger::AsView(envelope->get().getBody()), ledger::kEventBodyBytesMax);
    ASSERT_TRUE(body.ok());
    EXPECT_TRUE(body->get().isRefundSettled());
    EXPECT_EQ(body->get().getRefundSettled().getAmountFen(), 3000);
  });
}

TEST(CardCenterEndpoint, TlsWithoutAClientCaAndPlaintextOffLoopbackAreRefused) {
  TempDir certs;
  ASSERT_TRUE(IssueDevCertificates(certs.path(), "card-center").ok());
  projections::Domain domain;
  TestLedger t(DomainOptions(&domain));
  auto no_ca = RpcServer::Start(
      t.ledger(), RpcServerOptions{.ledger = {.listen = "127.0.0.1:0"},
                                   .card_center = {.listen = "127.0.0.1:0",
                                                   .tls = {.cert = certs.Sub("server.pem"),
                                                           .key = certs.Sub("server.key")}},
                                   .domain = &domain});
  EXPECT_EQ(no_ca.status().code(), StatusCode::kInvalidArgument);
  auto open = RpcServer::Start(t.ledger(), RpcServerOptions{.ledger = {.listen = "127.0.0.1:0"},
                                                            .card_center = {.listen = "0.0.0.0:0"},
                                                            .domain = &domain});
  EXPECT_EQ(open.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wattledger::rpc
