// The campus projection's in-memory state: registry, tariffs, room accounts,
// meter baselines and recent deposits. Plain values; campus_state.cc turns
// each entity into its persisted row (projections/schema/state.capnp) and
// back. Containers are ordered so that iteration, and so replay, is
// deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/schema/event.capnp.h"
#include "projections/tariff.h"

namespace wattledger::projections {

struct Occupant {
  std::string person_id;
  std::string name;
  std::string identity_class;
  std::string card_no;
  int64_t since_us = 0;
};

struct Room {
  std::string room_id;
  std::string building_id;
  int32_t floor = 0;
  std::string number;
  uint32_t capacity = 0;
  std::string tariff_class;  // empty: follows the occupants
  std::vector<Occupant> occupants;
  int64_t balance_fen = 0;
  int64_t overdraft_limit_fen = 0;
  int64_t remainder = 0;  // 1/100000 fen
  int64_t month_energy_wh = 0;
  int64_t allowance_left_wh = 0;
  int64_t deposits_fen = 0;
  int64_t reversals_fen = 0;
  int64_t deductions_fen = 0;
  int64_t refunds_fen = 0;
  int64_t transfers_in_fen = 0;
  int64_t transfers_out_fen = 0;
  int64_t energy_wh = 0;
  std::map<std::string, int64_t> card_nets;  // payer card -> net fen paid in
  bool dirty = false;                        // in memory only: changed since the last Flush
  uint64_t charged_in_batch = 0;             // in memory only: see Campus::LastBatchCharged
  // In memory only: the tariff the room's readings were last charged at, and
  // while it holds (Campus::ReadingTariffLocked).
  struct TariffMemo {
    uint64_t inputs_version = 0;  // 0: none
    int64_t from_us = 0;
    int64_t until_us = 0;
    const TariffVersion* tariff = nullptr;
  } tariff_memo;

  // The account identity every room keeps: what came in minus what went out.
  int64_t LedgerBalanceFen() const {
    return deposits_fen - reversals_fen - deductions_fen - refunds_fen + transfers_in_fen -
           transfers_out_fen;
  }
  const Occupant* FindOccupant(const std::string& person_id) const;
};

struct Meter {
  std::string address;
  uint8_t circuit = 1;
  std::string gateway_id;
  std::string room_id;
  int64_t last_wh = 0;
  int64_t last_read_at_us = 0;
  int64_t rated_current_ma = 0;
  int32_t nominal_voltage_dv = 2200;
  bool retired = false;
  // In memory only: changed since the last Flush; the room it feeds.
  bool dirty = false;
  Room* room = nullptr;
};

struct Building {
  std::string building_id;
  std::string name;
  std::string campus;
};

struct Gateway {
  std::string gateway_id;
  std::string address;
  std::string location;
  schema::GatewayMode mode = schema::GatewayMode::SERVER;
  uint32_t meters = 0;
};

struct DepositRecord {
  uint64_t seq = 0;
  std::string room_id{};
  int64_t amount_fen = 0;
  std::string payer_card_no{};
  int64_t time_us = 0;
  bool reversed = false;
  std::string trade_no{};     // the card center's, or ""
  uint64_t reversal_seq = 0;  // the reversal's seq, once reversed
  // A card-center reversal that came before its deposit: seq is the
  // reversal's, nothing moved, and the trade's deposit will be refused.
  bool voided = false;
  // In memory only: its row is in the store (loaded, or written by a Flush),
  // so forgetting it must delete the row.
  bool persisted = false;
};

struct Counters {
  uint64_t receipts = 0;
  int64_t month_start_us = 0;
};

// Meters are keyed by address and circuit: "000000000101/1".
std::string MeterKey(absl::string_view address, uint8_t circuit);

// Row encodings ("state" family). Each Decode refuses rows that do not parse.
std::string EncodeRoom(const Room& room);
absl::StatusOr<Room> DecodeRoom(absl::string_view bytes);
std::string EncodeMeter(const Meter& meter);
absl::StatusOr<Meter> DecodeMeter(absl::string_view bytes);
std::string EncodeBuilding(const Building& building);
absl::StatusOr<Building> DecodeBuilding(absl::string_view bytes);
std::string EncodeGateway(const Gateway& gateway);
absl::StatusOr<Gateway> DecodeGateway(absl::string_view bytes);
std::string EncodeTariff(const Tariff& tariff);
absl::StatusOr<Tariff> DecodeTariff(absl::string_view bytes);
std::string EncodeDeposit(const DepositRecord& deposit);
absl::StatusOr<DepositRecord> DecodeDeposit(absl::string_view bytes);
std::string EncodeCounters(const Counters& counters);
absl::StatusOr<Counters> DecodeCounters(absl::string_view bytes);

}  // namespace wattledger::projections
