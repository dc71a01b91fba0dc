// campus_year: how long a campus's history takes to replay, and in how much
// memory. `generate` builds a ledger of a simulated campus through the real
// append pipeline: --rooms rooms (one meter each, 128 per gateway, three
// occupants), a reading sweep of every gateway every --sweep_minutes, about
// --deposits_per_day deposits a day, and the ledger's day and month ticks,
// for --days days of simulated time. `replay` then rebuilds the campus state
// from that log alone (state-only replay, the path a restart or an auditor's
// rebuild takes) and prints one JSON line: events, seconds to open the source
// and to replay it (wall and CPU), rates, the process's peak resident memory,
// and whether the rebuilt state equals the live state the generator left,
// row for row and byte for byte. Run the two as separate processes so the
// peak memory is the replay's own.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "ledger/clock.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "projections/calendar.h"
#include "projections/domain.h"

ABSL_FLAG(std::string, dir, "/tmp/campus-year", "where the generated ledger lives");
ABSL_FLAG(int32_t, rooms, 10000, "rooms (one meter each)");
ABSL_FLAG(int32_t, days, 365, "days of simulated history");
ABSL_FLAG(int32_t, sweep_minutes, 15, "minutes between reading sweeps");
ABSL_FLAG(int32_t, deposits_per_day, 3000, "deposits per day");
ABSL_FLAG(uint64_t, seed, 1, "random seed");

