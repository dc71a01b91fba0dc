// wattd: the wattledger server. Opens the ledger under --data (verifying the
// chain tail), serves the RPC interface and the web console's HTTP API on
// loopback, runs the meter side
// (polling the registered gateways, delivering control commands) once its
// ingest key is registered, delivers the reminders of the notification
// outbox (--notify: log, webhook or off), and on SIGTERM or SIGINT stops
// admitting, drains the writer, writes a final checkpoint and exits.
#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "api/http/http_server.h"
#include "api/http/web_sessions.h"
#include "api/http/web_users.h"
#include "api/notify/log_sender.h"
#include "api/notify/notifier.h"
#include "api/notify/webhook_sender.h"
#include "api/rpc/rpc_server.h"
#include "api/rpc/tls_config.h"
#include "ledger/ledger.h"
#include "ledger/period_ticker.h"
#include "ledger/structured_log.h"
#include "projections/calendar.h"
#include "projections/domain.h"
#include "projections/reports/reports.h"
#include "tools/common/cli.h"
#include "tools/wattd/ingest_launcher.h"

ABSL_FLAG(std::string, data, "data", "data directory, created by `wattctl init`");
ABSL_FLAG(std::string, rpc_listen, "127.0.0.1:7600", "host:port of the Cap'n Proto RPC service");
ABSL_FLAG(std::string, card_center_listen, "",
          "host:port of the card center's RPC endpoint (api/rpc/card_center.capnp); empty: off");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate of the --rpc_listen endpoint (TLS); empty: plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, card_center_tls_cert, "",
          "PEM certificate of the card-center endpoint (TLS); empty: plaintext");
ABSL_FLAG(std::string, card_center_tls_key, "", "PEM private key of --card_center_tls_cert");
ABSL_FLAG(std::string, card_center_client_ca, "",
          "PEM CA that signs the card center's client certificates (mutual TLS)");
ABSL_FLAG(bool, plaintext_off_loopback, false,
          "allow plaintext RPC on an address other than loopback (behind a trusted tunnel only)");
ABSL_FLAG(std::string, ledger_key, "", "the ledger's private key (default DATA/keys/ledger.pem)");
ABSL_FLAG(std::string, passphrase_file, "",
          "file holding the ledger key's passphrase (else $WATTLEDGER_PASSPHRASE)");
ABSL_FLAG(int64_t, time_window_seconds, 300,
          "accepted distance of issued-at from the ledger clock");
ABSL_FLAG(uint64_t, checkpoint_every_events, 10000, "sign a checkpoint every N events");
ABSL_FLAG(int64_t, checkpoint_every_seconds, 10, "or every T seconds when events arrived");
ABSL_FLAG(int32_t, verify_threads, 2, "threads checking signatures");
ABSL_FLAG(bool, ingest, true, "run the meter side (poll gateways, deliver commands)");
ABSL_FLAG(std::string, ingest_key, "",
          "the meter side's private key (default DATA/keys/ingest.pem; role ingest)");
ABSL_FLAG(std::string, collector_listen, "127.0.0.1:9700",
          "host:port where client-mode collectors connect and register (empty: none)");
ABSL_FLAG(int32_t, sweep_seconds, 60, "seconds between the starts of a gateway's sweeps");
ABSL_FLAG(int32_t, poll_timeout_ms, 500, "how long a meter has to answer one request");
ABSL_FLAG(int32_t, poll_retries, 2, "further attempts after a timeout or a bad reply");
ABSL_FLAG(int32_t, delivery_attempts, 5,
          "attempts to deliver a control command (1 s, then doubling) before ControlFailed");
ABSL_FLAG(std::string, meter_password, "02000000",
          "DL/T 645 password for writes and remote control: level then P0..P2, 8 hex digits");
ABSL_FLAG(std::string, meter_operator, "00000000", "DL/T 645 operator code, 8 hex digits");
ABSL_FLAG(int32_t, ingest_stats_seconds, 60, "how often the meter side logs its counters");
ABSL_FLAG(std::string, notify, "log",
          "how reminders in the notification outbox are delivered: log, webhook or off");
