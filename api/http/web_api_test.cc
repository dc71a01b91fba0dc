// The web API over a real loopback socket: login and its cookie, session
// fixation, the idle timeout, login rate limiting, CSRF, every route for
// every role (and none) as the route table says, a student who changes the
// room in the URL, malformed requests, and queries answering as wattctl's.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "api/http/http_server.h"
#include "api/query/query.h"
#include "api/rpc/tls_config.h"
#include "ledger/event_format.h"
#include "projections/domain.h"
#include "tests/testing/fuzz_corpus.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using beast_http::status;
using beast_http::verb;
using tcp = asio::ip::tcp;

constexpr char kPassword[] = "correct horse battery";

ledger::LedgerOptions DomainOptions(projections::Domain* domain) {
  ledger::LedgerOptions options;
  options.projections = {domain};
  return options;
}

class WebApiTest : public ::testing::Test {
 protected:
  WebApiTest() : t_(DomainOptions(&domain_)) {}

  void SetUp() override {
    auto key = t_.RegisterKey(ledger::Role::OPERATOR);
    ASSERT_TRUE(key.ok());
    operator_key_.emplace(*key);
    auto append = [&](const std::string& body) {
      auto appended = t_.Append(testing::Sign(body, *key));
      ASSERT_TRUE(appended.ok()) << appended.status();
    };
    append(testing::BuildingBody("b", t_.now_us(), "B01"));
    for (const char* room : {"B01-101", "B01-102"}) {
      append(testing::RoomBody(absl::StrCat("r", room), t_.now_us(), room, "B01", 4));
    }
    append(testing::TariffBody("t", t_.now_us(), "undergraduate", t_.now_us(), {{0, 5000}}, 0));
    append(testing::OccupantBody("o1", t_.now_us(), "B01-101", "P1", "undergraduate", "C1"));
    append(testing::OccupantBody("o2", t_.now_us(), "B01-102", "P2", "undergraduate", "C2"));

    auto users = UserStore::Open(dir_.Sub("users"), ScryptCost{.log2_n = 10});
    ASSERT_TRUE(users.ok()) << users.status();
    users_ = std::move(*users);
    for (WebRole role :
         {WebRole::kAdmin, WebRole::kOperator, WebRole::kCashier, WebRole::kAuditor}) {
      ASSERT_TRUE(
          users_->Create(WebUser{.name = std::string(WebRoleName(role)), .role = role}, kPassword)
              .ok());
    }
    ASSERT_TRUE(
        users_
            ->Create(WebUser{.name = "C1", .role = WebRole::kStudent, .person_id = "P1"}, kPassword)
            .ok());
    api_ = WebApi{.ledger = &t_.ledger(),
                  .domain = &domain_,
                  .users = users_.get(),
                  .sessions = &sessions_,
                  .limiter = &limiter_};
    auto server = HttpServer::Start(api_, HttpServerOptions{.listen = "127.0.0.1:0"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  Response Fetch(verb method, const std::string& target, const std::string& cookie = "",
                 const std::string& csrf = "", const std::string& body = "",
                 const std::string& content_type = "application/json") {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    Request request{method, target, 11};
    request.set(beast_http::field::host, "127.0.0.1");
    if (!cookie.empty())
      request.set(beast_http::field::cookie, absl::StrCat(kSessionCookie, "=", cookie));
    if (!csrf.empty()) request.set("X-CSRF-Token", csrf);
    if (!body.empty()) {
      request.set(beast_http::field::content_type, content_type);
      request.body() = body;
    }
    request.prepare_payload();
    beast_http::write(socket, request);
    beast::flat_buffer buffer;
    Response response;
    beast_http::read(socket, buffer, response);
    return response;
  }

  struct Login {
    Response response;
    std::string cookie;  // the session id
    std::string csrf;
  };
  Login LogIn(const std::string& name, const std::string& password = kPassword,
              const std::string& old_cookie = "") {
    Login login;
    login.response = Fetch(verb::post, "/api/login", old_cookie, "",
                           nlohmann::json{{"username", name}, {"password", password}}.dump());
    std::string set_cookie(login.response[beast_http::field::set_cookie]);
    std::string prefix = absl::StrCat(kSessionCookie, "=");
    if (absl::StartsWith(set_cookie, prefix)) {
      login.cookie = set_cookie.substr(prefix.size(), set_cookie.find(';') - prefix.size());
    }
    auto json = nlohmann::json::parse(login.response.body(), nullptr, false);
    if (json.is_object() && json.contains("csrfToken")) login.csrf = json["csrfToken"];
    return login;
  }

  void Advance(absl::Duration d) { now_us_ += absl::ToInt64Microseconds(d); }

  testing::TempDir dir_;
  projections::Domain domain_;
  testing::TestLedger t_;
  std::atomic<int64_t> now_us_{absl::ToUnixMicros(absl::Now())};
  Clock clock_ = [this] { return absl::FromUnixMicros(now_us_.load()); };
  SessionBook sessions_{absl::Minutes(30), clock_};
  LoginLimiter limiter_{clock_};
  std::unique_ptr<UserStore> users_;
  std::optional<ledger::SigningKey> operator_key_;
  WebApi api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebApiTest, LoginGivesAFreshHttpOnlySessionAndLogoutEndsIt) {
  Login login = LogIn("operator");
  ASSERT_EQ(login.response.result(), status::ok) << login.response.body();
  std::string set_cookie(login.response[beast_http::field::set_cookie]);
  EXPECT_TRUE(absl::StrContains(set_cookie, "HttpOnly")) << set_cookie;
  EXPECT_TRUE(absl::StrContains(set_cookie, "SameSite=Strict")) << set_cookie;
  EXPECT_GE(login.cookie.size(), 22u) << "at least 128 random bits, base64";
  EXPECT_GE(login.csrf.size(), 22u);
  EXPECT_NE(login.cookie, login.csrf);
  EXPECT_EQ(std::string(login.response[beast_http::field::cache_control]), "no-store");

  Response session = Fetch(verb::get, "/api/session", login.cookie);
  ASSERT_EQ(session.result(), status::ok);
  EXPECT_TRUE(absl::StrContains(session.body(), "\"role\":\"operator\"")) << session.body();

  EXPECT_EQ(Fetch(verb::post, "/api/logout", login.cookie, login.csrf).result(),
            status::no_content);
  EXPECT_EQ(Fetch(verb::get, "/api/session", login.cookie).result(), status::unauthorized);

  EXPECT_EQ(LogIn("operator", "wrong password").response.result(), status::unauthorized);
  EXPECT_EQ(LogIn("nobody").response.result(), status::unauthorized);
  // A cross-site form cannot send JSON; login takes nothing else.
  Response form = Fetch(verb::post, "/api/login", "", "",
                        absl::StrCat("username=operator&password=", kPassword),
                        "application/x-www-form-urlencoded");
  EXPECT_EQ(form.result(), status::bad_request);
}

TEST_F(WebApiTest, AnIdPlantedBeforeLoginIsNeverTheSessionAfterIt) {
  Login attacker = LogIn("auditor");
  ASSERT_FALSE(attacker.cookie.empty());
  // The victim's browser holds the attacker's id when the victim logs in.
  Login victim = LogIn("admin", kPassword, attacker.cookie);
  ASSERT_EQ(victim.response.result(), status::ok);
  EXPECT_NE(victim.cookie, attacker.cookie);
  EXPECT_EQ(Fetch(verb::get, "/api/session", attacker.cookie).result(), status::unauthorized);
  Response session = Fetch(verb::get, "/api/session", victim.cookie);
  EXPECT_TRUE(absl::StrContains(session.body(), "\"user\":\"admin\"")) << session.body();
  // A made-up id is no session.
  EXPECT_EQ(Fetch(verb::get, "/api/session", "made-up").result(), status::unauthorized);
}

TEST_F(WebApiTest, ASessionIdleForLongerThanTheTimeoutIsGone) {
  Login login = LogIn("cashier");
  Advance(absl::Minutes(29));
  EXPECT_EQ(Fetch(verb::get, "/api/session", login.cookie).result(), status::ok);
  Advance(absl::Minutes(29));  // used a moment ago: still fresh
  EXPECT_EQ(Fetch(verb::get, "/api/session", login.cookie).result(), status::ok);
  Advance(absl::Minutes(31));
  EXPECT_EQ(Fetch(verb::get, "/api/session", login.cookie).result(), status::unauthorized);
}

TEST_F(WebApiTest, RepeatedWrongPasswordsAreRefusedForAWhile) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(LogIn("admin", "guess").response.result(), status::unauthorized) << i;
  }
  Response limited = LogIn("admin").response;  // the right password, too late
  EXPECT_EQ(limited.result(), status::too_many_requests);
  EXPECT_FALSE(std::string(limited[beast_http::field::retry_after]).empty());
  EXPECT_EQ(LogIn("operator").response.result(), status::ok) << "other names are not locked";
  Advance(absl::Minutes(16));
  EXPECT_EQ(LogIn("admin").response.result(), status::ok);
}

TEST_F(WebApiTest, StateChangesNeedTheSessionsCsrfToken) {
  Login admin = LogIn("admin");
  Login other = LogIn("operator");
  std::string user =
      nlohmann::json{{"name", "op2"}, {"role", "operator"}, {"password", kPassword}}.dump();
  EXPECT_EQ(Fetch(verb::post, "/api/users", admin.cookie, "", user).result(), status::forbidden);
  EXPECT_EQ(Fetch(verb::post, "/api/users", admin.cookie, other.csrf, user).result(),
            status::forbidden)
      << "another session's token";
  EXPECT_EQ(Fetch(verb::post, "/api/logout", admin.cookie, "x").result(), status::forbidden);
  Response created = Fetch(verb::post, "/api/users", admin.cookie, admin.csrf, user);
  EXPECT_EQ(created.result(), status::created) << created.body();
  EXPECT_EQ(LogIn("op2").response.result(), status::ok);
  EXPECT_EQ(Fetch(verb::post, "/api/users", admin.cookie, admin.csrf, user).result(),
            status::conflict);
}

// The value a route's {id} takes for `role`: a student's own room.
std::string Target(const std::string& pattern) {
  return absl::StrReplaceAll(pattern, {{"{id}", "B01-101"}});
}

TEST_F(WebApiTest, EveryRouteForEveryRoleAsTheTableSays) {
  std::vector<std::pair<std::string, uint32_t>> callers = {{"", kAnonymous}};
  std::map<std::string, Login> logins;
  for (const char* name : {"admin", "operator", "cashier", "auditor", "C1"}) {
    logins[name] = LogIn(name);
    ASSERT_EQ(logins[name].response.result(), status::ok) << name;
    callers.push_back({name, AccessOf(users_->Find(name)->role)});
  }
  for (const RouteInfo& route : RouteTable()) {
    if (route.pattern == "/api/logout" || route.pattern == "/api/login") continue;  // below
    for (const auto& [name, access] : callers) {
      const Login* login = name.empty() ? nullptr : &logins[name];
      std::string body =
          route.verb == verb::post
              ? nlohmann::json{{"name", "u-" + name}, {"role", "auditor"}, {"password", kPassword}}
                    .dump()
              : "";
      Response response = Fetch(route.verb, Target(route.pattern), login ? login->cookie : "",
                                login ? login->csrf : "", body);
      const bool allowed = (route.access & access) != 0;
      const std::string what =
          absl::StrCat(route.pattern, " as ", name.empty() ? "anonymous" : name, ": ",
                       response.result_int(), " ", response.body());
      if (allowed) {
        EXPECT_NE(response.result(), status::unauthorized) << what;
        EXPECT_NE(response.result(), status::forbidden) << what;
        EXPECT_LT(response.result_int(), 500) << what;
      } else {
        EXPECT_EQ(response.result(), name.empty() ? status::unauthorized : status::forbidden)
            << what;
      }
    }
  }
  EXPECT_EQ(Fetch(verb::get, "/api/nothing-here", logins["admin"].cookie).result(),
            status::not_found);
  EXPECT_EQ(
      Fetch(verb::delete_, "/api/rooms", logins["admin"].cookie, logins["admin"].csrf).result(),
      status::method_not_allowed);
  for (auto& [name, login] : logins) {
    EXPECT_EQ(Fetch(verb::post, "/api/logout", login.cookie, login.csrf).result(),
              status::no_content)
        << name;
  }
  EXPECT_EQ(Fetch(verb::post, "/api/logout").result(), status::unauthorized);
}

TEST_F(WebApiTest, AStudentSeesOnlyTheirOwnRoom) {
  Login student = LogIn("C1");
  Response me = Fetch(verb::get, "/api/me", student.cookie);
  ASSERT_EQ(me.result(), status::ok) << me.body();
  EXPECT_TRUE(absl::StrContains(me.body(), "\"room\":\"B01-101\"")) << me.body();
  EXPECT_EQ(Fetch(verb::get, "/api/rooms/B01-101", student.cookie).result(), status::ok);
  for (const char* target : {"/api/rooms/B01-102", "/api/rooms/B01-102/status",
                             "/api/rooms/B01-102/events", "/api/rooms/B01-102/consumption",
                             "/api/rooms/B09-999", "/api/rooms/B01-101%2F..%2FB01-102"}) {
    Response other = Fetch(verb::get, target, student.cookie);
    EXPECT_EQ(other.result(), status::not_found) << target;
    EXPECT_FALSE(absl::StrContains(other.body(), "balance")) << target;
  }
  EXPECT_EQ(Fetch(verb::get, "/api/rooms", student.cookie).result(), status::forbidden);
}

TEST_F(WebApiTest, QueriesAnswerAsWattctlDoes) {
  Login auditor = LogIn("auditor");
  Response rooms = Fetch(verb::get, "/api/rooms", auditor.cookie);
  ASSERT_EQ(rooms.result(), status::ok);
  auto lines = query::RunQuery(query::QuerySource{.domain = &domain_,
                                                  .store = &t_.ledger().store(),
                                                  .now_us = absl::ToUnixMicros(absl::Now())},
                               query::Query{.name = "rooms"});
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(rooms.body(), absl::StrCat("{\"items\":[", absl::StrJoin(lines->lines, ","), "]}"));
  auto json = nlohmann::json::parse(rooms.body());
  EXPECT_EQ(json["items"].size(), 2u);
  EXPECT_EQ(Fetch(verb::get, "/api/rooms/B09-999/status", auditor.cookie).result(),
            status::not_found);
  // This ledger has no report families: the report says so.
  EXPECT_EQ(Fetch(verb::get, "/api/reports/deposits", auditor.cookie).result(), status::conflict);
  EXPECT_EQ(Fetch(verb::get, "/api/reports/deposits?since=2026-13-01", auditor.cookie).result(),
            status::bad_request);
  Response metrics = Fetch(verb::get, "/metrics");
  ASSERT_EQ(metrics.result(), status::ok);
  EXPECT_TRUE(absl::StrContains(metrics.body(), "wattledger_head_seq ")) << metrics.body();
  EXPECT_TRUE(absl::StrContains(metrics.body(), "wattledger_events_appended_total "))
      << metrics.body();
  EXPECT_TRUE(absl::StrContains(metrics.body(), "wattledger_commit_seconds_bucket{le=\"+Inf\"} "))
      << metrics.body();
  EXPECT_TRUE(absl::StrContains(metrics.body(), "wattledger_commit_seconds_count "));
}

TEST_F(WebApiTest, MalformedAndOversizedRequestsEndThatConnectionOnly) {
  auto raw = [&](const std::string& bytes) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    asio::write(socket, asio::buffer(bytes));
    beast::flat_buffer buffer;
    Response response;
    beast::error_code error;
    beast_http::read(socket, buffer, response, error);
    return response;
  };
  EXPECT_EQ(raw("GARBAGE \x01\x02 HTTP/9\r\n\r\n").result(), status::bad_request);
  EXPECT_EQ(raw(absl::StrCat("GET /api/head HTTP/1.1\r\nHost: x\r\nX-Big: ",
                             std::string(16 * 1024, 'a'), "\r\n\r\n"))
                .result(),
            status::payload_too_large);
  EXPECT_EQ(raw(absl::StrCat("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: ",
                             2 * 1024 * 1024, "\r\n\r\n"))
                .result(),
            status::payload_too_large);
  EXPECT_EQ(Fetch(verb::get, "/api/rooms?since=%zz").result(), status::bad_request);
  EXPECT_EQ(LogIn("admin").response.result(), status::ok) << "the server carries on";
}