namespace wattledger {
namespace {

using ledger::SigningKey;
using Steady = std::chrono::steady_clock;

constexpr int kMetersPerGateway = 128;
// 2026-09-01 00:00 campus time.
constexpr int64_t kStartUs =
    1'788'192'000'000'000 - projections::kCampusUtcOffsetSeconds * 1'000'000;

std::string Address(int room) { return absl::StrFormat("%012d", 100000 + room); }
std::string RoomId(int room) { return absl::StrFormat("R%05d", room); }

// Keeps at most `window` submissions in flight and reports failures.
class Pipeline {
 public:
  Pipeline(ledger::Ledger& ledger, int window) : ledger_(ledger), window_(window) {}
  void Submit(ledger::SignedRequest request) {
    {
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ < window_; };
      mu_.Await(absl::Condition(&room));
      ++in_flight_;
    }
    ledger_.Submit(std::move(request), [this](absl::StatusOr<ledger::AppendResult> result) {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      if (!result.ok() && failures_++ < 5) {
        std::fprintf(stderr, "refused: %s\n", std::string(result.status().ToString()).c_str());
      }
    });
  }
  void Drain() {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
    mu_.Await(absl::Condition(&idle));
  }
  int failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  ledger::Ledger& ledger_;
  const int window_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename Fill>
ledger::SignedRequest Request(const SigningKey& key, const std::string& stream,
                              const std::string& idempotency, int64_t now_us, Fill fill) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(idempotency);
  body.setIssuedAtUs(now_us);
  body.setStream(stream);
  fill(body);
  return ledger::SignBody(body.asReader(), key);
}

ledger::LedgerOptions Options(const std::string& dir, const SigningKey& ledger_key,
                              const ledger::Clock* clock, ledger::InlineProjection* domain) {
  ledger::LedgerOptions options;
  options.data_dir = dir + "/ledger";
  options.ledger_key = ledger_key;
  options.clock = clock;
  options.projections = {domain};
  options.checkpoint_every_events = 100000;
  options.checkpoint_every_us = INT64_MAX / 2;
  return options;
}

int Generate() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int rooms = absl::GetFlag(FLAGS_rooms);
  const int gateways = (rooms + kMetersPerGateway - 1) / kMetersPerGateway;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto ledger_key = *SigningKey::Generate();
  auto admin = *SigningKey::Generate();
  auto op = *SigningKey::Generate();
  auto cashier = *SigningKey::Generate();
  auto ingest = *SigningKey::Generate();
  if (!ledger_key.SavePem(dir + "/ledger.pem", "").ok()) return 1;
  ledger::ManualClock clock(kStartUs);
  projections::Domain domain;  // the whole domain, as wattd runs it
  auto options = Options(dir, ledger_key, &clock, &domain);
  if (!ledger::Ledger::Initialize(options, admin.public_key(), "campus-year").ok()) return 1;
  auto opened = ledger::Ledger::Open(options);
  if (!opened.ok()) return 1;
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);
  Pipeline pipeline(*ledger, 1024);
  auto now = [&clock]() { return clock.NowMicros(); };

  for (const auto& [key, role] :
       std::vector<std::pair<const SigningKey*, schema::Role>>{{&op, schema::Role::OPERATOR},
                                                               {&cashier, schema::Role::CASHIER},
                                                               {&ingest, schema::Role::INGEST}}) {
    pipeline.Submit(
        Request(admin, "keys", absl::StrCat("key-", static_cast<int>(role)), now(), [&](auto body) {
          auto out = body.initKeyRegistered();
          out.setPublicKey(ledger::AsData(absl::MakeConstSpan(key->public_key())));
          out.setRole(role);
        }));
    pipeline.Drain();
  }
  pipeline.Submit(Request(op, "tariff", "tariff", now(), [&](auto body) {
    auto tariff = body.initTariffSet();
    tariff.setIdentityClass("undergraduate");
    tariff.setEffectiveFromUs(body.getIssuedAtUs());
    auto tiers = tariff.initTiers(2);
    tiers[0].setUptoWh(200'000);
    tiers[0].setPricePerKwh(5880);
    tiers[1].setPricePerKwh(6380);
    tariff.setAllowanceWhPerYear(140'000);
  }));
  pipeline.Drain();
  for (int g = 0; g < gateways; ++g) {
    pipeline.Submit(Request(op, "registry", absl::StrCat("import-", g), now(), [&](auto body) {
      auto import = body.initRegistryImported();
      if (g == 0) {
        auto building = import.initBuildings(1)[0];
        building.setBuildingId("B");
        building.setName("Campus");
      }
      auto gateway = import.initGateways(1)[0];
      gateway.setGatewayId(absl::StrCat("G", g));
      gateway.setAddress(absl::StrCat("10.0.", g / 250, ".", g % 250, ":8899"));
      int first = g * kMetersPerGateway;
      int count = std::min(kMetersPerGateway, rooms - first);
      auto room_list = import.initRooms(count);
      auto meter_list = import.initMeters(count);
      auto occupant_list = import.initOccupants(count * 3);
      for (int i = 0; i < count; ++i) {
        int r = first + i;
        room_list[i].setRoomId(RoomId(r));
        room_list[i].setBuildingId("B");
        room_list[i].setNumber(RoomId(r));
        room_list[i].setCapacity(4);
        meter_list[i].setMeterAddress(Address(r));
        meter_list[i].setGatewayId(absl::StrCat("G", g));
        meter_list[i].setRoomId(RoomId(r));
        meter_list[i].setCircuit(1);
        meter_list[i].setRatedCurrentMa(40'000);
        meter_list[i].setNominalVoltageDv(2200);
        for (int bed = 0; bed < 3; ++bed) {
          auto occupant = occupant_list[i * 3 + bed];
          occupant.setRoomId(RoomId(r));
          occupant.setPersonId(absl::StrCat("P", r * 4 + bed));
          occupant.setIdentityClass("undergraduate");
          occupant.setCardNo(absl::StrCat("C", r * 4 + bed));
        }
      }
    }));
    pipeline.Drain();
  }

  std::mt19937_64 random(absl::GetFlag(FLAGS_seed));
  std::vector<int64_t> registers(rooms, 0);
  const int64_t sweep_us = int64_t{absl::GetFlag(FLAGS_sweep_minutes)} * 60'000'000;
  const int sweeps_per_day = static_cast<int>(projections::kMicrosPerDay / sweep_us);
  const int deposits_per_sweep =
      std::max(1, absl::GetFlag(FLAGS_deposits_per_day) / sweeps_per_day);
  uint64_t events = 0;
  uint64_t readings = 0;
  Steady::time_point begin = Steady::now();
  for (int day = 0; day < absl::GetFlag(FLAGS_days); ++day) {
    for (int sweep = 0; sweep < sweeps_per_day; ++sweep) {
      pipeline.Drain();  // each sweep is issued at its own time
      clock.Set(kStartUs + int64_t{day} * projections::kMicrosPerDay + sweep * sweep_us + sweep_us);
      for (int g = 0; g < gateways; ++g) {
        int first = g * kMetersPerGateway;
        int count = std::min(kMetersPerGateway, rooms - first);
        pipeline.Submit(
            Request(ingest, absl::StrCat("gateway:G", g),
                    absl::StrCat("sweep-", day, "-", sweep, "-", g), now(), [&](auto body) {
                      auto batch = body.initReadingsBatch();
                      batch.setGatewayId(absl::StrCat("G", g));
                      batch.setSweepStartedUs(now());
                      auto list = batch.initReadings(count);
                      for (int i = 0; i < count; ++i) {
                        int r = first + i;
                        registers[r] = (registers[r] + static_cast<int64_t>(random() % 300)) %
                                       projections::kRegisterModulusWh;
                        list[i].setMeterAddress(Address(r));
                        list[i].setCircuit(1);
                        list[i].setReadAtUs(now());
                        list[i].setTotalWh(registers[r]);
                      }
                    }));
        ++events;
        readings += static_cast<uint64_t>(count);
      }
      for (int d = 0; d < deposits_per_sweep; ++d) {
        int r = static_cast<int>(random() % static_cast<uint64_t>(rooms));
        pipeline.Submit(
            Request(cashier, "room:" + RoomId(r), absl::StrCat("dep-", day, "-", sweep, "-", d),
                    now(), [&](auto body) {
                      auto deposit = body.initDepositMade();
                      deposit.setRoomId(RoomId(r));
                      deposit.setAmountFen(5000 + static_cast<int64_t>(random() % 10) * 1000);
                      deposit.setChannel(schema::DepositChannel::COUNTER);
                      deposit.setPayerCardNo(absl::StrCat("C", r * 4));
                      deposit.setCashierId("counter");
                    }));
        ++events;
      }
    }
    pipeline.Drain();
    int64_t day_end = kStartUs + int64_t{day + 1} * projections::kMicrosPerDay;
    for (schema::PeriodKind kind : {schema::PeriodKind::DAY, schema::PeriodKind::MONTH}) {
      if (kind == schema::PeriodKind::MONTH && projections::MonthStartUs(day_end) != day_end)
        continue;
      capnp::MallocMessageBuilder message;
      auto body = message.initRoot<schema::EventBody>();
      body.setIdempotencyKey(absl::StrCat("period-", static_cast<int>(kind), "-", day_end));
      body.setIssuedAtUs(now());
      body.setStream("periods");
      body.initPeriodClosed().setPeriodEndUs(day_end);
      body.getPeriodClosed().setKind(kind);
      auto ticked = ledger->SubmitAsLedger(ledger::Canonical(body.asReader())).get();
      if (!ticked.ok())
        std::fprintf(stderr, "tick: %s\n", std::string(ticked.status().ToString()).c_str());
    }
    if (day % 10 == 9) {
      std::fprintf(stderr, "day %d: head %llu, %.0f s\n", day + 1,
                   static_cast<unsigned long long>(ledger->head().seq),
                   std::chrono::duration<double>(Steady::now() - begin).count());
    }
  }
  pipeline.Drain();
  double seconds = std::chrono::duration<double>(Steady::now() - begin).count();
  std::printf(
      "{\"generated\":true,\"rooms\":%d,\"days\":%d,\"events\":%llu,\"readings\":%llu,"
      "\"head\":%llu,\"seconds\":%.1f,\"failures\":%d}\n",
      rooms, absl::GetFlag(FLAGS_days), static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(readings),
      static_cast<unsigned long long>(ledger->head().seq), seconds, pipeline.failures());
  return pipeline.failures() == 0 ? 0 : 1;
}

// User + system CPU seconds this process has used so far.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int ReplayYear() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  Steady::time_point open_begin = Steady::now();
  auto source = ledger::EventStore::Open(dir + "/ledger", {.mode = ledger::StoreMode::kReadOnly,
                                                           .create_if_missing = false,
                                                           .projection_families = {},
                                                           .env = nullptr,
                                                           .sequential_reads = true});
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", std::string(source.status().ToString()).c_str());
    return 1;
  }
  std::string target_dir = dir + "/replay";
  std::filesystem::remove_all(target_dir);
  auto target = ledger::EventStore::Open(target_dir, {.mode = ledger::StoreMode::kPrimary,
                                                      .create_if_missing = true,
                                                      .projection_families = {},
                                                      .env = nullptr});
  if (!target.ok()) {
    std::fprintf(stderr, "%s\n", std::string(target.status().ToString()).c_str());
    return 1;
  }
  double open_seconds = std::chrono::duration<double>(Steady::now() - open_begin).count();
  projections::Domain domain;
  ledger::ReplayOptions options;
  options.mode = ledger::ReplayMode::kStateOnly;
  double cpu_begin = CpuSeconds();
  Steady::time_point begin = Steady::now();
  auto replayed = ledger::Replay(**source, **target, {&domain}, options);
  double seconds = std::chrono::duration<double>(Steady::now() - begin).count();
  double cpu_seconds = CpuSeconds() - cpu_begin;
  if (!replayed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(replayed.status().ToString()).c_str());
    return 1;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  int64_t balance = 0;
  for (const auto& room : domain.campus().Rooms()) balance += room.balance_fen;
  // The generator's ledger holds the live state its writer committed.
  auto live = (*source)->Dump(ledger::EventStore::kState);
  auto rebuilt = (*target)->Dump(ledger::EventStore::kState);
  bool matches = live.ok() && rebuilt.ok() && *live == *rebuilt;
  std::printf(
      "{\"replayed\":true,\"events\":%llu,\"open_seconds\":%.2f,\"seconds\":%.2f,"
      "\"cpu_seconds\":%.2f,\"events_per_s\":%.0f,\"rooms\":%zu,\"total_balance_fen\":%lld,"
      "\"state_rows\":%zu,\"state_matches_live\":%s,\"peak_rss_mib\":%.0f}\n",
      static_cast<unsigned long long>(replayed->events), open_seconds, seconds, cpu_seconds,
      static_cast<double>(replayed->events) / seconds, domain.campus().Rooms().size(),
      static_cast<long long>(balance), rebuilt.ok() ? rebuilt->size() : 0,
      matches ? "true" : "false", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return matches ? 0 : 1;
}

}  // namespace
}  // namespace wattledger

int main(int argc, char** argv) {
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::string mode = positional.size() > 1 ? positional[1] : "";
  if (mode == "generate") return wattledger::Generate();
  if (mode == "replay") return wattledger::ReplayYear();
  std::fprintf(stderr, "usage: campus_year generate|replay [--dir D] [--rooms N] [--days N]\n");
  return 2;
}
