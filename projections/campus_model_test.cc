// A seeded model test of the money domain. Each seed drives a few dozen
// random requests (registrations, tariffs, deposits, reversals, reading
// batches with rollovers, backward and implausible steps, refunds, exchanges,
// period ticks, retries of earlier requests, refused requests of every kind)
// through a real ledger opened with the campus projection, and through a
// small reference model written here from the rules (plain maps; it shares
// nothing with projections/ but the event schema). After every request the
// outcome (code, seq, receipt, derived events) and every room, meter and
// total must agree; at the end a full replay must equal the live store byte
// for byte.
//
// Reproduce one seed:  WL_MODEL_SEED=<seed> ./campus_model_test  (WL_MODEL_VERBOSE=1
//                      prints every request and the model's verdict)
// Explore more:        WL_MODEL_SEEDS=<count> WL_MODEL_FIRST_SEED=<first>
// CI runs seeds 1..200 in 8 shards (one CTest test each, so -j2 runs two).
// The model checks rules, not durability: its ledgers live on a tmpfs
// (/dev/shm) when there is one, or under WL_MODEL_DIR, so seeds cost CPU
// rather than fsyncs.
#include <capnp/pretty-print.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/event_format.h"
#include "ledger/ledger.h"
#include "ledger/limits.h"
#include "ledger/replay.h"
#include "projections/campus.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using absl::StatusCode;
using Body = schema::EventBody::Reader;
using Kind = schema::EventBody::Which;

// --- The reference model ------------------------------------------------------
// Constants as the spec states them (event.capnp, projections/README.md).

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kMinuteUs = 60 * kSecondUs;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr int64_t kCampusOffsetUs = 8 * kHourUs;  // UTC+8
constexpr int64_t kModulusWh = 1'000'000'000;     // 999999.99 kWh and one step
constexpr int64_t kStepSlackWh = 10;
constexpr int64_t kUnitsPerFen = 100'000;
constexpr int64_t kDepositMaxFen = 10'000'000;
constexpr int64_t kReversibleUs = 31 * kDayUs;
constexpr int64_t kIssuedWindowUs = 300 * kSecondUs;
constexpr uint32_t kGatewayMetersMax = 128;
constexpr size_t kBatchReadingsMax = 4 * 128;
// The model states these itself; they must be what the engine enforces.
static_assert(kModulusWh == kRegisterModulusWh);
static_assert(kStepSlackWh == kPlausibilitySlackWh);
static_assert(kDepositMaxFen == kDepositFenMax);
static_assert(kReversibleUs == kReversalWindowUs);
static_assert(kIssuedWindowUs == ledger::kDefaultTimeWindowUs);
static_assert(kGatewayMetersMax == kMetersPerGatewayMax);

// The civil calendar from day numbers (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct Civil {
  int64_t year, month, day;
};

