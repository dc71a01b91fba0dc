#include "tools/wattctl/commands.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/rpc/ledger_client.h"
#include "api/rpc/tls_config.h"
#include "ledger/event_store.h"
#include "ledger/key_registry.h"
#include "ledger/ledger.h"
#include "ledger/limits.h"
#include "ledger/message_stream.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "ledger/structured_log.h"
#include "ledger/verifier.h"
#include "tools/common/cli.h"
#include "tools/wattctl/flags.h"
#include "tools/wattctl/support.h"

namespace wattledger::wattctl {

using ledger::AsData;
using ledger::ToHex;

int Init() {
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) return Usage("init needs --data DIR");
  if (std::filesystem::exists(DataLedgerDir(data) + "/CURRENT")) {
    return Fail(absl::AlreadyExistsError(absl::StrCat("a ledger already exists in ", data)));
  }
  std::error_code error;
  std::filesystem::create_directories(data + "/keys", error);
  if (error)
    return Fail(
        absl::UnavailableError(absl::StrCat("cannot create ", data, "/keys: ", error.message())));
  std::filesystem::permissions(data + "/keys", std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  auto passphrase = tools::ReadPassphrase(absl::GetFlag(FLAGS_passphrase_file));
  if (!passphrase.ok()) return Fail(passphrase.status());
  auto ledger_key = ledger::SigningKey::Generate();
  auto admin_key = ledger::SigningKey::Generate();
  if (!ledger_key.ok() || !admin_key.ok())
    return Fail(absl::InternalError("key generation failed"));
  std::string ledger_path = data + "/keys/ledger.pem";
  std::string admin_path = data + "/keys/admin.pem";
  absl::Status written = tools::WriteKeyPair(*ledger_key, ledger_path, *passphrase);
  if (written.ok()) written = tools::WriteKeyPair(*admin_key, admin_path, *passphrase);
  if (!written.ok()) return Fail(written);

  ledger::LedgerOptions options;
  options.data_dir = DataLedgerDir(data);
  options.ledger_key = *ledger_key;
  absl::Status initialized =
      ledger::Ledger::Initialize(options, admin_key->public_key(), absl::GetFlag(FLAGS_campus));
  if (!initialized.ok()) return Fail(initialized);
  std::printf(
      "initialised ledger in %s\n"
      "  ledger key:  %s (public %s)\n"
      "  first admin: %s (key id %s)\n"
      "Move the admin key off this machine; auditors need only the ledger public key.\n",
      data.c_str(), ledger_path.c_str(),
      ToHex(absl::MakeConstSpan(ledger_key->public_key())).c_str(), admin_path.c_str(),
      ToHex(absl::MakeConstSpan(admin_key->key_id())).c_str());
  return 0;
}

int Keygen() {
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Usage("keygen needs --out FILE.pem");
  auto passphrase = tools::ReadPassphrase(absl::GetFlag(FLAGS_passphrase_file));
  if (!passphrase.ok()) return Fail(passphrase.status());
  auto key = ledger::SigningKey::Generate();
  if (!key.ok()) return Fail(key.status());
  absl::Status written = tools::WriteKeyPair(*key, out, *passphrase);
  if (!written.ok()) return Fail(written);
  std::printf("{\"privateKey\":\"%s\",\"publicKey\":\"%s\",\"keyId\":\"%s\"}\n", out.c_str(),
              ToHex(absl::MakeConstSpan(key->public_key())).c_str(),
              ToHex(absl::MakeConstSpan(key->key_id())).c_str());
  return 0;
}

int TlsInit() {
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Usage("tls-init needs --out DIR");
  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) return Fail(absl::UnavailableError(absl::StrCat("cannot create ", out)));
  std::string client =
      absl::GetFlag(FLAGS_holder).empty() ? "card-center" : absl::GetFlag(FLAGS_holder);
  absl::Status issued = rpc::IssueDevCertificates(out, client);
  if (!issued.ok()) return Fail(issued);
  std::printf(
      "development certificates in %s (a CA of their own; use the campus CA in production):\n"
      "  wattd, card-center endpoint: --card_center_tls_cert %s/server.pem "
      "--card_center_tls_key %s/server.key --card_center_client_ca %s/ca.pem\n"
      "  wattd, operator endpoint:    --tls_cert %s/server.pem --tls_key %s/server.key\n"
      "  %s: --tls_ca %s/ca.pem --tls_cert %s/client.pem --tls_key %s/client.key\n"
      "  wattctl: --tls_ca %s/ca.pem\n",
      out.c_str(), out.c_str(), out.c_str(), out.c_str(), out.c_str(), out.c_str(), client.c_str(),
      out.c_str(), out.c_str(), out.c_str(), out.c_str());
  return 0;
}

