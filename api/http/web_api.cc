#include "api/http/web_api.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/http/route_call.h"
#include "api/http/static_files.h"

namespace wattledger::http {
namespace {

using beast_http::status;

// "/api/rooms/{id}" against "/api/rooms/B01-101": the parameters, or nullopt.
std::optional<std::map<std::string, std::string>> Match(absl::string_view pattern,
                                                        absl::string_view path) {
  std::vector<absl::string_view> want = absl::StrSplit(pattern, '/');
  std::vector<absl::string_view> got = absl::StrSplit(path, '/');
  if (want.size() != got.size()) return std::nullopt;
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < want.size(); ++i) {
    if (absl::StartsWith(want[i], "{") && absl::EndsWith(want[i], "}")) {
      if (got[i].empty()) return std::nullopt;
      params[std::string(want[i].substr(1, want[i].size() - 2))] = std::string(got[i]);
    } else if (want[i] != got[i]) {
      return std::nullopt;
    }
  }
  return params;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space in a query); nullopt for a bad escape.
std::optional<std::string> Decode(absl::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ParseQuery(absl::string_view text) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    auto key = Decode(kv.first, true);
    auto value = Decode(kv.second, true);
    if (!key || !value) return std::nullopt;
    out[*key] = *value;
  }
  return out;
}

std::string CookieValue(const Request& request, absl::string_view name) {
  auto header = request.find(beast_http::field::cookie);
  if (header == request.end()) return "";
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(header->value().data(), header->value().size()), ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
      return std::string(part);
    }
  }
  return "";
}

bool SameToken(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecurityHeaders(Response& response) {
  response.set(beast_http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  // The console's charts set inline styles and its QR codes are data: images.
  response.set("Content-Security-Policy",
               "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

}  // namespace

uint32_t AccessOf(WebRole role) {
  switch (role) {
    case WebRole::kAdmin:
      return kAdmin;
    case WebRole::kOperator:
      return kOperator;
    case WebRole::kCashier:
      return kCashier;
    case WebRole::kAuditor:
      return kAuditor;
    case WebRole::kStudent:
      return kStudent;
  }
  return 0;
}

beast_http::status HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return status::ok;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return status::bad_request;
    case absl::StatusCode::kUnauthenticated:
      return status::unauthorized;
    case absl::StatusCode::kPermissionDenied:
      return status::forbidden;
    case absl::StatusCode::kNotFound:
      return status::not_found;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return status::conflict;
    case absl::StatusCode::kResourceExhausted:
      return status::too_many_requests;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return status::service_unavailable;
    case absl::StatusCode::kUnimplemented:
      return status::not_implemented;
    default:
      return status::internal_server_error;
  }
}

Response JsonResponse(beast_http::status code, std::string body) {
  Response response{code, 11};
  response.set(beast_http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

Response ErrorResponse(const absl::Status& status) {
  nlohmann::json body = {{"error", std::string(status.message())},
                         {"code", absl::StatusCodeToString(status.code())}};
  return JsonResponse(HttpStatusOf(status.code()),
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response HandleRequest(const WebApi& api, const Request& request, const std::string& peer) {
  absl::string_view target(request.target().data(), request.target().size());
  std::pair<absl::string_view, absl::string_view> split =
      absl::StrSplit(target, absl::MaxSplits('?', 1));
  auto path = Decode(split.first, false);
  auto query = ParseQuery(split.second);
  Response response;
  if (!path || !query) {
    response = ErrorResponse(absl::InvalidArgumentError("a malformed URL"));
  } else {
    const Route* route = nullptr;
    bool path_known = false;
    std::map<std::string, std::string> params;
    for (const Route& candidate : Routes()) {
      auto matched = Match(candidate.info.pattern, *path);
      if (!matched) continue;
      path_known = true;
      if (candidate.info.verb == request.method()) {
        route = &candidate;
        params = std::move(*matched);
        break;
      }
    }
    std::optional<Response> asset;
    if (route == nullptr && !path_known && !absl::StartsWith(*path, "/api/") &&
        (request.method() == beast_http::verb::get || request.method() == beast_http::verb::head)) {
      asset = ServeStatic(api.web_root, *path);
    }
    if (asset.has_value()) {
      response = std::move(*asset);
    } else if (route == nullptr) {
      response = path_known ? ErrorResponse(absl::UnimplementedError("method not allowed"))
                            : ErrorResponse(absl::NotFoundError("not found"));
      if (path_known) response.result(status::method_not_allowed);
    } else {
      Call call{.api = api,
                .request = request,
                .peer = peer,
                .path = std::move(params),
                .query = std::move(*query)};
      std::string cookie = CookieValue(request, kSessionCookie);
      if (!cookie.empty()) call.session = api.sessions->Use(cookie);
      if (call.session.has_value()) {
        call.user = api.users->Find(call.session->user);
        if (!call.user.has_value() || call.user->disabled) {
          api.sessions->Close(call.session->id);
          call.session.reset();
          call.user.reset();
        }
      }
      const uint32_t access = route->info.access;
      const bool state_changing =
          request.method() != beast_http::verb::get && request.method() != beast_http::verb::head;
      if (!call.session.has_value() && (access & kAnonymous) == 0) {
        response = ErrorResponse(absl::UnauthenticatedError("log in first"));
      } else if (call.session.has_value() && (access & AccessOf(call.session->role)) == 0 &&
                 (access & kAnonymous) == 0) {
        response = ErrorResponse(absl::PermissionDeniedError(
            absl::StrCat("a ", WebRoleName(call.session->role), " may not ", route->info.summary)));
      } else if (state_changing && call.session.has_value() && route->info.csrf_token &&
                 !SameToken(std::string(request["X-CSRF-Token"]), call.session->csrf_token)) {
        response = ErrorResponse(
            absl::PermissionDeniedError("missing or wrong X-CSRF-Token for this session"));
      } else {
        response = route->handler(call);
      }
    }
  }
  SecurityHeaders(response);
  if (api.over_tls) {
    response.set(beast_http::field::strict_transport_security, "max-age=31536000");
  }
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

}  // namespace wattledger::http