Civil CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  return Civil{year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

int64_t CampusDay(int64_t time_us) { return (time_us + kCampusOffsetUs) / kDayUs; }  // times > 0
Civil CampusCivil(int64_t time_us) { return CivilFromDays(CampusDay(time_us)); }
int64_t CampusMidnightUs(int64_t day_number) { return day_number * kDayUs - kCampusOffsetUs; }
int64_t CampusDayStartUs(int64_t time_us) { return CampusMidnightUs(CampusDay(time_us)); }
int64_t CampusMonthStartUs(int64_t time_us) {
  Civil civil = CampusCivil(time_us);
  return CampusMidnightUs(DaysFromCivil(civil.year, civil.month, 1));
}
int64_t CampusNextMonthStartUs(int64_t time_us) {
  Civil civil = CampusCivil(time_us);
  return civil.month == 12 ? CampusMidnightUs(DaysFromCivil(civil.year + 1, 1, 1))
                           : CampusMidnightUs(DaysFromCivil(civil.year, civil.month + 1, 1));
}
int64_t CampusDaysInMonth(int64_t time_us) {
  return (CampusNextMonthStartUs(time_us) - CampusMonthStartUs(time_us)) / kDayUs;
}

enum class Signer { kOperator, kCashier, kCardCenter, kIngest, kLedger };

struct MVersion {
  int64_t from_us = 0;
  std::vector<std::pair<int64_t, int64_t>> tiers;  // (upto Wh or 0, price)
  int64_t allowance_wh_per_year = 0;
};

struct MOccupant {
  std::string person, identity, card;
};

struct MRoom {
  std::string building;
  uint32_t capacity = 0;
  std::string identity;  // the room's own tariff class, or ""
  std::vector<MOccupant> occupants;
  std::map<std::string, int64_t> nets;  // card -> fen paid in, net
  int64_t balance = 0, deposits = 0, reversals = 0, deductions = 0, refunds = 0;
  int64_t transfers_in = 0, transfers_out = 0;
  int64_t energy = 0, month_energy = 0, allowance = 0, remainder = 0, overdraft = 0;

  const MOccupant* Find(const std::string& person) const {
    for (const MOccupant& occupant : occupants) {
      if (occupant.person == person) return &occupant;
    }
    return nullptr;
  }
};

struct MMeter {
  std::string address;
  uint8_t circuit = 1;
  std::string gateway, room;
  int64_t last_wh = 0, last_at_us = 0, rated_ma = 0;
  int32_t voltage_dv = 2200;
  bool retired = false;

  int64_t MaxWh(int64_t elapsed_us) const {
    const int64_t watts = rated_ma * voltage_dv / 10'000;  // mA x 0.1 V
    return static_cast<int64_t>(static_cast<__int128>(watts) * elapsed_us / kHourUs) + kStepSlackWh;
  }
};

struct MDeposit {
  std::string room;
  int64_t amount = 0;
  std::string card;
  int64_t at_us = 0;
  bool reversed = false;
};

struct MLine {
  std::string room, address;
  uint8_t circuit;
  int64_t from, to, energy, free, charged, amount, balance_after, remainder;
};

struct MAnomaly {
  std::string address;
  uint8_t circuit;
  schema::AnomalyKind kind;
  int64_t from, to, elapsed, max;
};

// What the model expects of one request.
struct Outcome {
  StatusCode code = StatusCode::kOk;
  uint64_t seq = 0;
  bool duplicate = false;
  Kind derived = Kind::LEDGER_INITIALIZED;  // LEDGER_INITIALIZED: none
  std::string receipt_no;
  int64_t receipt_balance = 0;
  std::vector<MLine> lines;
  std::vector<MAnomaly> anomalies;
  int64_t refund_amount = 0;
  bool refund_last = false;
  std::vector<int64_t> transfers;
};

std::string Text(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

bool MeterAddressOk(const std::string& address) {
  if (address.size() != 12) return false;
  for (char c : address) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string MeterId(const std::string& address, int circuit) {
  return absl::StrCat(address, "#", circuit);
}

class Model {
 public:
  explicit Model(uint64_t head) : head_(head) {}

  Outcome Submit(Signer signer, const std::string& body_bytes, int64_t now_us);

  uint64_t head() const { return head_; }
  int64_t month_start_us() const { return month_start_us_; }
  const std::map<std::string, MRoom>& rooms() const { return rooms_; }
  const std::map<std::string, MMeter>& meters() const { return meters_; }
  const std::map<std::string, std::string>& person_rooms() const { return person_rooms_; }
  const std::map<std::string, uint32_t>& gateways() const { return gateways_; }
  const std::vector<uint64_t>& deposit_seqs() const { return deposit_seqs_; }
  const std::map<std::string, std::vector<MVersion>>& tariffs() const { return tariffs_; }

 private:
  static bool RoleMay(Signer signer, Kind kind);
  StatusCode Check(Body body, Signer signer) const;
  StatusCode CheckRegistry(Body body) const;
  StatusCode CheckMoney(Body body, Signer signer) const;
  void Apply(Body body, uint64_t seq, int64_t now_us, Outcome& outcome);
  void ApplyReadings(schema::ReadingsBatch::Reader batch, Outcome& outcome);
  void ApplyRefund(schema::RefundIssued::Reader refund, int64_t now_us, Outcome& outcome);
  void ApplyExchange(schema::RoomExchanged::Reader exchange, int64_t now_us, Outcome& outcome);

  const MVersion* VersionAt(const std::string& identity, int64_t time_us) const;
  const MVersion* RoomVersion(const MRoom& room, int64_t time_us) const;
  int64_t Share(const MRoom& room, const std::string& person) const;
  void MoveIn(MRoom& room, MOccupant occupant, const std::string& room_id, int64_t now_us,
              bool from_tomorrow = false);
  MOccupant MoveOut(MRoom& room, const std::string& person, int64_t now_us);
  void Forget(int64_t now_us);

  struct Record {
    std::string body;
    uint64_t seq;
    Outcome outcome;
  };
  uint64_t head_;
  int64_t month_start_us_ = 0;
  uint64_t receipts_ = 0;
  std::set<std::string> buildings_;
  std::map<std::string, uint32_t> gateways_;  // gateway -> meters it carries
  std::map<std::string, uint32_t> circuits_;  // address -> circuits in service
  std::map<std::string, MRoom> rooms_;
  std::map<std::string, MMeter> meters_;
  std::map<std::string, std::string> person_rooms_;
  std::map<std::string, std::vector<MVersion>> tariffs_;
  std::map<uint64_t, MDeposit> deposits_;  // still reversible
  std::vector<uint64_t> deposit_seqs_;     // every deposit ever made
  std::map<std::pair<Signer, std::string>, Record> records_;
};

bool Model::RoleMay(Signer signer, Kind kind) {
  switch (kind) {
    case Kind::DEPOSIT_MADE:
      return signer == Signer::kCashier || signer == Signer::kCardCenter;
    case Kind::DEPOSIT_REVERSED:
      return signer == Signer::kCashier || signer == Signer::kCardCenter ||
             signer == Signer::kOperator;
    case Kind::REFUND_ISSUED:
      return signer == Signer::kOperator || signer == Signer::kCashier;
    case Kind::READINGS_BATCH:
      return signer == Signer::kIngest;
    case Kind::PERIOD_CLOSED:
    case Kind::DEDUCTIONS_APPLIED:
    case Kind::REFUND_SETTLED:
    case Kind::EXCHANGE_SETTLED:
      return signer == Signer::kLedger;
    default:
      return signer == Signer::kOperator;  // registry, tariffs, exchanges
  }
}

const MVersion* Model::VersionAt(const std::string& identity, int64_t time_us) const {
  auto it = tariffs_.find(identity);
  if (it == tariffs_.end()) return nullptr;
  const MVersion* found = nullptr;
  for (const MVersion& version : it->second) {
    if (version.from_us <= time_us) found = &version;
  }
  return found;
}

// The room's own class; else the class most occupants share (a tie goes to
// the cheaper first tier, then the class name); an empty room is "other".
const MVersion* Model::RoomVersion(const MRoom& room, int64_t time_us) const {
  if (!room.identity.empty()) return VersionAt(room.identity, time_us);
  if (room.occupants.empty()) return VersionAt("other", time_us);
  std::map<std::string, int> counts;
  for (const MOccupant& occupant : room.occupants) ++counts[occupant.identity];
  const MVersion* best = nullptr;
  int best_count = 0;
  for (const auto& [identity, count] : counts) {
    const MVersion* version = VersionAt(identity, time_us);
    if (version == nullptr) continue;
    if (best == nullptr || count > best_count ||
        (count == best_count && version->tiers[0].second < best->tiers[0].second)) {
      best = version;
      best_count = count;
    }
  }
  return best;
}

int64_t Model::Share(const MRoom& room, const std::string& person) const {
  if (room.balance <= 0) return 0;
  if (room.occupants.size() == 1) return room.balance;
  auto net = [&room](const std::string& card) {
    auto it = room.nets.find(card);
    return it == room.nets.end() ? int64_t{0} : std::max<int64_t>(0, it->second);
  };
  int64_t total = 0;
  for (const MOccupant& occupant : room.occupants) total += net(occupant.card);
  if (total == 0) return 0;
  return static_cast<int64_t>(static_cast<__int128>(room.balance) * net(room.Find(person)->card) /
                              total);
}

void Model::MoveIn(MRoom& room, MOccupant occupant, const std::string& room_id, int64_t now_us,
                   bool from_tomorrow) {
  if (const MVersion* version = VersionAt(occupant.identity, now_us)) {
    const int64_t days = CampusDaysInMonth(now_us);
    const int64_t days_left = days - CampusCivil(now_us).day + (from_tomorrow ? 0 : 1);
    room.allowance += version->allowance_wh_per_year / 12 * days_left / days;
  }
  person_rooms_[occupant.person] = room_id;
  room.occupants.push_back(std::move(occupant));
}

MOccupant Model::MoveOut(MRoom& room, const std::string& person, int64_t now_us) {
  MOccupant leaving = *room.Find(person);
  for (size_t i = 0; i < room.occupants.size(); ++i) {
    if (room.occupants[i].person == person) {
      room.occupants.erase(room.occupants.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  person_rooms_.erase(person);
  // The free energy of the days after today leaves with them.
  const int64_t days = CampusDaysInMonth(now_us);
  const int64_t today = CampusCivil(now_us).day;
  const MVersion* version = VersionAt(leaving.identity, now_us);
  if (version != nullptr && today < days) {
    const int64_t unused = version->allowance_wh_per_year / 12 * (days - today) / days;
    room.allowance -= std::min(room.allowance, unused);
  }
  return leaving;
}

void Model::Forget(int64_t now_us) {
  while (!deposits_.empty() && deposits_.begin()->second.at_us + kReversibleUs < now_us) {
    deposits_.erase(deposits_.begin());
  }
}

Outcome Model::Submit(Signer signer, const std::string& body_bytes, int64_t now_us) {
  Outcome outcome;
  auto parsed = ledger::ParsedBody::Parse(body_bytes, ledger::kEventBodyBytesMax);
  if (!parsed.ok()) std::abort();  // the driver builds only well-formed bodies
  Body body = parsed->get();
  if (!RoleMay(signer, body.which())) {
    outcome.code = StatusCode::kPermissionDenied;
    return outcome;
  }
  auto key = std::make_pair(signer, Text(body.getIdempotencyKey()));
  if (auto it = records_.find(key); it != records_.end()) {
    if (it->second.body != body_bytes) {
      outcome.code = StatusCode::kAlreadyExists;
      return outcome;
    }
    outcome = it->second.outcome;
    outcome.duplicate = true;
    return outcome;
  }
  if (std::abs(body.getIssuedAtUs() - now_us) > kIssuedWindowUs) {
    outcome.code = StatusCode::kOutOfRange;
    return outcome;
  }
  outcome.code = Check(body, signer);
  if (outcome.code != StatusCode::kOk) return outcome;
  outcome.seq = head_ + 1;
  Apply(body, outcome.seq, now_us, outcome);
  head_ += outcome.derived == Kind::LEDGER_INITIALIZED ? 1 : 2;
  records_[key] = Record{body_bytes, outcome.seq, outcome};
  return outcome;
}

StatusCode Model::Check(Body body, Signer signer) const {
  switch (body.which()) {
    case Kind::DEDUCTIONS_APPLIED:
    case Kind::REFUND_SETTLED:
    case Kind::EXCHANGE_SETTLED:
      return StatusCode::kFailedPrecondition;  // only ever derived
    case Kind::PERIOD_CLOSED: {
      auto period = body.getPeriodClosed();
      const int64_t end = period.getPeriodEndUs();
      if (period.getKind() == schema::PeriodKind::MONTH &&
          (end != CampusMonthStartUs(end) || end <= month_start_us_)) {
        return StatusCode::kFailedPrecondition;
      }
      return StatusCode::kOk;
    }
    default:
      break;
  }
  StatusCode registry = CheckRegistry(body);
  return registry != StatusCode::kOk ? registry : CheckMoney(body, signer);
}

bool TiersOk(capnp::List<schema::Tier>::Reader tiers) {
  if (tiers.size() == 0 || tiers[tiers.size() - 1].getUptoWh() != 0) return false;
  int64_t bound = 0;
  for (unsigned i = 0; i < tiers.size(); ++i) {
    if (tiers[i].getPricePerKwh() < 0) return false;
    if (i + 1 == tiers.size()) break;
    if (tiers[i].getUptoWh() <= bound) return false;
    bound = tiers[i].getUptoWh();
  }
  return true;
}

StatusCode Model::CheckRegistry(Body body) const {
  switch (body.which()) {
    case Kind::BUILDING_REGISTERED: {
      std::string id = Text(body.getBuildingRegistered().getBuildingId());
      if (id.empty()) return StatusCode::kInvalidArgument;
      return buildings_.count(id) ? StatusCode::kAlreadyExists : StatusCode::kOk;
    }
    case Kind::GATEWAY_REGISTERED: {
      std::string id = Text(body.getGatewayRegistered().getGatewayId());
      if (id.empty()) return StatusCode::kInvalidArgument;
      return gateways_.count(id) ? StatusCode::kAlreadyExists : StatusCode::kOk;
    }
    case Kind::ROOM_REGISTERED: {
      auto room = body.getRoomRegistered();
      std::string id = Text(room.getRoomId());
      if (id.empty()) return StatusCode::kInvalidArgument;
      if (rooms_.count(id)) return StatusCode::kAlreadyExists;
      if (!buildings_.count(Text(room.getBuildingId()))) return StatusCode::kNotFound;
      if (room.getCapacity() == 0) return StatusCode::kInvalidArgument;
      if (room.getTariffClass().size() > 0 && !tariffs_.count(Text(room.getTariffClass()))) {
        return StatusCode::kFailedPrecondition;
      }
      return StatusCode::kOk;
    }
    case Kind::OCCUPANT_ASSIGNED: {
      auto occupant = body.getOccupantAssigned();
      auto room = rooms_.find(Text(occupant.getRoomId()));
      if (room == rooms_.end()) return StatusCode::kNotFound;
      if (occupant.getPersonId().size() == 0 || occupant.getCardNo().size() == 0) {
        return StatusCode::kInvalidArgument;
      }
      if (person_rooms_.count(Text(occupant.getPersonId()))) return StatusCode::kFailedPrecondition;
      if (!tariffs_.count(Text(occupant.getIdentityClass())))
        return StatusCode::kFailedPrecondition;
      if (room->second.occupants.size() >= room->second.capacity) {
        return StatusCode::kFailedPrecondition;
      }
      return StatusCode::kOk;
    }
    case Kind::OCCUPANT_MOVED_OUT: {
      auto moved = body.getOccupantMovedOut();
      auto it = person_rooms_.find(Text(moved.getPersonId()));
      return it != person_rooms_.end() && it->second == Text(moved.getRoomId())
                 ? StatusCode::kOk
                 : StatusCode::kNotFound;
    }
    case Kind::METER_INSTALLED: {
      auto meter = body.getMeterInstalled();
      std::string address = Text(meter.getMeterAddress());
      if (!MeterAddressOk(address)) return StatusCode::kInvalidArgument;
      if (meter.getCircuit() < 1 || meter.getCircuit() > 4) return StatusCode::kInvalidArgument;
      if (meter.getRatedCurrentMa() <= 0) return StatusCode::kInvalidArgument;
      if (meter.getInitialReadingWh() < 0 || meter.getInitialReadingWh() >= kModulusWh) {
        return StatusCode::kInvalidArgument;
      }
      auto gateway = gateways_.find(Text(meter.getGatewayId()));
      if (gateway == gateways_.end()) return StatusCode::kNotFound;
      if (!rooms_.count(Text(meter.getRoomId()))) return StatusCode::kNotFound;
      if (meters_.count(MeterId(address, meter.getCircuit()))) return StatusCode::kAlreadyExists;
      if (!circuits_.count(address) && gateway->second >= kGatewayMetersMax) {
        return StatusCode::kResourceExhausted;
      }
      return StatusCode::kOk;
    }
    case Kind::METER_REPLACED: {
      auto replaced = body.getMeterReplaced();
      auto old_meter =
          meters_.find(MeterId(Text(replaced.getOldMeterAddress()), replaced.getCircuit()));
      if (old_meter == meters_.end() || old_meter->second.retired) return StatusCode::kNotFound;
      std::string address = Text(replaced.getNewMeterAddress());
      if (!MeterAddressOk(address)) return StatusCode::kInvalidArgument;
      if (meters_.count(MeterId(address, replaced.getCircuit()))) return StatusCode::kAlreadyExists;
      for (int64_t wh : {replaced.getOldFinalReadingWh(), replaced.getNewInitialReadingWh()}) {
        if (wh < 0 || wh >= kModulusWh) return StatusCode::kInvalidArgument;
      }
      return StatusCode::kOk;
    }
    case Kind::TARIFF_SET: {
      auto tariff = body.getTariffSet();
      if (tariff.getIdentityClass().size() == 0) return StatusCode::kInvalidArgument;
      if (!TiersOk(tariff.getTiers())) return StatusCode::kInvalidArgument;
      if (tariff.getAllowanceWhPerYear() < 0) return StatusCode::kInvalidArgument;
      if (tariff.getEffectiveFromUs() < body.getIssuedAtUs())
        return StatusCode::kFailedPrecondition;
      auto it = tariffs_.find(Text(tariff.getIdentityClass()));
      if (it != tariffs_.end() && tariff.getEffectiveFromUs() <= it->second.back().from_us) {
        return StatusCode::kFailedPrecondition;
      }
      return StatusCode::kOk;
    }
    case Kind::OVERDRAFT_LIMIT_SET: {
      auto limit = body.getOverdraftLimitSet();
      if (!rooms_.count(Text(limit.getRoomId()))) return StatusCode::kNotFound;
      return limit.getLimitFen() < 0 ? StatusCode::kInvalidArgument : StatusCode::kOk;
    }
    default:
      return StatusCode::kOk;
  }
}

StatusCode Model::CheckMoney(Body body, Signer signer) const {
  switch (body.which()) {
    case Kind::DEPOSIT_MADE: {
      auto deposit = body.getDepositMade();
      if (!rooms_.count(Text(deposit.getRoomId()))) return StatusCode::kNotFound;
      if (deposit.getAmountFen() < 1 || deposit.getAmountFen() > kDepositMaxFen) {
        return StatusCode::kInvalidArgument;
      }
      if (deposit.getCashierId().size() == 0) return StatusCode::kInvalidArgument;
      // The channel says who took the money: the card center's key, or a cashier's.
      const bool card_center = deposit.getChannel() == schema::DepositChannel::CARD_CENTER;
      return card_center == (signer == Signer::kCardCenter) ? StatusCode::kOk
                                                            : StatusCode::kPermissionDenied;
    }
    case Kind::DEPOSIT_REVERSED: {
      auto it = deposits_.find(body.getDepositReversed().getDepositSeq());
      if (it == deposits_.end()) return StatusCode::kNotFound;
      if (it->second.reversed) return StatusCode::kFailedPrecondition;
      return body.getDepositReversed().getReason().size() == 0 ? StatusCode::kInvalidArgument
                                                               : StatusCode::kOk;
    }
    case Kind::REFUND_ISSUED: {
      auto refund = body.getRefundIssued();
      auto room = rooms_.find(Text(refund.getRoomId()));
      if (room == rooms_.end()) return StatusCode::kNotFound;
      return room->second.Find(Text(refund.getPersonId())) ? StatusCode::kOk
                                                           : StatusCode::kNotFound;
    }
    case Kind::ROOM_EXCHANGED: {
      auto exchange = body.getRoomExchanged();
      auto from = rooms_.find(Text(exchange.getFromRoomId()));
      auto to = rooms_.find(Text(exchange.getToRoomId()));
      if (from == rooms_.end() || to == rooms_.end()) return StatusCode::kNotFound;
      if (from == to) return StatusCode::kInvalidArgument;
      if (!from->second.Find(Text(exchange.getPersonId()))) return StatusCode::kNotFound;
      if (exchange.getSwapPersonId().size() > 0) {
        return to->second.Find(Text(exchange.getSwapPersonId())) ? StatusCode::kOk
                                                                 : StatusCode::kNotFound;
      }
      return to->second.occupants.size() >= to->second.capacity ? StatusCode::kFailedPrecondition
                                                                : StatusCode::kOk;
    }
    case Kind::READINGS_BATCH: {
      auto batch = body.getReadingsBatch();
      if (!gateways_.count(Text(batch.getGatewayId()))) return StatusCode::kNotFound;
      if (batch.getReadings().size() > kBatchReadingsMax) return StatusCode::kResourceExhausted;
      for (auto reading : batch.getReadings()) {
        if (reading.getCircuit() < 1 || reading.getCircuit() > 4 || reading.getTotalWh() < 0 ||
            reading.getTotalWh() >= kModulusWh) {
          return StatusCode::kInvalidArgument;
        }
      }
      return StatusCode::kOk;
    }
    default:
      return StatusCode::kOk;
  }
}

void Model::Apply(Body body, uint64_t seq, int64_t now_us, Outcome& outcome) {
  switch (body.which()) {
    case Kind::BUILDING_REGISTERED:
      buildings_.insert(Text(body.getBuildingRegistered().getBuildingId()));
      break;
    case Kind::GATEWAY_REGISTERED:
      gateways_[Text(body.getGatewayRegistered().getGatewayId())] = 0;
      break;
    case Kind::ROOM_REGISTERED: {
      auto in = body.getRoomRegistered();
      MRoom room;
      room.building = Text(in.getBuildingId());
      room.capacity = in.getCapacity();
      room.identity = Text(in.getTariffClass());
      rooms_[Text(in.getRoomId())] = room;
      break;
    }
    case Kind::OCCUPANT_ASSIGNED: {
      auto in = body.getOccupantAssigned();
      std::string room_id = Text(in.getRoomId());
      MoveIn(rooms_.at(room_id),
             MOccupant{Text(in.getPersonId()), Text(in.getIdentityClass()), Text(in.getCardNo())},
             room_id, now_us);
      break;
    }
    case Kind::OCCUPANT_MOVED_OUT: {
      auto in = body.getOccupantMovedOut();
      MoveOut(rooms_.at(Text(in.getRoomId())), Text(in.getPersonId()), now_us);
      break;
    }
    case Kind::METER_INSTALLED: {
      auto in = body.getMeterInstalled();
      MMeter meter{Text(in.getMeterAddress()),
                   in.getCircuit(),
                   Text(in.getGatewayId()),
                   Text(in.getRoomId()),
                   in.getInitialReadingWh(),
                   now_us,
                   in.getRatedCurrentMa(),
                   in.getNominalVoltageDv() == 0 ? 2200 : in.getNominalVoltageDv(),
                   false};
      if (circuits_[meter.address]++ == 0) ++gateways_[meter.gateway];
      meters_[MeterId(meter.address, meter.circuit)] = meter;
      break;
    }
    case Kind::METER_REPLACED: {
      auto in = body.getMeterReplaced();
      MMeter& old_meter = meters_.at(MeterId(Text(in.getOldMeterAddress()), in.getCircuit()));
      // Energy the old meter counted after its last reading is still owed:
      // the new meter's baseline sits that far below its first register.
      const int64_t owed =
          ((in.getOldFinalReadingWh() - old_meter.last_wh) % kModulusWh + kModulusWh) % kModulusWh;
      MMeter fresh = old_meter;
      fresh.address = Text(in.getNewMeterAddress());
      fresh.last_wh = ((in.getNewInitialReadingWh() - owed) % kModulusWh + kModulusWh) % kModulusWh;
      if (in.getRatedCurrentMa() > 0) fresh.rated_ma = in.getRatedCurrentMa();
      old_meter.retired = true;
      // A replaced meter leaves the bus: it no longer counts toward its gateway.
      if (--circuits_[old_meter.address] == 0) {
        circuits_.erase(old_meter.address);
        --gateways_[old_meter.gateway];
      }
      if (circuits_[fresh.address]++ == 0) ++gateways_[fresh.gateway];
      meters_[MeterId(fresh.address, fresh.circuit)] = fresh;
      break;
    }
    case Kind::TARIFF_SET: {
      auto in = body.getTariffSet();
      MVersion version{in.getEffectiveFromUs(), {}, in.getAllowanceWhPerYear()};
      for (auto tier : in.getTiers())
        version.tiers.emplace_back(tier.getUptoWh(), tier.getPricePerKwh());
      tariffs_[Text(in.getIdentityClass())].push_back(version);
      break;
    }
    case Kind::OVERDRAFT_LIMIT_SET:
      rooms_.at(Text(body.getOverdraftLimitSet().getRoomId())).overdraft =
          body.getOverdraftLimitSet().getLimitFen();
      break;
    case Kind::DEPOSIT_MADE: {
      auto in = body.getDepositMade();
      MRoom& room = rooms_.at(Text(in.getRoomId()));
      room.balance += in.getAmountFen();
      room.deposits += in.getAmountFen();
      room.nets[Text(in.getPayerCardNo())] += in.getAmountFen();
      deposits_[seq] =
          MDeposit{Text(in.getRoomId()), in.getAmountFen(), Text(in.getPayerCardNo()), now_us};
      deposit_seqs_.push_back(seq);
      outcome.receipt_no = absl::StrFormat("RC%010d", ++receipts_);
      outcome.receipt_balance = room.balance;
      break;
    }
    case Kind::DEPOSIT_REVERSED: {
      MDeposit& deposit = deposits_.at(body.getDepositReversed().getDepositSeq());
      MRoom& room = rooms_.at(deposit.room);
      deposit.reversed = true;
      room.balance -= deposit.amount;
      room.reversals += deposit.amount;
      room.nets[deposit.card] -= deposit.amount;
      break;
    }
    case Kind::READINGS_BATCH:
      ApplyReadings(body.getReadingsBatch(), outcome);
      break;
    case Kind::REFUND_ISSUED:
      ApplyRefund(body.getRefundIssued(), now_us, outcome);
      break;
    case Kind::ROOM_EXCHANGED:
      ApplyExchange(body.getRoomExchanged(), now_us, outcome);
      break;
    case Kind::PERIOD_CLOSED: {
      auto period = body.getPeriodClosed();
      if (period.getKind() == schema::PeriodKind::MONTH) {
        month_start_us_ = period.getPeriodEndUs();
        for (auto& [id, room] : rooms_) {
          room.month_energy = 0;
          room.allowance = 0;
          for (const MOccupant& occupant : room.occupants) {
            if (const MVersion* version = VersionAt(occupant.identity, month_start_us_)) {
              room.allowance += version->allowance_wh_per_year / 12;
            }
          }
        }
      }
      Forget(period.getPeriodEndUs());
      break;
    }
    default:
      break;
  }
}

void Model::ApplyReadings(schema::ReadingsBatch::Reader batch, Outcome& outcome) {
  outcome.derived = Kind::DEDUCTIONS_APPLIED;
  for (auto reading : batch.getReadings()) {
    const std::string address = Text(reading.getMeterAddress());
    const uint8_t circuit = reading.getCircuit();
    auto found = meters_.find(MeterId(address, circuit));
    if (found == meters_.end() || found->second.retired) {
      outcome.anomalies.push_back(
          {address, circuit, schema::AnomalyKind::UNKNOWN_METER, 0, reading.getTotalWh(), 0, 0});
      continue;
    }
    MMeter& meter = found->second;
    if (reading.getReadAtUs() <= meter.last_at_us) continue;  // counted already
    const int64_t elapsed = reading.getReadAtUs() - meter.last_at_us;
    const int64_t from = meter.last_wh;
    const int64_t to = reading.getTotalWh();
    const int64_t max = meter.MaxWh(elapsed);
    meter.last_wh = to;
    meter.last_at_us = reading.getReadAtUs();
    int64_t energy = 0;
    if (to >= from) {
      energy = to - from;
      if (energy > max) {
        outcome.anomalies.push_back(
            {address, circuit, schema::AnomalyKind::IMPLAUSIBLE_DELTA, from, to, elapsed, max});
        continue;
      }
    } else {
      energy = kModulusWh - from + to;  // rolled over, if the circuit could pass that much
      if (energy > max) {
        outcome.anomalies.push_back(
            {address, circuit, schema::AnomalyKind::NEGATIVE_DELTA, from, to, elapsed, max});
        continue;
      }
    }
    if (energy == 0) continue;
    MRoom& room = rooms_.at(meter.room);
    MLine line{meter.room, address, circuit, from, to, energy, 0, energy, 0, 0, room.remainder};
    const MVersion* version = RoomVersion(room, reading.getReadAtUs());
    if (version == nullptr) {
      outcome.anomalies.push_back(
          {address, circuit, schema::AnomalyKind::NO_TARIFF, from, to, elapsed, max});
    } else {
      line.free = std::min(energy, room.allowance);
      line.charged = energy - line.free;
      // Price each charged Wh by where it falls in the month's consumption.
      const int64_t begin = room.month_energy + line.free;
      const int64_t end = begin + line.charged;
      __int128 units = room.remainder;
      int64_t lower = 0;
      for (const auto& [upto, price] : version->tiers) {
        const int64_t upper = upto == 0 ? INT64_MAX : upto;
        const int64_t overlap = std::min(end, upper) - std::max(begin, lower);
        if (overlap > 0) units += static_cast<__int128>(overlap) * price;
        lower = upper;
      }
      line.amount = static_cast<int64_t>(units / kUnitsPerFen);
      line.remainder = static_cast<int64_t>(units % kUnitsPerFen);
      room.allowance -= line.free;
    }
    room.remainder = line.remainder;
    room.month_energy += energy;
    room.energy += energy;
    room.balance -= line.amount;
    room.deductions += line.amount;
    line.balance_after = room.balance;
    outcome.lines.push_back(line);
  }
}

void Model::ApplyRefund(schema::RefundIssued::Reader refund, int64_t now_us, Outcome& outcome) {
  outcome.derived = Kind::REFUND_SETTLED;
  MRoom& room = rooms_.at(Text(refund.getRoomId()));
  const std::string person = Text(refund.getPersonId());
  const std::string card = room.Find(person)->card;
  outcome.refund_last = room.occupants.size() == 1;
  outcome.refund_amount = Share(room, person);
  room.balance -= outcome.refund_amount;
  room.refunds += outcome.refund_amount;
  room.nets.erase(card);
  MoveOut(room, person, now_us);
}

void Model::ApplyExchange(schema::RoomExchanged::Reader exchange, int64_t now_us,
                          Outcome& outcome) {
  outcome.derived = Kind::EXCHANGE_SETTLED;
  const std::string from_id = Text(exchange.getFromRoomId());
  const std::string to_id = Text(exchange.getToRoomId());
  MRoom& from = rooms_.at(from_id);
  MRoom& to = rooms_.at(to_id);
  const std::string mover = Text(exchange.getPersonId());
  const std::string swapper = Text(exchange.getSwapPersonId());
  // Both shares are fixed before anyone moves.
  const int64_t mover_share = Share(from, mover);
  const int64_t swapper_share = swapper.empty() ? 0 : Share(to, swapper);
  auto move = [&](MRoom& source, MRoom& target, const std::string& target_id,
                  const std::string& person, int64_t share) {
    MOccupant occupant = MoveOut(source, person, now_us);
    source.nets.erase(occupant.card);
    source.balance -= share;
    source.transfers_out += share;
    target.balance += share;
    target.transfers_in += share;
    target.nets[occupant.card] += share;
    MoveIn(target, occupant, target_id, now_us, /*from_tomorrow=*/true);
    outcome.transfers.push_back(share);
  };
  move(from, to, to_id, mover, mover_share);
  if (!swapper.empty()) move(to, from, from_id, swapper, swapper_share);
}

// --- The driver ---------------------------------------------------------------

constexpr uint8_t kLedgerTag = 61, kAdminTag = 62, kCashierTag = 63, kOperatorTag = 64,
                  kCardCenterTag = 65, kIngestTag = 66;

const char* const kBuildings[] = {"B1", "B2", "B3"};
const char* const kGateways[] = {"G1", "G2", "G3"};
const char* const kRooms[] = {"R1", "R2", "R3", "R4", "R5", "R6", "RX"};
const char* const kIdentities[] = {"ug", "pg", "staff", "other", "visitor"};
const char* const kPeople[] = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"};

std::string ModelParentDir() {
  if (const char* dir = std::getenv("WL_MODEL_DIR")) return dir;
  std::error_code error;
  if (std::filesystem::is_directory("/dev/shm", error) && access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path().string();
}

// RocksDB preallocates each write-ahead log (tens of MB); on a tmpfs that
// means zeroing and freeing real memory at every open and close, which would
// cost more than all the model's requests. The files are the same without it.
class NoPreallocation : public rocksdb::FileSystemWrapper {
 public:
  NoPreallocation() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "NoPreallocation"; }
  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::FileOptions plain = options;
    plain.allow_fallocate = false;
    return target()->NewWritableFile(path, plain, result, debug);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* debug) override {
    rocksdb::FileOptions plain = options;
    plain.allow_fallocate = false;
    return target()->ReopenWritableFile(path, plain, result, debug);
  }
};

rocksdb::Env* ModelEnv() {
  static rocksdb::Env* env =
      rocksdb::NewCompositeEnv(std::make_shared<NoPreallocation>()).release();
  return env;
}

ledger::LedgerOptions Options(const std::string& data_dir, const ledger::Clock* clock) {
  ledger::LedgerOptions options;
  options.env = ModelEnv();
  options.data_dir = data_dir;
  options.ledger_key = testing::TestKey(kLedgerTag);
  options.clock = clock;
  options.verify_threads = 1;
  return options;
}

// A closed ledger with its keys registered, copied for each seed.
absl::Status BuildTemplate(const std::string& data_dir) {
  ledger::ManualClock clock(testing::kTestEpochUs);
  ledger::LedgerOptions options = Options(data_dir, &clock);
  absl::Status initialized =
      ledger::Ledger::Initialize(options, testing::TestKey(kAdminTag).public_key(), "Model Campus");
  if (!initialized.ok()) return initialized;
  auto ledger = ledger::Ledger::Open(options);
  if (!ledger.ok()) return ledger.status();
  const std::pair<uint8_t, ledger::Role> keys[] = {{kCashierTag, ledger::Role::CASHIER},
                                                   {kOperatorTag, ledger::Role::OPERATOR},
                                                   {kCardCenterTag, ledger::Role::CARD_CENTER},
                                                   {kIngestTag, ledger::Role::INGEST}};
  for (const auto& [tag, role] : keys) {
    auto registered = (*ledger)
                          ->Submit(testing::Sign(
                              testing::RegisterKeyBody(absl::StrCat("key-", tag), clock.NowMicros(),
                                                       testing::TestKey(tag).public_key(), role),
                              testing::TestKey(kAdminTag)))
                          .get();
    if (!registered.ok()) return registered.status();
  }
  return absl::OkStatus();
}

struct Sent {
  Signer signer;
  std::string body;
};

class SeedRun {
 public:
  SeedRun(uint64_t seed, const std::string& template_dir, const std::string& parent)
      : seed_(seed), random_(seed), dir_(parent), template_dir_(template_dir) {}

  // "" when the engine agreed with the model throughout; else what differed.
  std::string Run();
  int requests() const { return requests_; }
  const std::map<std::string, int>& coverage() const { return coverage_; }

 private:
  uint64_t Pick(uint64_t n) { return random_() % n; }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }
  template <typename T, size_t N>
  std::string PickOf(const T (&list)[N]) {
    return list[Pick(N)];
  }
  int64_t now() const { return clock_.NowMicros(); }
  std::string Key() { return absl::StrCat("m", seed_, "-", requests_); }

  absl::Status Open();
  void Send(Signer signer, std::string body, absl::string_view what);
  std::string CompareDerived(const Outcome& expected);
  std::string CompareState();
  // What the seeds exercised, so a generator that stops reaching a rule shows.
  void Tally(const Outcome& outcome) {
    if (outcome.code != StatusCode::kOk) return void(++coverage_["refused"]);
    if (outcome.duplicate) return void(++coverage_["idempotent duplicate"]);
    for (const MLine& line : outcome.lines) {
      if (line.to < line.from) ++coverage_["rollover charged"];
      if (line.free > 0) ++coverage_["free energy"];
      if (line.amount > 0) ++coverage_["energy charged"];
      if (line.balance_after < 0) ++coverage_["balance below zero"];
    }
    for (const MAnomaly& anomaly : outcome.anomalies) {
      const char* names[] = {"negative delta", "implausible delta", "unknown meter", "no tariff"};
      ++coverage_[names[static_cast<int>(anomaly.kind)]];
    }
    if (outcome.refund_amount > 0) ++coverage_["refund paid"];
    for (int64_t amount : outcome.transfers) {
      if (amount > 0) ++coverage_["balance moved by an exchange"];
    }
  }
  void Fail(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
  }

  void Setup();
  void RandomRequest();
  void Advance();
  void Tick(int64_t end_us, schema::PeriodKind kind);
  void Deposit();
  void Reverse();
  void Readings();
  void Occupant();
  void Meter(std::string room = "");
  void Replace();
  void Tariff(const std::string& identity, bool valid, bool may_start_later = true);
  void Refund();
  void Exchange();
  void Retry();
  std::string FinalChecks();

  const ledger::SigningKey& KeyOf(Signer signer) const;
  // Mostly a registered room; now and then any name, or one never registered.
  std::string RandomRoom() {
    const auto& rooms = model_->rooms();
    if (!rooms.empty() && Chance(80)) {
      auto it = rooms.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(Pick(rooms.size())));
      return it->first;
    }
    return Chance(90) ? kRooms[Pick(6)] : "RX";
  }
  std::pair<std::string, std::string> RandomOccupant();  // (room, person), or garbage

  uint64_t seed_;
  std::mt19937_64 random_;
  testing::TempDir dir_;
  std::string template_dir_;
  ledger::ManualClock clock_{testing::kTestEpochUs};
  std::unique_ptr<Model> model_;
  std::unique_ptr<Campus> campus_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::vector<Sent> sent_;
  std::map<std::pair<int, std::string>, std::string> first_results_;
  int requests_ = 0;
  std::string failure_;
  std::string last_what_;
  std::map<std::string, int> coverage_;
  const bool verbose_ = std::getenv("WL_MODEL_VERBOSE") != nullptr;
};

const ledger::SigningKey& SeedRun::KeyOf(Signer signer) const {
  static const ledger::SigningKey keys[] = {
      testing::TestKey(kOperatorTag), testing::TestKey(kCashierTag),
      testing::TestKey(kCardCenterTag), testing::TestKey(kIngestTag), testing::TestKey(kLedgerTag)};
  return keys[static_cast<int>(signer)];
}

absl::Status SeedRun::Open() {
  std::error_code error;
  std::filesystem::copy(template_dir_, dir_.Sub("ledger"), std::filesystem::copy_options::recursive,
                        error);
  if (error) return absl::InternalError(error.message());
  campus_ = std::make_unique<Campus>();
  ledger::LedgerOptions options = Options(dir_.Sub("ledger"), &clock_);
  options.projections = {campus_.get()};
  auto opened = ledger::Ledger::Open(options);
  if (!opened.ok()) return opened.status();
  ledger_ = std::move(*opened);
  model_ = std::make_unique<Model>(ledger_->head().seq);
  return absl::OkStatus();
}

void SeedRun::Send(Signer signer, std::string body, absl::string_view what) {
  if (!failure_.empty()) return;
  ++requests_;
  last_what_ = absl::StrCat("request ", requests_, " (", what, ")");
  sent_.push_back(Sent{signer, body});
  Outcome expected = model_->Submit(signer, body, now());
  if (verbose_) {
    auto parsed = ledger::ParsedBody::Parse(body, ledger::kEventBodyBytesMax);
    std::printf("  %s at %lld -> %s seq %llu\n    %s\n", last_what_.c_str(),
                static_cast<long long>(now()), absl::StatusCodeToString(expected.code).c_str(),
                static_cast<unsigned long long>(expected.seq),
                capnp::prettyPrint(parsed->get()).flatten().cStr());
  }
  auto actual = ledger_->Submit(testing::Sign(body, KeyOf(signer))).get();
  StatusCode code = actual.ok() ? StatusCode::kOk : actual.status().code();
  Tally(expected);
  if (code != expected.code) {
    return Fail(absl::StrCat(last_what_, ": the engine says ",
                             actual.ok() ? "OK" : actual.status().ToString(), ", the model ",
                             absl::StatusCodeToString(expected.code)));
  }
  if (actual.ok()) {
    if (actual->seq != expected.seq || actual->duplicate != expected.duplicate) {
      return Fail(absl::StrCat(last_what_, ": appended at seq ", actual->seq,
                               actual->duplicate ? " (duplicate)" : "", ", the model says ",
                               expected.seq, expected.duplicate ? " (duplicate)" : ""));
    }
    auto parsed = ledger::ParsedBody::Parse(body, ledger::kEventBodyBytesMax);
    auto key = std::make_pair(static_cast<int>(signer), Text(parsed->get().getIdempotencyKey()));
    if (expected.duplicate) {
      if (first_results_[key] != actual->result) Fail(absl::StrCat(last_what_, ": another result"));
    } else {
      first_results_[key] = actual->result;
      if (!expected.receipt_no.empty()) {
        auto receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(actual->result, 4096);
        if (!receipt.ok() || Text(receipt->get().getReceiptNo()) != expected.receipt_no ||
            receipt->get().getBalanceAfterFen() != expected.receipt_balance) {
          return Fail(absl::StrCat(last_what_, ": receipt differs from ", expected.receipt_no,
                                   " with balance ", expected.receipt_balance));
        }
      }
      std::string derived = CompareDerived(expected);
      if (!derived.empty()) return Fail(absl::StrCat(last_what_, ": ", derived));
    }
  }
  std::string state = CompareState();
  if (!state.empty()) Fail(absl::StrCat(last_what_, ": ", state));
}

std::string SeedRun::CompareDerived(const Outcome& expected) {
  if (expected.derived == Kind::LEDGER_INITIALIZED) return "";
  auto stored = testing::ReadStoredEvent(ledger_->store(), expected.seq + 1);
  if (!stored.ok()) return absl::StrCat("no derived event: ", stored.status().ToString());
  if (stored->signer != testing::TestKey(kLedgerTag).key_id())
    return "derived event not signed by the ledger";
  auto parsed = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
  if (!parsed.ok() || parsed->get().which() != expected.derived)
    return "derived event of another kind";
  Body body = parsed->get();
  if (expected.derived == Kind::REFUND_SETTLED) {
    auto settled = body.getRefundSettled();
    if (settled.getAmountFen() != expected.refund_amount ||
        settled.getLastOccupant() != expected.refund_last ||
        settled.getRefundSeq() != expected.seq) {
      return absl::StrCat("refund of ", settled.getAmountFen(), ", the model pays ",
                          expected.refund_amount);
    }
    return "";
  }
  if (expected.derived == Kind::EXCHANGE_SETTLED) {
    auto transfers = body.getExchangeSettled().getTransfers();
    std::vector<int64_t> amounts;
    for (auto transfer : transfers) amounts.push_back(transfer.getAmountFen());
    if (amounts != expected.transfers) return "exchange transfers differ";
    return "";
  }
  auto applied = body.getDeductionsApplied();
  if (applied.getSourceSeq() != expected.seq) return "deductions name another source";
  if (applied.getDeductions().size() != expected.lines.size()) {
    return absl::StrCat(applied.getDeductions().size(), " deductions, the model has ",
                        expected.lines.size());
  }
  for (size_t i = 0; i < expected.lines.size(); ++i) {
    auto line = applied.getDeductions()[static_cast<unsigned>(i)];
    const MLine& want = expected.lines[i];
    if (Text(line.getRoomId()) != want.room || Text(line.getMeterAddress()) != want.address ||
        line.getCircuit() != want.circuit || line.getFromWh() != want.from ||
        line.getToWh() != want.to || line.getEnergyWh() != want.energy ||
        line.getFreeWh() != want.free || line.getChargedWh() != want.charged ||
        line.getAmountFen() != want.amount || line.getBalanceAfterFen() != want.balance_after ||
        line.getRemainderAfter() != want.remainder) {
      return absl::StrFormat(
          "deduction %d: engine %s %s %d..%d energy %d free %d charged %d amount %d after %d "
          "remainder %d; model %s %s %d..%d energy %d free %d charged %d amount %d after %d "
          "remainder %d",
          i, Text(line.getRoomId()), Text(line.getMeterAddress()), line.getFromWh(), line.getToWh(),
          line.getEnergyWh(), line.getFreeWh(), line.getChargedWh(), line.getAmountFen(),
          line.getBalanceAfterFen(), line.getRemainderAfter(), want.room, want.address, want.from,
          want.to, want.energy, want.free, want.charged, want.amount, want.balance_after,
          want.remainder);
    }
  }
  if (applied.getAnomalies().size() != expected.anomalies.size()) {
    return absl::StrCat(applied.getAnomalies().size(), " anomalies, the model has ",
                        expected.anomalies.size());
  }
  for (size_t i = 0; i < expected.anomalies.size(); ++i) {
    auto anomaly = applied.getAnomalies()[static_cast<unsigned>(i)];
    const MAnomaly& want = expected.anomalies[i];
    if (Text(anomaly.getMeterAddress()) != want.address || anomaly.getCircuit() != want.circuit ||
        anomaly.getKind() != want.kind || anomaly.getFromWh() != want.from ||
        anomaly.getToWh() != want.to || anomaly.getElapsedUs() != want.elapsed ||
        anomaly.getMaxPlausibleWh() != want.max) {
      return absl::StrCat("anomaly ", i, " differs (kind ", static_cast<int>(anomaly.getKind()),
                          ", the model's ", static_cast<int>(want.kind), ")");
    }
  }
  return "";
}

std::string CompareRooms(const std::vector<Room>& engine, const Model& model) {
  if (engine.size() != model.rooms().size()) {
    return absl::StrCat(engine.size(), " rooms, the model has ", model.rooms().size());
  }
  int64_t engine_total = 0;
  int64_t flows = 0;
  for (const Room& room : engine) {
    auto it = model.rooms().find(room.room_id);
    if (it == model.rooms().end())
      return absl::StrCat("room ", room.room_id, " unknown to the model");
    const MRoom& want = it->second;
    std::vector<std::string> people, want_people;
    for (const Occupant& occupant : room.occupants) people.push_back(occupant.person_id);
    for (const MOccupant& occupant : want.occupants) want_people.push_back(occupant.person);
    const std::pair<const char*, std::pair<int64_t, int64_t>> fields[] = {
        {"balance", {room.balance_fen, want.balance}},
        {"deposits", {room.deposits_fen, want.deposits}},
        {"reversals", {room.reversals_fen, want.reversals}},
        {"deductions", {room.deductions_fen, want.deductions}},
        {"refunds", {room.refunds_fen, want.refunds}},
        {"transfers in", {room.transfers_in_fen, want.transfers_in}},
        {"transfers out", {room.transfers_out_fen, want.transfers_out}},
        {"energy", {room.energy_wh, want.energy}},
        {"month energy", {room.month_energy_wh, want.month_energy}},
        {"allowance left", {room.allowance_left_wh, want.allowance}},
        {"remainder", {room.remainder, want.remainder}},
        {"overdraft limit", {room.overdraft_limit_fen, want.overdraft}},
    };
    for (const auto& [name, values] : fields) {
      if (values.first != values.second) {
        return absl::StrCat("room ", room.room_id, " ", name, " is ", values.first,
                            ", the model says ", values.second);
      }
    }
    if (people != want_people) return absl::StrCat("room ", room.room_id, " occupants differ");
    if (room.card_nets != want.nets)
      return absl::StrCat("room ", room.room_id, " card nets differ");
    if (room.LedgerBalanceFen() != room.balance_fen) {
      return absl::StrCat("room ", room.room_id, " does not balance");
    }
    engine_total += room.balance_fen;
    flows += room.deposits_fen - room.reversals_fen - room.deductions_fen - room.refunds_fen;
  }
  if (flows != engine_total) return "the campus totals do not balance";
  return "";
}

std::string SeedRun::CompareState() {
  if (ledger_->head().seq != model_->head()) {
    return absl::StrCat("head at seq ", ledger_->head().seq, ", the model's at ", model_->head());
  }
  std::string rooms = CompareRooms(campus_->Rooms(), *model_);
  if (!rooms.empty()) return rooms;
  if (campus_->Meters().size() != model_->meters().size()) return "meter count differs";
  for (const auto& [id, want] : model_->meters()) {
    auto meter = campus_->FindMeter(want.address, want.circuit);
    if (!meter.has_value() || meter->last_wh != want.last_wh ||
        meter->last_read_at_us != want.last_at_us || meter->retired != want.retired ||
        meter->room_id != want.room || meter->rated_current_ma != want.rated_ma) {
      return absl::StrCat("meter ", id, " differs");
    }
  }
  if (campus_->Gateways().size() != model_->gateways().size()) return "gateway count differs";
  for (const Gateway& gateway : campus_->Gateways()) {
    auto it = model_->gateways().find(gateway.gateway_id);
    if (it == model_->gateways().end() || it->second != gateway.meters) {
      return absl::StrCat("gateway ", gateway.gateway_id, " carries ", gateway.meters,
                          " meters, the model says ",
                          it == model_->gateways().end() ? 0 : it->second);
    }
  }
  for (const auto& [person, room] : model_->person_rooms()) {
    if (campus_->RoomOf(person) != room) return absl::StrCat(person, " lives elsewhere");
  }
  return "";
}

std::pair<std::string, std::string> SeedRun::RandomOccupant() {
  if (Chance(80)) {
    std::vector<std::pair<std::string, std::string>> housed(model_->person_rooms().begin(),
                                                            model_->person_rooms().end());
    if (!housed.empty()) {
      auto [person, room] = housed[Pick(housed.size())];
      return {room, person};
    }
  }
  return {RandomRoom(), PickOf(kPeople)};
}

void SeedRun::Tick(int64_t end_us, schema::PeriodKind kind) {
  Send(Signer::kLedger, testing::PeriodBody(now(), end_us, kind),
       kind == schema::PeriodKind::MONTH ? "month tick" : "day tick");
}

// Time passes: ticks for every campus month and the last campus day crossed.
void SeedRun::Advance() {
  const int64_t steps_us[] = {kMinuteUs, 10 * kMinuteUs, kHourUs,    5 * kHourUs,
                              kDayUs,    3 * kDayUs,     12 * kDayUs};
  const int64_t before = now();
  clock_.Advance(steps_us[Pick(7)] + static_cast<int64_t>(Pick(kMinuteUs)));
  int64_t month = CampusNextMonthStartUs(before);
  for (int i = 0; i < 2 && month <= now(); ++i, month = CampusNextMonthStartUs(month)) {
    Tick(month, schema::PeriodKind::DAY);
    Tick(month, schema::PeriodKind::MONTH);
  }
  const int64_t today = CampusDayStartUs(now());
  if (today > before && today != CampusMonthStartUs(today)) Tick(today, schema::PeriodKind::DAY);
}

void SeedRun::Tariff(const std::string& identity, bool valid, bool may_start_later) {
  std::vector<testing::TierSpec> tiers;
  const int count = 1 + static_cast<int>(Pick(3));
  int64_t bound = 0;
  for (int i = 0; i < count; ++i) {
    bound += 500 + static_cast<int64_t>(Pick(8000));
    tiers.push_back({i + 1 == count ? 0 : bound, static_cast<int64_t>(Pick(9000))});
  }
  int64_t effective = now();
  auto versions = model_->tariffs().find(identity);
  if (versions != model_->tariffs().end() && versions->second.back().from_us >= effective) {
    effective = versions->second.back().from_us + 1;
  }
  if (may_start_later && Chance(30)) effective += static_cast<int64_t>(Pick(3 * kDayUs));
  int64_t allowance = std::vector<int64_t>{0, 60'000, 120'000, 140'000}[Pick(4)];
  if (!valid) {
    switch (Pick(4)) {
      case 0:
        effective = now() - 1 - static_cast<int64_t>(Pick(kHourUs));
        break;  // the past
      case 1:
        tiers.back().upto_wh = bound + 1000;
        break;  // a bounded last tier
      case 2:   // bounds that do not rise
        if (tiers.size() >= 2) {
          tiers[1].upto_wh = tiers[0].upto_wh;
        } else {
          tiers.push_back(tiers[0]);
        }
        break;
      default:
        allowance = -1;
        break;
    }
  }
  Send(Signer::kOperator, testing::TariffBody(Key(), now(), identity, effective, tiers, allowance),
       absl::StrCat("tariff ", identity));
}

void SeedRun::Setup() {
  Tariff("ug", true, false);
  Tariff("staff", true, false);
  if (Chance(50)) Tariff("pg", true, false);
  if (Chance(30)) Tariff("other", true, false);
  Send(Signer::kOperator, testing::BuildingBody(Key(), now(), "B1"), "building");
  Send(Signer::kOperator, testing::GatewayBody(Key(), now(), "G1"), "gateway");
  const int rooms = 3 + static_cast<int>(Pick(3));
  for (int i = 0; i < rooms; ++i) {
    Send(Signer::kOperator,
         testing::RoomBody(Key(), now(), kRooms[i], "B1", 1 + static_cast<uint32_t>(Pick(3)),
                           Chance(15) ? "staff" : ""),
         "room");
    Meter(kRooms[i]);
  }
  const int people = 2 + static_cast<int>(Pick(5));
  for (int i = 0; i < people; ++i) Occupant();
}

void SeedRun::Occupant() {
  std::string person = PickOf(kPeople);
  std::string identity = Chance(90) ? kIdentities[Pick(3)] : PickOf(kIdentities);
  Send(Signer::kOperator,
       testing::OccupantBody(Key(), now(), RandomRoom(), person, identity,
                             Chance(97) ? "C" + person : ""),
       "occupant");
}

void SeedRun::Meter(std::string room) {
  testing::MeterSpec meter;
  meter.address = absl::StrFormat("%012d", 101 + Pick(8));
  if (Chance(4)) meter.address = Chance(50) ? "12345" : "00000000010A";
  meter.circuit = static_cast<uint8_t>(Chance(85) ? 1 : Chance(80) ? 2 : 5 * Pick(2));
  meter.gateway_id = Chance(90) ? "G1" : PickOf(kGateways);
  meter.room_id = room.empty() ? RandomRoom() : room;
  switch (Pick(3)) {
    case 0:
      meter.initial_wh = 0;
      break;
    case 1:
      meter.initial_wh = static_cast<int64_t>(Pick(kModulusWh));
      break;
    default:
      meter.initial_wh = kModulusWh - 1 - static_cast<int64_t>(Pick(5000));
      break;
  }
  meter.rated_current_ma = Chance(97) ? 10'000 + static_cast<int64_t>(Pick(50'000)) : 0;
  meter.nominal_voltage_dv = Chance(80) ? 2200 : Chance(50) ? 2300 : 0;
  Send(Signer::kOperator, testing::MeterBody(Key(), now(), meter), "meter");
}

void SeedRun::Replace() {
  std::vector<const MMeter*> live;
  for (const auto& [id, meter] : model_->meters()) {
    if (!meter.retired) live.push_back(&meter);
  }
  if (live.empty()) return;
  const MMeter& old_meter = *live[Pick(live.size())];
  const int64_t final_wh = Chance(80)
                               ? (old_meter.last_wh + static_cast<int64_t>(Pick(3000))) % kModulusWh
                               : static_cast<int64_t>(Pick(kModulusWh));
  const int64_t initial_wh = Chance(70) ? static_cast<int64_t>(Pick(1000))
                                        : kModulusWh - 1 - static_cast<int64_t>(Pick(2000));
  Send(Signer::kOperator,
       testing::MeterReplacedBody(Key(), now(), old_meter.address,
                                  absl::StrFormat("%012d", 201 + Pick(6)), old_meter.circuit,
                                  final_wh, initial_wh),
       "meter replacement");
}

void SeedRun::Deposit() {
  const bool card_center = Chance(25);
  schema::DepositChannel channel =
      card_center
          ? (Chance(93) ? schema::DepositChannel::CARD_CENTER : schema::DepositChannel::COUNTER)
          : (Chance(93)
                 ? (Chance(70) ? schema::DepositChannel::COUNTER : schema::DepositChannel::WEB)
                 : schema::DepositChannel::CARD_CENTER);
  int64_t amount = 1 + static_cast<int64_t>(Pick(20'000));
  switch (Pick(40)) {
    case 0:
      amount = 0;
      break;
    case 1:
      amount = -amount;
      break;
    case 2:
      amount = kDepositMaxFen;
      break;
    case 3:
      amount = kDepositMaxFen + 1;
      break;
    default:
      break;
  }
  std::string room = RandomRoom();
  std::string card = "Cparent";
  auto it = model_->rooms().find(room);
  if (it != model_->rooms().end() && !it->second.occupants.empty() && Chance(75)) {
    card = it->second.occupants[Pick(it->second.occupants.size())].card;
  } else if (Chance(50)) {
    card = "C" + PickOf(kPeople);
  }
  Send(card_center ? Signer::kCardCenter : Signer::kCashier,
       testing::ChannelDepositBody(Key(), now(), room, amount, channel, card), "deposit");
}

void SeedRun::Reverse() {
  uint64_t seq = 1 + Pick(model_->head() + 2);
  const auto& deposits = model_->deposit_seqs();
  if (!deposits.empty() && Chance(85)) seq = deposits[Pick(deposits.size())];
  const Signer signers[] = {Signer::kOperator, Signer::kCashier, Signer::kCardCenter};
  Send(signers[Pick(3)], testing::ReversalBody(Key(), now(), seq), "reversal");
}

void SeedRun::Readings() {
  // Sweeps come every few minutes: time passes between most of them.
  if (Chance(70)) clock_.Advance(kMinuteUs + static_cast<int64_t>(Pick(90 * kMinuteUs)));
  std::vector<testing::ReadingSpec> readings;
  std::vector<const MMeter*> meters;
  for (const auto& [id, meter] : model_->meters()) meters.push_back(&meter);
  const int count = 1 + static_cast<int>(Pick(4));
  for (int i = 0; i < count && !meters.empty(); ++i) {
    const MMeter& meter = *meters[Pick(meters.size())];
    testing::ReadingSpec reading{
        .address = meter.address, .circuit = meter.circuit, .read_at_us = now(), .total_wh = 0};
    if (Chance(8)) reading.read_at_us = meter.last_at_us - static_cast<int64_t>(Pick(2));  // resent
    const int64_t elapsed = std::max<int64_t>(0, reading.read_at_us - meter.last_at_us);
    const int64_t max = meter.MaxWh(elapsed);
    int64_t delta =
        static_cast<int64_t>(Pick(static_cast<uint64_t>(std::min<int64_t>(max, 30'000)) + 1));
    switch (Pick(20)) {
      case 0:
        delta = -1 - static_cast<int64_t>(Pick(5000));
        break;  // backwards
      case 1:
        delta = max + 1 + static_cast<int64_t>(Pick(1000));
        break;  // implausible
      case 2:
        delta = max;
        break;  // the most the circuit can pass
      case 3:
        delta = 0;
        break;
      default:
        break;
    }
    reading.total_wh = ((meter.last_wh + delta) % kModulusWh + kModulusWh) % kModulusWh;
    readings.push_back(reading);
  }
  if (Chance(5)) {  // a meter that is not installed
    readings.push_back(
        {.address = "000000000999", .circuit = 1, .read_at_us = now(), .total_wh = 5});
  }
  if (Chance(2)) readings.push_back({.address = "000000000101", .circuit = 0, .read_at_us = now()});
  if (Chance(2))
    readings.push_back({.address = "000000000101", .read_at_us = now(), .total_wh = kModulusWh});
  std::string gateway = Chance(95) ? "G1" : PickOf(kGateways);
  Send(Signer::kIngest, testing::ReadingsBody(Key(), now(), gateway, readings), "readings");
}

void SeedRun::Refund() {
  auto [room, person] = RandomOccupant();
  Send(Chance(70) ? Signer::kOperator : Signer::kCashier,
       testing::RefundBody(Key(), now(), room, person), "refund");
}

void SeedRun::Exchange() {
  auto [from, person] = RandomOccupant();
  std::string to = RandomRoom();
  for (int i = 0; i < 3 && to == from && Chance(90); ++i) to = RandomRoom();
  std::string swap;
  auto target = model_->rooms().find(to);
  if (target != model_->rooms().end() && !target->second.occupants.empty() && Chance(40)) {
    swap = target->second.occupants[Pick(target->second.occupants.size())].person;
  } else if (Chance(5)) {
    swap = PickOf(kPeople);
  }
  Send(Signer::kOperator, testing::ExchangeBody(Key(), now(), person, from, to, swap), "exchange");
}

void SeedRun::Retry() {
  if (sent_.empty()) return;
  Sent again = sent_[Pick(sent_.size())];
  Send(again.signer, again.body, "retry of an earlier request");
}

void SeedRun::RandomRequest() {
  const int dice = static_cast<int>(Pick(100));
  if (dice < 18) return Deposit();
  if (dice < 38) return Readings();
  if (dice < 48) return Advance();
  if (dice < 54) return Occupant();
  if (dice < 59) return Refund();
  if (dice < 65) return Exchange();
  if (dice < 71) return Reverse();
  if (dice < 79) return Retry();
  if (dice < 81) {
    auto [room, person] = RandomOccupant();
    return Send(Signer::kOperator, testing::MoveOutBody(Key(), now(), room, person), "move-out");
  }
  if (dice < 84) return Meter();
  if (dice < 86) return Replace();
  if (dice < 88) {
    return Send(
        Signer::kOperator,
        testing::RoomBody(Key(), now(), RandomRoom(), Chance(80) ? "B1" : PickOf(kBuildings),
                          static_cast<uint32_t>(Pick(4)), Chance(85) ? "" : PickOf(kIdentities)),
        "room");
  }
  if (dice < 91) return Tariff(kIdentities[Pick(4)], Chance(70));
  if (dice < 92)
    return Send(Signer::kOperator, testing::BuildingBody(Key(), now(), PickOf(kBuildings)),
                "building");
  if (dice < 93)
    return Send(Signer::kOperator, testing::GatewayBody(Key(), now(), PickOf(kGateways)),
                "gateway");
  if (dice < 95) {
    return Send(
        Signer::kOperator,
        testing::OverdraftBody(Key(), now(), RandomRoom(), static_cast<int64_t>(Pick(2000)) - 100),
        "overdraft limit");
  }
  if (dice < 97) {  // a month tick that starts no later month, or no month at all
    int64_t end =
        Chance(50) ? CampusMonthStartUs(model_->month_start_us() > 0 ? model_->month_start_us() - 1
                                                                     : now())
                   : CampusDayStartUs(now()) + kHourUs;
    return Send(Signer::kLedger,
                testing::MakeBody(Key(), now(), "periods",
                                  [&](schema::EventBody::Builder body) {
                                    body.initPeriodClosed().setPeriodEndUs(end);
                                    body.getPeriodClosed().setKind(schema::PeriodKind::MONTH);
                                  }),
                "stray month tick");
  }
  // A settlement submitted by hand: refused even from the ledger key.
  Send(Signer::kLedger,
       testing::MakeBody(Key(), now(), "gateway:G1",
                         [&](schema::EventBody::Builder body) {
                           body.initDeductionsApplied().setSourceSeq(model_->head());
                         }),
       "forged deductions");
}

std::string SeedRun::FinalChecks() {
  ledger_->Stop();
  ledger::StoreOptions store_options;
  store_options.create_if_missing = true;
  store_options.env = ModelEnv();
  auto target = ledger::EventStore::Open(dir_.Sub("replay"), store_options);
  if (!target.ok()) return target.status().ToString();
  Campus replayed;
  auto summary = ledger::Replay(ledger_->store(), **target, {&replayed}, {});
  if (!summary.ok()) return absl::StrCat("replay: ", summary.status().ToString());
  absl::Status same = testing::SameDerivedFamilies(ledger_->store(), **target);
  if (!same.ok()) return absl::StrCat("replay: ", same.ToString());
  std::string rooms = CompareRooms(replayed.Rooms(), *model_);
  if (!rooms.empty()) return absl::StrCat("replayed: ", rooms);
  // A state-only replay builds no derived event and skips them in the log:
  // the same state, row for row.
  auto state_target = ledger::EventStore::Open(dir_.Sub("replay-state"), store_options);
  if (!state_target.ok()) return state_target.status().ToString();
  Campus state_only;
  ledger::ReplayOptions state_options;
  state_options.mode = ledger::ReplayMode::kStateOnly;
  auto state_summary =
      ledger::Replay(ledger_->store(), **state_target, {&state_only}, state_options);
  if (!state_summary.ok())
    return absl::StrCat("state-only replay: ", state_summary.status().ToString());
  if (state_summary->events != summary->events) {
    return absl::StrCat("state-only replay counted ", state_summary->events, " events, not ",
                        summary->events);
  }
  same = testing::SameFamily(ledger_->store(), **state_target, ledger::EventStore::kState);
  if (!same.ok()) return absl::StrCat("state-only replay: ", same.ToString());
  rooms = CompareRooms(state_only.Rooms(), *model_);
  if (!rooms.empty()) return absl::StrCat("state-only replayed: ", rooms);
  if (seed_ % 10 == 0) {  // and now and then a reopen, with a new projection
    ledger_.reset();
    campus_ = std::make_unique<Campus>();
    ledger::LedgerOptions options = Options(dir_.Sub("ledger"), &clock_);
    options.projections = {campus_.get()};
    auto reopened = ledger::Ledger::Open(options);
    if (!reopened.ok()) return reopened.status().ToString();
    ledger_ = std::move(*reopened);
    std::string state = CompareState();
    if (!state.empty()) return absl::StrCat("reopened: ", state);
  }
  return "";
}

std::string SeedRun::Run() {
  absl::Status opened = Open();
  if (!opened.ok()) return opened.ToString();
  clock_.Set(testing::kTestEpochUs + static_cast<int64_t>(Pick(400 * kDayUs)));
  Setup();
  const int requests = 30 + static_cast<int>(Pick(30));
  for (int i = 0; i < requests && failure_.empty(); ++i) RandomRequest();
  if (!failure_.empty()) return failure_;
  return FinalChecks();
}

// --- The test ----------------------------------------------------------------------

constexpr int kShards = 8;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr ? fallback : std::strtoull(value, nullptr, 10);
}

class CampusModel : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    template_root_ = std::make_unique<testing::TempDir>(ModelParentDir());
    template_status_ = BuildTemplate(template_root_->Sub("ledger"));
  }
  static void TearDownTestSuite() { template_root_.reset(); }

  static std::unique_ptr<testing::TempDir> template_root_;
  static absl::Status template_status_;
};

std::unique_ptr<testing::TempDir> CampusModel::template_root_;
absl::Status CampusModel::template_status_;

TEST_P(CampusModel, EngineAgreesWithTheReferenceModelAndReplaysByteForByte) {
  ASSERT_TRUE(template_status_.ok()) << template_status_;
  std::vector<uint64_t> seeds;
  if (std::getenv("WL_MODEL_SEED") != nullptr) {
    if (GetParam() != 0) GTEST_SKIP() << "WL_MODEL_SEED runs in shard 0";
    seeds.push_back(EnvNumber("WL_MODEL_SEED", 1));
  } else {
    const uint64_t first = EnvNumber("WL_MODEL_FIRST_SEED", 1);
    const uint64_t count = std::min<uint64_t>(EnvNumber("WL_MODEL_SEEDS", 200), 1'000'000);
    for (uint64_t seed = first; seed < first + count; ++seed) {
      if (static_cast<int>(seed % kShards) == GetParam()) seeds.push_back(seed);
    }
  }
  int requests = 0;
  int failures = 0;
  std::map<std::string, int> coverage;
  for (uint64_t seed : seeds) {
    std::printf("campus model seed=%llu\n", static_cast<unsigned long long>(seed));
    SeedRun run(seed, template_root_->Sub("ledger"), ModelParentDir());
    std::string failure = run.Run();
    requests += run.requests();
    for (const auto& [what, count] : run.coverage()) coverage[what] += count;
    if (!failure.empty()) {
      ADD_FAILURE() << "seed " << seed << ": " << failure << "\n  reproduce: WL_MODEL_SEED=" << seed
                    << " ./campus_model_test";
      if (++failures >= 3) break;
    }
  }
  std::printf("campus model: %zu seeds, %d requests\n", seeds.size(), requests);
  for (const auto& [what, count] : coverage) std::printf("  %6d %s\n", count, what.c_str());
  RecordProperty("requests", requests);
  if (seeds.size() < 20) return;
  // Every shard of the default run reaches every rule.
  for (const char* what :
       {"refused", "idempotent duplicate", "rollover charged", "free energy", "energy charged",
        "balance below zero", "negative delta", "implausible delta", "unknown meter", "no tariff",
        "refund paid", "balance moved by an exchange"}) {
    EXPECT_GT(coverage[what], 0) << "no seed exercised: " << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, CampusModel, ::testing::Range(0, kShards));

}  // namespace
}  // namespace wattledger::projections