// What the browser does with WebCrypto: sign the prepared signingMessage with
// the person's Ed25519 key.
std::string SignPrepared(const Response& prepared, const ledger::SigningKey& key) {
  auto json = nlohmann::json::parse(prepared.body());
  std::string message;
  EXPECT_TRUE(absl::Base64Unescape(json["signingMessage"].get<std::string>(), &message));
  ledger::Signature signature = key.Sign(ledger::AsBytes(message));
  return nlohmann::json{{"body", json["body"]},
                        {"signature", absl::Base64Escape(absl::string_view(
                                          reinterpret_cast<const char*>(signature.data()), 64))}}
      .dump();
}

TEST_F(WebApiTest, ACommandIsSignedInTheBrowserWithThePersonsOwnKey) {
  const ledger::SigningKey& cashier_key = t_.cashier();
  ASSERT_TRUE(
      users_
          ->Create(WebUser{.name = "till-1",
                           .role = WebRole::kCashier,
                           .key_id_hex = ledger::ToHex(absl::MakeConstSpan(cashier_key.key_id()))},
                   kPassword)
          .ok());
  Login till = LogIn("till-1");
  std::string deposit = nlohmann::json{
      {"room", "B01-101"},
      {"amountFen", 2000},
      {"cardNo", "C1"},
      {"cashier", "till-1"}}.dump();
  Response prepared =
      Fetch(verb::post, "/api/commands/deposit/prepare", till.cookie, till.csrf, deposit);
  ASSERT_EQ(prepared.result(), status::ok) << prepared.body();
  uint64_t head = t_.ledger().head().seq;
  EXPECT_EQ(t_.ledger().head().seq, head) << "preparing appends nothing";

  std::string signed_body = SignPrepared(prepared, cashier_key);
  EXPECT_EQ(Fetch(verb::post, "/api/commands/submit", till.cookie, "", signed_body).result(),
            status::forbidden)
      << "no CSRF token";
  Response submitted =
      Fetch(verb::post, "/api/commands/submit", till.cookie, till.csrf, signed_body);
  ASSERT_EQ(submitted.result(), status::ok) << submitted.body() << " for " << signed_body;
  auto receipt = nlohmann::json::parse(submitted.body());
  EXPECT_EQ(receipt["seq"].get<uint64_t>(), head + 1);
  EXPECT_EQ(receipt["receipt"]["amountFen"].get<int64_t>(), 2000);
  auto stored = testing::ReadStoredEvent(t_.ledger().store(), head + 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->signer, cashier_key.key_id()) << "signed by the cashier, not the server";

  // The same signed body again is the same deposit.
  Response again = Fetch(verb::post, "/api/commands/submit", till.cookie, till.csrf, signed_body);
  EXPECT_EQ(nlohmann::json::parse(again.body())["duplicate"], true) << again.body();
  EXPECT_EQ(t_.ledger().head().seq, head + 1);

  // Signed by another key than the account's, or changed after signing.
  Response other =
      Fetch(verb::post, "/api/commands/deposit/prepare", till.cookie, till.csrf, deposit);
  EXPECT_EQ(Fetch(verb::post, "/api/commands/submit", till.cookie, till.csrf,
                  SignPrepared(other, *operator_key_))
                .result(),
            status::unauthorized);
  auto tampered = nlohmann::json::parse(SignPrepared(other, cashier_key));
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(tampered["body"].get<std::string>(), &bytes));
  bytes[bytes.size() / 2] ^= 1;
  tampered["body"] = absl::Base64Escape(bytes);
  Response changed =
      Fetch(verb::post, "/api/commands/submit", till.cookie, till.csrf, tampered.dump());
  EXPECT_TRUE(changed.result() == status::unauthorized || changed.result() == status::bad_request)
      << changed.result_int() << changed.body();

  // A cashier's key may not cut power: preparing says so before anything is
  // signed, and the ledger's role table refuses it if signed anyway.
  const std::string trip =
      nlohmann::json{{"meter", "000000010001"}, {"action", "trip"}, {"reason", "test"}}.dump();
  Response refused =
      Fetch(verb::post, "/api/commands/control/prepare", till.cookie, till.csrf, trip);
  EXPECT_EQ(refused.result(), status::forbidden) << refused.body();
  EXPECT_TRUE(absl::StrContains(refused.body(), "role cashier may not sign")) << refused.body();
  Login keyless_operator = LogIn("operator");
  Response cut = Fetch(verb::post, "/api/commands/control/prepare", keyless_operator.cookie,
                       keyless_operator.csrf, trip);
  ASSERT_EQ(cut.result(), status::ok) << cut.body();
  EXPECT_EQ(Fetch(verb::post, "/api/commands/submit", till.cookie, till.csrf,
                  SignPrepared(cut, cashier_key))
                .result(),
            status::forbidden);
  EXPECT_EQ(t_.ledger().head().seq, head + 1);

  // Bad arguments, and an account with no key.
  EXPECT_EQ(Fetch(verb::post, "/api/commands/deposit/prepare", till.cookie, till.csrf,
                  nlohmann::json{{"room", "B01-101"}, {"amountFen", -5}}.dump())
                .result(),
            status::bad_request);
  EXPECT_EQ(
      Fetch(verb::post, "/api/commands/nothing/prepare", till.cookie, till.csrf, "{}").result(),
      status::bad_request);
  Login keyless = LogIn("cashier");
  EXPECT_EQ(Fetch(verb::post, "/api/commands/submit", keyless.cookie, keyless.csrf,
                  SignPrepared(other, cashier_key))
                .result(),
            status::conflict);
}

