// Campus: deposits and receipts, reversals, refunds, room exchange and the
// monthly reset of free allowances.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/event_format.h"
#include "ledger/roles.h"
#include "ledger/status_macros.h"
#include "projections/calendar.h"
#include "projections/campus.h"

namespace wattledger::projections {
namespace {

using ledger::EventKind;

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

absl::Status Refuse(absl::string_view why) { return absl::FailedPreconditionError(why); }

// The channel says who took the money; the signer's role must match it.
bool ChannelFitsRole(schema::DepositChannel channel, schema::Role role) {
  switch (channel) {
    case schema::DepositChannel::COUNTER:
    case schema::DepositChannel::WEB:
      return role == schema::Role::CASHIER;
    case schema::DepositChannel::CARD_CENTER:
      return role == schema::Role::CARD_CENTER;
  }
  return false;
}

// A receipt is about 20 words; the builder's default first segment is 1024.
constexpr unsigned kReceiptFirstSegmentWords = 64;

template <typename Fill>
std::string Body(const ledger::PendingEvent& source, absl::string_view key_prefix, Fill fill) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<schema::EventBody>();
  body.setIdempotencyKey(absl::StrCat(key_prefix, source.seq));
  body.setIssuedAtUs(source.appended_at_us);
  body.setStream(source.body.getStream());
  fill(body);
  return ledger::Canonical(body.asReader());
}

}  // namespace

absl::Status Campus::CheckTrade(schema::DepositMade::Reader deposit) const {
  std::string trade_no = Str(deposit.getTradeNo());
  if (trade_no.empty()) {
    if (deposit.getChannel() == schema::DepositChannel::CARD_CENTER) {
      return absl::InvalidArgumentError("a card-center deposit carries its trade number");
    }
    return absl::OkStatus();
  }
  if (trade_no.size() > kTradeNoBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("a trade number is at most ", kTradeNoBytesMax, " bytes"));
  }
  auto trade = trades_.find(trade_no);
  if (trade == trades_.end()) return absl::OkStatus();
  const DepositRecord& first = deposits_.at(trade->second);
  if (first.voided) {
    return Refuse(absl::StrCat("trade ", trade_no, " was reversed at seq ", first.seq,
                               " before its deposit arrived; the deposit is refused"));
  }
  return absl::AlreadyExistsError(
      absl::StrCat("trade ", trade_no, " was already deposited at seq ", first.seq));
}

