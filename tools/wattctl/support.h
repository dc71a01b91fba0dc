// What wattctl's commands share: error exits, where events are read from (a
// data directory or a running wattd), and signing and submitting a command.
#pragma once

#include <openssl/rand.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/commands/domain_command.h"
#include "api/rpc/ledger_client.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/limits.h"
#include "ledger/status_macros.h"
#include "tools/common/cli.h"
#include "tools/wattctl/flags.h"

namespace wattledger::wattctl {

using ledger::AsData;
using ledger::ToHex;

inline int Fail(const absl::Status& status) {
  std::fprintf(stderr, "wattctl: %s\n", std::string(status.ToString()).c_str());
  return 1;
}

inline int Usage(absl::string_view message) {
  std::fprintf(stderr, "wattctl: %s (see `wattctl --help`)\n", std::string(message).c_str());
  return 2;
}

inline std::string DataLedgerDir(const std::string& data) { return data + "/ledger"; }

// wattd at --server, over TLS when --tls_ca is given (with --tls_cert and
// --tls_key when it asks for a client certificate).
inline absl::StatusOr<std::unique_ptr<rpc::LedgerClient>> ConnectToWattd() {
  return rpc::LedgerClient::Connect(absl::GetFlag(FLAGS_server),
                                    rpc::TlsFiles{.cert = absl::GetFlag(FLAGS_tls_cert),
                                                  .key = absl::GetFlag(FLAGS_tls_key),
                                                  .ca = absl::GetFlag(FLAGS_tls_ca)});
}

// wattd at --server in a session of --key when one is given (reading the log
// over TLS or off loopback needs it); without --key, the public calls only.
inline absl::StatusOr<std::unique_ptr<rpc::LedgerClient>> ConnectAsReader() {
  WL_ASSIGN_OR_RETURN(auto client, ConnectToWattd());
  if (!absl::GetFlag(FLAGS_key).empty()) {
    WL_ASSIGN_OR_RETURN(auto key, tools::LoadKeyFile(absl::GetFlag(FLAGS_key),
                                                     absl::GetFlag(FLAGS_passphrase_file)));
    WL_RETURN_IF_ERROR(client->Authenticate(key));
  }
  return client;
}

// Read-only access that works beside a running wattd.
inline ledger::StoreOptions SecondaryOptions() {
  ledger::StoreOptions options;
  options.mode = ledger::StoreMode::kSecondary;
  return options;
}

// The store of --data (default "data"), opened read-only beside a running
// wattd and caught up with it.
inline absl::StatusOr<std::unique_ptr<ledger::EventStore>> OpenDataStore() {
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) data = "data";
  WL_ASSIGN_OR_RETURN(auto store,
                      ledger::EventStore::Open(DataLedgerDir(data), SecondaryOptions()));
  WL_RETURN_IF_ERROR(store->Refresh());
  return store;
}

// Where events are read from: a data directory or a running wattd.
class Source {
 public:
  static absl::StatusOr<std::unique_ptr<Source>> FromFlags() {
    std::unique_ptr<Source> source(new Source());
    std::string data = absl::GetFlag(FLAGS_data);
    if (!data.empty()) {
      WL_ASSIGN_OR_RETURN(source->store_,
                          ledger::EventStore::Open(DataLedgerDir(data), SecondaryOptions()));
      WL_RETURN_IF_ERROR(source->store_->Refresh());
    } else {
      WL_ASSIGN_OR_RETURN(source->client_, ConnectAsReader());
    }
    return source;
  }