TEST(WebApiTls, OverHttpsCookiesAreSecureAndResponsesCarryHsts) {
  testing::TempDir dir;
  ASSERT_TRUE(rpc::IssueDevCertificates(dir.path(), "browser").ok());
  projections::Domain domain;
  ledger::LedgerOptions options;
  options.projections = {&domain};
  testing::TestLedger t(options);
  auto users = UserStore::Open(dir.Sub("users"), ScryptCost{.log2_n = 10});
  ASSERT_TRUE(users.ok());
  ASSERT_TRUE((*users)->Create(WebUser{.name = "admin", .role = WebRole::kAdmin}, kPassword).ok());
  SessionBook sessions(absl::Minutes(30), [] { return absl::Now(); });
  LoginLimiter limiter([] { return absl::Now(); });
  WebApi api{.ledger = &t.ledger(),
             .domain = &domain,
             .users = users->get(),
             .sessions = &sessions,
             .limiter = &limiter,
             .over_tls = true};
  EXPECT_EQ(HttpServer::Start(
                api, HttpServerOptions{.listen = "127.0.0.1:0", .tls_cert = dir.Sub("server.pem")})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument)
      << "a certificate without its key";
  auto server = HttpServer::Start(api, HttpServerOptions{.listen = "127.0.0.1:0",
                                                         .tls_cert = dir.Sub("server.pem"),
                                                         .tls_key = dir.Sub("server.key")});
  ASSERT_TRUE(server.ok()) << server.status();

  auto https = [&](const std::string& body) {
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(dir.Sub("ca.pem"));
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), (*server)->port()));
    stream.handshake(asio::ssl::stream_base::client);
    Request request{verb::post, "/api/login", 11};
    request.set(beast_http::field::host, "localhost");
    request.set(beast_http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    beast_http::write(stream, request);
    beast::flat_buffer buffer;
    Response response;
    beast_http::read(stream, buffer, response);
    return response;
  };
  std::string login = nlohmann::json{{"username", "admin"}, {"password", kPassword}}.dump();
  Response response = https(login);
  ASSERT_EQ(response.result(), status::ok) << response.body();
  EXPECT_TRUE(absl::StrContains(std::string(response[beast_http::field::set_cookie]), "; Secure"));
  EXPECT_EQ(std::string(response[beast_http::field::strict_transport_security]),
            "max-age=31536000");

  {  // Plain HTTP to the TLS port: that connection fails, the server carries on.
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), (*server)->port()));
    asio::write(socket, asio::buffer(std::string("GET /api/head HTTP/1.1\r\nHost: x\r\n\r\n")));
    beast::error_code error;
    char byte = 0;
    socket.read_some(asio::buffer(&byte, 1), error);
  }
  EXPECT_EQ(https(login).result(), status::ok);
  (*server)->Stop();
}

