// Every wattctl flag, defined once; commands read them through flags.h.
#include "tools/wattctl/flags.h"

ABSL_FLAG(std::string, data, "", "data directory (as created by `wattctl init`)");
ABSL_FLAG(std::string, server, "127.0.0.1:7600", "wattd RPC address");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that signed wattd's certificate: talk TLS to --server");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate, when wattd asks for one");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, campus, "Demo Campus", "init: the campus name recorded at genesis");
ABSL_FLAG(std::string, key, "", "your private key file (PKCS#8 PEM)");
ABSL_FLAG(std::string, passphrase_file, "", "file holding the key's passphrase");
ABSL_FLAG(std::string, out, "", "output file");
ABSL_FLAG(std::string, public_key, "", "key register: public key as hex or a .pub file");
ABSL_FLAG(std::string, role, "", "key register: the key's role");
ABSL_FLAG(std::string, holder, "", "key register: who holds the key");
ABSL_FLAG(std::string, key_id, "", "key revoke: the key id (hex)");
ABSL_FLAG(std::string, reason, "", "key revoke: why");
ABSL_FLAG(std::string, idempotency_key, "", "reuse to retry a request safely (default: random)");
ABSL_FLAG(uint64_t, from, 1, "first seq to read or export");
ABSL_FLAG(uint64_t, limit, UINT64_MAX, "log: at most this many events");
ABSL_FLAG(bool, follow, false,
          "log: from --server, keep printing events as they are appended (catch-up, then live)");
ABSL_FLAG(int64_t, follow_seconds, 0, "log --follow: stop after this long (0: until interrupted)");
ABSL_FLAG(std::string, stream, "", "log: only this stream");
ABSL_FLAG(std::vector<std::string>, file, {}, "verify: export file(s), in order");
ABSL_FLAG(std::string, ledger_key, "", "verify: the trusted ledger public key (hex or .pub)");
ABSL_FLAG(std::string, id, "", "building/gateway/room add: its id");
ABSL_FLAG(std::string, name, "", "building add, occupant assign: the name");
ABSL_FLAG(std::string, address, "",
          "gateway add: host:port; meter install: 12-digit meter address");
ABSL_FLAG(std::string, location, "", "gateway add: where it hangs");
ABSL_FLAG(std::string, mode, "server",
          "gateway add: server (wattd connects) or client (it connects)");
ABSL_FLAG(std::string, building, "", "room add: the building id");
ABSL_FLAG(int32_t, floor, 0, "room add: floor");
ABSL_FLAG(std::string, number, "", "room add: the door number");
ABSL_FLAG(uint32_t, capacity, 4, "room add: beds");
ABSL_FLAG(std::string, tariff_class, "", "room add: fixed tariff class (default: by occupants)");
ABSL_FLAG(std::string, room, "", "the room id");
ABSL_FLAG(std::string, meter, "", "the meter's 12-digit address");
ABSL_FLAG(std::string, person, "", "the person (student/staff) id");
ABSL_FLAG(std::string, identity, "undergraduate", "occupant assign: identity class");
ABSL_FLAG(std::string, card, "", "campus card number");
ABSL_FLAG(std::string, gateway, "", "meter install, readings: the gateway id");
ABSL_FLAG(uint32_t, circuit, 1, "meter install/replace: circuit 1-4");
ABSL_FLAG(int64_t, initial_wh, 0, "meter install: the register reading at installation (Wh)");
ABSL_FLAG(int64_t, rated_current_ma, 40000, "meter install: rated maximum current (mA)");
ABSL_FLAG(int32_t, voltage_dv, 2200, "meter install: nominal voltage (0.1 V)");
ABSL_FLAG(std::string, old_meter, "", "meter replace: the old meter address");
ABSL_FLAG(std::string, new_meter, "", "meter replace: the new meter address");
ABSL_FLAG(int64_t, old_final_wh, 0, "meter replace: the old meter's final reading (Wh)");
ABSL_FLAG(int64_t, new_initial_wh, 0, "meter replace: the new meter's initial reading (Wh)");
ABSL_FLAG(std::string, tiers, "", "tariff set: upto_kwh:price_cny,...,0:price_cny (0 = unbounded)");
ABSL_FLAG(std::string, effective_from, "now", "tariff set: RFC 3339 time or now");
ABSL_FLAG(double, allowance_kwh_per_year, 0, "tariff set: free kWh per occupant per year");
ABSL_FLAG(int64_t, limit_fen, 0, "overdraft set: how far below zero the balance may go (fen)");
ABSL_FLAG(int64_t, amount_fen, 0, "deposit: amount in fen");
ABSL_FLAG(std::string, channel, "counter", "deposit: counter, web or card-center");
ABSL_FLAG(std::string, cashier, "", "deposit: cashier or terminal id");
ABSL_FLAG(std::string, trade_no, "", "deposit: the card center trade number");
ABSL_FLAG(uint64_t, seq, 0, "reverse: the deposit's seq");
ABSL_FLAG(std::string, to, "", "exchange: the room moved to");
ABSL_FLAG(std::string, swap_person, "", "exchange: the person moving the other way");
ABSL_FLAG(std::string, csv, "", "readings: a CSV of address,circuit,total_wh[,read_at_us]");
ABSL_FLAG(std::string, rooms, "", "import: rooms CSV");
ABSL_FLAG(std::string, occupants, "", "import: occupants CSV");
ABSL_FLAG(std::string, meters, "", "import: meters CSV");
ABSL_FLAG(std::string, buildings, "", "import: buildings CSV");
ABSL_FLAG(std::string, gateways, "", "import: gateways CSV");
ABSL_FLAG(std::string, format, "json", "report: json or csv");
ABSL_FLAG(std::string, since, "", "report: from this campus date (YYYY-MM-DD)");
ABSL_FLAG(std::string, until, "", "report: to this campus date (YYYY-MM-DD), inclusive");
ABSL_FLAG(
    std::string, by, "",
    "report consumption: room (default) or building; report deposits: cashier, channel or total");
ABSL_FLAG(std::string, period, "month", "report consumption: day, month, quarter or year");
