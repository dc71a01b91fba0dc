#include "tools/wattd/ingest_launcher.h"

#include <filesystem>

#include "ledger/structured_log.h"
#include "tools/common/cli.h"

namespace wattledger::tools {

IngestLauncher::IngestLauncher(ledger::Ledger& ledger, const projections::Domain& domain,
                               std::string key_path, std::string passphrase_file,
                               ingest::IngestOptions options)
    : ledger_(ledger),
      domain_(domain),
      key_path_(std::move(key_path)),
      passphrase_file_(std::move(passphrase_file)),
      options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

IngestLauncher::~IngestLauncher() {
  stop_.Notify();
  thread_.join();
  if (service_ != nullptr) service_->Stop();
}

void IngestLauncher::Run() {
  std::string waiting_for;
  while (!stop_.HasBeenNotified()) {
    std::string reason;
    if (!std::filesystem::exists(key_path_)) {
      reason = "the ingest key file " + key_path_;
    } else {
      auto key = LoadKeyFile(key_path_, passphrase_file_);
      if (!key.ok()) {
        ledger::LogEvent("error", "ingest_key_unreadable", {{"status", key.status().ToString()}});
        return;
      }
      auto entry = ledger_.keys().Find(key->key_id());
      if (!entry.has_value() || entry->revoked || entry->role != ledger::Role::INGEST) {
        reason = "the ingest key to be registered with role ingest";
      } else {
        auto service = ingest::IngestService::Start(ledger_, domain_, *key, options_);
        if (!service.ok()) {
          ledger::LogEvent("error", "ingest_start_failed",
                           {{"status", service.status().ToString()}});
          return;
        }
        service_ = std::move(*service);
        stats_.store(&service_->stats(), std::memory_order_release);
        std::string listen = options_.collector_listen;
        if (!listen.empty()) {
          listen =
              listen.substr(0, listen.rfind(':') + 1) + std::to_string(service_->collector_port());
        }
        ledger::LogEvent("info", "ingest_started", {{"collector_listening", listen}});
        return;
      }
    }
    if (reason != waiting_for) {
      ledger::LogEvent("info", "ingest_waiting", {{"for", reason}});
      waiting_for = reason;
    }
    stop_.WaitForNotificationWithTimeout(absl::Milliseconds(500));
  }
}

}  // namespace wattledger::tools
