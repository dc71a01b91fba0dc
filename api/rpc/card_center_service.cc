#include "api/rpc/card_center_service.h"

#include <capnp/message.h>

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/rpc/card_request.h"
#include "api/rpc/ledger_service.h"
#include "api/rpc/status_convert.h"
#include "api/rpc/wire.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "projections/control/policy_rules.h"
#include "projections/domain.h"
#include "projections/reports/reports.h"
#include "projections/reports/settlement.h"
#include "projections/texts.h"

namespace wattledger::rpc {
namespace {

using ledger::AsData;
using projections::Campus;
using projections::reports::SettlementKind;

// How long a call waits for the ledger to make a trade durable, or for the
// reports to reach the head, before answering kUnavailable.
constexpr int kPollTries = 5000;
constexpr kj::Duration kPollEvery = 2 * kj::MILLISECONDS;

kj::Promise<bool> PollUntil(kj::Timer& timer, std::function<bool()> done, int tries) {
  if (done()) return true;
  if (tries == 0) return false;
  return timer.afterDelay(kPollEvery).then([&timer, done = std::move(done), tries]() mutable {
    return PollUntil(timer, std::move(done), tries - 1);
  });
}

void FillTrade(TradeStatus::Builder out, const std::string& trade_no,
               const std::optional<Campus::Trade>& trade) {
  out.setTradeNo(trade_no);
  if (!trade.has_value()) {
    out.setState(TradeState::UNKNOWN);
    return;
  }
  out.setState(trade->deposit_seq == 0    ? TradeState::VOIDED
               : trade->reversal_seq != 0 ? TradeState::REVERSED
                                          : TradeState::APPLIED);
  out.setDepositSeq(trade->deposit_seq);
  out.setReversalSeq(trade->reversal_seq);
  out.setRoomId(trade->room_id);
  out.setAmountFen(trade->amount_fen);
  out.setTimeUs(trade->time_us);
}

bool SameDeposit(schema::DepositMade::Reader a, schema::DepositMade::Reader b) {
  return a.getRoomId() == b.getRoomId() && a.getAmountFen() == b.getAmountFen() &&
         a.getPayerCardNo() == b.getPayerCardNo() && a.getCashierId() == b.getCashierId() &&
         a.getTradeTimeUs() == b.getTradeTimeUs();
}

void FillReceipt(Receipt::Builder out, const std::string& trade_no, absl::string_view result,
                 uint64_t seq, const ledger::Hash& chain_hash, bool duplicate) {
  out.setTradeNo(trade_no);
  out.setSeq(seq);
  out.setChainHash(AsData(absl::MakeConstSpan(chain_hash)));
  out.setDuplicate(duplicate);
  auto receipt = ledger::CanonicalMessage<schema::Receipt>::ParseTrusted(result, 4096);
  if (!receipt.ok()) return;
  auto in = receipt->get();
  out.setReceiptNo(in.getReceiptNo());
  out.setRoomId(in.getRoomId());
  out.setAmountFen(in.getAmountFen());
  out.setBalanceAfterFen(in.getBalanceAfterFen());
  out.setTimeUs(in.getTimeUs());
}

LineKind LineKindOf(SettlementKind kind) {
  switch (kind) {
    case SettlementKind::kDeposit:
      return LineKind::DEPOSIT;
    case SettlementKind::kReversal:
      return LineKind::REVERSAL;
    case SettlementKind::kVoid:
      return LineKind::VOIDED;
  }
  return LineKind::DEPOSIT;
}

std::string Describe(const std::string& room, int64_t amount_fen) {
  return absl::StrCat(room, " ", projections::FormatCny(amount_fen), " CNY");
}

class CardCenterImpl final : public CardCenter::Server {
 public:
  CardCenterImpl(ledger::Ledger& ledger, const projections::Domain& domain,
                 const projections::reports::ReportRunners* reports, kj::Timer& timer)
      : ledger_(ledger), domain_(domain), reports_(reports), timer_(timer) {}