int KeyRegister() {
  auto public_key = tools::ReadPublicKey(absl::GetFlag(FLAGS_public_key));
  if (!public_key.ok()) return Usage(public_key.status().message());
  return SignAndSubmitCommand("key-register",
                              {{"publicKey", ledger::ToHex(absl::MakeConstSpan(*public_key))},
                               {"role", absl::GetFlag(FLAGS_role)},
                               {"holder", absl::GetFlag(FLAGS_holder)}});
}

int KeyRevoke() {
  return SignAndSubmitCommand("key-revoke", {{"keyId", absl::GetFlag(FLAGS_key_id)},
                                             {"reason", absl::GetFlag(FLAGS_reason)}});
}

int KeyList() {
  std::vector<rpc::RemoteKey> keys;
  std::string data = absl::GetFlag(FLAGS_data);
  if (!data.empty()) {
    auto store = ledger::EventStore::Open(DataLedgerDir(data), SecondaryOptions());
    if (!store.ok()) return Fail(store.status());
    ledger::KeyRegistry registry;
    absl::Status loaded = registry.Load(**store);
    if (!loaded.ok()) return Fail(loaded);
    for (const auto& [id, entry] : registry.List()) {
      keys.push_back({.key_id = id,
                      .public_key = entry.key->raw(),
                      .role = entry.role,
                      .holder = entry.holder,
                      .revoked = entry.revoked,
                      .registered_seq = entry.registered_seq});
    }
  } else {
    auto client = ConnectAsReader();
    if (!client.ok()) return Fail(client.status());
    auto listed = (*client)->Keys();
    if (!listed.ok()) return Fail(listed.status());
    keys = std::move(*listed);
  }
  for (const auto& key : keys) {
    std::printf(
        "{\"keyId\":\"%s\",\"publicKey\":\"%s\",\"role\":\"%s\",\"holder\":%s,\"revoked\":%s,"
        "\"registeredSeq\":%llu}\n",
        ToHex(absl::MakeConstSpan(key.key_id)).c_str(),
        ToHex(absl::MakeConstSpan(key.public_key)).c_str(),
        std::string(ledger::RoleName(key.role)).c_str(), ledger::JsonEscape(key.holder).c_str(),
        key.revoked ? "true" : "false", static_cast<unsigned long long>(key.registered_seq));
  }
  return 0;
}

int Head() {
  auto source = Source::FromFlags();
  if (!source.ok()) return Fail(source.status());
  auto head = (*source)->Head();
  if (!head.ok()) return Fail(head.status());
  std::printf("{\"seq\":%llu,\"chainHash\":\"%s\"}\n", static_cast<unsigned long long>(head->seq),
              ToHex(absl::MakeConstSpan(head->chain_hash)).c_str());
  return 0;
}

