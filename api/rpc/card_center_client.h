// A blocking client for rpc::CardCenter (api/rpc/card_center.capnp), used by
// tools/card-center-sim, wattctl and tests. One client per thread. Transport
// failures are kUnavailable; the server's refusals keep their own codes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/rpc/tls_config.h"
#include "ledger/crypto.h"
#include "ledger/event_format.h"

namespace wattledger::rpc {

struct CardReceipt {
  std::string receipt_no;
  std::string trade_no;
  std::string room_id;
  int64_t amount_fen = 0;
  int64_t balance_after_fen = 0;
  int64_t time_us = 0;
  uint64_t seq = 0;
  ledger::Hash chain_hash{};
  bool duplicate = false;
};

enum class CardTradeState { kUnknown, kApplied, kReversed, kVoided };
absl::string_view TradeStateName(CardTradeState state);

struct CardTrade {
  std::string trade_no;
  CardTradeState state = CardTradeState::kUnknown;
  uint64_t deposit_seq = 0;
  uint64_t reversal_seq = 0;
  std::string room_id;
  int64_t amount_fen = 0;
  int64_t time_us = 0;
};

struct CardBalance {
  std::string room_id;
  int64_t balance_fen = 0;
  int64_t allowance_left_wh = 0;
  int64_t price_per_kwh = 0;
  int64_t remaining_wh = 0;
  bool power_on = true;
  std::string arrears_level;
  std::string status;
};

struct CardRoom {
  std::string campus;
  std::string building_id;
  int32_t floor = 0;
  std::string room_id;
};

struct SettlementLineView {
  uint64_t seq = 0;
  std::string kind;  // "deposit", "reversal", "voided"
  uint64_t deposit_seq = 0;
  int64_t time_us = 0;
  std::string trade_no;
  std::string terminal_id;
  std::string room_id;
  std::string payer_card_no;
  int64_t amount_fen = 0;
};

struct SignedSettlementView {
  std::string day;
  uint64_t deposit_count = 0;
  int64_t deposits_fen = 0;
  uint64_t reversal_count = 0;
  int64_t reversals_fen = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t head_seq = 0;
  std::vector<SettlementLineView> lines;
  std::string statement;  // canonical bytes, as signed
  ledger::Signature signature{};
  ledger::PublicKey ledger_public_key{};
  // Whether the signature over the statement verifies with the key.
  bool Verified() const;
};

struct TheirLineInput {
  std::string trade_no;
  std::string room_id;
  int64_t amount_fen = 0;
  bool reversal = false;
};

struct ReconcileDifference {
  std::string kind;  // "missingHere", "missingThere", "amountDiffers", ...
  std::string trade_no;
  std::string ours;
  std::string theirs;
  uint64_t seq = 0;
};

struct ReconcileReport {
  std::vector<ReconcileDifference> differences;
  uint32_t matched = 0;
};

class CardCenterClient {
 public:
  // Connects to the card center's endpoint (mutual TLS when `tls` has a
  // client certificate). kUnavailable when nothing answers.
  static absl::StatusOr<std::unique_ptr<CardCenterClient>> Connect(const std::string& address,
                                                                   const TlsFiles& tls = {});
  ~CardCenterClient();

  absl::StatusOr<std::vector<CardRoom>> Rooms();
  absl::StatusOr<CardBalance> Balance(const std::string& room_id);
  // The balances of `room_ids`, all asked at once on this connection (the
  // calls are in flight together), in order. The first refusal fails all.
  absl::StatusOr<std::vector<CardBalance>> Balances(const std::vector<std::string>& room_ids);
  absl::StatusOr<CardReceipt> Deposit(const ledger::SignedRequest& request);
  absl::StatusOr<CardTrade> Reverse(const ledger::SignedRequest& request);
  absl::StatusOr<CardTrade> Status(const std::string& trade_no);
  absl::StatusOr<SignedSettlementView> Settlement(const std::string& day);
  absl::StatusOr<ReconcileReport> Reconcile(const std::string& day,
                                            const std::vector<TheirLineInput>& theirs);

  // Fault injection for simulators and tests: sends the deposit (or the
  // reversal), lets the connection run for `after`, then cuts it without
  // reading the reply. The outcome is unknown to the caller; the client is
  // unusable afterwards (connect again).
  void SendThenCut(const ledger::SignedRequest& request, bool reversal, absl::Duration after);

 private:
  struct Impl;
  explicit CardCenterClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The bodies the card center signs: a deposit under idempotency key
// "trade/" tradeNo and a reversal by trade number under "reverse/" tradeNo.
std::string CardDepositBody(const std::string& trade_no, const std::string& room_id,
                            int64_t amount_fen, const std::string& card_no,
                            const std::string& terminal_id, int64_t trade_time_us,
                            int64_t issued_at_us);
std::string CardReversalBody(const std::string& trade_no, const std::string& reason,
                             int64_t issued_at_us);

}  // namespace wattledger::rpc
