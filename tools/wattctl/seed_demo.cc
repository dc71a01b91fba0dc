// wattctl seed-demo: the demo campus the README's run command starts with —
// service keys for an operator, a cashier, the card center and the ingest
// service (kept under DATA/keys for the demo only), the usual tariffs, one
// building with 256 rooms behind two gateways of 128 meters (one collector in
// each mode), occupants, and a first deposit per room but one (B01-832 is
// vacant and unpaid, to show an arrears cut). Every request has a
// fixed idempotency key, so running it again changes nothing.
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "ledger/roles.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

ABSL_FLAG(std::string, g1_address, "127.0.0.1:9601",
          "seed-demo: where the demo's collector G1 listens (meter-sim --demo_g1)");

namespace wattledger::wattctl {
namespace {

constexpr int kFloors = 8;
constexpr int kRoomsPerFloor = 32;
constexpr int kMetersPerGateway = 128;
// B01-832 (meter 000000010256, on G2): no occupants and no first deposit, so
// its first charged use falls below the overdraft limit and cuts it.
constexpr int kVacantRoom = kFloors * kRoomsPerFloor - 1;

class Seeder {
 public:
  Seeder(rpc::LedgerClient& client, std::string keys_dir)
      : client_(client), keys_dir_(std::move(keys_dir)) {}

  absl::StatusOr<ledger::SigningKey> Key(const std::string& name) {
    std::string path = keys_dir_ + "/" + name + ".pem";
    if (!std::filesystem::exists(path)) {
      WL_ASSIGN_OR_RETURN(auto key, ledger::SigningKey::Generate());
      WL_RETURN_IF_ERROR(tools::WriteKeyPair(key, path, ""));
    }
    return ledger::SigningKey::LoadPem(path, "");
  }

  template <typename Fill>
  absl::StatusOr<ledger::AppendResult> Submit(const ledger::SigningKey& key,
                                              const std::string& stream,
                                              const std::string& idempotency_key, Fill fill) {
    capnp::MallocMessageBuilder message;
    auto body = message.initRoot<schema::EventBody>();
    body.setIdempotencyKey(idempotency_key);
    body.setIssuedAtUs(absl::ToUnixMicros(absl::Now()));
    body.setStream(stream);
    fill(body);
    auto result = client_.Submit(ledger::SignBody(body.asReader(), key));
    if (result.ok()) ++(result->duplicate ? repeated_ : appended_);
    return result;
  }

  int appended() const { return appended_; }
  int repeated() const { return repeated_; }

 private:
  rpc::LedgerClient& client_;
  std::string keys_dir_;
  int appended_ = 0;
  int repeated_ = 0;
};

std::string RoomId(int floor, int index) { return absl::StrFormat("B01-%d%02d", floor, index + 1); }

}  // namespace

int SeedDemo() {
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty())
    return Usage("seed-demo needs --data DIR (its keys/admin.pem signs the set-up)");
  auto client = ConnectToWattd();
  if (!client.ok()) return Fail(client.status());
  Seeder seeder(**client, data + "/keys");
  auto admin = ledger::SigningKey::LoadPem(data + "/keys/admin.pem", "");
  if (!admin.ok()) return Fail(admin.status());