// The roles a route's access bits name, as the OpenAPI file spells them.
std::set<std::string> RoleNames(uint32_t access) {
  std::set<std::string> out;
  for (auto [bit, name] : {std::pair{kAnonymous, "anonymous"}, std::pair{kAdmin, "admin"},
                           std::pair{kOperator, "operator"}, std::pair{kCashier, "cashier"},
                           std::pair{kAuditor, "auditor"}, std::pair{kStudent, "student"}}) {
    if (access & bit) out.insert(name);
  }
  return out;
}

TEST(OpenApi, DescribesEveryRouteWithTheRolesTheTableAllows) {
  std::ifstream in(WL_OPENAPI_PATH);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "api/http/openapi.json is not JSON";
  size_t operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, operation] : methods.items()) {
      ++operations;
      const RouteInfo* route = nullptr;
      for (const RouteInfo& candidate : RouteTable()) {
        if (candidate.pattern == path &&
            absl::AsciiStrToLower(std::string(beast_http::to_string(candidate.verb))) == method) {
          route = &candidate;
        }
      }
      ASSERT_NE(route, nullptr) << method << " " << path << " is documented but not served";
      std::set<std::string> documented = operation["x-wattledger-access"];
      EXPECT_EQ(documented, RoleNames(route->access)) << method << " " << path;
      EXPECT_EQ(operation.value("x-wattledger-csrf", true), route->csrf_token) << path;
    }
  }
  EXPECT_EQ(operations, RouteTable().size()) << "a route is served but not documented";
}

