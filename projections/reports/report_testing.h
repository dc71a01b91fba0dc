// The small campus the report tests feed through a real ledger (the campus
// projection inline, the reports' families and runners), in steps a test can
// interleave with restarts and rebuilds. Test-only.
//
// The story (campus time; the test clock starts 2026-09-21 22:13:20):
//   Setup      buildings B01, B02; rooms B01-101 and B01-102 registered,
//              B02-201 imported; gateway G1, one meter per room; tariff
//              "undergraduate" at 0.5000 CNY/kWh (50 fen/kWh), no allowance;
//              P1 (card C1) and P2 (C2) in B01-101, P3 (C3) in B01-102,
//              P4 (C4) in B02-201.
//   2026-09-21 cashier-1 takes 10000 (B01-101, C1) and 5000 (B01-102, C3);
//              the card center (terminal CC-T1, trade TN0001) 3000 (B02-201).
//   2026-09-22 cashier-2 takes 2000 (B01-101, C2); "web" 1000 (B02-201);
//              CC-T1 (TN0002) 4000 (B01-102); the card center reverses
//              TN0001; readings: 10000, 4000, 2000 Wh (500, 200, 100 fen).
//   2026-09-23 cashier-1's 5000 is reversed; CC-T2 (TN0003) 500 (B01-101).
//   2026-10-03 readings: B01-101 +3000 Wh (150 fen), B02-201 +500 (25);
//              P2 leaves B01-101 on graduation: refund 11850 * 2000/12500.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/event_store.h"
#include "ledger/ledger.h"
#include "projections/calendar.h"
#include "projections/campus.h"
#include "projections/reports/reports.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections::reports::testing {

using wattledger::testing::MakeBody;
using wattledger::testing::Sign;
using wattledger::testing::TestLedger;

inline constexpr int64_t kHourUs = 3'600'000'000LL;
inline constexpr absl::Duration kWaitMax = absl::Seconds(30);

inline ledger::LedgerOptions ReportLedgerOptions(Campus* campus) {
  ledger::LedgerOptions options;
  options.projections = {campus};
  options.projection_families = ReportFamilies();
  return options;
}

// Seqs the story's steps appended, for assertions.
struct StorySeqs {
  uint64_t d2_counter = 0;      // cashier-1's 5000 into B01-102, reversed on day 3
  uint64_t d3_card_center = 0;  // TN0001, reversed the next day
  uint64_t d6_card_center = 0;  // TN0002
  uint64_t r1_reversal = 0;     // of TN0001
  uint64_t day2_readings = 0;   // the ReadingsBatch (its deductions follow)
  uint64_t day2_last = 0;       // the head at the end of 2026-09-22
  uint64_t r2_reversal = 0;     // of cashier-1's 5000
  uint64_t d7_card_center = 0;  // TN0003
  uint64_t refund_issued = 0;
};

class ReportCampus {
 public:
  ReportCampus() : t_(ReportLedgerOptions(&campus_)) {
    operator_ = Register(ledger::Role::OPERATOR);
    card_center_ = Register(ledger::Role::CARD_CENTER);
    ingest_ = Register(ledger::Role::INGEST);
    StartReports(/*rebuild=*/false);
  }

  TestLedger& t() { return t_; }
  Campus& campus() { return campus_; }
  const ledger::EventStore& store() { return t_.ledger().store(); }
  uint64_t head() { return t_.ledger().head().seq; }
  StorySeqs& seqs() { return seqs_; }

  // Starts the report runners afresh (new projection objects, loaded from
  // their families); `rebuild` clears the families first.
  void StartReports(bool rebuild) {
    runners_.reset();
    auto started = ReportRunners::Start(t_.ledger(), rebuild);
    ASSERT_TRUE(started.ok()) << started.status();
    runners_ = std::move(*started);
  }
  void StopReports() { runners_.reset(); }
  // Waits until every report has applied the head.
  void CatchUp() { ASSERT_TRUE(runners_->WaitFor(head(), kWaitMax)) << runners_->status(); }