absl::Status Campus::CheckMoney(const ledger::PendingEvent& event) const {
  auto body = event.body;
  switch (body.which()) {
    case EventKind::DEPOSIT_MADE: {
      auto deposit = body.getDepositMade();
      if (rooms_.count(Str(deposit.getRoomId())) == 0) {
        return absl::NotFoundError(absl::StrCat("no room ", Str(deposit.getRoomId())));
      }
      if (deposit.getAmountFen() <= 0 || deposit.getAmountFen() > kDepositFenMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("a deposit is 1 to ", kDepositFenMax, " fen"));
      }
      if (deposit.getCashierId().size() == 0) {
        return absl::InvalidArgumentError("a deposit names the cashier or terminal that took it");
      }
      if (!ChannelFitsRole(deposit.getChannel(), event.signer_role)) {
        return absl::PermissionDeniedError("this key may not take deposits on that channel");
      }
      return CheckTrade(deposit);
    }
    case EventKind::DEPOSIT_REVERSED: {
      auto reversal = body.getDepositReversed();
      uint64_t seq = reversal.getDepositSeq();
      std::string trade_no = Str(reversal.getTradeNo());
      if ((seq == 0) == trade_no.empty()) {
        return absl::InvalidArgumentError(
            "a reversal names the deposit's seq or its trade number, one of them");
      }
      if (seq == 0) {
        if (trade_no.size() > kTradeNoBytesMax) {
          return absl::InvalidArgumentError(
              absl::StrCat("a trade number is at most ", kTradeNoBytesMax, " bytes"));
        }
        auto trade = trades_.find(trade_no);
        if (trade == trades_.end()) {
          // Not seen (yet): the reversal voids the trade.
          if (reversal.getReason().size() == 0) {
            return absl::InvalidArgumentError("a reversal needs a reason");
          }
          return absl::OkStatus();
        }
        seq = trade->second;
      }
      auto it = deposits_.find(seq);
      if (it == deposits_.end() || (it->second.voided && trade_no.empty())) {
        return absl::NotFoundError(
            absl::StrCat("no deposit at seq ", seq, " that can still be reversed"));
      }
      if (it->second.reversed) {
        return Refuse(it->second.voided
                          ? absl::StrCat("trade ", trade_no, " is already reversed (seq ",
                                         it->second.reversal_seq, ")")
                          : absl::StrCat("the deposit at seq ", seq, " is already reversed (seq ",
                                         it->second.reversal_seq, ")"));
      }
      if (reversal.getReason().size() == 0) {
        return absl::InvalidArgumentError("a reversal needs a reason");
      }
      return absl::OkStatus();
    }
    case EventKind::REFUND_ISSUED: {
      auto refund = body.getRefundIssued();
      auto room = rooms_.find(Str(refund.getRoomId()));
      if (room == rooms_.end())
        return absl::NotFoundError(absl::StrCat("no room ", Str(refund.getRoomId())));
      if (room->second.FindOccupant(Str(refund.getPersonId())) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat(Str(refund.getPersonId()), " does not live in ", room->first));
      }
      return absl::OkStatus();
    }
    case EventKind::ROOM_EXCHANGED: {
      auto exchange = body.getRoomExchanged();
      auto from = rooms_.find(Str(exchange.getFromRoomId()));
      auto to = rooms_.find(Str(exchange.getToRoomId()));
      if (from == rooms_.end() || to == rooms_.end()) return absl::NotFoundError("no such room");
      if (from == to) return absl::InvalidArgumentError("an exchange moves between two rooms");
      if (from->second.FindOccupant(Str(exchange.getPersonId())) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat(Str(exchange.getPersonId()), " does not live in ", from->first));
      }
      if (exchange.getSwapPersonId().size() > 0) {
        if (to->second.FindOccupant(Str(exchange.getSwapPersonId())) == nullptr) {
          return absl::NotFoundError(
              absl::StrCat(Str(exchange.getSwapPersonId()), " does not live in ", to->first));
        }
      } else if (to->second.occupants.size() >= to->second.capacity) {
        return Refuse(absl::StrCat("room ", to->first, " is full"));
      }
      return absl::OkStatus();
    }
    case EventKind::READINGS_BATCH: {
      auto batch = body.getReadingsBatch();
      if (gateways_.count(Str(batch.getGatewayId())) == 0) {
        return absl::NotFoundError(absl::StrCat("no gateway ", Str(batch.getGatewayId())));
      }
      if (batch.getReadings().size() > kMetersPerGatewayMax * 4) {
        return absl::ResourceExhaustedError("more readings than a gateway's meters can give");
      }
      for (auto reading : batch.getReadings()) {
        if (reading.getCircuit() < 1 || reading.getCircuit() > 4 || reading.getTotalWh() < 0 ||
            reading.getTotalWh() >= kRegisterModulusWh) {
          return absl::InvalidArgumentError(
              absl::StrCat("reading of ", Str(reading.getMeterAddress()), " is malformed"));
        }
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

int64_t Campus::ShareOf(const Room& room, const std::string& person_id) const {
  if (room.balance_fen <= 0) return 0;
  if (room.occupants.size() == 1) return room.balance_fen;  // the last one takes the rest
  const Occupant* person = room.FindOccupant(person_id);
  WL_CHECK(person != nullptr);
  int64_t total = 0;
  for (const Occupant& occupant : room.occupants) {
    auto it = room.card_nets.find(occupant.card_no);
    if (it != room.card_nets.end()) total += std::max<int64_t>(0, it->second);
  }
  auto mine = room.card_nets.find(person->card_no);
  int64_t own = mine == room.card_nets.end() ? 0 : std::max<int64_t>(0, mine->second);
  if (total == 0) return 0;
  // balance * own / total without overflow: both below 2^53 in practice,
  // but use 128 bits so no balance can break the rule.
  return static_cast<int64_t>(static_cast<__int128>(room.balance_fen) * own / total);
}

ledger::Applied Campus::ApplyMoney(const ledger::PendingEvent& event) {
  auto body = event.body;
  int64_t now = event.appended_at_us;
  ledger::Applied applied;
  switch (body.which()) {
    case EventKind::DEPOSIT_MADE: {
      auto deposit = body.getDepositMade();
      Room& room = rooms_.at(Str(deposit.getRoomId()));
      int64_t amount = deposit.getAmountFen();
      room.balance_fen += amount;
      room.deposits_fen += amount;
      room.card_nets[Str(deposit.getPayerCardNo())] += amount;
      deposits_[event.seq] = DepositRecord{.seq = event.seq,
                                           .room_id = room.room_id,
                                           .amount_fen = amount,
                                           .payer_card_no = Str(deposit.getPayerCardNo()),
                                           .time_us = now,
                                           .trade_no = Str(deposit.getTradeNo())};
      if (deposit.getTradeNo().size() > 0) trades_[Str(deposit.getTradeNo())] = event.seq;
      ++counters_.receipts;
      MarkDirty(room);
      dirty_.insert("campus/counters");
      std::string deposit_key("campus/deposit/");
      ledger::PutU64BigEndian(deposit_key, event.seq);
      dirty_.insert(deposit_key);
      CheckInvariant(room);
      if (event.outputs == ledger::ApplyOutputs::kStateOnly) break;  // no one to give it to

      capnp::MallocMessageBuilder message(kReceiptFirstSegmentWords);
      auto receipt = message.initRoot<schema::Receipt>();
      receipt.setReceiptNo(absl::StrFormat("RC%010d", counters_.receipts));
      receipt.setRoomId(room.room_id);
      receipt.setAmountFen(amount);
      receipt.setBalanceAfterFen(room.balance_fen);
      receipt.setTimeUs(now);
      receipt.setPayerCardNo(deposit.getPayerCardNo());
      receipt.setChannel(deposit.getChannel());
      applied.result = ledger::Canonical(receipt.asReader());
      break;
    }
    case EventKind::DEPOSIT_REVERSED: {
      auto reversal = body.getDepositReversed();
      uint64_t seq = reversal.getDepositSeq();
      if (seq == 0) {
        std::string trade_no = Str(reversal.getTradeNo());
        auto trade = trades_.find(trade_no);
        if (trade == trades_.end()) {  // a void: remembered, nothing moves
          deposits_[event.seq] = DepositRecord{.seq = event.seq,
                                               .time_us = now,
                                               .reversed = true,
                                               .trade_no = trade_no,
                                               .reversal_seq = event.seq,
                                               .voided = true};
          trades_[trade_no] = event.seq;
          std::string void_key("campus/deposit/");
          ledger::PutU64BigEndian(void_key, event.seq);
          dirty_.insert(void_key);
          break;
        }
        seq = trade->second;
      }
      DepositRecord& deposit = deposits_.at(seq);
      Room& room = rooms_.at(deposit.room_id);
      deposit.reversed = true;
      deposit.reversal_seq = event.seq;
      room.balance_fen -= deposit.amount_fen;
      room.reversals_fen += deposit.amount_fen;
      room.card_nets[deposit.payer_card_no] -= deposit.amount_fen;
      MarkDirty(room);
      std::string deposit_key("campus/deposit/");
      ledger::PutU64BigEndian(deposit_key, deposit.seq);
      dirty_.insert(deposit_key);
      CheckInvariant(room);
      break;
    }
    case EventKind::READINGS_BATCH:
      Derived(event, DeriveDeductions(event), applied);
      break;
    case EventKind::REFUND_ISSUED:
      Derived(event, SettleRefund(event), applied);
      break;
    case EventKind::ROOM_EXCHANGED:
      Derived(event, SettleExchange(event), applied);
      break;
    default:
      break;
  }
  return applied;
}

void Campus::Derived(const ledger::PendingEvent& event, std::string body,
                     ledger::Applied& applied) {
  if (event.outputs == ledger::ApplyOutputs::kStateOnly) {
    // The replay skips it in the log: Check and Apply will not see it.
    ++applied.derived_unbuilt;
    return;
  }
  applied.derived_bodies.push_back(std::move(body));
  ++derived_expected_;
}

std::string Campus::SettleRefund(const ledger::PendingEvent& event) {
  auto refund = event.body.getRefundIssued();
  Room& room = rooms_.at(Str(refund.getRoomId()));
  std::string person_id = Str(refund.getPersonId());
  const Occupant* person = room.FindOccupant(person_id);
  WL_CHECK(person != nullptr);
  std::string card = person->card_no;
  int64_t room_net = 0;
  for (const Occupant& occupant : room.occupants) {
    auto it = room.card_nets.find(occupant.card_no);
    if (it != room.card_nets.end()) room_net += std::max<int64_t>(0, it->second);
  }
  auto own = room.card_nets.find(card);
  int64_t person_net = own == room.card_nets.end() ? 0 : own->second;
  bool last = room.occupants.size() == 1;
  int64_t before = room.balance_fen;
  int64_t amount = ShareOf(room, person_id);
  room.balance_fen -= amount;
  room.refunds_fen += amount;
  room.card_nets.erase(card);
  MoveOut(room, person_id, event.appended_at_us);
  CheckInvariant(room);
  if (event.outputs == ledger::ApplyOutputs::kStateOnly) return {};
  return Body(event, "refund-settled/", [&](schema::EventBody::Builder body) {
    auto settled = body.initRefundSettled();
    settled.setRefundSeq(event.seq);
    settled.setRoomId(room.room_id);
    settled.setPersonId(person_id);
    settled.setCardNo(card);
    settled.setAmountFen(amount);
    settled.setBalanceBeforeFen(before);
    settled.setBalanceAfterFen(room.balance_fen);
    settled.setPersonNetDepositsFen(person_net);
    settled.setRoomNetDepositsFen(room_net);
    settled.setLastOccupant(last);
  });
}

std::string Campus::SettleExchange(const ledger::PendingEvent& event) {
  auto exchange = event.body.getRoomExchanged();
  Room& from = rooms_.at(Str(exchange.getFromRoomId()));
  Room& to = rooms_.at(Str(exchange.getToRoomId()));
  std::string mover = Str(exchange.getPersonId());
  std::string swapper = Str(exchange.getSwapPersonId());
  // Both shares are taken before anyone moves, so a swap is symmetric.
  int64_t mover_share = ShareOf(from, mover);
  int64_t swapper_share = swapper.empty() ? 0 : ShareOf(to, swapper);
  std::vector<std::tuple<std::string, std::string, std::string, int64_t>> transfers;
  auto move = [&](Room& source, Room& target, const std::string& person_id, int64_t share) {
    Occupant occupant = MoveOut(source, person_id, event.appended_at_us);
    source.card_nets.erase(occupant.card_no);
    source.balance_fen -= share;
    source.transfers_out_fen += share;
    target.balance_fen += share;
    target.transfers_in_fen += share;
    // What they brought counts as what they paid into the new room.
    target.card_nets[occupant.card_no] += share;
    MoveIn(target, occupant, event.appended_at_us, /*from_tomorrow=*/true);
    transfers.emplace_back(person_id, source.room_id, target.room_id, share);
  };
  move(from, to, mover, mover_share);
  if (!swapper.empty()) move(to, from, swapper, swapper_share);
  CheckInvariant(from);
  CheckInvariant(to);
  if (event.outputs == ledger::ApplyOutputs::kStateOnly) return {};
  return Body(event, "exchange-settled/", [&](schema::EventBody::Builder body) {
    auto settled = body.initExchangeSettled();
    settled.setExchangeSeq(event.seq);
    auto list = settled.initTransfers(static_cast<unsigned>(transfers.size()));
    for (size_t i = 0; i < transfers.size(); ++i) {
      list[i].setPersonId(std::get<0>(transfers[i]));
      list[i].setFromRoomId(std::get<1>(transfers[i]));
      list[i].setToRoomId(std::get<2>(transfers[i]));
      list[i].setAmountFen(std::get<3>(transfers[i]));
    }
  });
}

// A new campus month: every room's consumption count restarts and its free
// allowance is granted afresh from its occupants' identities.
void Campus::CloseMonth(int64_t month_start_us) {
  counters_.month_start_us = month_start_us;
  dirty_.insert("campus/counters");
  for (auto& [room_id, room] : rooms_) {
    room.month_energy_wh = 0;
    room.allowance_left_wh = 0;
    for (const Occupant& occupant : room.occupants) {
      const TariffVersion* tariff = ClassTariffLocked(occupant.identity_class, month_start_us);
      if (tariff != nullptr) room.allowance_left_wh += MonthlyAllowanceWh(*tariff);
    }
    MarkDirty(room);
  }
}

void Campus::ForgetOldDeposits(int64_t now_us) {
  while (!deposits_.empty() && deposits_.begin()->second.time_us + kReversalWindowUs < now_us) {
    std::string key("campus/deposit/");
    ledger::PutU64BigEndian(key, deposits_.begin()->first);
    dirty_.erase(key);
    // A row never written needs no delete: a state-only replay, which writes
    // at the end, would otherwise collect a delete for every deposit ever.
    if (deposits_.begin()->second.persisted) deleted_.insert(key);
    const std::string& trade_no = deposits_.begin()->second.trade_no;
    if (!trade_no.empty()) {
      auto trade = trades_.find(trade_no);
      if (trade != trades_.end() && trade->second == deposits_.begin()->first) trades_.erase(trade);
    }
    deposits_.erase(deposits_.begin());
  }
}

}  // namespace wattledger::projections