// What the console's audit page checks, it can check from these answers
// alone: each envelope's SHA-256 is its chain hash and the next one's
// prevHash, each signature is the registered key's over the body.
TEST_F(WebApiTest, TheLogIsServedWithWhatChecksIt) {
  Login auditor = LogIn("auditor");
  Response events = Fetch(verb::get, "/api/events?from=1&limit=2000", auditor.cookie);
  ASSERT_EQ(events.result(), status::ok) << events.body();
  auto json = nlohmann::json::parse(events.body());
  ASSERT_EQ(json["items"].size(), t_.ledger().head().seq);
  EXPECT_EQ(json["head"].get<uint64_t>(), t_.ledger().head().seq);
  Response keys = Fetch(verb::get, "/api/keys", auditor.cookie);
  ASSERT_EQ(keys.result(), status::ok);
  std::map<std::string, std::string> public_keys;
  const nlohmann::json key_list = nlohmann::json::parse(keys.body());
  for (const auto& key : key_list["items"]) {
    public_keys[key["keyId"].get<std::string>()] = key["publicKey"].get<std::string>();
  }
  std::string previous(64, '0');
  for (const auto& event : json["items"]) {
    std::string envelope;
    std::string body;
    ASSERT_TRUE(absl::Base64Unescape(event["envelope"].get<std::string>(), &envelope));
    ASSERT_TRUE(absl::Base64Unescape(event["bodyBytes"].get<std::string>(), &body));
    const std::string hash = ledger::ToHex(absl::MakeConstSpan(ledger::ChainHash(envelope)));
    EXPECT_EQ(event["chainHash"], hash);
    EXPECT_EQ(event["prevHash"], previous) << event["seq"];
    previous = hash;
    auto public_key =
        ledger::FixedFromHex<32>(public_keys[event["signerKeyId"].get<std::string>()]);
    ASSERT_TRUE(public_key.ok()) << event["seq"];
    auto verifying = ledger::VerifyingKey::FromRaw(*public_key);
    ASSERT_TRUE(verifying.ok());
    auto signature = ledger::FixedFromHex<64>(event["signature"].get<std::string>());
    ASSERT_TRUE(signature.ok());
    EXPECT_TRUE(verifying->Verify(ledger::AsBytes(ledger::EventSigningMessage(body)), *signature))
        << event["seq"];
  }
  Response page = Fetch(verb::get, "/api/events?from=2&limit=1", auditor.cookie);
  EXPECT_EQ(nlohmann::json::parse(page.body())["items"].size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(page.body())["items"][0]["seq"], 2);
  Response room = Fetch(verb::get, "/api/rooms/B01-101/events", auditor.cookie);
  ASSERT_EQ(room.result(), status::ok);
  const nlohmann::json room_events = nlohmann::json::parse(room.body());
  ASSERT_FALSE(room_events["items"].empty());
  for (const auto& event : room_events["items"]) {
    EXPECT_EQ(event["stream"], "room:B01-101");
  }
  // Checkpoints come a page at a time, the newest beside every page.
  Response all = Fetch(verb::get, "/api/checkpoints", auditor.cookie);
  ASSERT_EQ(all.result(), status::ok);
  const nlohmann::json checkpoints = nlohmann::json::parse(all.body());
  const nlohmann::json none =
      nlohmann::json::parse(Fetch(verb::get, "/api/checkpoints?limit=0", auditor.cookie).body());
  EXPECT_TRUE(none["items"].empty());
  EXPECT_EQ(none["latest"], checkpoints["latest"]);
  ASSERT_FALSE(checkpoints["items"].empty()) << "creating a ledger signs a checkpoint";
  EXPECT_EQ(checkpoints["items"].back(), checkpoints["latest"]);
  const uint64_t last = checkpoints["items"].back()["seq"];
  const nlohmann::json after = nlohmann::json::parse(
      Fetch(verb::get, absl::StrCat("/api/checkpoints?from=", last + 1), auditor.cookie).body());
  EXPECT_TRUE(after["items"].empty());
}