  // Every row of every report family, by family.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> DumpReports() {
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
    for (const std::string& family : ReportFamilies()) {
      auto rows = store().Dump(family);
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (rows.ok()) out[family] = std::move(*rows);
    }
    return out;
  }

  void Setup() {
    int64_t now = t_.now_us();
    for (const char* building : {"B01", "B02"}) {
      Operator(absl::StrCat("building:", building), [&](auto body) {
        auto registered = body.initBuildingRegistered();
        registered.setBuildingId(building);
        registered.setName(building);
        registered.setCampus("Test Campus");
      });
    }
    for (auto [room, capacity] : {std::pair{"B01-101", 4u}, std::pair{"B01-102", 2u}}) {
      Operator(absl::StrCat("room:", room), [&](auto body) {
        auto registered = body.initRoomRegistered();
        registered.setRoomId(room);
        registered.setBuildingId("B01");
        registered.setNumber(std::string(room).substr(4));
        registered.setCapacity(capacity);
      });
    }
    Operator("import", [&](auto body) {
      auto import = body.initRegistryImported();
      import.setSource("rooms.csv");
      auto rooms = import.initRooms(1);
      rooms[0].setRoomId("B02-201");
      rooms[0].setBuildingId("B02");
      rooms[0].setNumber("201");
      rooms[0].setCapacity(2);
    });
    Operator("gateway:G1", [&](auto body) {
      auto gateway = body.initGatewayRegistered();
      gateway.setGatewayId("G1");
      gateway.setAddress("127.0.0.1:7700");
    });
    for (const char* room : {"B01-101", "B01-102", "B02-201"}) {
      Operator(absl::StrCat("meter:", MeterOf(room)), [&](auto body) {
        auto meter = body.initMeterInstalled();
        meter.setMeterAddress(MeterOf(room));
        meter.setGatewayId("G1");
        meter.setRoomId(room);
        meter.setCircuit(1);
        meter.setRatedCurrentMa(40'000);
        meter.setNominalVoltageDv(2200);
      });
    }
    Operator("tariff:undergraduate", [&](auto body) {
      auto tariff = body.initTariffSet();
      tariff.setIdentityClass("undergraduate");
      tariff.setEffectiveFromUs(now);
      auto tiers = tariff.initTiers(1);
      tiers[0].setUptoWh(0);
      tiers[0].setPricePerKwh(5000);
    });
    for (auto [room, person, card] :
         {std::tuple{"B01-101", "P1", "C1"}, std::tuple{"B01-101", "P2", "C2"},
          std::tuple{"B01-102", "P3", "C3"}, std::tuple{"B02-201", "P4", "C4"}}) {
      Operator(absl::StrCat("room:", room), [&](auto body) {
        auto occupant = body.initOccupantAssigned();
        occupant.setRoomId(room);
        occupant.setPersonId(person);
        occupant.setName(person);
        occupant.setIdentityClass("undergraduate");
        occupant.setCardNo(card);
      });
    }
  }

  void Day1() {
    Deposit("B01-101", 10000, schema::DepositChannel::COUNTER, "cashier-1", "", "C1");
    seqs_.d2_counter =
        Deposit("B01-102", 5000, schema::DepositChannel::COUNTER, "cashier-1", "", "C3");
    seqs_.d3_card_center =
        Deposit("B02-201", 3000, schema::DepositChannel::CARD_CENTER, "CC-T1", "TN0001", "C4");
  }

  void Day2() {
    t_.clock().Advance(24 * kHourUs);
    Deposit("B01-101", 2000, schema::DepositChannel::COUNTER, "cashier-2", "", "C2");
    Deposit("B02-201", 1000, schema::DepositChannel::WEB, "web", "", "C4");
    seqs_.d6_card_center =
        Deposit("B01-102", 4000, schema::DepositChannel::CARD_CENTER, "CC-T1", "TN0002", "C3");
    seqs_.r1_reversal = Reverse(seqs_.d3_card_center, /*by_card_center=*/true);
    seqs_.day2_readings = Readings({{"B01-101", 10000}, {"B01-102", 4000}, {"B02-201", 2000}});
    seqs_.day2_last = head();
  }

  void Day3() {
    t_.clock().Advance(24 * kHourUs);
    seqs_.r2_reversal = Reverse(seqs_.d2_counter, /*by_card_center=*/false);
    seqs_.d7_card_center =
        Deposit("B01-101", 500, schema::DepositChannel::CARD_CENTER, "CC-T2", "TN0003", "C1");
  }

  void October() {
    t_.clock().Advance(10 * 24 * kHourUs);
    Readings({{"B01-101", 13000}, {"B02-201", 2500}});
    seqs_.refund_issued = Append(*operator_, "room:B01-101", [&](auto body) {
      auto refund = body.initRefundIssued();
      refund.setRoomId("B01-101");
      refund.setPersonId("P2");
      refund.setReason(schema::RefundReason::GRADUATION);
    });
  }

  void WholeStory() {
    Setup();
    Day1();
    Day2();
    Day3();
    October();
  }

  // A day tick the way the ledger's PeriodTicker appends one.
  uint64_t CloseDay(int64_t period_end_us) {
    std::string body = MakeBody(absl::StrCat("period/day/", period_end_us), t_.now_us(), "periods",
                                [&](auto body) {
                                  auto closed = body.initPeriodClosed();
                                  closed.setPeriodEndUs(period_end_us);
                                  closed.setKind(schema::PeriodKind::DAY);
                                });
    auto result = t_.ledger().SubmitAsLedger(body).get();
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  // Reverses the deposit at `deposit_seq`; the status, for refusals.
  absl::StatusOr<ledger::AppendResult> TryReverse(uint64_t deposit_seq) {
    return t_.Append(
        Sign(MakeBody(Key("reverse"), t_.now_us(), absl::StrCat("reversal:", deposit_seq),
                      [&](auto body) {
                        auto reversal = body.initDepositReversed();
                        reversal.setDepositSeq(deposit_seq);
                        reversal.setReason("test");
                      }),
             *operator_));
  }

  // A card-center deposit under `trade_no`; the status, for refusals.
  absl::StatusOr<ledger::AppendResult> TryCardDeposit(const std::string& room, int64_t amount_fen,
                                                      const std::string& trade_no,
                                                      const std::string& key_suffix = "") {
    return t_.Append(
        Sign(MakeBody(absl::StrCat("trade/", trade_no, key_suffix), t_.now_us(), "room:" + room,
                      [&](auto body) {
                        auto deposit = body.initDepositMade();
                        deposit.setRoomId(room);
                        deposit.setAmountFen(amount_fen);
                        deposit.setChannel(schema::DepositChannel::CARD_CENTER);
                        deposit.setPayerCardNo("C1");
                        deposit.setCashierId("CC-T1");
                        deposit.setTradeNo(trade_no);
                      }),
             *card_center_));
  }
  // The card center's reversal of `trade_no`, by trade number.
  absl::StatusOr<ledger::AppendResult> TryReverseTrade(const std::string& trade_no,
                                                       const std::string& key_suffix = "") {
    return t_.Append(
        Sign(MakeBody(absl::StrCat("reverse/", trade_no, key_suffix), t_.now_us(), "trades",
                      [&](auto body) {
                        auto reversal = body.initDepositReversed();
                        reversal.setTradeNo(trade_no);
                        reversal.setReason("the card center cancelled it");
                      }),
             *card_center_));
  }

 private:
  static std::string MeterOf(const std::string& room) {
    return absl::StrCat("000000000", room.substr(room.size() - 3));
  }

  std::string Key(absl::string_view what) { return absl::StrCat(what, "-", next_key_++); }

  template <typename Fill>
  uint64_t Append(const ledger::SigningKey& key, const std::string& stream, Fill fill) {
    auto result = t_.Append(Sign(MakeBody(Key(stream), t_.now_us(), stream, fill), key));
    EXPECT_TRUE(result.ok()) << stream << ": " << result.status();
    return result.ok() ? result->seq : 0;
  }

  template <typename Fill>
  uint64_t Operator(const std::string& stream, Fill fill) {
    return Append(*operator_, stream, fill);
  }

  uint64_t Deposit(const std::string& room, int64_t amount_fen, schema::DepositChannel channel,
                   const std::string& cashier, const std::string& trade_no,
                   const std::string& card) {
    const ledger::SigningKey& key =
        channel == schema::DepositChannel::CARD_CENTER ? *card_center_ : t_.cashier();
    return Append(key, "room:" + room, [&](auto body) {
      auto deposit = body.initDepositMade();
      deposit.setRoomId(room);
      deposit.setAmountFen(amount_fen);
      deposit.setChannel(channel);
      deposit.setPayerCardNo(card);
      deposit.setCashierId(cashier);
      deposit.setTradeNo(trade_no);
    });
  }

  uint64_t Reverse(uint64_t deposit_seq, bool by_card_center) {
    return Append(by_card_center ? *card_center_ : t_.cashier(),
                  absl::StrCat("reversal:", deposit_seq), [&](auto body) {
                    auto reversal = body.initDepositReversed();
                    reversal.setDepositSeq(deposit_seq);
                    reversal.setReason("entered twice");
                  });
  }

  // One reading per room, read now; returns the batch's seq.
  uint64_t Readings(const std::vector<std::pair<std::string, int64_t>>& totals) {
    int64_t now = t_.now_us();
    return Append(*ingest_, "gateway:G1", [&](auto body) {
      auto batch = body.initReadingsBatch();
      batch.setGatewayId("G1");
      batch.setSweepStartedUs(now);
      auto readings = batch.initReadings(static_cast<unsigned>(totals.size()));
      for (size_t i = 0; i < totals.size(); ++i) {
        readings[i].setMeterAddress(MeterOf(totals[i].first));
        readings[i].setCircuit(1);
        readings[i].setReadAtUs(now);
        readings[i].setTotalWh(totals[i].second);
      }
    });
  }

  std::optional<ledger::SigningKey> Register(ledger::Role role) {
    auto key = t_.RegisterKey(role);
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return std::nullopt;
    return *key;
  }

  Campus campus_;  // declared before t_: the ledger closes first
  TestLedger t_;
  std::optional<ledger::SigningKey> operator_;
  std::optional<ledger::SigningKey> card_center_;
  std::optional<ledger::SigningKey> ingest_;
  StorySeqs seqs_;
  int next_key_ = 0;
  std::unique_ptr<ReportRunners> runners_;  // declared last: stops first
};

}  // namespace wattledger::projections::reports::testing
