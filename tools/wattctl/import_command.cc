// wattctl import: rooms, occupants and meters (and the buildings and
// gateways they need) from CSV files, as one RegistryImported event that the
// ledger admits all or nothing. Syntax errors are reported with file and line
// before anything is sent; the ledger's refusal names the row, which is
// mapped back to its file and line. And wattctl seed-demo, which builds the
// demo campus the README's run command starts with.
//
// CSV: a header line, then comma-separated fields (no quoting):
//   buildings.csv  building_id,name,campus
//   gateways.csv   gateway_id,address,location,mode(server|client)
//   rooms.csv      room_id,building_id,floor,number,capacity[,tariff_class]
//   occupants.csv  room_id,person_id,name,identity_class,card_no
//   meters.csv meter_address,gateway_id,room_id,circuit,initial_wh,rated_current_ma[,voltage_dv]
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ledger/roles.h"
#include "tools/wattctl/commands.h"
#include "tools/wattctl/support.h"

namespace wattledger::wattctl {
namespace {

struct CsvFile {
  std::string path;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // the file line of each row
};

// Reads `path`; each syntax problem is appended to `errors` as "file:line: why".
CsvFile ReadCsv(const std::string& path, size_t min_fields, size_t max_fields,
                std::vector<std::string>& errors) {
  CsvFile csv{path, {}, {}};
  if (path.empty()) return csv;
  std::ifstream in(path);
  if (!in) {
    errors.push_back(absl::StrCat(path, ": cannot open"));
    return csv;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1 || absl::StripAsciiWhitespace(line).empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    for (auto& field : fields) field = std::string(absl::StripAsciiWhitespace(field));
    if (fields.size() < min_fields || fields.size() > max_fields) {
      errors.push_back(absl::StrCat(path, ":", number, ": expected ", min_fields,
                                    min_fields == max_fields ? "" : absl::StrCat("-", max_fields),
                                    " fields, found ", fields.size()));
      continue;
    }
    csv.rows.push_back(std::move(fields));
    csv.lines.push_back(number);
  }
  return csv;
}

template <typename T>
bool Number(const CsvFile& csv, size_t row, size_t field, T& out,
            std::vector<std::string>& errors) {
  if (absl::SimpleAtoi(csv.rows[row][field], &out)) return true;
  errors.push_back(absl::StrCat(csv.path, ":", csv.lines[row], ": field ", field + 1, " '",
                                csv.rows[row][field], "' is not a number"));
  return false;
}

// "rooms row 7: ..." from the ledger -> "rooms.csv:8: ...".
std::string MapRowError(absl::string_view message,
                        const std::map<std::string, const CsvFile*>& files) {
  for (const auto& [name, file] : files) {
    std::string prefix = absl::StrCat(name, " row ");
    size_t at = message.find(prefix);
    if (at == absl::string_view::npos) continue;
    size_t row = 0;
    absl::string_view rest = message.substr(at + prefix.size());
    size_t colon = rest.find(':');
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, colon), &row) ||
        row == 0 || row > file->lines.size()) {
      break;
    }
    return absl::StrCat(file->path, ":", file->lines[row - 1], rest.substr(colon));
  }
  return std::string(message);
}

}  // namespace