  kj::Promise<void> rooms(RoomsContext context) override {
    // campus -> building -> floor -> rooms, each sorted.
    std::map<std::string, std::map<std::string, std::map<int32_t, std::vector<std::string>>>> tree;
    std::map<std::string, std::string> building_names;
    std::map<std::string, std::string> campus_of;
    for (const auto& building : domain_.campus().Buildings()) {
      building_names[building.building_id] = building.name;
      campus_of[building.building_id] = building.campus;
      tree[building.campus][building.building_id];
    }
    for (const auto& room : domain_.campus().Rooms()) {
      tree[campus_of[room.building_id]][room.building_id][room.floor].push_back(room.room_id);
    }
    auto results = context.getResults();
    FillStatus(results.initStatus(), absl::OkStatus());
    auto campuses = results.initDirectory().initCampuses(static_cast<unsigned>(tree.size()));
    unsigned c = 0;
    for (const auto& [campus, buildings] : tree) {
      auto campus_out = campuses[c++];
      campus_out.setName(campus);
      auto buildings_out = campus_out.initBuildings(static_cast<unsigned>(buildings.size()));
      unsigned b = 0;
      for (const auto& [building_id, floors] : buildings) {
        auto building_out = buildings_out[b++];
        building_out.setBuildingId(building_id);
        building_out.setName(building_names[building_id]);
        auto floors_out = building_out.initFloors(static_cast<unsigned>(floors.size()));
        unsigned f = 0;
        for (const auto& [floor, room_ids] : floors) {
          auto floor_out = floors_out[f++];
          floor_out.setFloor(floor);
          auto ids = floor_out.initRoomIds(static_cast<unsigned>(room_ids.size()));
          for (unsigned i = 0; i < room_ids.size(); ++i) ids.set(i, room_ids[i]);
        }
      }
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> balance(BalanceContext context) override {
    std::string room_id = Str(context.getParams().getRoomId());
    int64_t now_us = absl::ToUnixMicros(absl::Now());
    auto standing = domain_.campus().StandingOf(room_id, now_us);
    auto results = context.getResults();
    if (!standing.has_value()) {
      FillStatus(results.initStatus(), absl::NotFoundError(absl::StrCat("no room ", room_id)));
      return kj::READY_NOW;
    }
    FillStatus(results.initStatus(), absl::OkStatus());
    auto out = results.initBalance();
    out.setRoomId(room_id);
    out.setBalanceFen(standing->balance_fen);
    out.setAllowanceLeftWh(standing->allowance_left_wh);
    out.setPricePerKwh(standing->price_per_kwh);
    out.setRemainingWh(standing->remaining_wh);
    auto control = domain_.policies().ForRoom(room_id);
    projections::RoomControl none;
    const projections::RoomControl& room = control.has_value() ? *control : none;
    out.setPowerOn(!room.WantsOpen(now_us));
    out.setArrearsLevel(projections::ArrearsLevelName(room.level));
    out.setStatus(room.cause.empty() ? "normal" : room.cause);
    return kj::READY_NOW;
  }

  kj::Promise<void> deposit(DepositContext context) override {
    return SubmitCard(context, schema::EventBody::DEPOSIT_MADE, "trade/",
                      [this](DepositResults::Builder results, const CardRequest& request,
                             const absl::StatusOr<ledger::AppendResult>& result) {
                        if (result.ok()) {
                          FillStatus(results.initStatus(), absl::OkStatus());
                          FillReceipt(results.initReceipt(), request.trade_no, result->result,
                                      result->seq, result->chain_hash, result->duplicate);
                        } else if (result.status().code() == absl::StatusCode::kAlreadyExists) {
                          FillRetry(results, request, result.status());
                        } else {
                          FillStatus(results.initStatus(), result.status());
                        }
                      });
  }

  kj::Promise<void> reverse(ReverseContext context) override {
    return SubmitCard(context, schema::EventBody::DEPOSIT_REVERSED, "reverse/",
                      [this](ReverseResults::Builder results, const CardRequest& request,
                             const absl::StatusOr<ledger::AppendResult>& result) {
                        auto trade = domain_.campus().FindTrade(request.trade_no);
                        // Reversing a reversed (or voided) trade is the same answer again.
                        auto code = result.status().code();
                        bool already = trade.has_value() && trade->reversal_seq != 0 &&
                                       (code == absl::StatusCode::kFailedPrecondition ||
                                        code == absl::StatusCode::kAlreadyExists);
                        FillStatus(results.initStatus(),
                                   already ? absl::OkStatus() : result.status());
                        if (result.ok() || already) {
                          FillTrade(results.initTrade(), request.trade_no, trade);
                        }
                      });
  }

  kj::Promise<void> status(StatusContext context) override {
    std::string trade_no = Str(context.getParams().getTradeNo());
    auto trade = domain_.campus().FindTrade(trade_no);
    uint64_t last = trade.has_value() ? std::max(trade->deposit_seq, trade->reversal_seq) : 0;
    // Never report what a crash could still take back: wait until durable.
    return PollUntil(
               timer_, [this, last] { return ledger_.head().seq >= last; }, kPollTries)
        .then([this, context, trade_no](bool durable) mutable {
          auto results = context.getResults();
          if (!durable) {
            FillStatus(results.initStatus(), absl::UnavailableError("the ledger is behind"));
            return;
          }
          FillStatus(results.initStatus(), absl::OkStatus());
          FillTrade(results.initTrade(), trade_no, domain_.campus().FindTrade(trade_no));
        });
  }

  kj::Promise<void> settlement(SettlementContext context) override {
    std::string day = Str(context.getParams().getDay());
    return Statement(day).then([this, context, day](auto statement) mutable {
      auto results = context.getResults();
      if (!statement->ok()) {
        FillStatus(results.initStatus(), statement->status());
        return;
      }
      FillStatus(results.initStatus(), absl::OkStatus());
      std::string bytes = Encode(day, **statement);
      auto signed_out = results.initSettlement();
      signed_out.setStatement(AsData(bytes));
      std::string message = absl::StrCat(ledger::kSettlementSigningDomain, bytes);
      ledger::Signature signature = ledger_.ledger_key().Sign(ledger::AsBytes(message));
      signed_out.setSignature(AsData(absl::MakeConstSpan(signature)));
      signed_out.setLedgerPublicKey(AsData(absl::MakeConstSpan(ledger_.ledger_public_key())));
    });
  }

  kj::Promise<void> reconcile(ReconcileContext context) override {
    std::string day = Str(context.getParams().getDay());
    return Statement(day).then([this, context](auto statement) mutable {
      auto results = context.getResults();
      if (!statement->ok()) {
        FillStatus(results.initStatus(), statement->status());
        return;
      }
      FillStatus(results.initStatus(), absl::OkStatus());
      Compare(**statement, context.getParams().getTheirLines(), results);
    });
  }

 private:
  // A card center's signed call: checks its shape (ParseCardRequest), submits
  // it to the ledger and lets `answer` fill the results from the outcome.
  template <typename Context, typename Answer>
  kj::Promise<void> SubmitCard(Context context, schema::EventBody::Which kind,
                               absl::string_view key_prefix, Answer answer) {
    auto parsed = ParseCardRequest(context.getParams().getRequest(), kind, key_prefix);
    if (!parsed.ok()) {
      FillStatus(context.getResults().initStatus(), parsed.status());
      return kj::READY_NOW;
    }
    auto shared = std::make_shared<CardRequest>(std::move(*parsed));
    return SubmitFromLoop(ledger_, shared->request)
        .then([context, shared, answer](BoxedOutcome boxed) mutable {
          answer(context.getResults(), *shared, *boxed);
        });
  }

  struct DayStatement {
    uint64_t head_seq = 0;
    projections::reports::SettlementStatement statement{};
  };
  using StatementOr = kj::Own<absl::StatusOr<DayStatement>>;

  // The day's settlement once the reports have applied the current head.
  kj::Promise<StatementOr> Statement(const std::string& day) {
    if (day.empty()) {
      return kj::heap<absl::StatusOr<DayStatement>>(
          absl::InvalidArgumentError("a settlement is for one day: YYYY-MM-DD"));
    }
    projections::reports::DayRange range{day, day};
    if (absl::Status valid = projections::reports::Validate(range); !valid.ok()) {
      return kj::heap<absl::StatusOr<DayStatement>>(valid);
    }
    uint64_t head = ledger_.head().seq;
    return PollUntil(
               timer_,
               [this, head] {
                 return reports_ == nullptr || reports_->WaitFor(head, absl::ZeroDuration());
               },
               kPollTries)
        .then([this, range, head](bool caught_up) -> StatementOr {
          if (!caught_up) {
            return kj::heap<absl::StatusOr<DayStatement>>(
                absl::UnavailableError("the settlement report is behind the log; try again"));
          }
          auto statements = projections::reports::ReadSettlement(ledger_.store(), range);
          if (!statements.ok()) return kj::heap<absl::StatusOr<DayStatement>>(statements.status());
          DayStatement out{.head_seq = head};
          if (!statements->empty()) out.statement = std::move(statements->front());
          return kj::heap<absl::StatusOr<DayStatement>>(std::move(out));
        });
  }

  static std::string Encode(const std::string& day, const DayStatement& in) {
    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<Settlement>();
    const auto& totals = in.statement.totals;
    out.setDay(day);
    out.setDepositCount(totals.deposit_count);
    out.setDepositsFen(totals.deposits_fen);
    out.setReversalCount(totals.reversal_count);
    out.setReversalsFen(totals.reversals_fen);
    out.setFirstSeq(totals.first_seq);
    out.setLastSeq(totals.last_seq);
    out.setHeadSeq(in.head_seq);
    auto lines = out.initLines(static_cast<unsigned>(in.statement.entries.size()));
    for (unsigned i = 0; i < lines.size(); ++i) {
      const auto& entry = in.statement.entries[i];
      auto line = lines[i];
      line.setSeq(entry.seq);
      line.setKind(LineKindOf(entry.kind));
      line.setDepositSeq(entry.deposit_seq);
      line.setTimeUs(entry.time_us);
      line.setTradeNo(entry.trade_no);
      line.setTerminalId(entry.terminal_id);
      line.setRoomId(entry.room_id);
      line.setPayerCardNo(entry.payer_card_no);
      line.setAmountFen(entry.amount_fen);
    }
    return ledger::Canonical(out.asReader());
  }

  // A deposit refused as kAlreadyExists: a retry of the same trade gets the
  // first receipt; the same trade number with other fields stays refused.
  void FillRetry(DepositResults::Builder results, const CardRequest& request,
                 const absl::Status& refusal) {
    auto first = ledger_.store().GetIdempotency(request.request.signer_key_id,
                                                absl::StrCat("trade/", request.trade_no));
    if (first.ok() && first->has_value()) {
      auto envelope = ledger_.store().GetEvent((*first)->seq);
      if (envelope.ok()) {
        auto parsed = ledger::CanonicalMessage<schema::Envelope>::ParseTrusted(
            *envelope, ledger::kEnvelopeBytesMax);
        if (parsed.ok()) {
          auto body = ledger::CanonicalMessage<schema::EventBody>::ParseTrusted(
              ledger::AsView(parsed->get().getBody()), ledger::kEventBodyBytesMax);
          if (body.ok() && body->get().isDepositMade()) {
            auto before = body->get().getDepositMade();
            if (SameDeposit(before, request.body.get().getDepositMade())) {
              FillStatus(results.initStatus(), absl::OkStatus());
              FillReceipt(results.initReceipt(), request.trade_no, (*first)->result, (*first)->seq,
                          (*first)->chain_hash, /*duplicate=*/true);
              return;
            }
            FillStatus(results.initStatus(),
                       absl::AlreadyExistsError(
                           absl::StrCat("trade ", request.trade_no, " was deposited at seq ",
                                        (*first)->seq, " with other fields (",
                                        Describe(Str(before.getRoomId()), before.getAmountFen()),
                                        ", card ", Str(before.getPayerCardNo()), ")")));
            return;
          }
        }
      }
    }
    FillStatus(results.initStatus(), refusal);
  }

  void Compare(const DayStatement& day, capnp::List<TheirLine>::Reader theirs,
               ReconcileResults::Builder results) {
    struct Ours {
      const projections::reports::SettlementEntry* deposit = nullptr;
      const projections::reports::SettlementEntry* reversal = nullptr;  // or a void
    };
    struct Theirs {
      std::optional<TheirLine::Reader> deposit;
      std::optional<TheirLine::Reader> reversal;
    };
    std::map<std::string, Ours> ours;
    for (const auto& entry : day.statement.entries) {
      Ours& trade = ours[entry.trade_no];
      (entry.kind == SettlementKind::kDeposit ? trade.deposit : trade.reversal) = &entry;
    }
    std::map<std::string, Theirs> their_trades;
    for (TheirLine::Reader line : theirs) {
      Theirs& trade = their_trades[Str(line.getTradeNo())];
      (line.getKind() == LineKind::DEPOSIT ? trade.deposit : trade.reversal) = line;
    }
    std::set<std::string> trades;
    for (const auto& [trade, unused] : ours) trades.insert(trade);
    for (const auto& [trade, unused] : their_trades) trades.insert(trade);

    struct Found {
      DifferenceKind kind;
      std::string trade_no, ours, theirs;
      uint64_t seq = 0;
    };
    std::vector<Found> found;
    uint32_t matched = 0;
    for (const std::string& trade_no : trades) {
      const Ours& o = ours[trade_no];
      const Theirs& t = their_trades[trade_no];
      size_t before = found.size();
      bool voided = o.reversal != nullptr && o.reversal->kind == SettlementKind::kVoid;
      if (t.deposit.has_value()) {
        std::string room = Str(t.deposit->getRoomId());
        std::string their_words = Describe(room, t.deposit->getAmountFen());
        if (!domain_.campus().FindRoom(room).has_value()) {
          found.push_back({DifferenceKind::UNKNOWN_ROOM, trade_no,
                           o.deposit ? Describe(o.deposit->room_id, o.deposit->amount_fen) : "",
                           their_words, o.deposit ? o.deposit->seq : 0});
        } else if (o.deposit != nullptr) {
          if (o.deposit->room_id != room) {
            found.push_back({DifferenceKind::ROOM_DIFFERS, trade_no,
                             Describe(o.deposit->room_id, o.deposit->amount_fen), their_words,
                             o.deposit->seq});
          } else if (o.deposit->amount_fen != t.deposit->getAmountFen()) {
            found.push_back({DifferenceKind::AMOUNT_DIFFERS, trade_no,
                             Describe(o.deposit->room_id, o.deposit->amount_fen), their_words,
                             o.deposit->seq});
          }
        } else if (!voided) {
          found.push_back({DifferenceKind::MISSING_HERE, trade_no, "", their_words, 0});
        }
      } else if (o.deposit != nullptr) {
        found.push_back({DifferenceKind::MISSING_THERE, trade_no,
                         Describe(o.deposit->room_id, o.deposit->amount_fen), "", o.deposit->seq});
      }
      if (t.reversal.has_value() != (o.reversal != nullptr)) {
        found.push_back({DifferenceKind::REVERSAL_DIFFERS, trade_no,
                         o.reversal == nullptr ? "not reversed"
                         : voided              ? "voided before its deposit came"
                                               : "reversed",
                         t.reversal.has_value() ? "reversed" : "not reversed",
                         o.reversal != nullptr ? o.reversal->seq : 0});
      }
      if (found.size() == before) ++matched;
    }
    auto out = results.initDifferences(static_cast<unsigned>(found.size()));
    for (unsigned i = 0; i < found.size(); ++i) {
      out[i].setKind(found[i].kind);
      out[i].setTradeNo(found[i].trade_no);
      out[i].setOurs(found[i].ours);
      out[i].setTheirs(found[i].theirs);
      out[i].setSeq(found[i].seq);
    }
    results.setMatched(matched);
  }

  ledger::Ledger& ledger_;
  const projections::Domain& domain_;
  const projections::reports::ReportRunners* reports_;
  kj::Timer& timer_;
};

}  // namespace

CardCenter::Client MakeCardCenterService(ledger::Ledger& ledger, const projections::Domain& domain,
                                         const projections::reports::ReportRunners* reports,
                                         kj::Timer& timer) {
  return kj::heap<CardCenterImpl>(ledger, domain, reports, timer);
}

}  // namespace wattledger::rpc