TEST_F(WebApiTest, AdminsDisableAndResetAccountsAndEveryoneChangesTheirOwnPassword) {
  Login admin = LogIn("admin");
  Login op = LogIn("operator");
  auto update = [&](const std::string& name, const nlohmann::json& body) {
    return Fetch(verb::post, "/api/users/" + name, admin.cookie, admin.csrf, body.dump());
  };
  EXPECT_EQ(update("admin", {{"disabled", true}}).result(), status::conflict)
      << "an admin cannot lock themselves out";
  ASSERT_EQ(update("operator", {{"disabled", true}}).result(), status::ok);
  EXPECT_EQ(Fetch(verb::get, "/api/session", op.cookie).result(), status::unauthorized)
      << "disabling ends the account's sessions";
  EXPECT_EQ(LogIn("operator").response.result(), status::unauthorized);
  ASSERT_EQ(update("operator", {{"disabled", false}, {"password", "a new password"}}).result(),
            status::ok);
  EXPECT_EQ(LogIn("operator", "a new password").response.result(), status::ok);
  EXPECT_EQ(update("operator", {{"keyId", "not hex"}}).result(), status::bad_request);
  EXPECT_EQ(update("C1", {{"keyId", std::string(64, 'a')}}).result(), status::bad_request)
      << "students sign nothing";
  EXPECT_EQ(update("nobody", {{"disabled", true}}).result(), status::not_found);

  Login student = LogIn("C1");
  auto change = [&](const std::string& current, const std::string& next) {
    return Fetch(verb::post, "/api/password", student.cookie, student.csrf,
                 nlohmann::json{{"current", current}, {"password", next}}.dump());
  };
  EXPECT_EQ(change("wrong password", "another password").result(), status::forbidden);
  EXPECT_EQ(change(kPassword, "short").result(), status::bad_request);
  EXPECT_EQ(change(kPassword, "another password").result(), status::no_content);
  EXPECT_EQ(LogIn("C1", "another password").response.result(), status::ok);
  EXPECT_EQ(LogIn("C1").response.result(), status::unauthorized);
}

