// libFuzzer target for what wattd does with bytes from a browser: the bytes
// parsed as one HTTP/1.1 request under the server's limits (8 KiB of
// headers, 1 MiB of body), and a complete request handled by the web API
// against a real ledger with the domain projections and accounts. A request
// carrying "X-Fuzz-Role: <role>" is sent with a live session of that role,
// so the fuzzer reaches the routes behind login too. Oracles: nothing
// crashes, hangs or reads out of bounds (ASan/UBSan), and no request makes
// the API answer 5xx: bad input is the caller's error, never the server's.
// Built by tools/fuzz.sh with clang; the GCC test build links the same entry
// point into api_http_test to replay fuzz/corpus/ (web_api_test.cc).
#include <stdlib.h>

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "api/http/web_api.h"
#include "ledger/ledger.h"
#include "projections/domain.h"

namespace wattledger::http {
namespace {

// One ledger, domain and set of accounts for the whole run.
struct Fixture {
  Fixture() {
    std::string dir = (std::filesystem::temp_directory_path() / "wl-http-fuzz-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) abort();
    auto ledger_key = ledger::SigningKey::Generate();
    auto admin_key = ledger::SigningKey::Generate();
    ledger::LedgerOptions options;
    options.data_dir = dir + "/ledger";
    options.ledger_key = *ledger_key;
    options.projections = {&domain};
    if (!ledger::Ledger::Initialize(options, admin_key->public_key(), "Fuzz Campus").ok()) abort();
    auto opened = ledger::Ledger::Open(options);
    if (!opened.ok()) abort();
    ledger = std::move(*opened);
    auto store = UserStore::Open(dir + "/users", ScryptCost{.log2_n = 4});
    if (!store.ok()) abort();
    users = std::move(*store);
    for (WebRole role : {WebRole::kAdmin, WebRole::kOperator, WebRole::kCashier, WebRole::kAuditor,
                         WebRole::kStudent}) {
      WebUser user{.name = std::string(WebRoleName(role)), .role = role, .person_id = "P1"};
      if (!users->Create(user, "fuzz-password").ok()) abort();
      sessions_by_role[user.name] = sessions.Open(*users->Find(user.name));
    }
    api = WebApi{.ledger = ledger.get(),
                 .domain = &domain,
                 .users = users.get(),
                 .sessions = &sessions,
                 .limiter = &limiter,
                 .scratch_dir = dir,
                 .web_root = dir + "/web"};
    // A console build to serve, and a file beside it that must never be.
    std::filesystem::create_directories(dir + "/web");
    std::ofstream(dir + "/web/index.html") << "<!doctype html>";
    std::ofstream(dir + "/secret.js") << "never served";
  }

  projections::Domain domain;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<UserStore> users;
  SessionBook sessions{absl::Hours(1000), [] { return absl::Now(); }};
  LoginLimiter limiter{[] { return absl::Now(); }};
  std::map<std::string, WebSession> sessions_by_role;
  WebApi api;
};

}  // namespace
}  // namespace wattledger::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wattledger::http;
  static Fixture* const fixture = new Fixture();
  beast_http::request_parser<beast_http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code error;
  parser.put(boost::asio::buffer(data, size), error);
  if (error || !parser.is_done()) return 0;
  Request request = parser.release();
  std::string role(request["X-Fuzz-Role"]);
  auto session = fixture->sessions_by_role.find(role);
  if (session != fixture->sessions_by_role.end()) {
    request.set(beast_http::field::cookie, absl::StrCat(kSessionCookie, "=", session->second.id));
    if (request["X-CSRF-Token"] == "valid") request.set("X-CSRF-Token", session->second.csrf_token);
  }
  Response response = HandleRequest(fixture->api, request, "127.0.0.1");
  if (response.result_int() >= 500 && response.result_int() != 501) {
    std::fprintf(stderr, "server error %u for %s: %s\n", response.result_int(),
                 std::string(request.target()).c_str(), response.body().c_str());
    abort();
  }
  if (response.body().find("never served") != std::string::npos) {
    std::fprintf(stderr, "a file outside the web root for %s\n",
                 std::string(request.target()).c_str());
    abort();
  }
  return 0;
}
