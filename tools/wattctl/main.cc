// wattctl: the operator's and auditor's command line. Commands that change
// the ledger are signed locally with the caller's key file and submitted to
// wattd over RPC; the views and reports are queries answered by wattd in a
// session opened with the same key. Every read also works on a data
// directory directly (a RocksDB secondary, so it works while wattd runs), and
// verify on an export file.
#include <cstdio>
#include <functional>
#include <map>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "tools/common/cli.h"
#include "tools/wattctl/commands.h"

namespace {

constexpr char kUsage[] = R"(wattctl <command> [flags]

  init      --data DIR [--campus NAME]           create a ledger: ledger key, first admin key
  keygen    --out FILE.pem                       new Ed25519 key (FILE.pem 0600, FILE.pub)
  tls-init  --out DIR [--holder card-center]     development CA + wattd and client certificates
  key register --key ADMIN.pem --public-key HEX|FILE.pub --role ROLE [--holder NAME]
  key revoke   --key ADMIN.pem --key_id HEX [--reason TEXT]
  key list  [--server ADDR | --data DIR]
  head      [--server ADDR | --data DIR]
  log       [--server ADDR | --data DIR] [--from SEQ] [--limit N] [--stream NAME]
  log --follow --server ADDR [--from SEQ] [--follow-seconds N]   catch up, then print live
  verify    --data DIR | --server ADDR | --file FILE[,FILE...] [--ledger-key HEX|FILE.pub]
  export    (--data DIR | --server ADDR) --out FILE [--from SEQ]
  To wattd over TLS add --tls-ca CA.pem (and --tls-cert/--tls-key when it asks for a client cert).
  Reading the log over TLS or off loopback needs a session: add --key (an admin, operator or
  auditor key); wattd checks its signature of a fresh challenge and the key's role.

Campus (signed with --key, sent to --server):
  building add --id B01 --name NAME            gateway add --id G1 --address HOST:PORT [--mode server|client]
  room add --id B01-301 --building B01 --floor 3 --number 301 --capacity 4 [--tariff-class CLASS]
  occupant assign --room R --person ID --name NAME --identity CLASS --card NO
  occupant moveout --room R --person ID [--reason TEXT]
  meter install --address 12DIGITS --gateway G1 --room R [--circuit 1] [--initial-wh N]
  meter replace --old-meter A --new-meter B --old-final-wh N --new-initial-wh M [--circuit 1]
  tariff set --identity CLASS --tiers 200:0.5880,0:0.6380 [--allowance-kwh-per-year 140] [--effective-from now|RFC3339]
  overdraft set --room R --limit-fen N
  deposit --room R --amount-fen N --card NO --cashier ID [--channel counter|web|card-center]
  reverse --seq DEPOSIT_SEQ --reason TEXT
  refund --room R --person ID --reason graduation|transfer|other
  exchange --room FROM --to TO --person ID [--swap-person ID]
  readings --gateway G1 --csv FILE             (address,circuit,total_wh[,read_at_us]; ingest key)
  import [--buildings F] [--gateways F] [--rooms F] [--occupants F] [--meters F]   all or nothing
  seed-demo --data DIR [--g1_address 127.0.0.1:9601]   the demo campus (keys in DIR/keys, demo only)

Meters (signed with --key, sent to --server; wattd delivers and records the outcome):
  control cut|restore|close-permit|keep-power|keep-power-clear --meter ADDR --reason TEXT [--circuit 1]
  control params --meter ADDR --reason TEXT [--load_limit_w W] [--malicious_step_w W]
      [--malicious_pf_milli 950] [--recovery_minutes M] [--overdraft_fen N]
      [--workday 'hh:mm,on|off|night[,W];...'] [--holiday ...]
  control policy --scope campus|building:B|room:R --reason TEXT [policy flags, see projections/control/README.md]

Views (queries: asked of wattd in a session with --key [--server ADDR], or read from --data DIR
(default: data) beside a running wattd; the same lines either way):
  room show [--room R]                         balances, allowance, occupants
  room balance --room R                        balance, what it still buys, power on or off
  room status --room R                         live V, I, P, PF and relay of each meter, balance, power on/off and why
  control show [--meter ADDR]                  each meter's latest commands: pending, delivered, failed
  device status [--gateway G] [--meter ADDR]   online/offline/fault and error counters
  control why --room R                         the relay state each meter of the room should have, and why
  violations [--room R]                        load-limit, malicious-load and other violations with evidence
  alarms [--all] [--json]                      open alarms, most severe first (--all: cleared ones too)
  notifications [--person ID]                  the reminder outbox and each message's delivery state

DL/T 645 frames (offline, nothing is sent; encode prints hex, decode one JSON line per frame):
  dlt645 decode HEX                            FE preambles and junk skipped; bad frames as errors
  dlt645 encode read --address 12DIGITS --di 00010000 [--circuit 1-4]
  dlt645 encode control --address A --action trip|close-permit|close-direct|keep-power|keep-power-clear
      [--valid-until YYYY-MM-DDThh:mm:ss]        (default: 10 minutes from now, local time)
  dlt645 encode time [--at YYYY-MM-DDThh:mm:ss]  broadcast time sync to 999999999999 (default: now)
  dlt645 encode write --address A --parameter NAME --value N [--circuit 1-4]
      | --parameter workday-period|holiday-period --slot 1-8 --schedule hh:mm,on|off|night[,W]
      | --di DI --value-hex HEX                  (names and units: ingest/dlt645/README.md)
  dlt645 encode address                        read the address of the only meter on the bus
  encode also takes [--password 02000000] [--operator-code 00000000] [--preamble 0-4]

Reports (queries like the views; --format json|csv; dates are campus days):
  report consumption [--by room|building] [--period day|month|quarter|year] [--since YYYY-MM-DD] [--until YYYY-MM-DD]
  report violations  [--by room|building] [--period day|month|quarter|year] [--since YYYY-MM-DD] [--until YYYY-MM-DD]   by kind, lockouts
  report deposits    [--by cashier|channel|total] [--since YYYY-MM-DD] [--until YYYY-MM-DD]
  report refunds     [--since YYYY-MM-DD] [--until YYYY-MM-DD]
  report settlement  [--since YYYY-MM-DD] [--until YYYY-MM-DD]   card-center entries and day totals
  report balances    [--seq N | --until YYYY-MM-DD]              every room at a seq or a day's end

Private keys may be passphrase-protected: --passphrase_file FILE or $WATTLEDGER_PASSPHRASE.
Roles: admin, operator, cashier, card-center, ingest, auditor.)";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  auto args = wattledger::tools::NormaliseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "wattctl: %s\n", std::string(args.status().message()).c_str());
    return 2;
  }
  std::vector<char*> pointers;
  for (auto& arg : *args) pointers.push_back(arg.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  std::vector<std::string> words(positional.begin() + 1, positional.end());
  std::string command = absl::StrJoin(words, " ");

  namespace w = wattledger::wattctl;
  // `dlt645 decode HEX...` takes the frame as positional words (spaces allowed).
  if (words.size() >= 2 && words[0] == "dlt645" && words[1] == "decode") {
    return w::Dlt645Decode(absl::StrJoin(words.begin() + 2, words.end(), ""));
  }
  const std::map<std::string, std::function<int()>> commands = {
      {"init", w::Init},
      {"keygen", w::Keygen},
      {"tls-init", w::TlsInit},
      {"key register", w::KeyRegister},
      {"key revoke", w::KeyRevoke},
      {"key list", w::KeyList},
      {"head", w::Head},
      {"log", w::Log},
      {"verify", w::Verify},
      {"export", w::Export},
      {"building add", w::BuildingAdd},
      {"gateway add", w::GatewayAdd},
      {"room add", w::RoomAdd},
      {"occupant assign", w::OccupantAssign},
      {"occupant moveout", w::OccupantMoveOut},
      {"meter install", w::MeterInstall},
      {"meter replace", w::MeterReplace},
      {"tariff set", w::TariffSet},
      {"overdraft set", w::OverdraftSet},
      {"deposit", w::Deposit},
      {"reverse", w::Reverse},
      {"refund", w::Refund},
      {"exchange", w::Exchange},
      {"readings", w::Readings},
      {"room show", w::RoomShow},
      {"control cut", w::ControlCut},
      {"control restore", w::ControlRestore},
      {"control close-permit", w::ControlClosePermit},
      {"control keep-power", w::ControlKeepPower},
      {"control keep-power-clear", w::ControlKeepPowerClear},
      {"control params", w::ControlParams},
      {"control show", w::ControlShow},
      {"device status", w::DeviceStatusShow},
      {"control policy", w::ControlPolicySet},
      {"control why", w::ControlWhy},
      {"room status", w::RoomStatus},
      {"room balance", w::RoomBalance},
      {"violations", w::ViolationList},
      {"alarms", w::AlarmList},
      {"notifications", w::NotificationList},
      {"dlt645 encode read", [] { return w::Dlt645Encode("read"); }},
      {"dlt645 encode control", [] { return w::Dlt645Encode("control"); }},
      {"dlt645 encode time", [] { return w::Dlt645Encode("time"); }},
      {"dlt645 encode write", [] { return w::Dlt645Encode("write"); }},
      {"dlt645 encode address", [] { return w::Dlt645Encode("address"); }},
      {"import", w::Import},
      {"seed-demo", w::SeedDemo},
      {"report consumption", [] { return w::Report("consumption"); }},
      {"report violations", [] { return w::Report("violations"); }},
      {"report deposits", [] { return w::Report("deposits"); }},
      {"report refunds", [] { return w::Report("refunds"); }},
      {"report settlement", [] { return w::Report("settlement"); }},
      {"report balances", [] { return w::Report("balances"); }},
  };
  auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  return it->second();
}