int Import() {
  std::vector<std::string> errors;
  CsvFile buildings = ReadCsv(absl::GetFlag(FLAGS_buildings), 2, 3, errors);
  CsvFile gateways = ReadCsv(absl::GetFlag(FLAGS_gateways), 2, 4, errors);
  CsvFile rooms = ReadCsv(absl::GetFlag(FLAGS_rooms), 5, 6, errors);
  CsvFile occupants = ReadCsv(absl::GetFlag(FLAGS_occupants), 5, 5, errors);
  CsvFile meters = ReadCsv(absl::GetFlag(FLAGS_meters), 6, 7, errors);

  capnp::MallocMessageBuilder message;
  auto import = message.initRoot<schema::RegistryImported>();
  import.setSource(absl::StrJoin({rooms.path, occupants.path, meters.path}, " "));
  auto building_list = import.initBuildings(static_cast<unsigned>(buildings.rows.size()));
  for (size_t i = 0; i < buildings.rows.size(); ++i) {
    const auto& row = buildings.rows[i];
    building_list[i].setBuildingId(row[0]);
    building_list[i].setName(row[1]);
    if (row.size() > 2) building_list[i].setCampus(row[2]);
  }
  auto gateway_list = import.initGateways(static_cast<unsigned>(gateways.rows.size()));
  for (size_t i = 0; i < gateways.rows.size(); ++i) {
    const auto& row = gateways.rows[i];
    gateway_list[i].setGatewayId(row[0]);
    gateway_list[i].setAddress(row[1]);
    if (row.size() > 2) gateway_list[i].setLocation(row[2]);
    bool client = row.size() > 3 && row[3] == "client";
    if (row.size() > 3 && row[3] != "client" && row[3] != "server") {
      errors.push_back(
          absl::StrCat(gateways.path, ":", gateways.lines[i], ": mode is server or client"));
    }
    gateway_list[i].setMode(client ? schema::GatewayMode::CLIENT : schema::GatewayMode::SERVER);
  }
  auto room_list = import.initRooms(static_cast<unsigned>(rooms.rows.size()));
  for (size_t i = 0; i < rooms.rows.size(); ++i) {
    const auto& row = rooms.rows[i];
    int32_t floor = 0;
    uint32_t capacity = 0;
    Number(rooms, i, 2, floor, errors);
    Number(rooms, i, 4, capacity, errors);
    room_list[i].setRoomId(row[0]);
    room_list[i].setBuildingId(row[1]);
    room_list[i].setFloor(floor);
    room_list[i].setNumber(row[3]);
    room_list[i].setCapacity(capacity);
    if (row.size() > 5) room_list[i].setTariffClass(row[5]);
  }
  auto occupant_list = import.initOccupants(static_cast<unsigned>(occupants.rows.size()));
  for (size_t i = 0; i < occupants.rows.size(); ++i) {
    const auto& row = occupants.rows[i];
    occupant_list[i].setRoomId(row[0]);
    occupant_list[i].setPersonId(row[1]);
    occupant_list[i].setName(row[2]);
    occupant_list[i].setIdentityClass(row[3]);
    occupant_list[i].setCardNo(row[4]);
  }
  auto meter_list = import.initMeters(static_cast<unsigned>(meters.rows.size()));
  for (size_t i = 0; i < meters.rows.size(); ++i) {
    const auto& row = meters.rows[i];
    uint32_t circuit = 0;
    int64_t initial_wh = 0;
    int64_t rated_ma = 0;
    int32_t voltage_dv = 2200;
    Number(meters, i, 3, circuit, errors);
    Number(meters, i, 4, initial_wh, errors);
    Number(meters, i, 5, rated_ma, errors);
    if (row.size() > 6) Number(meters, i, 6, voltage_dv, errors);
    meter_list[i].setMeterAddress(row[0]);
    meter_list[i].setGatewayId(row[1]);
    meter_list[i].setRoomId(row[2]);
    meter_list[i].setCircuit(static_cast<uint8_t>(circuit));
    meter_list[i].setInitialReadingWh(initial_wh);
    meter_list[i].setRatedCurrentMa(rated_ma);
    meter_list[i].setNominalVoltageDv(voltage_dv);
  }
  if (!errors.empty()) {
    for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.c_str());
    std::fprintf(stderr, "import: nothing was imported (%zu errors)\n", errors.size());
    return 1;
  }
  std::map<std::string, const CsvFile*> files = {{"buildings", &buildings},
                                                 {"gateways", &gateways},
                                                 {"rooms", &rooms},
                                                 {"occupants", &occupants},
                                                 {"meters", &meters}};
  auto key = tools::LoadKeyFile(absl::GetFlag(FLAGS_key), absl::GetFlag(FLAGS_passphrase_file));
  if (!key.ok()) return Fail(key.status());
  capnp::MallocMessageBuilder body_message;
  auto body = body_message.initRoot<schema::EventBody>();
  std::string idempotency = absl::GetFlag(FLAGS_idempotency_key);
  body.setIdempotencyKey(idempotency.empty() ? RandomIdempotencyKey() : idempotency);
  body.setIssuedAtUs(absl::ToUnixMicros(absl::Now()));
  body.setStream("registry");
  body.setRegistryImported(import.asReader());
  auto client = ConnectToWattd();
  if (!client.ok()) return Fail(client.status());
  auto result = (*client)->Submit(ledger::SignBody(body.asReader(), *key));
  if (!result.ok()) {
    std::fprintf(stderr, "import refused, nothing was imported: %s\n",
                 MapRowError(result.status().message(), files).c_str());
    return 1;
  }
  std::printf(
      "{\"seq\":%llu,\"buildings\":%zu,\"gateways\":%zu,\"rooms\":%zu,\"occupants\":%zu,\"meters\":"
      "%zu}\n",
      static_cast<unsigned long long>(result->seq), buildings.rows.size(), gateways.rows.size(),
      rooms.rows.size(), occupants.rows.size(), meters.rows.size());
  return 0;
}

}  // namespace wattledger::wattctl
