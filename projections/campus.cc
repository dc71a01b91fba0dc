#include "projections/campus.h"

#include <rocksdb/db.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ledger/event_format.h"
#include "ledger/event_store.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"

namespace wattledger::projections {
namespace {

using ledger::EventKind;

// State rows: "campus/" kind "/" id.
constexpr absl::string_view kRoomPrefix = "campus/room/";
constexpr absl::string_view kMeterPrefix = "campus/meter/";
constexpr absl::string_view kBuildingPrefix = "campus/building/";
constexpr absl::string_view kGatewayPrefix = "campus/gateway/";
constexpr absl::string_view kTariffPrefix = "campus/tariff/";
constexpr absl::string_view kDepositPrefix = "campus/deposit/";
constexpr absl::string_view kCountersKey = "campus/counters";

template <typename T, typename Decoder>
absl::Status LoadRows(const ledger::EventStore& store, absl::string_view prefix, Decoder decode,
                      std::map<std::string, T>& out) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.family(ledger::EventStore::kState)));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && absl::StartsWith(ledger::View(it->key()), prefix); it->Next()) {
    auto value = decode(ledger::View(it->value()));
    if (!value.ok()) {
      return absl::DataLossError(
          absl::StrCat("state row ", ledger::View(it->key()), ": ", value.status().message()));
    }
    out.emplace(std::string(ledger::View(it->key()).substr(prefix.size())), std::move(*value));
  }
  return ledger::FromRocks(it->status(), "loading campus state");
}

}  // namespace

absl::Status Campus::Load(const ledger::EventStore& store) {
  absl::MutexLock lock(&mu_);
  WL_RETURN_IF_ERROR(LoadRows(store, kBuildingPrefix, DecodeBuilding, buildings_));
  WL_RETURN_IF_ERROR(LoadRows(store, kGatewayPrefix, DecodeGateway, gateways_));
  WL_RETURN_IF_ERROR(LoadRows(store, kRoomPrefix, DecodeRoom, rooms_));
  WL_RETURN_IF_ERROR(LoadRows(store, kMeterPrefix, DecodeMeter, meters_));
  WL_RETURN_IF_ERROR(LoadRows(store, kTariffPrefix, DecodeTariff, tariffs_));
  std::map<std::string, DepositRecord> deposits;
  WL_RETURN_IF_ERROR(LoadRows(store, kDepositPrefix, DecodeDeposit, deposits));
  for (auto& [key, deposit] : deposits) {
    deposit.persisted = true;
    if (!deposit.trade_no.empty()) trades_[deposit.trade_no] = deposit.seq;
    deposits_[deposit.seq] = deposit;
  }
  WL_ASSIGN_OR_RETURN(auto counters, store.GetState(kCountersKey));
  if (counters.has_value()) {
    WL_ASSIGN_OR_RETURN(counters_, DecodeCounters(*counters));
  }
  for (const auto& [room_id, room] : rooms_) {
    for (const Occupant& occupant : room.occupants) person_rooms_[occupant.person_id] = room_id;
  }
  for (auto& [key, meter] : meters_) {
    if (!meter.retired) ++address_circuits_[meter.address];
    meter_index_[key] = &meter;
  }
  return absl::OkStatus();
}

void Campus::MarkDirty(Room& room) {
  if (room.dirty) return;
  room.dirty = true;
  dirty_rooms_.push_back(&room);
}

void Campus::MarkDirty(Meter& meter) {
  if (meter.dirty) return;
  meter.dirty = true;
  dirty_meters_.push_back(&meter);
}

void Campus::Flush(ledger::StateWriter& writer) {
  absl::MutexLock lock(&mu_);
  for (Room* room : dirty_rooms_) {
    writer.Put(absl::StrCat(kRoomPrefix, room->room_id), EncodeRoom(*room));
    room->dirty = false;
  }
  for (Meter* meter : dirty_meters_) {
    writer.Put(absl::StrCat(kMeterPrefix, MeterKey(meter->address, meter->circuit)),
               EncodeMeter(*meter));
    meter->dirty = false;
  }
  dirty_rooms_.clear();
  dirty_meters_.clear();
  for (const std::string& key : dirty_) {
    absl::string_view id = key;
    if (absl::ConsumePrefix(&id, kBuildingPrefix)) {
      writer.Put(key, EncodeBuilding(buildings_.at(std::string(id))));
    } else if (absl::ConsumePrefix(&id, kGatewayPrefix)) {
      writer.Put(key, EncodeGateway(gateways_.at(std::string(id))));
    } else if (absl::ConsumePrefix(&id, kTariffPrefix)) {
      writer.Put(key, EncodeTariff(tariffs_.at(std::string(id))));
    } else if (absl::ConsumePrefix(&id, kDepositPrefix)) {
      DepositRecord& deposit = deposits_.at(ledger::GetU64BigEndian(id));
      writer.Put(key, EncodeDeposit(deposit));
      deposit.persisted = true;
    } else if (key == kCountersKey) {
      writer.Put(key, EncodeCounters(counters_));
    } else {
      WL_CHECK(false && "unknown dirty state key");
    }
  }
  for (const std::string& key : deleted_) writer.Delete(key);
  dirty_.clear();
  deleted_.clear();
}

