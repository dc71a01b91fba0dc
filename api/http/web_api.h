// The web console's JSON API: one request in, one response out, with the
// checks every route shares done once, in this order:
//  1. the route: unknown paths are 404, a known path with another method 405;
//  2. the session from the HttpOnly cookie (401 where the route needs one);
//  3. the route table's roles (routes.cc: deny by default; 403);
//  4. a state-changing method (anything but GET/HEAD) carries the session's
//     CSRF token in X-CSRF-Token (403 without it; login excepted);
//  5. the handler, whose refusals map absl codes to HTTP statuses.
// Every response carries no-store, nosniff, frame and referrer headers, and
// over TLS Strict-Transport-Security. Text that is not UTF-8 (a path, an
// argument) is echoed with U+FFFD in its place, never refused by a throw.
// HandleRequest is thread-safe; it may block (a report), so the server runs
// it off its I/O threads.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/http/web_sessions.h"
#include "api/http/web_users.h"

namespace wattledger::ledger {
class Ledger;
}
namespace wattledger::projections {
class Domain;
namespace reports {
class ReportRunners;
}
}  // namespace wattledger::projections

namespace wattledger::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// Who may call a route: a bit per role, and one for callers without a session.
enum Access : uint32_t {
  kAnonymous = 1u << 0,
  kAdmin = 1u << 1,
  kOperator = 1u << 2,
  kCashier = 1u << 3,
  kAuditor = 1u << 4,
  kStudent = 1u << 5,
  kStaff = kAdmin | kOperator | kCashier | kAuditor,
  kSupervisors = kAdmin | kOperator | kAuditor,
};
uint32_t AccessOf(WebRole role);

struct RouteInfo {
  beast_http::verb verb;
  std::string pattern;  // "/api/rooms/{id}/status"
  uint32_t access;
  std::string summary;
  // A state-changing route needs the session's CSRF token; only login does
  // not (it starts the session, and takes only application/json, which a
  // cross-site form cannot send).
  bool csrf_token = true;
};
// The checked-in route table (routes.cc), in a stable order.
const std::vector<RouteInfo>& RouteTable();

struct WebApi {
  ledger::Ledger* ledger = nullptr;
  const projections::Domain* domain = nullptr;
  const projections::reports::ReportRunners* reports = nullptr;  // may be null
  UserStore* users = nullptr;
  SessionBook* sessions = nullptr;
  LoginLimiter* limiter = nullptr;
  bool over_tls = false;      // served over TLS: cookies get Secure, responses HSTS
  std::string scratch_dir{};  // where a balances report replays; "": the temp dir
  std::string web_root{};     // the console's built assets (api/web/dist); "": none served
  // Appends more Prometheus text to /metrics (wattd: the meter side's counters).
  std::function<void(std::string&)> append_metrics{};
};

// `peer` is the caller's address ("127.0.0.1"), for rate limits and /metrics.
Response HandleRequest(const WebApi& api, const Request& request, const std::string& peer);

// The name of the session cookie.
inline constexpr char kSessionCookie[] = "wl_session";

}  // namespace wattledger::http
