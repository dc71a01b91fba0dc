// Sessions on the Ledger endpoint over real loopback connections: a key
// proves itself by signing a fresh challenge, its role decides what it may
// read and ask, a revocation ends that at once, a bad or replayed proof opens
// nothing, and on a TLS endpoint the log is read only in a session.
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/match.h"
#include "api/rpc/ledger.capnp.h"
#include "api/rpc/ledger_client.h"
#include "api/rpc/rpc_connection.h"
#include "api/rpc/rpc_server.h"
#include "api/rpc/session_proof.h"
#include "api/rpc/status_convert.h"
#include "api/rpc/tls_config.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"
#include "tests/testing/own_thread.h"

namespace wattledger::rpc {
namespace {

using absl::StatusCode;
using ledger::AsData;
using testing::TempDir;
using testing::TestLedger;

using testing::OnOwnThread;

ledger::LedgerOptions DomainOptions(projections::Domain* domain) {
  ledger::LedgerOptions options;
  options.projections = {domain};
  return options;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : t_(DomainOptions(&domain_)) {}

  void SetUp() override {
    for (auto [role, slot] : {std::pair{ledger::Role::OPERATOR, &operator_},
                              std::pair{ledger::Role::AUDITOR, &auditor_},
                              std::pair{ledger::Role::CARD_CENTER, &card_center_}}) {
      auto key = t_.RegisterKey(role);
      ASSERT_TRUE(key.ok()) << key.status();
      slot->emplace(*key);
    }
    auto body = testing::BuildingBody("b", t_.now_us(), "B01");
    ASSERT_TRUE(t_.Append(testing::Sign(body, *operator_)).ok());
    for (const char* room : {"B01-101", "B01-102"}) {
      body = testing::RoomBody(absl::StrCat("r", room), t_.now_us(), room, "B01", 4);
      ASSERT_TRUE(t_.Append(testing::Sign(body, *operator_)).ok());
    }
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Serve(TlsFiles tls = {}) {
    auto server = RpcServer::Start(
        t_.ledger(),
        RpcServerOptions{.ledger = {.listen = "127.0.0.1:0", .tls = tls}, .domain = &domain_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::string Address() { return absl::StrCat("127.0.0.1:", server_->port()); }

  projections::Domain domain_;
  TestLedger t_;
  std::optional<ledger::SigningKey> operator_, auditor_, card_center_;
  std::unique_ptr<RpcServer> server_;
};

TEST_F(SessionTest, TheKeysRoleDecidesWhatItsSessionMayAsk) {
  Serve();
  OnOwnThread([&] {
    auto client = LedgerClient::Connect(Address());
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_EQ((*client)->Query(query::Query{.name = "rooms"}).status().code(),
              StatusCode::kFailedPrecondition);  // no session yet
    ASSERT_TRUE((*client)->Authenticate(*operator_).ok());
    auto rooms = (*client)->Query(query::Query{.name = "rooms"});
    ASSERT_TRUE(rooms.ok()) << rooms.status();
    ASSERT_EQ(rooms->lines.size(), 2u);
    EXPECT_TRUE(absl::StrContains(rooms->lines[1], "\"roomId\":\"B01-102\""));
    auto unknown = (*client)->Query(query::Query{.name = "room-status", .args = {{"room", "X"}}});
    EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
    auto bad = (*client)->Query(query::Query{.name = "everything"});
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    // The session still serves every Ledger call.
    auto events = (*client)->Events(1, 5);
    ASSERT_TRUE(events.ok()) << events.status();
    EXPECT_EQ(events->size(), 5u);
  });
  OnOwnThread([&] {
    auto client = LedgerClient::Connect(Address());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Authenticate(t_.cashier()).ok());
    EXPECT_TRUE((*client)->Query(query::Query{.name = "rooms"}).ok());
    auto why = (*client)->Query(query::Query{.name = "control-why", .args = {{"room", "B01-101"}}});
    EXPECT_EQ(why.status().code(), StatusCode::kPermissionDenied) << why.status();
  });
  OnOwnThread([&] {
    auto client = LedgerClient::Connect(Address());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Authenticate(*card_center_).ok());
    EXPECT_EQ((*client)->Query(query::Query{.name = "rooms"}).status().code(),
              StatusCode::kPermissionDenied);
    // A card center reads its own settlement, not the log.
    EXPECT_EQ((*client)->Events(1, 5).status().code(), StatusCode::kPermissionDenied);
  });
}

TEST_F(SessionTest, RevokingTheKeyEndsWhatItsSessionMayDo) {
  Serve();
  auto key = t_.RegisterKey(ledger::Role::OPERATOR);
  ASSERT_TRUE(key.ok());
  OnOwnThread([&] {
    auto client = LedgerClient::Connect(Address());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->Authenticate(*key).ok());
    ASSERT_TRUE((*client)->Query(query::Query{.name = "rooms"}).ok());
    auto revoked = t_.Append(
        testing::Sign(testing::RevokeKeyBody("revoke", t_.now_us(), key->key_id()), t_.admin()));
    ASSERT_TRUE(revoked.ok()) << revoked.status();
    EXPECT_EQ((*client)->Query(query::Query{.name = "rooms"}).status().code(),
              StatusCode::kPermissionDenied);
  });
  OnOwnThread([&] {  // nor can it open a new one
    auto again = LedgerClient::Connect(Address());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->Authenticate(*key).code(), StatusCode::kPermissionDenied);
  });
}

TEST_F(SessionTest, ABadOrReplayedProofOpensNothing) {
  Serve();
  OnOwnThread([&] {
    // An unregistered key.
    auto stranger = ledger::SigningKey::Generate();
    ASSERT_TRUE(stranger.ok());
    auto client = LedgerClient::Connect(Address());
    ASSERT_TRUE(client.ok());
    EXPECT_EQ((*client)->Authenticate(*stranger).code(), StatusCode::kUnauthenticated);
  });
  OnOwnThread([&] {
    // By hand: a signature by another key, a nonce used twice, a nonce never issued.
    auto connection = RpcConnection::Connect(Address());
    ASSERT_TRUE(connection.ok());
    auto ledger = (*connection)->Bootstrap<Ledger>();
    auto& wait = (*connection)->wait_scope();
    auto authenticate = [&](const std::string& nonce, const ledger::SigningKey& signer) {
      auto call = ledger.authenticateRequest();
      ledger::KeyId id = operator_->key_id();
      ledger::Signature signature = signer.Sign(ledger::AsBytes(SessionProofMessage(nonce)));
      call.setKeyId(AsData(absl::MakeConstSpan(id)));
      call.setNonce(AsData(nonce));
      call.setSignature(AsData(absl::MakeConstSpan(signature)));
      auto response = call.send().wait(wait);
      return std::make_pair(ToStatus(response.getStatus()), response.hasSession());
    };
    auto challenge = [&] {
      return ledger::ToString(ledger.challengeRequest().send().wait(wait).getNonce());
    };
    std::string nonce = challenge();
    EXPECT_EQ(nonce.size(), kSessionNonceBytes);
    auto [forged, forged_session] = authenticate(nonce, *auditor_);
    EXPECT_EQ(forged.code(), StatusCode::kUnauthenticated) << forged;
    EXPECT_FALSE(forged_session);
    // That nonce was spent by the failed attempt.
    EXPECT_EQ(authenticate(nonce, *operator_).first.code(), StatusCode::kUnauthenticated);
    nonce = challenge();
    EXPECT_TRUE(authenticate(nonce, *operator_).first.ok());
    auto [replayed, replayed_session] = authenticate(nonce, *operator_);
    EXPECT_EQ(replayed.code(), StatusCode::kUnauthenticated) << replayed;
    EXPECT_FALSE(replayed_session);
    EXPECT_EQ(authenticate(std::string(kSessionNonceBytes, 'x'), *operator_).first.code(),
              StatusCode::kUnauthenticated);
  });
}

TEST_F(SessionTest, OnATlsEndpointTheLogIsReadOnlyInASession) {
  TempDir certs;
  ASSERT_TRUE(IssueDevCertificates(certs.path(), "auditor").ok());
  Serve(TlsFiles{.cert = certs.Sub("server.pem"), .key = certs.Sub("server.key")});
  OnOwnThread([&] {
    auto client = LedgerClient::Connect(Address(), TlsFiles{.ca = certs.Sub("ca.pem")});
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_TRUE((*client)->Head().ok());  // the head is public
    auto events = (*client)->Events(1, 5);
    EXPECT_EQ(events.status().code(), StatusCode::kPermissionDenied) << events.status();
    EXPECT_EQ((*client)->Keys().status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ((*client)->Checkpoints(1, 5).status().code(), StatusCode::kPermissionDenied);
    ASSERT_TRUE((*client)->Authenticate(*auditor_).ok());
    events = (*client)->Events(1, 5);
    ASSERT_TRUE(events.ok()) << events.status();
    EXPECT_EQ(events->size(), 5u);
    EXPECT_TRUE((*client)->Keys().ok());
    auto alarms = (*client)->Query(query::Query{.name = "alarms"});
    ASSERT_TRUE(alarms.ok()) << alarms.status();
    EXPECT_EQ(alarms->lines, std::vector<std::string>{"no open alarms"});
  });
}

}  // namespace
}  // namespace wattledger::rpc