absl::Status Campus::Check(const ledger::PendingEvent& event) const {
  absl::ReaderMutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::DEDUCTIONS_APPLIED:
    case EventKind::REFUND_SETTLED:
    case EventKind::EXCHANGE_SETTLED:
      if (derived_expected_ == 0) {
        return absl::FailedPreconditionError(
            "settlements are derived by the ledger from the event they settle");
      }
      return absl::OkStatus();
    case EventKind::PERIOD_CLOSED: {
      auto period = event.body.getPeriodClosed();
      if (period.getKind() == schema::PeriodKind::MONTH &&
          (period.getPeriodEndUs() != MonthStartUs(period.getPeriodEndUs()) ||
           period.getPeriodEndUs() <= counters_.month_start_us)) {
        return absl::FailedPreconditionError("a month tick must start a later campus month");
      }
      return absl::OkStatus();
    }
    default:
      break;
  }
  WL_RETURN_IF_ERROR(CheckRegistry(event));
  return CheckMoney(event);
}

ledger::Applied Campus::Apply(const ledger::PendingEvent& event, ledger::StateWriter&) {
  absl::MutexLock lock(&mu_);
  switch (event.body.which()) {
    case EventKind::DEDUCTIONS_APPLIED:
    case EventKind::REFUND_SETTLED:
    case EventKind::EXCHANGE_SETTLED:
      // Their effects were applied with the event they settle; this is the record.
      WL_CHECK(derived_expected_ > 0);
      --derived_expected_;
      return {};
    case EventKind::PERIOD_CLOSED: {
      auto period = event.body.getPeriodClosed();
      if (period.getKind() == schema::PeriodKind::MONTH) CloseMonth(period.getPeriodEndUs());
      ForgetOldDeposits(period.getPeriodEndUs());
      return {};
    }
    default:
      break;
  }
  ApplyRegistry(event);
  return ApplyMoney(event);
}

std::optional<Room> Campus::FindRoom(const std::string& room_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  return it->second;
}

std::optional<Meter> Campus::FindMeter(const std::string& address, uint8_t circuit) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = meters_.find(MeterKey(address, circuit));
  if (it == meters_.end()) return std::nullopt;
  return it->second;
}

std::optional<Campus::RoomMoney> Campus::MoneyOf(const std::string& room_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  return RoomMoney{.building_id = it->second.building_id,
                   .balance_fen = it->second.balance_fen,
                   .overdraft_limit_fen = it->second.overdraft_limit_fen};
}

std::vector<Campus::ChargedRoom> Campus::LastBatchCharged() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ChargedRoom> out;
  out.reserve(batch_charged_.size());
  for (const Room* room : batch_charged_) {
    out.push_back({room->room_id, RoomMoney{.building_id = room->building_id,
                                            .balance_fen = room->balance_fen,
                                            .overdraft_limit_fen = room->overdraft_limit_fen}});
  }
  return out;
}

std::string Campus::RoomOfMeter(const std::string& address, uint8_t circuit) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = meter_index_.find(MeterKey(address, circuit));
  if (it == meter_index_.end() || it->second->retired) return {};
  return it->second->room_id;
}

std::vector<std::pair<std::string, uint8_t>> Campus::CircuitsOfRoom(
    const std::string& room_id) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<std::string, uint8_t>> out;
  for (const auto& [key, meter] : meters_) {
    if (meter.room_id == room_id && !meter.retired) out.emplace_back(meter.address, meter.circuit);
  }
  return out;
}

std::string Campus::RoomOfReversal(schema::DepositReversed::Reader reversal) const {
  absl::ReaderMutexLock lock(&mu_);
  uint64_t seq = reversal.getDepositSeq();
  if (seq == 0) {
    auto trade = trades_.find(absl::string_view(reversal.getTradeNo().cStr()));
    if (trade == trades_.end()) return "";
    seq = trade->second;
  }
  auto it = deposits_.find(seq);
  return it == deposits_.end() ? std::string() : it->second.room_id;
}

std::optional<Campus::Standing> Campus::StandingOf(const std::string& room_id,
                                                   int64_t time_us) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  const Room& room = it->second;
  Standing out{.balance_fen = room.balance_fen,
               .allowance_left_wh = std::max<int64_t>(0, room.allowance_left_wh)};
  if (const TariffVersion* tariff = RoomTariffLocked(room, time_us); tariff != nullptr) {
    for (const TierPrice& tier : tariff->tiers) {
      out.price_per_kwh = tier.price_per_kwh;
      if (tier.upto_wh == 0 || room.month_energy_wh < tier.upto_wh) break;
    }
  }
  out.remaining_wh = out.allowance_left_wh;
  if (out.price_per_kwh > 0 && room.balance_fen > 0) {
    out.remaining_wh += room.balance_fen * 100 * 1000 / out.price_per_kwh;
  }
  return out;
}

