// The deposits a report remembers so it can book their reversals: a
// DepositReversed names only the deposit's seq, and the report needs the
// deposit's room, amount, channel, cashier and trade number. Each deposit is
// a row "deposit/" seq (u64 big-endian) in the report's own family, and is
// forgotten by the campus's own rule (Campus::ForgetOldDeposits, with
// kReversalWindowUs), so the book holds every deposit the campus would still
// let a reversal name, and stays a month of deposits long.
//
// Used by one report on its runner's thread; not thread-safe.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ledger/event_store.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/subscription.h"

namespace wattledger::projections::reports {

struct BookedDeposit {
  uint64_t seq = 0;
  std::string room_id;
  int64_t amount_fen = 0;
  schema::DepositChannel channel = schema::DepositChannel::COUNTER;
  std::string cashier_id;
  std::string trade_no;
  std::string payer_card_no;
  int64_t time_us = 0;  // appended at
  bool reversed = false;
};

// "counter", "card-center", "web": as wattctl spells the channels.
absl::string_view ChannelName(schema::DepositChannel channel);

class DepositBook {
 public:
  // Reads the book's rows from `family`; kDataLoss when a row does not parse.
  absl::Status Load(const ledger::EventStore& store, rocksdb::ColumnFamilyHandle* family);
  // Remembers the deposit at `seq`, appended at `time_us`.
  const BookedDeposit& Remember(uint64_t seq, int64_t time_us, schema::DepositMade::Reader deposit,
                                ledger::ProjectionWriter& writer);
  // The seq of the deposit `reversal` names, by seq or by trade number; 0
  // when it names a trade without a deposit (the campus voided the trade).
  uint64_t Resolve(schema::DepositReversed::Reader reversal) const;
  // Marks the deposit at `deposit_seq` reversed and returns it. The campus
  // admitted the reversal, so the book knows the deposit (checked).
  BookedDeposit Reverse(uint64_t deposit_seq, ledger::ProjectionWriter& writer);
  // Forgets what the campus forgets when a period ends at `period_end_us`.
  void Forget(int64_t period_end_us, ledger::ProjectionWriter& writer);

  size_t size() const { return deposits_.size(); }

 private:
  std::map<uint64_t, BookedDeposit> deposits_;         // by seq
  absl::flat_hash_map<std::string, uint64_t> trades_;  // trade number -> seq
};

}  // namespace wattledger::projections::reports