TEST_F(WebApiTest, TheConsoleIsServedFromItsRootAndNothingElseIs) {
  const std::string root = dir_.Sub("web");
  std::filesystem::create_directories(root + "/assets");
  std::ofstream(root + "/index.html") << "<!doctype html><title>console</title>";
  std::ofstream(root + "/app.js") << "export {};";
  std::ofstream(root + "/.secret.js") << "no";
  std::ofstream(dir_.Sub("outside.js")) << "no";
  server_->Stop();
  api_.web_root = root;
  auto server = HttpServer::Start(api_, HttpServerOptions{.listen = "127.0.0.1:0"});
  ASSERT_TRUE(server.ok());
  server_ = std::move(*server);
  Response index = Fetch(verb::get, "/");
  ASSERT_EQ(index.result(), status::ok);
  EXPECT_EQ(index[beast_http::field::content_type], "text/html; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(index.body(), "console"));
  EXPECT_TRUE(
      absl::StrContains(std::string(index["Content-Security-Policy"]), "default-src 'self'"));
  EXPECT_EQ(Fetch(verb::get, "/app.js")[beast_http::field::content_type],
            "text/javascript; charset=utf-8");
  for (const char* target : {"/.secret.js", "/../outside.js", "/%2e%2e/outside.js",
                             "/assets/../../outside.js", "/nothing.js", "/index.html.bak"}) {
    EXPECT_EQ(Fetch(verb::get, target).result(), status::not_found) << target;
  }
  EXPECT_EQ(Fetch(verb::post, "/app.js").result(), status::not_found);
  Response api = Fetch(verb::get, "/api/nothing-here");
  EXPECT_EQ(api.result(), status::not_found);
  EXPECT_EQ(api[beast_http::field::content_type], "application/json");
}

}  // namespace
}  // namespace wattledger::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(HttpFuzzCorpus, EverySeedIsHandledWithoutAServerError) {
  wattledger::testing::ReplayCorpus(WL_HTTP_CORPUS_DIR, LLVMFuzzerTestOneInput, 15);
}