ABSL_FLAG(std::string, notify_webhook, "",
          "--notify=webhook: the URL each notification is POSTed to (http://host:port/path)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "host:port of the web console's HTTP API (api/http/); empty: off");
ABSL_FLAG(int32_t, http_idle_minutes, 30, "a web session unused this long is logged out");
ABSL_FLAG(std::string, http_tls_cert, "",
          "PEM certificate of the --http_listen endpoint (HTTPS with HSTS); empty: plain HTTP");
ABSL_FLAG(std::string, http_tls_key, "", "PEM private key of --http_tls_cert");
ABSL_FLAG(std::string, web_root, WL_WEB_ROOT,
          "the web console's built assets (api/web/dist, made by tools/build-web.sh); empty: "
          "the API only");
ABSL_FLAG(uint32_t, notify_max_attempts, 8,
          "attempts per notification before it is recorded failed (backoff 1 s doubling to 60 s)");

namespace wattledger {
namespace {

using ledger::LogEvent;

int Fatal(absl::string_view what, const absl::Status& status) {
  LogEvent("error", what, {{"status", std::string(status.ToString())}});
  return 1;
}

// The notifier delivering the outbox's reminders as --notify says; null when off.
absl::StatusOr<std::unique_ptr<notify::Notifier>> StartNotifier(
    ledger::Ledger& ledger, const projections::NotificationOutbox& outbox) {
  std::string mode = absl::GetFlag(FLAGS_notify);
  std::unique_ptr<notify::Sender> sender;
  if (mode == "off") return nullptr;
  if (mode == "log") {
    sender = std::make_unique<notify::LogSender>();
  } else if (mode == "webhook") {
    auto webhook = notify::WebhookSender::Create({.url = absl::GetFlag(FLAGS_notify_webhook)});
    if (!webhook.ok()) return webhook.status();
    sender = std::move(*webhook);
  } else {
    return absl::InvalidArgumentError("--notify must be log, webhook or off");
  }
  return std::make_unique<notify::Notifier>(
      ledger, outbox, std::move(sender),
      notify::NotifierOptions{.max_attempts = absl::GetFlag(FLAGS_notify_max_attempts)});
}

// The web console's accounts under DATA/web; on the first start, the first
// admin with a random password, printed once and left in
// DATA/web/first-admin-password (0600) until they change it.
absl::StatusOr<std::unique_ptr<http::UserStore>> OpenWebUsers(const std::string& data) {
  std::error_code error;
  std::filesystem::create_directories(data + "/web", error);
  std::filesystem::permissions(data + "/web", std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  auto users = http::UserStore::Open(data + "/web/users");
  if (!users.ok() || !(*users)->empty()) return users;
  std::string password = http::RandomPassword();
  http::WebUser admin{
      .name = "admin", .role = http::WebRole::kAdmin, .display_name = "First admin"};
  auto key = tools::ReadPublicKey(data + "/keys/admin.pub");
  if (key.ok()) admin.key_id_hex = ledger::ToHex(absl::MakeConstSpan(ledger::KeyIdOf(*key)));
  if (absl::Status created = (*users)->Create(admin, password); !created.ok()) return created;
  std::string path = data + "/web/first-admin-password";
  if (FILE* file = std::fopen(path.c_str(), "w")) {
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace, error);
    std::fprintf(file, "%s\n", password.c_str());
    std::fclose(file);
  }
  LogEvent("info", "web_first_admin",
           {{"user", std::string("admin")}, {"password", password}, {"alsoIn", path}});
  return users;
}

int Run() {
  std::string data = absl::GetFlag(FLAGS_data);
  std::string key_path = absl::GetFlag(FLAGS_ledger_key);
  if (key_path.empty()) key_path = data + "/keys/ledger.pem";
  auto ledger_key = tools::LoadKeyFile(key_path, absl::GetFlag(FLAGS_passphrase_file));
  if (!ledger_key.ok()) return Fatal("ledger_key_unreadable", ledger_key.status());

  ledger::LedgerOptions options;
  options.data_dir = data + "/ledger";
  options.ledger_key = *ledger_key;
  options.time_window_us = absl::GetFlag(FLAGS_time_window_seconds) * 1'000'000;
  options.checkpoint_every_events = absl::GetFlag(FLAGS_checkpoint_every_events);
  options.checkpoint_every_us = absl::GetFlag(FLAGS_checkpoint_every_seconds) * 1'000'000;
  options.verify_threads = absl::GetFlag(FLAGS_verify_threads);
  projections::Domain domain;
  options.projections = {&domain};
  options.projection_families = projections::reports::ReportFamilies();
  auto opened = ledger::Ledger::Open(options);
  if (!opened.ok()) return Fatal("ledger_open_failed", opened.status());
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);
  ledger::Head head = ledger->head();
  LogEvent("info", "ledger_opened",
           {{"data", data},
            {"head_seq", head.seq},
            {"head_hash", ledger::ToHex(absl::MakeConstSpan(head.chain_hash))},
            {"ledger_key", ledger::ToHex(absl::MakeConstSpan(ledger->ledger_public_key()))}});

  // Declared after the ledger, so on every return they stop before it does.
  auto reports = projections::reports::ReportRunners::Start(*ledger);
  if (!reports.ok()) return Fatal("reports_start_failed", reports.status());

  auto ticker = std::make_unique<ledger::PeriodTicker>(
      *ledger,
      ledger::Calendar{
          .day_start = projections::DayStartUs,
          .next_day_start =
              [](int64_t t) { return projections::DayStartUs(t) + projections::kMicrosPerDay; },
          .is_month_start = [](int64_t t) { return projections::MonthStartUs(t) == t; },
          .next_timer_us = [&domain] { return domain.NextTimerUs(); }});

  auto notifier = StartNotifier(*ledger, domain.outbox());
  if (!notifier.ok()) return Fatal("notifier_start_failed", notifier.status());

  std::unique_ptr<tools::IngestLauncher> ingest;
  if (absl::GetFlag(FLAGS_ingest)) {
    ingest::IngestOptions ingest_options;
    ingest_options.collector_listen = absl::GetFlag(FLAGS_collector_listen);
    ingest_options.stats_every = std::chrono::seconds(absl::GetFlag(FLAGS_ingest_stats_seconds));
    ingest::IngestSettings& settings = ingest_options.settings;
    settings.sweep_interval = std::chrono::seconds(absl::GetFlag(FLAGS_sweep_seconds));
    settings.poll.timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_poll_timeout_ms));
    settings.poll.retries = absl::GetFlag(FLAGS_poll_retries);
    settings.delivery_attempts_max = std::max(1, absl::GetFlag(FLAGS_delivery_attempts));
    auto password = ingest::dlt645::ParseHex4(absl::GetFlag(FLAGS_meter_password));
    auto operator_code = ingest::dlt645::ParseHex4(absl::GetFlag(FLAGS_meter_operator));
    if (!password.ok()) return Fatal("bad_meter_password", password.status());
    if (!operator_code.ok()) return Fatal("bad_meter_operator", operator_code.status());
    settings.poll.credentials = {*password, *operator_code};
    std::string ingest_key = absl::GetFlag(FLAGS_ingest_key);
    if (ingest_key.empty()) ingest_key = data + "/keys/ingest.pem";
    ingest = std::make_unique<tools::IngestLauncher>(
        *ledger, domain, ingest_key, absl::GetFlag(FLAGS_passphrase_file), ingest_options);
  }

  rpc::TlsFiles ledger_tls{.cert = absl::GetFlag(FLAGS_tls_cert),
                           .key = absl::GetFlag(FLAGS_tls_key)};
  rpc::TlsFiles card_center_tls{.cert = absl::GetFlag(FLAGS_card_center_tls_cert),
                                .key = absl::GetFlag(FLAGS_card_center_tls_key),
                                .ca = absl::GetFlag(FLAGS_card_center_client_ca)};
  rpc::RpcServerOptions rpc_options{
      .ledger = {.listen = absl::GetFlag(FLAGS_rpc_listen),
                 .tls = ledger_tls,
                 .allow_plaintext_off_loopback = absl::GetFlag(FLAGS_plaintext_off_loopback)},
      .card_center = {.listen = absl::GetFlag(FLAGS_card_center_listen),
                      .tls = card_center_tls,
                      .allow_plaintext_off_loopback = absl::GetFlag(FLAGS_plaintext_off_loopback)},
      .domain = &domain,
      .reports = reports->get()};
  auto server = rpc::RpcServer::Start(*ledger, rpc_options);
  if (!server.ok()) return Fatal("rpc_start_failed", server.status());
  auto with_port = [](std::string listen, uint16_t port) {
    return listen.substr(0, listen.rfind(':') + 1) + std::to_string(port);
  };
  LogEvent("info", "rpc_listening",
           {{"address", with_port(absl::GetFlag(FLAGS_rpc_listen), (*server)->port())},
            {"tls", ledger_tls.enabled()}});
  if ((*server)->card_center_port() != 0) {
    LogEvent("info", "card_center_listening",
             {{"address",
               with_port(absl::GetFlag(FLAGS_card_center_listen), (*server)->card_center_port())},
              {"tls", card_center_tls.enabled()},
              {"client_certificates", !card_center_tls.ca.empty()}});
  }

  // The web console's API, last to start and first to stop.
  std::unique_ptr<http::UserStore> web_users;
  http::SessionBook web_sessions(absl::Minutes(absl::GetFlag(FLAGS_http_idle_minutes)),
                                 [] { return absl::Now(); });
  http::LoginLimiter web_limiter([] { return absl::Now(); });
  http::WebApi web_api;
  std::unique_ptr<http::HttpServer> web;
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    auto users = OpenWebUsers(data);
    if (!users.ok()) return Fatal("web_users_unavailable", users.status());
    web_users = std::move(*users);
    web_api = http::WebApi{.ledger = ledger.get(),
                           .domain = &domain,
                           .reports = reports->get(),
                           .users = web_users.get(),
                           .sessions = &web_sessions,
                           .limiter = &web_limiter,
                           .over_tls = !absl::GetFlag(FLAGS_http_tls_cert).empty(),
                           .web_root = absl::GetFlag(FLAGS_web_root),
                           .append_metrics = [&ingest](std::string& out) {
                             if (ingest == nullptr) return;
                             const ingest::IngestStats* stats = ingest->stats();
                             if (stats != nullptr) ingest::AppendPrometheus(*stats, out);
                           }};
    if (!web_api.web_root.empty() && !std::filesystem::exists(web_api.web_root + "/index.html")) {
      LogEvent("warning", "web_console_missing",
               {{"web_root", web_api.web_root},
                {"hint", "tools/build-web.sh builds it; the API is served without it"}});
    }
    auto started = http::HttpServer::Start(
        web_api, http::HttpServerOptions{
                     .listen = absl::GetFlag(FLAGS_http_listen),
                     .allow_plaintext_off_loopback = absl::GetFlag(FLAGS_plaintext_off_loopback),
                     .tls_cert = absl::GetFlag(FLAGS_http_tls_cert),
                     .tls_key = absl::GetFlag(FLAGS_http_tls_key)});
    if (!started.ok()) return Fatal("http_start_failed", started.status());
    web = std::move(*started);
    LogEvent("info", "http_listening",
             {{"address", with_port(absl::GetFlag(FLAGS_http_listen), web->port())},
              {"tls", web_api.over_tls}});
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
  LogEvent("info", "stopping",
           {{"signal", std::string(received == SIGTERM ? "SIGTERM" : "SIGINT")}});
  if (web) web->Stop();
  (*server)->Stop();
  ingest.reset();
  notifier->reset();
  ticker.reset();
  absl::Status reports_status = (*reports)->Stop();
  if (!reports_status.ok())
    LogEvent("error", "report_failed", {{"status", reports_status.ToString()}});
  ledger->Stop();
  head = ledger->head();
  LogEvent(
      "info", "stopped",
      {{"head_seq", head.seq}, {"head_hash", ledger::ToHex(absl::MakeConstSpan(head.chain_hash))}});
  return 0;
}

}  // namespace
}  // namespace wattledger

int main(int argc, char** argv) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::SetProgramUsageMessage("wattd --data DIR [--rpc_listen 127.0.0.1:7600] [--config FILE]");
  auto args = wattledger::tools::NormaliseArgs(argc, argv);
  if (!args.ok()) {
    wattledger::ledger::LogEvent("error", "bad_arguments",
                                 {{"status", std::string(args.status().message())}});
    return 2;
  }
  std::vector<char*> pointers;
  for (auto& arg : *args) pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  return wattledger::Run();
}