std::optional<Campus::Trade> Campus::FindTrade(const std::string& trade_no) const {
  absl::ReaderMutexLock lock(&mu_);
  auto trade = trades_.find(trade_no);
  if (trade == trades_.end()) return std::nullopt;
  const DepositRecord& record = deposits_.at(trade->second);
  return Trade{.trade_no = trade_no,
               .deposit_seq = record.voided ? 0 : record.seq,
               .reversal_seq = record.reversal_seq,
               .room_id = record.room_id,
               .amount_fen = record.amount_fen,
               .payer_card_no = record.payer_card_no,
               .time_us = record.time_us};
}

std::vector<std::string> Campus::RoomIds(const std::string& building_id) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [id, room] : rooms_) {
    if (building_id.empty() || room.building_id == building_id) out.push_back(id);
  }
  return out;
}

bool Campus::HasGateway(const std::string& gateway_id) const {
  absl::ReaderMutexLock lock(&mu_);
  return gateways_.contains(gateway_id);
}

bool Campus::HasMeter(const std::string& address) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = address_circuits_.find(address);
  return it != address_circuits_.end() && it->second > 0;
}

template <typename T>
static std::vector<T> Values(const std::map<std::string, T>& map) {
  std::vector<T> out;
  out.reserve(map.size());
  for (const auto& [key, value] : map) out.push_back(value);
  return out;
}

std::vector<Room> Campus::Rooms() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(rooms_);
}
std::vector<Building> Campus::Buildings() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(buildings_);
}
std::vector<Gateway> Campus::Gateways() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(gateways_);
}
std::vector<Meter> Campus::Meters() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(meters_);
}
std::vector<Tariff> Campus::Tariffs() const {
  absl::ReaderMutexLock lock(&mu_);
  return Values(tariffs_);
}

std::string Campus::RoomOf(const std::string& person_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = person_rooms_.find(person_id);
  return it == person_rooms_.end() ? "" : it->second;
}

const TariffVersion* Campus::ClassTariffLocked(const std::string& identity_class,
                                               int64_t time_us) const {
  auto it = tariffs_.find(identity_class);
  if (it == tariffs_.end()) return nullptr;
  return it->second.At(time_us);
}

// A room with a tariff class set is charged at that class's tariff. Without
// one it follows its occupants: the identity class most of them share; on a
// tie, the class whose first tier is cheaper, then the class name. An empty
// room is charged at the "other" class.
const TariffVersion* Campus::RoomTariffLocked(const Room& room, int64_t time_us) const {
  if (!room.tariff_class.empty()) return ClassTariffLocked(room.tariff_class, time_us);
  if (room.occupants.empty()) return ClassTariffLocked("other", time_us);
  // Rooms hold a handful of people: count classes without allocating, since
  // this runs for every reading.
  const TariffVersion* best = nullptr;
  const std::string* best_class = nullptr;
  int best_count = 0;
  for (size_t i = 0; i < room.occupants.size(); ++i) {
    const std::string& identity_class = room.occupants[i].identity_class;
    bool seen = false;
    int count = 0;
    for (size_t j = 0; j < room.occupants.size(); ++j) {
      if (room.occupants[j].identity_class != identity_class) continue;
      if (j < i) seen = true;
      ++count;
    }
    if (seen) continue;
    const TariffVersion* tariff = ClassTariffLocked(identity_class, time_us);
    if (tariff == nullptr) continue;
    int64_t price = tariff->tiers.front().price_per_kwh;
    bool better = best == nullptr || count > best_count ||
                  (count == best_count &&
                   (price < best->tiers.front().price_per_kwh ||
                    (price == best->tiers.front().price_per_kwh && identity_class < *best_class)));
    if (better) {
      best = tariff;
      best_class = &identity_class;
      best_count = count;
    }
  }
  return best;
}

const TariffVersion* Campus::ReadingTariffLocked(Room& room, int64_t time_us) {
  Room::TariffMemo& memo = room.tariff_memo;
  if (memo.inputs_version == tariff_inputs_version_ && memo.from_us <= time_us &&
      time_us < memo.until_us) {
    return memo.tariff;
  }
  // Between two consecutive effective times of any version of any class,
  // every class's version in force, and so the room's choice, stays the same.
  memo.from_us = INT64_MIN;
  memo.until_us = INT64_MAX;
  for (const auto& [identity_class, tariff] : tariffs_) {
    for (const TariffVersion& version : tariff.versions) {
      if (version.effective_from_us <= time_us) {
        memo.from_us = std::max(memo.from_us, version.effective_from_us);
      } else {
        memo.until_us = std::min(memo.until_us, version.effective_from_us);
      }
    }
  }
  memo.tariff = RoomTariffLocked(room, time_us);
  memo.inputs_version = tariff_inputs_version_;
  return memo.tariff;
}

void Campus::CheckInvariant(const Room& room) const {
  WL_CHECK(room.LedgerBalanceFen() == room.balance_fen);
  WL_CHECK(room.remainder >= 0 && room.remainder < kCostUnitsPerFen);
  WL_CHECK(room.allowance_left_wh >= 0);
}

}  // namespace wattledger::projections