  std::map<std::string, ledger::SigningKey> keys;
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, schema::Role>>{{"operator", schema::Role::OPERATOR},
                                                         {"cashier", schema::Role::CASHIER},
                                                         {"card-center", schema::Role::CARD_CENTER},
                                                         {"ingest", schema::Role::INGEST}}) {
    auto key = seeder.Key(name);
    if (!key.ok()) return Fail(key.status());
    keys.emplace(name, *key);
    auto registered =
        seeder.Submit(*admin, "keys", "demo/key/" + name, [&](schema::EventBody::Builder body) {
          auto out = body.initKeyRegistered();
          out.setPublicKey(ledger::AsData(absl::MakeConstSpan(key->public_key())));
          out.setRole(role);
          out.setHolder("demo " + name);
        });
    if (!registered.ok() && registered.status().code() != absl::StatusCode::kAlreadyExists) {
      return Fail(registered.status());
    }
  }
  const ledger::SigningKey& op = keys.at("operator");

  // Free allowances as universities publish them: 140, 154 and 160 kWh a year.
  struct TariffRow {
    const char* identity;
    int64_t allowance_wh_per_year;
  };
  for (const TariffRow& row :
       {TariffRow{"undergraduate", 140'000}, TariffRow{"postgraduate", 154'000},
        TariffRow{"doctoral", 160'000}, TariffRow{"staff", 0}, TariffRow{"other", 0}}) {
    auto set = seeder.Submit(op, std::string("tariff:") + row.identity,
                             std::string("demo/tariff/") + row.identity,
                             [&](schema::EventBody::Builder body) {
                               auto tariff = body.initTariffSet();
                               tariff.setIdentityClass(row.identity);
                               tariff.setEffectiveFromUs(body.getIssuedAtUs());
                               auto tiers = tariff.initTiers(2);
                               tiers[0].setUptoWh(200'000);
                               tiers[0].setPricePerKwh(5880);
                               tiers[1].setUptoWh(0);
                               tiers[1].setPricePerKwh(6380);
                               tariff.setAllowanceWhPerYear(row.allowance_wh_per_year);
                             });
    // Run again later, the same tariff key carries another effective time.
    if (!set.ok() && set.status().code() != absl::StatusCode::kAlreadyExists)
      return Fail(set.status());
  }

  auto imported =
      seeder.Submit(op, "registry", "demo/registry", [&](schema::EventBody::Builder body) {
        auto import = body.initRegistryImported();
        import.setSource("wattctl seed-demo");
        auto building = import.initBuildings(1)[0];
        building.setBuildingId("B01");
        building.setName("Demo Dormitory 1");
        building.setCampus("Demo Campus");
        auto gateways = import.initGateways(2);
        gateways[0].setGatewayId("G1");
        gateways[0].setAddress(absl::GetFlag(FLAGS_g1_address));
        gateways[0].setLocation("B01 floor 1-4 riser");
        gateways[0].setMode(schema::GatewayMode::SERVER);
        gateways[1].setGatewayId("G2");
        gateways[1].setAddress("G2");
        gateways[1].setLocation("B01 floor 5-8 riser");
        gateways[1].setMode(schema::GatewayMode::CLIENT);
        auto rooms = import.initRooms(kFloors * kRoomsPerFloor);
        auto meters = import.initMeters(kFloors * kRoomsPerFloor);
        std::vector<std::tuple<std::string, std::string, std::string, std::string>> people;
        static const char* kClasses[] = {"undergraduate", "undergraduate", "undergraduate",
                                         "postgraduate", "doctoral"};
        for (int floor = 1; floor <= kFloors; ++floor) {
          for (int index = 0; index < kRoomsPerFloor; ++index) {
            int n = (floor - 1) * kRoomsPerFloor + index;
            auto room = rooms[n];
            room.setRoomId(RoomId(floor, index));
            room.setBuildingId("B01");
            room.setFloor(floor);
            room.setNumber(absl::StrFormat("%d%02d", floor, index + 1));
            room.setCapacity(4);
            auto meter = meters[n];
            meter.setMeterAddress(absl::StrFormat("%012d", 10001 + n));
            meter.setGatewayId(n < kMetersPerGateway ? "G1" : "G2");
            meter.setRoomId(RoomId(floor, index));
            meter.setCircuit(1);
            // As the installer reads it off the display (10 Wh steps), from
            // the simulator's demo meter (tools/meter-sim/building.cc).
            meter.setInitialReadingWh((1'000'000 + 7919 * n % 500'000) / 10 * 10);
            meter.setRatedCurrentMa(40'000);
            meter.setNominalVoltageDv(2200);
            // The last room is vacant and unpaid: the demo's arrears cut.
            int occupants = n == kVacantRoom ? 0 : 2 + n % 3;
            for (int bed = 0; bed < occupants; ++bed) {
              int person = n * 4 + bed;
              people.emplace_back(RoomId(floor, index), absl::StrFormat("S2026%05d", person),
                                  absl::StrFormat("Student %d", person), kClasses[(n + bed) % 5]);
            }
          }
        }
        auto occupants = import.initOccupants(static_cast<unsigned>(people.size()));
        for (size_t i = 0; i < people.size(); ++i) {
          occupants[i].setRoomId(std::get<0>(people[i]));
          occupants[i].setPersonId(std::get<1>(people[i]));
          occupants[i].setName(std::get<2>(people[i]));
          occupants[i].setIdentityClass(std::get<3>(people[i]));
          occupants[i].setCardNo(absl::StrCat("C", std::get<1>(people[i]).substr(1)));
        }
      });
  if (!imported.ok()) return Fail(imported.status());

  const ledger::SigningKey& cashier = keys.at("cashier");
  for (int floor = 1; floor <= kFloors; ++floor) {
    for (int index = 0; index < kRoomsPerFloor; ++index) {
      int n = (floor - 1) * kRoomsPerFloor + index;
      std::string room_id = RoomId(floor, index);
      if (n == kVacantRoom) continue;
      auto deposit = seeder.Submit(cashier, "room:" + room_id, "demo/deposit/" + room_id,
                                   [&](schema::EventBody::Builder body) {
                                     auto out = body.initDepositMade();
                                     out.setRoomId(room_id);
                                     out.setAmountFen(5'000 + (n % 4) * 5'000);
                                     out.setChannel(schema::DepositChannel::COUNTER);
                                     out.setPayerCardNo(absl::StrFormat("C2026%05d", n * 4));
                                     out.setCashierId("demo-counter-1");
                                   });
      if (!deposit.ok()) return Fail(deposit.status());
    }
  }
  std::printf(
      "{\"seeded\":true,\"appended\":%d,\"alreadyThere\":%d,\"rooms\":%d,\"meters\":%d,\"keys\":\"%"
      "s/keys\"}\n",
      seeder.appended(), seeder.repeated(), kFloors * kRoomsPerFloor, kFloors * kRoomsPerFloor,
      data.c_str());
  return 0;
}

}  // namespace wattledger::wattctl
