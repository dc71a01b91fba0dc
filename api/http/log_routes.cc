#include "api/http/log_routes.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/roles.h"

namespace wattledger::http {
namespace {

using beast_http::status;

constexpr size_t kEventsPageMax = 2000;
constexpr size_t kCheckpointsPageMax = 5000;

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One event as JSON: the decoded envelope (wattctl log's form) plus what the
// browser needs to check it without trusting this decoding.
absl::StatusOr<std::string> EventJson(const ledger::Ledger& ledger, absl::string_view bytes) {
  auto envelope = ledger::ParsedEnvelope::ParseTrusted(bytes, ledger::kEnvelopeBytesMax);
  if (!envelope.ok()) return envelope.status();
  auto e = envelope->get();
  nlohmann::json signer = nullptr;
  auto key_id = e.getSignerKeyId();
  if (key_id.size() == 32) {
    ledger::KeyId id{};
    std::memcpy(id.data(), key_id.begin(), 32);
    auto entry = ledger.keys().Find(id);
    if (entry.has_value()) {
      signer = {{"holder", entry->holder},
                {"role", std::string(ledger::RoleName(entry->role))},
                {"revoked", entry->revoked}};
    }
  }
  std::string decoded = ledger::EnvelopeToJson(e);
  decoded.pop_back();  // the closing brace: the fields below join it
  return absl::StrCat(decoded, ",\"envelope\":\"", absl::Base64Escape(bytes), "\",\"bodyBytes\":\"",
                      absl::Base64Escape(ledger::AsView(e.getBody())), "\",\"chainHash\":\"",
                      ledger::ToHex(absl::MakeConstSpan(ledger::ChainHash(bytes))),
                      "\",\"signer\":", Dump(signer), "}");
}

Response EventsResponse(const ledger::Ledger& ledger, const std::vector<std::string>& envelopes) {
  std::string body = "{\"items\":[";
  bool first = true;
  for (const std::string& bytes : envelopes) {
    auto json = EventJson(ledger, bytes);
    if (!json.ok()) return ErrorResponse(json.status());
    absl::StrAppend(&body, first ? "" : ",", *json);
    first = false;
  }
  ledger::Head head = ledger.head();
  absl::StrAppend(&body, "],\"head\":", head.seq, "}");
  return JsonResponse(status::ok, std::move(body));
}

uint64_t NumberParam(const Call& call, const std::string& name, uint64_t fallback) {
  auto it = call.query.find(name);
  uint64_t value = 0;
  if (it == call.query.end() || !absl::SimpleAtoi(it->second, &value)) return fallback;
  return value;
}

}  // namespace

Response ListEvents(Call& call) {
  const uint64_t from = std::max<uint64_t>(1, NumberParam(call, "from", 1));
  const size_t limit = std::clamp<uint64_t>(NumberParam(call, "limit", 500), 1, kEventsPageMax);
  auto envelopes = call.api.ledger->store().ReadRange(from, limit);
  if (!envelopes.ok()) return ErrorResponse(envelopes.status());
  return EventsResponse(*call.api.ledger, *envelopes);
}

Response RoomEvents(Call& call, const std::string& room) {
  const ledger::EventStore& store = call.api.ledger->store();
  const std::string stream = absl::StrCat("room:", room);
  const size_t limit = std::clamp<uint64_t>(NumberParam(call, "limit", 50), 1, 500);
  auto version = store.StreamVersion(stream);
  if (!version.ok()) return ErrorResponse(version.status());
  std::vector<std::string> envelopes;
  if (*version > 0) {
    uint64_t from = *version > limit ? *version - limit + 1 : 1;
    auto seqs = store.ReadStreamSeqs(stream, from, limit);
    if (!seqs.ok()) return ErrorResponse(seqs.status());
    for (auto seq = seqs->rbegin(); seq != seqs->rend(); ++seq) {
      auto bytes = store.GetEvent(*seq);
      if (!bytes.ok()) return ErrorResponse(bytes.status());
      envelopes.push_back(std::move(*bytes));
    }
  }
  return EventsResponse(*call.api.ledger, envelopes);
}

Response ListKeys(Call& call) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& [id, entry] : call.api.ledger->keys().List()) {
    items.push_back({{"keyId", ledger::ToHex(absl::MakeConstSpan(id))},
                     {"publicKey", ledger::ToHex(absl::MakeConstSpan(entry.key->raw()))},
                     {"role", std::string(ledger::RoleName(entry.role))},
                     {"holder", entry.holder},
                     {"revoked", entry.revoked},
                     {"registeredSeq", entry.registered_seq}});
  }
  std::sort(items.begin(), items.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["registeredSeq"].get<uint64_t>() < b["registeredSeq"].get<uint64_t>();
  });
  nlohmann::json out = {
      {"items", items},
      {"ledgerKey", ledger::ToHex(absl::MakeConstSpan(call.api.ledger->ledger_public_key()))}};
  return JsonResponse(status::ok, Dump(out));
}

Response ListCheckpoints(Call& call) {
  const uint64_t from = NumberParam(call, "from", 0);
  const size_t limit = std::min<uint64_t>(NumberParam(call, "limit", 1000), kCheckpointsPageMax);
  auto json = [](const ledger::StoredCheckpoint& checkpoint) {
    return nlohmann::json{{"seq", checkpoint.seq},
                          {"chainHash", ledger::ToHex(absl::MakeConstSpan(checkpoint.chain_hash))},
                          {"signature", ledger::ToHex(absl::MakeConstSpan(checkpoint.signature))},
                          {"canonical", absl::Base64Escape(checkpoint.canonical)}};
  };
  nlohmann::json items = nlohmann::json::array();
  if (limit > 0) {
    auto page = call.api.ledger->store().ReadCheckpoints(from, limit);
    if (!page.ok()) return ErrorResponse(page.status());
    for (const auto& checkpoint : *page) items.push_back(json(checkpoint));
  }
  auto latest = call.api.ledger->store().LastCheckpoint();
  if (!latest.ok()) return ErrorResponse(latest.status());
  return JsonResponse(status::ok,
                      Dump({{"items", items},
                            {"latest", latest->has_value() ? json(**latest) : nlohmann::json()}}));
}

}  // namespace wattledger::http
