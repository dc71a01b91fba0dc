// The web API's routes: who may call each (the table is the one place
// access is decided; deny by default) and what it does. Reads are the
// operators' queries (api/query/), so the console shows what wattctl does.
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/commands/domain_command.h"
#include "api/http/log_routes.h"
#include "api/http/route_call.h"
#include "api/query/query.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/roles.h"
#include "projections/domain.h"
#include "projections/monitoring/alarm_book.h"
#include "projections/reports/periods.h"
#include "projections/reports/reports.h"

namespace wattledger::http {
namespace {

using beast_http::status;
using beast_http::verb;

std::string Param(const std::map<std::string, std::string>& map, const std::string& name) {
  auto it = map.find(name);
  return it == map.end() ? std::string() : it->second;
}

// A query's lines (JSON objects) as {"items":[...]}, or its refusal.
Response QueryResponse(const Call& call, query::Query q) {
  const bool report = q.name.rfind("report.", 0) == 0;
  if (report && call.api.reports != nullptr) {
    call.api.reports->WaitFor(call.api.ledger->head().seq, absl::Seconds(5));
  }
  query::QuerySource source{.domain = call.api.domain,
                            .store = &call.api.ledger->store(),
                            .now_us = absl::ToUnixMicros(absl::Now()),
                            .scratch_dir = call.api.scratch_dir};
  auto answer = query::RunQuery(source, q);
  if (!answer.ok()) return ErrorResponse(answer.status());
  if (report && Param(q.args, "format") == "csv") {
    Response response{status::ok, 11};
    response.set(beast_http::field::content_type, "text/csv; charset=utf-8");
    response.set(beast_http::field::content_disposition,
                 absl::StrCat("attachment; filename=\"", q.name.substr(7), ".csv\""));
    response.body() = absl::StrCat(absl::StrJoin(answer->lines, "\r\n"), "\r\n");
    return response;
  }
  std::string body = absl::StrCat("{\"items\":[", absl::StrJoin(answer->lines, ","), "]");
  if (!answer->notes.empty()) {
    absl::StrAppend(&body, ",\"notes\":",
                    nlohmann::json(answer->notes)
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  absl::StrAppend(&body, "}");
  return JsonResponse(status::ok, std::move(body));
}

// A query whose arguments are the request's query parameters named in `args`.
Handler Query(std::string name, std::vector<std::string> args) {
  return [name = std::move(name), args = std::move(args)](Call& call) {
    query::Query q{.name = name};
    for (const std::string& arg : args) {
      std::string value = Param(call.query, arg);
      if (!value.empty()) q.args[arg] = value;
    }
    return QueryResponse(call, std::move(q));
  };
}

// The room a student may see: the one they live in now.
std::string OwnRoom(const Call& call) {
  if (!call.user.has_value()) return "";
  return call.api.domain->campus().RoomOf(call.user->person_id);
}

// A handler for the room in the path; a student asking about another room
// is told it does not exist, exactly as for a room that does not.
Handler ForRoom(std::function<Response(Call&, const std::string& room)> handler) {
  return [handler = std::move(handler)](Call& call) {
    std::string room = Param(call.path, "id");
    if ((call.session->role == WebRole::kStudent && room != OwnRoom(call)) ||
        !call.api.domain->campus().FindRoom(room).has_value()) {
      return ErrorResponse(absl::NotFoundError(absl::StrCat("no room ", room)));
    }
    return handler(call, room);
  };
}

Handler RoomQuery(std::string name) {
  return ForRoom([name = std::move(name)](Call& call, const std::string& room) {
    return QueryResponse(call, query::Query{.name = name, .args = {{"room", room}}});
  });
}

// The consumption report's rows of one room; by day, the last 31 days.
Response RoomConsumption(Call& call, const std::string& room) {
  std::string period = Param(call.query, "period");
  if (period.empty()) period = "month";
  query::Query q{.name = "report.consumption",
                 .args = {{"by", "room"}, {"id", room}, {"period", period}}};
  if (period == "day") {
    q.args["since"] =
        projections::reports::DayOf(absl::ToUnixMicros(absl::Now() - absl::Hours(24 * 30)));
  }
  return QueryResponse(call, std::move(q));
}

std::string SessionJson(const WebSession& session, const std::optional<WebUser>& user) {
  nlohmann::json json = {{"user", session.user},
                         {"role", std::string(WebRoleName(session.role))},
                         {"csrfToken", session.csrf_token}};
  if (user.has_value()) {
    json["displayName"] = user->display_name;
    json["keyId"] = user->key_id_hex;
  }
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SessionCookie(const Call& call, const std::string& value, bool expire) {
  return absl::StrCat(kSessionCookie, "=", value, "; Path=/; HttpOnly; SameSite=Strict",
                      call.api.over_tls ? "; Secure" : "", expire ? "; Max-Age=0" : "");
}

Response Login(Call& call) {
  if (!absl::StartsWith(std::string(call.request[beast_http::field::content_type]),
                        "application/json")) {
    return ErrorResponse(absl::InvalidArgumentError("log in with a JSON body"));
  }
  nlohmann::json body =
      nlohmann::json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("username") ||
      !body.contains("password") || !body["username"].is_string() ||
      !body["password"].is_string()) {
    return ErrorResponse(absl::InvalidArgumentError("send {\"username\":..., \"password\":...}"));
  }
  const std::string name = body["username"];
  const std::string password = body["password"];
  absl::Duration wait = call.api.limiter->WaitFor(name, call.peer);
  if (wait > absl::ZeroDuration()) {
    Response response =
        ErrorResponse(absl::ResourceExhaustedError("too many failed logins; try again later"));
    response.set(beast_http::field::retry_after,
                 absl::StrCat(absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1)))));
    return response;
  }
  auto user = call.api.users->Check(name, password);
  if (!user.has_value()) {
    call.api.limiter->Failed(name, call.peer);
    return ErrorResponse(absl::UnauthenticatedError("wrong name or password"));
  }
  call.api.limiter->Succeeded(name);
  // A new session every time; whatever id the browser held is ended.
  if (call.session.has_value()) call.api.sessions->Close(call.session->id);
  WebSession session = call.api.sessions->Open(*user);
  Response response = JsonResponse(status::ok, SessionJson(session, user));
  response.set(beast_http::field::set_cookie, SessionCookie(call, session.id, false));
  return response;
}

Response Logout(Call& call) {
  call.api.sessions->Close(call.session->id);
  Response response{status::no_content, 11};
  response.set(beast_http::field::set_cookie, SessionCookie(call, "", true));
  return response;
}

Response Session(Call& call) {
  return JsonResponse(status::ok, SessionJson(*call.session, call.user));
}

Response Me(Call& call) {
  std::string room = OwnRoom(call);
  if (room.empty()) return ErrorResponse(absl::NotFoundError("you have no room on record"));
  return QueryResponse(call, query::Query{.name = "room-status", .args = {{"room", room}}});
}

Response Head(Call& call) {
  ledger::Head head = call.api.ledger->head();
  nlohmann::json json = {{"seq", head.seq},
                         {"chainHash", ledger::ToHex(absl::MakeConstSpan(head.chain_hash))}};
  return JsonResponse(status::ok,
                      json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json UserJson(const WebUser& user) {
  return {{"name", user.name},
          {"role", std::string(WebRoleName(user.role))},
          {"displayName", user.display_name},
          {"keyId", user.key_id_hex},
          {"personId", user.person_id},
          {"disabled", user.disabled}};
}

Response ListUsers(Call& call) {
  nlohmann::json items = nlohmann::json::array();
  for (const WebUser& user : call.api.users->List()) items.push_back(UserJson(user));
  return JsonResponse(status::ok, nlohmann::json{{"items", items}}.dump(
                                      -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response CreateUser(Call& call) {
  nlohmann::json body =
      nlohmann::json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return ErrorResponse(absl::InvalidArgumentError("send a JSON object"));
  }
  auto text = [&](const char* field) {
    return body.contains(field) && body[field].is_string() ? body[field].get<std::string>()
                                                           : std::string();
  };
  auto role = ParseWebRole(text("role"));
  if (!role.ok()) return ErrorResponse(role.status());
  WebUser user{.name = text("name"),
               .role = *role,
               .display_name = text("displayName"),
               .key_id_hex = text("keyId"),
               .person_id = text("personId")};
  absl::Status created = call.api.users->Create(user, text("password"));
  if (!created.ok()) return ErrorResponse(created);
  return JsonResponse(status::created,
                      UserJson(*call.api.users->Find(user.name))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// An admin changes an account: {"disabled":bool, "password":text, "keyId":hex}.
Response UpdateUser(Call& call) {
  nlohmann::json body =
      nlohmann::json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return ErrorResponse(absl::InvalidArgumentError("send a JSON object"));
  }
  const std::string name = Param(call.path, "name");
  if (!call.api.users->Find(name).has_value()) {
    return ErrorResponse(absl::NotFoundError(absl::StrCat("no user ", name)));
  }
  if (body.contains("disabled")) {
    if (!body["disabled"].is_boolean()) {
      return ErrorResponse(absl::InvalidArgumentError("disabled is true or false"));
    }
    if (name == call.session->user && body["disabled"].get<bool>()) {
      return ErrorResponse(absl::FailedPreconditionError("you cannot disable your own account"));
    }
    absl::Status done = call.api.users->SetDisabled(name, body["disabled"].get<bool>());
    if (!done.ok()) return ErrorResponse(done);
    if (body["disabled"].get<bool>()) call.api.sessions->CloseAllOf(name);
  }
  if (body.contains("password")) {
    if (!body["password"].is_string()) {
      return ErrorResponse(absl::InvalidArgumentError("password is text"));
    }
    absl::Status done = call.api.users->SetPassword(name, body["password"].get<std::string>());
    if (!done.ok()) return ErrorResponse(done);
  }
  if (body.contains("keyId")) {
    if (!body["keyId"].is_string()) {
      return ErrorResponse(absl::InvalidArgumentError("keyId is 64 hex digits"));
    }
    absl::Status done = call.api.users->SetKey(name, body["keyId"].get<std::string>());
    if (!done.ok()) return ErrorResponse(done);
  }
  return JsonResponse(status::ok,
                      UserJson(*call.api.users->Find(name))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// Anyone changes their own password, giving the current one.
Response ChangePassword(Call& call) {
  nlohmann::json body =
      nlohmann::json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("current") ||
      !body.contains("password") || !body["current"].is_string() || !body["password"].is_string()) {
    return ErrorResponse(absl::InvalidArgumentError("send {\"current\":..., \"password\":...}"));
  }
  if (!call.api.users->Check(call.session->user, body["current"].get<std::string>())) {
    call.api.limiter->Failed(call.session->user, call.peer);
    return ErrorResponse(absl::PermissionDeniedError("the current password is wrong"));
  }
  absl::Status done =
      call.api.users->SetPassword(call.session->user, body["password"].get<std::string>());
  if (!done.ok()) return ErrorResponse(done);
  Response response{status::no_content, 11};
  return response;
}

// The JSON object's members as a command's text arguments (numbers as written).
absl::StatusOr<std::map<std::string, std::string>> TextArgs(const std::string& text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("send the command's arguments as a JSON object");
  }
  std::map<std::string, std::string> args;
  for (const auto& [name, value] : json.items()) {
    if (value.is_string()) {
      args[name] = value.get<std::string>();
    } else if (value.is_number_integer()) {
      args[name] = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (!value.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be text or a whole number"));
    }
  }
  return args;
}

// The canonical body of a command for the person to sign in their browser
// (WebCrypto Ed25519 over signingMessage), never signed here: the server
// holds no one's private key.
Response Prepare(Call& call) {
  auto args = TextArgs(call.request.body());
  if (!args.ok()) return ErrorResponse(args.status());
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(RandomToken());
  body.setIssuedAtUs(call.api.ledger->clock().NowMicros());  // the ledger's time window
  absl::Status built = commands::BuildCommand(Param(call.path, "name"), *args, body);
  if (!built.ok()) return ErrorResponse(built);
  // Refuse now what the ledger would refuse after signing: a key whose role
  // may not issue this kind of event.
  auto key_id = ledger::FixedFromHex<32>(call.user->key_id_hex);
  if (key_id.ok()) {
    auto entry = call.api.ledger->keys().Find(*key_id);
    if (entry.has_value() && !ledger::RoleMayIssue(entry->role, body.which())) {
      return ErrorResponse(absl::PermissionDeniedError(
          absl::StrCat("a key of role ", ledger::RoleName(entry->role), " may not sign ",
                       ledger::EventKindName(body.which()))));
    }
  }
  std::string canonical = ledger::Canonical(body.asReader());
  nlohmann::json json = {
      {"command", Param(call.path, "name")},
      {"arguments", *args},
      {"stream", std::string(body.getStream().cStr())},
      {"idempotencyKey", std::string(body.getIdempotencyKey().cStr())},
      {"body", absl::Base64Escape(canonical)},
      {"signingMessage", absl::Base64Escape(ledger::EventSigningMessage(canonical))}};
  return JsonResponse(status::ok,
                      json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A body prepared above, signed by the key registered for this account:
// submitted as any signed request; the ledger checks the signature and that
// the key's role may issue the event.
Response Submit(Call& call) {
  nlohmann::json json =
      nlohmann::json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  std::string body;
  std::string signature;
  if (json.is_discarded() || !json.is_object() || !json.contains("body") ||
      !json.contains("signature") || !json["body"].is_string() || !json["signature"].is_string() ||
      !absl::Base64Unescape(json["body"].get<std::string>(), &body) ||
      !absl::Base64Unescape(json["signature"].get<std::string>(), &signature) ||
      signature.size() != 64) {
    return ErrorResponse(absl::InvalidArgumentError(
        "send {\"body\": base64 canonical body, \"signature\": base64 64-byte Ed25519 signature}"));
  }
  std::string key_id = absl::HexStringToBytes(call.user->key_id_hex);
  if (call.user->key_id_hex.size() != 64 || key_id.size() != 32) {
    return ErrorResponse(
        absl::FailedPreconditionError("this account has no signing key: an admin registers your "
                                      "key and names it on your account"));
  }
  ledger::SignedRequest request;
  request.body = std::move(body);
  std::memcpy(request.signer_key_id.data(), key_id.data(), 32);
  std::memcpy(request.signature.data(), signature.data(), 64);
  auto result = call.api.ledger->Submit(std::move(request)).get();
  if (!result.ok()) return ErrorResponse(result.status());
  nlohmann::json out = {{"seq", result->seq},
                        {"chainHash", ledger::ToHex(absl::MakeConstSpan(result->chain_hash))},
                        {"duplicate", result->duplicate},
                        {"derived", result->derived}};
  auto receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(result->result, 4096);
  if (receipt.ok()) {
    auto r = receipt->get();
    out["receipt"] = {{"receiptNo", std::string(r.getReceiptNo().cStr())},
                      {"roomId", std::string(r.getRoomId().cStr())},
                      {"amountFen", r.getAmountFen()},
                      {"balanceAfterFen", r.getBalanceAfterFen()},
                      {"timeUs", r.getTimeUs()}};
  }
  return JsonResponse(status::ok,
                      out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// Prometheus text format; served to callers on this machine only.
Response Metrics(Call& call) {
  if (call.peer != "127.0.0.1" && call.peer != "::1") {
    return ErrorResponse(absl::NotFoundError("not found"));
  }
  const projections::Domain& domain = *call.api.domain;
  std::string out;
  absl::StrAppend(&out, "# HELP wattledger_head_seq The seq of the last durable event.\n",
                  "# TYPE wattledger_head_seq gauge\n", "wattledger_head_seq ",
                  call.api.ledger->head().seq, "\n");
  std::map<std::string, int> meters, gateways, alarms;
  for (const auto& link : domain.devices().Meters()) {
    ++meters[std::string(projections::LinkStateName(link.state))];
  }
  for (const auto& link : domain.devices().Gateways()) {
    ++gateways[std::string(projections::LinkStateName(link.state))];
  }
  for (const auto& alarm : domain.alarms().Open()) {
    ++alarms[std::string(projections::AlarmSeverityName(alarm.severity))];
  }
  auto gauge = [&](const char* name, const char* help, const char* label,
                   const std::map<std::string, int>& counts) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n");
    for (const auto& [value, count] : counts) {
      absl::StrAppend(&out, name, "{", label, "=\"", value, "\"} ", count, "\n");
    }
  };
  gauge("wattledger_meters", "Meters by link state.", "state", meters);
  gauge("wattledger_gateways", "Gateways by link state.", "state", gateways);
  gauge("wattledger_open_alarms", "Open alarms by severity.", "severity", alarms);
  const ledger::LedgerMetrics& ledger = call.api.ledger->metrics();
  const uint64_t commits = ledger.commits.load(std::memory_order_acquire);
  absl::StrAppend(&out,
                  "# HELP wattledger_events_appended_total Events appended to the log.\n"
                  "# TYPE wattledger_events_appended_total counter\n"
                  "wattledger_events_appended_total ",
                  ledger.events_appended.load(), "\n",
                  "# HELP wattledger_commit_failures_total Commits the store refused.\n"
                  "# TYPE wattledger_commit_failures_total counter\n"
                  "wattledger_commit_failures_total ",
                  ledger.commit_failures.load(), "\n",
                  "# HELP wattledger_commit_seconds Time to write and sync one commit.\n"
                  "# TYPE wattledger_commit_seconds histogram\n");
  for (size_t i = 0; i < ledger::LedgerMetrics::kLatencyBoundsMs.size(); ++i) {
    absl::StrAppend(&out, "wattledger_commit_seconds_bucket{le=\"",
                    ledger::LedgerMetrics::kLatencyBoundsMs[i] / 1000, "\"} ",
                    ledger.commits_at_most[i].load(), "\n");
  }
  absl::StrAppend(&out, "wattledger_commit_seconds_bucket{le=\"+Inf\"} ", commits, "\n",
                  "wattledger_commit_seconds_sum ",
                  static_cast<double>(ledger.commit_seconds_sum_us.load()) / 1e6, "\n",
                  "wattledger_commit_seconds_count ", commits, "\n");
  if (call.api.append_metrics) call.api.append_metrics(out);
  absl::StrAppend(&out, "# HELP wattledger_web_sessions Logged-in browser sessions.\n",
                  "# TYPE wattledger_web_sessions gauge\n", "wattledger_web_sessions ",
                  call.api.sessions->size(), "\n");
  Response response{status::ok, 11};
  response.set(beast_http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.body() = std::move(out);
  return response;
}

}  // namespace

const std::vector<Route>& Routes() {
  static const auto* const routes = new std::vector<Route>{
      {{verb::post, "/api/login", kAnonymous | kStaff | kStudent,
        "log in: a session cookie and a CSRF token", false},
       Login},
      {{verb::post, "/api/logout", kStaff | kStudent, "end this session"}, Logout},
      {{verb::get, "/api/session", kStaff | kStudent, "who is logged in, and the CSRF token"},
       Session},
      {{verb::get, "/api/me", kStudent, "the student's own room: balance, allowance, power"}, Me},
      {{verb::get, "/api/me/notifications", kStudent, "the student's own reminders"},
       [](Call& call) {
         return QueryResponse(call, query::Query{.name = "notifications",
                                                 .args = {{"person", call.user->person_id}}});
       }},
      {{verb::get, "/api/head", kStaff | kStudent, "the ledger's head: seq and chain hash"}, Head},
      {{verb::get, "/api/rooms", kStaff, "every room with balance, allowance and occupants"},
       Query("rooms", {})},
      {{verb::get, "/api/rooms/{id}", kStaff | kStudent, "one room"}, RoomQuery("rooms")},
      {{verb::get, "/api/rooms/{id}/balance", kStaff | kStudent,
        "a room's balance, what it still buys, power on or off"},
       RoomQuery("balance")},
      {{verb::get, "/api/rooms/{id}/status", kStaff | kStudent,
        "a room's meters live, power and why"},
       RoomQuery("room-status")},
      {{verb::get, "/api/rooms/{id}/why", kSupervisors, "why a room's power is on or off"},
       RoomQuery("control-why")},
      {{verb::get, "/api/devices", kSupervisors, "gateways and meters: link state and errors"},
       Query("devices", {"gateway", "meter"})},
      {{verb::get, "/api/rooms/{id}/events", kStaff | kStudent,
        "a room's own events, newest first, with what checks them"},
       ForRoom(RoomEvents)},
      {{verb::get, "/api/rooms/{id}/consumption", kStaff | kStudent,
        "a room's energy and money per month (or ?period=day|quarter|year)"},
       ForRoom(RoomConsumption)},
      {{verb::get, "/api/power", kSupervisors, "each building's load now"},
       Query("power", {"building"})},
      {{verb::get, "/api/events", kSupervisors,
        "the log from a seq on, with envelope bytes to check"},
       ListEvents},
      {{verb::get, "/api/keys", kSupervisors, "the registered signing keys"}, ListKeys},
      {{verb::get, "/api/checkpoints", kSupervisors, "the ledger's signed checkpoints"},
       ListCheckpoints},
      {{verb::get, "/api/commands", kSupervisors, "control commands and their delivery"},
       Query("commands", {"meter"})},
      {{verb::get, "/api/violations", kSupervisors, "load violations with their evidence"},
       Query("violations", {"room"})},
      {{verb::get, "/api/alarms", kSupervisors, "open alarms (all=true: cleared too)"},
       [](Call& call) {
         query::Query q{.name = "alarms", .args = {{"format", "json"}}};
         if (!Param(call.query, "all").empty()) q.args["all"] = Param(call.query, "all");
         return QueryResponse(call, q);
       }},
      {{verb::get, "/api/notifications", kSupervisors, "reminders and their delivery"},
       Query("notifications", {"person", "pending"})},
      {{verb::get, "/api/reports/consumption", kSupervisors, "consumption by room or building"},
       Query("report.consumption", {"since", "until", "by", "period", "format"})},
      {{verb::get, "/api/reports/violations", kSupervisors, "violation counts per period"},
       Query("report.violations", {"since", "until", "by", "period", "format"})},
      {{verb::get, "/api/reports/deposits", kSupervisors | kCashier,
        "deposits by cashier, channel or total"},
       Query("report.deposits", {"since", "until", "by", "format"})},
      {{verb::get, "/api/reports/refunds", kSupervisors, "refunds per day"},
       Query("report.refunds", {"since", "until", "format"})},
      {{verb::get, "/api/reports/settlement", kSupervisors | kCashier,
        "the card center's settlement"},
       Query("report.settlement", {"since", "until", "format"})},
      {{verb::get, "/api/reports/balances", kSupervisors, "every room's balance at a seq or day"},
       Query("report.balances", {"seq", "until", "format"})},
      {{verb::post, "/api/commands/{name}/prepare", kAdmin | kOperator | kCashier,
        "prepare a command's canonical body for the browser to sign"},
       Prepare},
      {{verb::post, "/api/commands/submit", kAdmin | kOperator | kCashier,
        "submit a body signed by this account's key"},
       Submit},
      {{verb::get, "/api/users", kAdmin, "the web accounts"}, ListUsers},
      {{verb::post, "/api/users", kAdmin, "create a web account"}, CreateUser},
      {{verb::post, "/api/users/{name}", kAdmin, "disable, enable, reset or re-key an account"},
       UpdateUser},
      {{verb::post, "/api/password", kStaff | kStudent, "change your own password"},
       ChangePassword},
      {{verb::get, "/metrics", kAnonymous | kStaff | kStudent,
        "Prometheus metrics (from this machine only)"},
       Metrics},
  };
  return *routes;
}

const std::vector<RouteInfo>& RouteTable() {
  static const auto* const table = [] {
    auto* out = new std::vector<RouteInfo>();
    for (const Route& route : Routes()) out->push_back(route.info);
    return out;
  }();
  return *table;
}

}  // namespace wattledger::http