namespace {

// `log --follow`: the auditor's live view, over the Ledger interface's
// subscription (never the data directory: that is the server's).
int FollowLog() {
  if (!absl::GetFlag(FLAGS_data).empty())
    return Usage("log --follow reads from --server, not --data");
  auto client = ConnectAsReader();
  if (!client.ok()) return Fail(client.status());
  uint64_t left = absl::GetFlag(FLAGS_limit);
  absl::Status failure;
  int64_t seconds = absl::GetFlag(FLAGS_follow_seconds);
  absl::Status followed = (*client)->Follow(
      absl::GetFlag(FLAGS_from),
      [&](const std::vector<std::string>& page) {
        for (const std::string& bytes : page) {
          auto envelope = ledger::ParsedEnvelope::Parse(bytes, ledger::kEnvelopeBytesMax);
          if (!envelope.ok()) {
            failure = envelope.status();
            return false;
          }
          std::string line = ledger::EnvelopeToJson(envelope->get());
          std::fwrite(line.data(), 1, line.size(), stdout);
          std::fputc('\n', stdout);
          if (--left == 0) return false;
        }
        std::fflush(stdout);
        return true;
      },
      seconds > 0 ? absl::Seconds(seconds) : absl::InfiniteDuration());
  if (!failure.ok()) return Fail(failure);
  return followed.ok() ? 0 : Fail(followed);
}

}  // namespace

