// What a route's handler gets and gives (internal to api/http/): the
// request, its path and query parameters, the caller's session, and a
// response built by the helpers below.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "api/http/web_api.h"

namespace wattledger::http {

struct Call {
  const WebApi& api;
  const Request& request;
  const std::string& peer;
  std::map<std::string, std::string> path{};   // {id} -> value
  std::map<std::string, std::string> query{};  // ?since=... (decoded)
  std::optional<WebSession> session{};
  std::optional<WebUser> user{};
};

using Handler = std::function<Response(Call&)>;

struct Route {
  RouteInfo info;
  Handler handler;
};
// The table with its handlers (routes.cc).
const std::vector<Route>& Routes();

// A JSON response.
Response JsonResponse(beast_http::status status, std::string body);
// {"error": message, "code": "NOT_FOUND"} with the HTTP status of `status`.
Response ErrorResponse(const absl::Status& status);
beast_http::status HttpStatusOf(absl::StatusCode code);

}  // namespace wattledger::http