  absl::StatusOr<ledger::Head> Head() {
    if (store_) return store_->GetHead();
    WL_ASSIGN_OR_RETURN(auto remote, client_->Head());
    return remote.head;
  }
  absl::StatusOr<std::vector<std::string>> Events(uint64_t from, size_t limit) {
    if (store_) return store_->ReadRange(from, limit);
    return client_->Events(from, static_cast<uint32_t>(std::min<size_t>(limit, UINT32_MAX)));
  }
  absl::StatusOr<std::vector<std::string>> Checkpoints(uint64_t from) {
    std::vector<std::string> out;
    if (store_) {
      WL_ASSIGN_OR_RETURN(auto checkpoints, store_->ReadCheckpoints(from, SIZE_MAX));
      for (auto& checkpoint : checkpoints) out.push_back(checkpoint.canonical);
      return out;
    }
    while (true) {
      WL_ASSIGN_OR_RETURN(auto page, client_->Checkpoints(from, 10000));
      if (page.empty()) return out;
      WL_ASSIGN_OR_RETURN(auto last, ledger::ParsedCheckpoint::Parse(page.back(), 1024));
      from = last.get().getSeq() + 1;
      for (auto& checkpoint : page) out.push_back(std::move(checkpoint));
    }
  }
  absl::StatusOr<std::vector<std::string>> StreamEvents(const std::string& stream, uint64_t from,
                                                        size_t limit) {
    if (!store_) {
      return client_->StreamEvents(stream, from,
                                   static_cast<uint32_t>(std::min<size_t>(limit, 10000)));
    }
    WL_ASSIGN_OR_RETURN(auto seqs, store_->ReadStreamSeqs(stream, from, limit));
    std::vector<std::string> out;
    for (uint64_t seq : seqs) {
      WL_ASSIGN_OR_RETURN(std::string event, store_->GetEvent(seq));
      out.push_back(std::move(event));
    }
    return out;
  }
  // Calls `each` for every event from `from` to the head, in pages.
  template <typename Each>
  absl::Status ForEachEvent(uint64_t from, uint64_t limit, Each each) {
    WL_ASSIGN_OR_RETURN(ledger::Head head, Head());
    uint64_t seen = 0;
    for (uint64_t seq = std::max<uint64_t>(from, 1); seq <= head.seq && seen < limit;) {
      WL_ASSIGN_OR_RETURN(
          auto page, Events(seq, std::min<uint64_t>(
                                     {ledger::kReadEventsMax, head.seq - seq + 1, limit - seen})));
      if (page.empty()) return absl::DataLossError(absl::StrCat("seq ", seq, " is missing"));
      WL_RETURN_IF_ERROR(each(page));
      seq += page.size();
      seen += page.size();
    }
    return absl::OkStatus();
  }

  ledger::EventStore* store() { return store_.get(); }
  rpc::LedgerClient* client() { return client_.get(); }

 private:
  Source() = default;
  std::unique_ptr<ledger::EventStore> store_;
  std::unique_ptr<rpc::LedgerClient> client_;
};

inline std::string RandomIdempotencyKey() {
  std::array<uint8_t, 16> bytes;
  WL_CHECK(RAND_bytes(bytes.data(), bytes.size()) == 1);
  return ToHex(absl::MakeConstSpan(bytes));
}

// What a command prints after its event is durable (a receipt, a statement).
using AfterSubmit = std::function<void(const ledger::AppendResult&, rpc::LedgerClient&)>;

// Builds a body with the common fields, lets `fill` set the event, signs it
// with --key and submits it to --server; prints the outcome, then `after`.
template <typename Fill>
int SignAndSubmit(const std::string& stream, Fill fill, AfterSubmit after = nullptr) {
  auto key = tools::LoadKeyFile(absl::GetFlag(FLAGS_key), absl::GetFlag(FLAGS_passphrase_file));
  if (!key.ok()) return Fail(key.status());
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  std::string idempotency = absl::GetFlag(FLAGS_idempotency_key);
  body.setIdempotencyKey(idempotency.empty() ? RandomIdempotencyKey() : idempotency);
  body.setIssuedAtUs(absl::ToUnixMicros(absl::Now()));
  body.setStream(stream);
  absl::Status filled = fill(body);
  if (!filled.ok()) return Usage(filled.message());
  ledger::SignedRequest request = ledger::SignBody(body.asReader(), *key);
  auto client = ConnectToWattd();
  if (!client.ok()) return Fail(client.status());
  auto result = (*client)->Submit(request);
  if (!result.ok()) {
    std::fprintf(stderr, "refused: %s\n", std::string(result.status().ToString()).c_str());
    return 1;
  }
  std::printf(
      "{\"seq\":%llu,\"chainHash\":\"%s\",\"duplicate\":%s,\"derived\":%llu,"
      "\"idempotencyKey\":\"%s\"}\n",
      static_cast<unsigned long long>(result->seq),
      ToHex(absl::MakeConstSpan(result->chain_hash)).c_str(), result->duplicate ? "true" : "false",
      static_cast<unsigned long long>(result->derived), body.getIdempotencyKey().cStr());
  if (after) after(*result, **client);
  return 0;
}

// Builds domain command `name` from `args` (api/commands/, as the web
// console does), signs it with --key and submits it.
inline int SignAndSubmitCommand(const std::string& name,
                                const std::map<std::string, std::string>& args,
                                AfterSubmit after = nullptr) {
  std::map<std::string, std::string> given;
  for (const auto& [arg, value] : args) {
    if (!value.empty()) given[arg] = value;
  }
  return SignAndSubmit(
      "",
      [&](schema::EventBody::Builder body) { return commands::BuildCommand(name, given, body); },
      std::move(after));
}

}  // namespace wattledger::wattctl