int Log() {
  if (absl::GetFlag(FLAGS_follow)) return FollowLog();
  auto source = Source::FromFlags();
  if (!source.ok()) return Fail(source.status());
  auto print = [](const std::vector<std::string>& page) -> absl::Status {
    for (const std::string& bytes : page) {
      WL_ASSIGN_OR_RETURN(auto envelope,
                          ledger::ParsedEnvelope::Parse(bytes, ledger::kEnvelopeBytesMax));
      std::string line = ledger::EnvelopeToJson(envelope.get());
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    return absl::OkStatus();
  };
  std::string stream = absl::GetFlag(FLAGS_stream);
  absl::Status status;
  if (!stream.empty()) {
    auto page = (*source)->StreamEvents(stream, absl::GetFlag(FLAGS_from),
                                        std::min<uint64_t>(absl::GetFlag(FLAGS_limit), 10000));
    status = page.ok() ? print(*page) : page.status();
  } else {
    status = (*source)->ForEachEvent(absl::GetFlag(FLAGS_from), absl::GetFlag(FLAGS_limit), print);
  }
  return status.ok() ? 0 : Fail(status);
}

namespace {

int ReportVerified(const absl::StatusOr<ledger::VerifySummary>& summary) {
  if (!summary.ok()) {
    std::fprintf(stderr, "verify: FAILED: %s\n", std::string(summary.status().message()).c_str());
    return 1;
  }
  std::printf(
      "{\"verified\":true,\"events\":%llu,\"checkpoints\":%llu,\"headSeq\":%llu,\"headHash\":\"%"
      "s\","
      "\"lastCheckpointSeq\":%llu,\"ledgerKey\":\"%s\"}\n",
      static_cast<unsigned long long>(summary->events),
      static_cast<unsigned long long>(summary->checkpoints),
      static_cast<unsigned long long>(summary->head.seq),
      ToHex(absl::MakeConstSpan(summary->head.chain_hash)).c_str(),
      static_cast<unsigned long long>(summary->last_checkpoint_seq),
      ToHex(absl::MakeConstSpan(summary->ledger_key)).c_str());
  return 0;
}

absl::StatusOr<ledger::VerifySummary> VerifyFiles(const std::vector<std::string>& files,
                                                  const ledger::VerifyOptions& options) {
  ledger::Verifier verifier(options);
  for (const std::string& file : files) {
    std::string checkpoints_path = file + ".checkpoints";
    if (std::filesystem::exists(checkpoints_path)) {
      WL_ASSIGN_OR_RETURN(auto reader, ledger::MessageStreamReader::Open(checkpoints_path));
      while (true) {
        WL_ASSIGN_OR_RETURN(auto message, reader->Next(1024));
        if (!message.has_value()) break;
        WL_RETURN_IF_ERROR(verifier.AddCheckpoint(*message));
      }
    }
  }
  uint64_t seq = 1;
  for (const std::string& file : files) {
    WL_ASSIGN_OR_RETURN(auto reader, ledger::MessageStreamReader::Open(file));
    std::vector<std::string> page;
    while (true) {
      auto message = reader->Next(ledger::kEnvelopeBytesMax);
      if (!message.ok()) {
        WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
        WL_RETURN_IF_ERROR(verifier.CheckPendingSignatures());
        return absl::DataLossError(
            absl::StrCat("seq ", seq + page.size(), ": ", message.status().message()));
      }
      if (!message->has_value()) break;
      page.push_back(std::move(**message));
      if (page.size() == 8192) {
        WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
        seq += page.size();
        page.clear();
      }
    }
    WL_RETURN_IF_ERROR(verifier.AddEnvelopes(page));
    seq += page.size();
  }
  return verifier.Finish();
}

}  // namespace

int Verify() {
  ledger::VerifyOptions options;
  std::string trusted = absl::GetFlag(FLAGS_ledger_key);
  if (!trusted.empty()) {
    auto key = tools::ReadPublicKey(trusted);
    if (!key.ok()) return Usage(key.status().message());
    options.ledger_key = *key;
  }
  std::vector<std::string> files = absl::GetFlag(FLAGS_file);
  if (!files.empty()) {
    if (!options.ledger_key.has_value()) {
      return Usage("verifying an export needs the trusted --ledger-key (hex or .pub file)");
    }
    return ReportVerified(VerifyFiles(files, options));
  }
  auto source = Source::FromFlags();
  if (!source.ok()) return Fail(source.status());
  if ((*source)->store() != nullptr) {
    return ReportVerified(ledger::VerifyStore(*(*source)->store(), options));
  }
  ledger::Verifier verifier(options);
  auto checkpoints = (*source)->Checkpoints(0);
  if (!checkpoints.ok()) return Fail(checkpoints.status());
  for (const auto& checkpoint : *checkpoints) {
    absl::Status added = verifier.AddCheckpoint(checkpoint);
    if (!added.ok()) return ReportVerified(added);
  }
  absl::Status fed = (*source)->ForEachEvent(
      1, UINT64_MAX,
      [&](const std::vector<std::string>& page) { return verifier.AddEnvelopes(page); });
  if (!fed.ok()) return ReportVerified(fed);
  return ReportVerified(verifier.Finish());
}

int Export() {
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Usage("export needs --out FILE");
  auto source = Source::FromFlags();
  if (!source.ok()) return Fail(source.status());
  uint64_t from = absl::GetFlag(FLAGS_from);
  auto events = ledger::MessageStreamWriter::Create(out);
  if (!events.ok()) return Fail(events.status());
  uint64_t count = 0;
  absl::Status status =
      (*source)->ForEachEvent(from, UINT64_MAX, [&](const std::vector<std::string>& page) {
        for (const auto& envelope : page) WL_RETURN_IF_ERROR((*events)->Append(envelope));
        count += page.size();
        return absl::OkStatus();
      });
  if (status.ok()) status = (*events)->Close();
  if (!status.ok()) return Fail(status);
  auto checkpoints = (*source)->Checkpoints(from);
  if (!checkpoints.ok()) return Fail(checkpoints.status());
  auto checkpoint_file = ledger::MessageStreamWriter::Create(out + ".checkpoints");
  if (!checkpoint_file.ok()) return Fail(checkpoint_file.status());
  for (const auto& checkpoint : *checkpoints) {
    status = (*checkpoint_file)->Append(checkpoint);
    if (!status.ok()) return Fail(status);
  }
  status = (*checkpoint_file)->Close();
  if (!status.ok()) return Fail(status);
  std::printf("{\"events\":%llu,\"fromSeq\":%llu,\"checkpoints\":%zu,\"file\":\"%s\"}\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(from),
              checkpoints->size(), out.c_str());
  return 0;
}

}  // namespace wattledger::wattctl
