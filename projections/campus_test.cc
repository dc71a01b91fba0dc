// The money domain through the real ledger: every rule of the campus
// projection as a user meets it (an append accepted with its receipt and
// derived events, or refused with nothing appended), on a real RocksDB store
// with real signatures. Time moves only through the ledger's manual clock.
#include "projections/campus.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/event_format.h"
#include "ledger/limits.h"
#include "projections/campus_state.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using ledger::AppendResult;
using schema::DepositChannel;
using schema::PeriodKind;
using testing::MeterSpec;
using testing::ReadingSpec;
using testing::TierSpec;

constexpr int64_t kHourUs = 3'600'000'000LL;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr int64_t kLow = 5880;   // 0.5880 CNY/kWh
constexpr int64_t kHigh = 6380;  // 0.6380 CNY/kWh
constexpr int64_t kTierWh = 10'000;
// A 40 A circuit at 220 V passes 8800 W; one hour allows 8800 Wh plus one step.
constexpr int64_t kHourMaxWh = 8800 + kPlausibilitySlackWh;
// Campus months around the test epoch (2026-09-21 22:13 +08).
constexpr int64_t kOctober2026Us = 1'790'784'000'000'000;    // 2026-10-01 00:00 +08
constexpr int64_t kNovember2026Us = 1'793'462'400'000'000;   // 2026-11-01 00:00 +08
constexpr int64_t kSeptember2026Us = 1'788'192'000'000'000;  // 2026-09-01 00:00 +08

constexpr char kMeter101[] = "000000000101";
constexpr char kMeter102[] = "000000000102";
constexpr char kMeter103[] = "000000000103";

using CampusLedger = testing::CampusLedger<Campus>;

// What refusing a request must leave: the head and every state row.
struct Snapshot {
  ledger::Head head;
  std::vector<std::pair<std::string, std::string>> state;
};

class CampusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Staff pay from the first Wh; undergraduates get 120 kWh a year free.
    Ok(c_.AsOperator(testing::TariffBody(c_.Key("tariff"), now(), "staff", now(),
                                         {{kTierWh, kLow}, {0, kHigh}}, 0)));
    Ok(c_.AsOperator(testing::TariffBody(c_.Key("tariff"), now(), "undergraduate", now(),
                                         {{kTierWh, kLow}, {0, kHigh}}, 120'000)));
    Ok(c_.AsOperator(
        testing::TariffBody(c_.Key("tariff"), now(), "postgraduate", now(), {{0, 5000}}, 0)));
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("building"), now(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("gateway"), now(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-101", "B01", 2)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-102", "B01", 2)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-103", "B01", 1)));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(), Meter101())));
    Ok(c_.AsOperator(testing::MeterBody(
        c_.Key("meter"), now(),
        MeterSpec{.address = kMeter102, .gateway_id = "G1", .room_id = "B01-102"})));
    Ok(c_.AsOperator(testing::MeterBody(
        c_.Key("meter"), now(),
        MeterSpec{.address = kMeter103, .gateway_id = "G1", .room_id = "B01-103"})));
    Assign("B01-101", "p-a", "staff", "card-a");
    Assign("B01-101", "p-b", "staff", "card-b");
    Assign("B01-102", "p-c", "staff", "card-c");
  }

  static MeterSpec Meter101() {
    return MeterSpec{.address = kMeter101, .gateway_id = "G1", .room_id = "B01-101"};
  }

  int64_t now() const { return c_.now_us(); }

  AppendResult Ok(absl::StatusOr<AppendResult> result) {
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return AppendResult{};
    EXPECT_FALSE(result->duplicate);
    return *result;
  }

  void Assign(const std::string& room, const std::string& person, const std::string& identity,
              const std::string& card) {
    Ok(c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), room, person, identity, card)));
  }

  // A counter deposit paid from `card`; returns its seq.
  uint64_t Deposit(const std::string& room, int64_t amount_fen,
                   const std::string& card = "card-x") {
    return Ok(c_.AsCashier(testing::ChannelDepositBody(c_.Key("deposit"), now(), room, amount_fen,
                                                       DepositChannel::COUNTER, card)))
        .seq;
  }

  // One hour later, a sweep of G1 reading `readings` now; returns the batch's seq.
  uint64_t ReadAfterAnHour(std::vector<std::pair<std::string, int64_t>> readings) {
    c_.t().clock().Advance(kHourUs);
    std::vector<ReadingSpec> specs;
    for (const auto& [address, total_wh] : readings) {
      specs.push_back(ReadingSpec{.address = address, .read_at_us = now(), .total_wh = total_wh});
    }
    return Ok(c_.AsIngest(testing::ReadingsBody(c_.Key("sweep"), now(), "G1", specs))).seq;
  }

  // The month tick the ledger's ticker appends at `month_start_us`.
  void CloseMonth(int64_t month_start_us) {
    c_.t().clock().Set(month_start_us + 60'000'000);
    Ok(c_.AsLedger(testing::PeriodBody(now(), month_start_us, PeriodKind::DAY)));
    Ok(c_.AsLedger(testing::PeriodBody(now(), month_start_us, PeriodKind::MONTH)));
  }

  Room RoomNow(const std::string& room_id) {
    auto room = c_.campus().FindRoom(room_id);
    EXPECT_TRUE(room.has_value()) << room_id;
    return room.value_or(Room{});
  }

  Snapshot Take() {
    auto state = c_.ledger().store().Dump(ledger::EventStore::kState);
    EXPECT_TRUE(state.ok());
    return Snapshot{c_.ledger().head(), state.value_or(decltype(state)::value_type{})};
  }

  // Runs `submit`, expects it refused with `code`, and that nothing changed.
  void ExpectRefused(absl::string_view what, absl::StatusCode code,
                     const std::function<absl::StatusOr<AppendResult>()>& submit) {
    SCOPED_TRACE(what);
    Snapshot before = Take();
    auto result = submit();
    ASSERT_FALSE(result.ok()) << "appended at seq " << result->seq;
    EXPECT_EQ(result.status().code(), code) << result.status();
    Snapshot after = Take();
    EXPECT_EQ(after.head.seq, before.head.seq);
    EXPECT_EQ(after.head.chain_hash, before.head.chain_hash);
    EXPECT_TRUE(after.state == before.state) << "state rows changed";
  }

  // The body at `seq`, which must be signed by the ledger key.
  ledger::ParsedBody LedgerEventAt(uint64_t seq) {
    auto stored = testing::ReadStoredEvent(c_.ledger().store(), seq);
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok()) std::abort();
    EXPECT_EQ(stored->signer, c_.t().ledger_key().key_id()) << "seq " << seq;
    auto body = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
    EXPECT_TRUE(body.ok()) << body.status();
    if (!body.ok()) std::abort();
    return *body;
  }

  // The DeductionsApplied derived from the batch at `batch_seq`: the next event.
  ledger::ParsedBody DeductionsFor(uint64_t batch_seq) {
    ledger::ParsedBody body = LedgerEventAt(batch_seq + 1);
    EXPECT_TRUE(body.get().isDeductionsApplied());
    EXPECT_EQ(body.get().getDeductionsApplied().getSourceSeq(), batch_seq);
    return body;
  }

  // Every room keeps deposits - reversals - deductions - refunds + in - out =
  // balance, and the campus totals add up the same way.
  void ExpectAccountsBalance() {
    int64_t balances = 0;
    int64_t flows = 0;
    for (const Room& room : c_.campus().Rooms()) {
      SCOPED_TRACE(room.room_id);
      EXPECT_EQ(room.deposits_fen - room.reversals_fen - room.deductions_fen - room.refunds_fen +
                    room.transfers_in_fen - room.transfers_out_fen,
                room.balance_fen);
      balances += room.balance_fen;
      flows += room.deposits_fen - room.reversals_fen - room.deductions_fen - room.refunds_fen;
    }
    EXPECT_EQ(flows, balances);
  }

  CampusLedger c_;
};

// --- Registry refusals -------------------------------------------------------

TEST_F(CampusTest, UnknownReferencesAreNotFoundAndAppendNothing) {
  ExpectRefused("room in an unknown building", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B09-101", "B09", 2));
  });
  ExpectRefused("occupant of an unknown room", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-999", "p-z", "staff", "card-z"));
  });
  ExpectRefused("meter on an unknown gateway", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::MeterBody(
        c_.Key("meter"), now(),
        MeterSpec{.address = "000000000999", .gateway_id = "G9", .room_id = "B01-101"}));
  });
  ExpectRefused("meter in an unknown room", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::MeterBody(
        c_.Key("meter"), now(),
        MeterSpec{.address = "000000000999", .gateway_id = "G1", .room_id = "B01-999"}));
  });
  ExpectRefused("readings from an unknown gateway", absl::StatusCode::kNotFound, [&] {
    return c_.AsIngest(
        testing::ReadingsBody(c_.Key("sweep"), now(), "G9",
                              {{.address = kMeter101, .read_at_us = now(), .total_wh = 5}}));
  });
  ExpectRefused("deposit to an unknown room", absl::StatusCode::kNotFound, [&] {
    return c_.AsCashier(testing::ChannelDepositBody(c_.Key("deposit"), now(), "B01-999", 100,
                                                    DepositChannel::COUNTER, "card-a"));
  });
  ExpectRefused("move-out of someone not living there", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::MoveOutBody(c_.Key("out"), now(), "B01-102", "p-a"));
  });
  ExpectRefused("replacing a meter that is not installed", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::MeterReplacedBody(c_.Key("replace"), now(), "000000000999",
                                                    "000000000998", 1, 10, 0));
  });
  ExpectRefused("overdraft limit of an unknown room", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::OverdraftBody(c_.Key("limit"), now(), "B01-999", 500));
  });
}

TEST_F(CampusTest, DuplicateIdsAlreadyExistAndAppendNothing) {
  ExpectRefused("building", absl::StatusCode::kAlreadyExists, [&] {
    return c_.AsOperator(testing::BuildingBody(c_.Key("building"), now(), "B01"));
  });
  ExpectRefused("gateway", absl::StatusCode::kAlreadyExists, [&] {
    return c_.AsOperator(testing::GatewayBody(c_.Key("gateway"), now(), "G1"));
  });
  ExpectRefused("room", absl::StatusCode::kAlreadyExists, [&] {
    return c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-101", "B01", 4));
  });
  ExpectRefused("meter and circuit", absl::StatusCode::kAlreadyExists, [&] {
    MeterSpec again = Meter101();
    again.room_id = "B01-103";
    return c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(), again));
  });
  ExpectRefused("replacement meter already installed", absl::StatusCode::kAlreadyExists, [&] {
    return c_.AsOperator(
        testing::MeterReplacedBody(c_.Key("replace"), now(), kMeter101, kMeter102, 1, 10, 0));
  });
  // The same address on another circuit is the same (dual-circuit) meter.
  MeterSpec second_circuit = Meter101();
  second_circuit.circuit = 2;
  Ok(c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(), second_circuit)));
}

TEST_F(CampusTest, OccupancyRulesRefuseAndAppendNothing) {
  Assign("B01-103", "p-d", "staff", "card-d");
  ExpectRefused("room full", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-103", "p-e", "staff", "card-e"));
  });
  ExpectRefused("person already housed", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-102", "p-a", "staff", "card-a"));
  });
  ExpectRefused("identity class without a tariff", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-102", "p-e", "visitor", "card-e"));
  });
  ExpectRefused("room tariff class without a tariff", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-201", "B01", 2, "visitor"));
  });
  ExpectRefused("a card already used in the room", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-102", "p-e", "staff", "card-c"));
  });
  ExpectRefused("occupant without a card", absl::StatusCode::kInvalidArgument, [&] {
    return c_.AsOperator(
        testing::OccupantBody(c_.Key("occupant"), now(), "B01-102", "p-e", "staff", ""));
  });
  ExpectRefused("room without beds", absl::StatusCode::kInvalidArgument, [&] {
    return c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-201", "B01", 0));
  });
  // Moving out frees the bed and the person.
  Ok(c_.AsOperator(testing::MoveOutBody(c_.Key("out"), now(), "B01-103", "p-d")));
  Assign("B01-103", "p-e", "staff", "card-e");
  Assign("B01-102", "p-d", "staff", "card-d");
  EXPECT_EQ(c_.campus().RoomOf("p-d"), "B01-102");
}

TEST_F(CampusTest, MalformedMetersAreInvalidAndAppendNothing) {
  auto install = [&](MeterSpec meter) {
    return
        [this, meter] { return c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(), meter)); };
  };
  auto spec = [](std::string address, uint8_t circuit) {
    return MeterSpec{.address = std::move(address),
                     .gateway_id = "G1",
                     .room_id = "B01-103",
                     .circuit = circuit};
  };
  ExpectRefused("11 digits", absl::StatusCode::kInvalidArgument, install(spec("00000000099", 1)));
  ExpectRefused("13 digits", absl::StatusCode::kInvalidArgument, install(spec("0000000009999", 1)));
  ExpectRefused("letters", absl::StatusCode::kInvalidArgument, install(spec("00000000099A", 1)));
  ExpectRefused("empty address", absl::StatusCode::kInvalidArgument, install(spec("", 1)));
  ExpectRefused("circuit 0", absl::StatusCode::kInvalidArgument, install(spec("000000000999", 0)));
  ExpectRefused("circuit 5", absl::StatusCode::kInvalidArgument, install(spec("000000000999", 5)));
  MeterSpec no_rating = spec("000000000999", 1);
  no_rating.rated_current_ma = 0;
  ExpectRefused("no rated current", absl::StatusCode::kInvalidArgument, install(no_rating));
  MeterSpec past_register = spec("000000000999", 1);
  past_register.initial_wh = kRegisterModulusWh;
  ExpectRefused("initial reading past the register", absl::StatusCode::kInvalidArgument,
                install(past_register));
  ExpectRefused("replacement address not 12 digits", absl::StatusCode::kInvalidArgument, [&] {
    return c_.AsOperator(
        testing::MeterReplacedBody(c_.Key("replace"), now(), kMeter101, "12345", 1, 10, 0));
  });
  for (uint8_t circuit = 1; circuit <= 4; ++circuit) {
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(), spec("000000000999", circuit))));
  }
}

TEST_F(CampusTest, MalformedReadingsAreInvalidAndAppendNothing) {
  auto sweep = [&](uint8_t circuit, int64_t total_wh) {
    return [this, circuit, total_wh] {
      return c_.AsIngest(testing::ReadingsBody(
          c_.Key("sweep"), now(), "G1",
          {{.address = kMeter101, .circuit = circuit, .read_at_us = now(), .total_wh = total_wh}}));
    };
  };
  ExpectRefused("circuit 0", absl::StatusCode::kInvalidArgument, sweep(0, 10));
  ExpectRefused("circuit 5", absl::StatusCode::kInvalidArgument, sweep(5, 10));
  ExpectRefused("negative register", absl::StatusCode::kInvalidArgument, sweep(1, -10));
  ExpectRefused("past the register", absl::StatusCode::kInvalidArgument,
                sweep(1, kRegisterModulusWh));
}

// Registers `count` meters (fresh addresses from `first`) on `gateway` in one import.
std::string ImportMeters(const std::string& key, int64_t now_us, const std::string& gateway,
                         int first, int count) {
  return testing::MakeBody(key, now_us, "registry", [&](schema::EventBody::Builder body) {
    auto import = body.initRegistryImported();
    import.setSource("meters.csv");
    auto meters = import.initMeters(static_cast<unsigned>(count));
    for (int i = 0; i < count; ++i) {
      meters[i].setMeterAddress(absl::StrFormat("%012d", 500'000 + first + i));
      meters[i].setGatewayId(gateway);
      meters[i].setRoomId("B01-103");
      meters[i].setCircuit(1);
      meters[i].setRatedCurrentMa(10'000);
    }
  });
}

TEST_F(CampusTest, AGatewayCarriesAtMost128Meters) {
  Ok(c_.AsOperator(testing::GatewayBody(c_.Key("gateway"), now(), "G2")));
  ExpectRefused("an import of 129 meters", absl::StatusCode::kResourceExhausted,
                [&] { return c_.AsOperator(ImportMeters(c_.Key("import"), now(), "G2", 0, 129)); });
  Ok(c_.AsOperator(ImportMeters(c_.Key("import"), now(), "G2", 0, 128)));
  EXPECT_EQ(c_.campus().Meters().size(), 3u + 128u);
  ExpectRefused("the 129th meter", absl::StatusCode::kResourceExhausted, [&] {
    return c_.AsOperator(testing::MeterBody(
        c_.Key("meter"), now(),
        MeterSpec{.address = "000000600000", .gateway_id = "G2", .room_id = "B01-103"}));
  });
  // Another circuit of a meter it already carries is no new meter.
  Ok(c_.AsOperator(testing::MeterBody(
      c_.Key("meter"), now(),
      MeterSpec{
          .address = "000000500000", .gateway_id = "G2", .room_id = "B01-103", .circuit = 2})));
}

TEST_F(CampusTest, ARegistryImportIsAdmittedAllOrNothing) {
  std::string bad_import =
      testing::MakeBody(c_.Key("import"), now(), "registry", [&](schema::EventBody::Builder body) {
        auto import = body.initRegistryImported();
        import.setSource("rooms.csv");
        auto rooms = import.initRooms(1);
        rooms[0].setRoomId("B01-301");
        rooms[0].setBuildingId("B01");
        rooms[0].setCapacity(1);
        auto occupants = import.initOccupants(2);
        for (int i = 0; i < 2; ++i) {
          occupants[i].setRoomId("B01-301");
          occupants[i].setPersonId(absl::StrCat("p-new-", i));
          occupants[i].setIdentityClass("staff");
          occupants[i].setCardNo(absl::StrCat("card-new-", i));
        }
      });
  Snapshot before = Take();
  auto refused = c_.AsOperator(bad_import);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("occupants row 2"), absl::string_view::npos)
      << refused.status();
  EXPECT_EQ(c_.head_seq(), before.head.seq);
  EXPECT_FALSE(c_.campus().FindRoom("B01-301").has_value());
  EXPECT_EQ(c_.campus().RoomOf("p-new-0"), "");
}

// --- Tariffs -------------------------------------------------------------------

TEST_F(CampusTest, TariffRulesRefuseAndAppendNothing) {
  auto tariff = [&](int64_t effective_from_us, std::vector<TierSpec> tiers, int64_t allowance) {
    return [=, this] {
      return c_.AsOperator(testing::TariffBody(c_.Key("tariff"), now(), "staff", effective_from_us,
                                               tiers, allowance));
    };
  };
  ExpectRefused("effective in the past", absl::StatusCode::kFailedPrecondition,
                tariff(now() - 1, {{0, kLow}}, 0));
  ExpectRefused("not after the version before", absl::StatusCode::kFailedPrecondition,
                tariff(now(), {{0, kLow}}, 0));
  ExpectRefused("falling tiers", absl::StatusCode::kInvalidArgument,
                tariff(now() + kHourUs, {{2000, kLow}, {1000, kHigh}, {0, 7000}}, 0));
  ExpectRefused("equal tiers", absl::StatusCode::kInvalidArgument,
                tariff(now() + kHourUs, {{1000, kLow}, {1000, kHigh}, {0, 7000}}, 0));
  ExpectRefused("bounded last tier", absl::StatusCode::kInvalidArgument,
                tariff(now() + kHourUs, {{1000, kLow}}, 0));
  ExpectRefused("no tiers", absl::StatusCode::kInvalidArgument, tariff(now() + kHourUs, {}, 0));
  ExpectRefused("negative price", absl::StatusCode::kInvalidArgument,
                tariff(now() + kHourUs, {{0, -1}}, 0));
  ExpectRefused("negative allowance", absl::StatusCode::kInvalidArgument,
                tariff(now() + kHourUs, {{0, kLow}}, -1));
  Ok(tariff(now() + kHourUs, {{0, 7000}}, 0)());
}

TEST_F(CampusTest, ATariffChangeNeverRepricesEnergyReadBeforeIt) {
  Deposit("B01-102", 10'000);
  // From two hours on, staff pay 0.7000 CNY/kWh flat.
  Ok(c_.AsOperator(
      testing::TariffBody(c_.Key("tariff"), now(), "staff", now() + 2 * kHourUs, {{0, 7000}}, 0)));
  uint64_t before = ReadAfterAnHour({{kMeter102, 1000}});
  EXPECT_EQ(DeductionsFor(before).get().getDeductionsApplied().getDeductions()[0].getAmountFen(),
            58);  // 1000 Wh at 0.5880
  c_.t().clock().Advance(kHourUs);
  uint64_t after = ReadAfterAnHour({{kMeter102, 2000}});
  // 1000 Wh at 0.7000 = 70 fen, plus the 0.80 fen carried from before.
  EXPECT_EQ(DeductionsFor(after).get().getDeductionsApplied().getDeductions()[0].getAmountFen(),
            70);
  EXPECT_EQ(RoomNow("B01-102").balance_fen, 10'000 - 58 - 70);
}

TEST_F(CampusTest, ARoomsTariffFollowsItsOccupantsUnlessTheRoomNamesOne) {
  // 104: one staff (tiered) occupant and two postgraduates (flat 0.5000);
  // 105: one staff occupant in a room whose tariff class is "postgraduate".
  Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-104", "B01", 3)));
  Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-105", "B01", 1, "postgraduate")));
  Ok(c_.AsOperator(testing::MeterBody(
      c_.Key("meter"), now(),
      MeterSpec{.address = "000000000104", .gateway_id = "G1", .room_id = "B01-104"})));
  Ok(c_.AsOperator(testing::MeterBody(
      c_.Key("meter"), now(),
      MeterSpec{.address = "000000000105", .gateway_id = "G1", .room_id = "B01-105"})));
  Assign("B01-104", "p-s", "staff", "card-s");
  Assign("B01-104", "p-g1", "postgraduate", "card-g1");
  Assign("B01-104", "p-g2", "postgraduate", "card-g2");
  Assign("B01-105", "p-s2", "staff", "card-s2");
  uint64_t batch = ReadAfterAnHour({{"000000000104", 1000}, {"000000000105", 1000}});
  auto lines_event = DeductionsFor(batch);
  auto lines = lines_event.get().getDeductionsApplied().getDeductions();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].getAmountFen(), 50);  // the majority's postgraduate price
  EXPECT_EQ(lines[1].getAmountFen(), 50);  // the room's class, though its occupant is staff
}

TEST_F(CampusTest, AnEmptyRoomWithoutAnOtherTariffRecordsEnergyAndChargesNothing) {
  uint64_t batch = ReadAfterAnHour({{kMeter103, 700}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  ASSERT_EQ(applied.getAnomalies().size(), 1u);
  EXPECT_EQ(applied.getAnomalies()[0].getKind(), schema::AnomalyKind::NO_TARIFF);
  ASSERT_EQ(applied.getDeductions().size(), 1u);
  EXPECT_EQ(applied.getDeductions()[0].getAmountFen(), 0);
  Room room = RoomNow("B01-103");
  EXPECT_EQ(room.energy_wh, 700);
  EXPECT_EQ(room.balance_fen, 0);
  // With an "other" tariff in force, the next energy is charged.
  Ok(c_.AsOperator(testing::TariffBody(c_.Key("tariff"), now(), "other", now(), {{0, 10'000}}, 0)));
  uint64_t next = ReadAfterAnHour({{kMeter103, 1700}});
  EXPECT_EQ(DeductionsFor(next).get().getDeductionsApplied().getDeductions()[0].getAmountFen(),
            100);
}

// --- Deposits, receipts and reversals ------------------------------------------------

TEST_F(CampusTest, ADepositReturnsAReceiptWithItsNumberAndTheBalanceAfter) {
  auto first = Ok(c_.AsCashier(testing::ChannelDepositBody(
      c_.Key("deposit"), now(), "B01-101", 5000, DepositChannel::COUNTER, "card-a")));
  auto second = Ok(c_.AsCardCenter(testing::ChannelDepositBody(
      c_.Key("deposit"), now(), "B01-101", 2500, DepositChannel::CARD_CENTER, "card-b")));
  auto receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(second.result, 4096);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(std::string(receipt->get().getReceiptNo().cStr()), "RC0000000002");
  EXPECT_EQ(std::string(receipt->get().getRoomId().cStr()), "B01-101");
  EXPECT_EQ(receipt->get().getAmountFen(), 2500);
  EXPECT_EQ(receipt->get().getBalanceAfterFen(), 7500);
  EXPECT_EQ(std::string(receipt->get().getPayerCardNo().cStr()), "card-b");
  EXPECT_EQ(receipt->get().getChannel(), DepositChannel::CARD_CENTER);
  auto stored = testing::ReadStoredEvent(c_.ledger().store(), second.seq);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(receipt->get().getTimeUs(), stored->appended_at_us);
  auto first_receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(first.result, 4096);
  ASSERT_TRUE(first_receipt.ok());
  EXPECT_EQ(std::string(first_receipt->get().getReceiptNo().cStr()), "RC0000000001");
  EXPECT_EQ(first_receipt->get().getBalanceAfterFen(), 5000);
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 7500);
}

TEST_F(CampusTest, ARetriedDepositReturnsTheFirstReceiptAndPaysOnce) {
  ledger::SignedRequest request =
      testing::Sign(testing::ChannelDepositBody("web-order-77", now(), "B01-102", 3000,
                                                DepositChannel::WEB, "card-c"),
                    c_.cashier());
  auto first = Ok(c_.t().Append(request));
  uint64_t head = c_.head_seq();
  c_.t().clock().Advance(60'000'000);
  auto retry = c_.t().Append(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, first.seq);
  EXPECT_EQ(retry->result, first.result);
  EXPECT_EQ(c_.head_seq(), head);
  EXPECT_EQ(RoomNow("B01-102").balance_fen, 3000);
  // The same key with another amount is refused, not paid.
  ExpectRefused("reused key", absl::StatusCode::kAlreadyExists, [&] {
    return c_.AsCashier(testing::ChannelDepositBody("web-order-77", now(), "B01-102", 3001,
                                                    DepositChannel::WEB, "card-c"));
  });
}

TEST_F(CampusTest, DepositAmountsOutsideOneFenToTheMaximumAreInvalid) {
  auto deposit = [&](int64_t amount) {
    return [this, amount] {
      return c_.AsCashier(testing::ChannelDepositBody(c_.Key("deposit"), now(), "B01-101", amount,
                                                      DepositChannel::COUNTER, "card-a"));
    };
  };
  ExpectRefused("zero", absl::StatusCode::kInvalidArgument, deposit(0));
  ExpectRefused("negative", absl::StatusCode::kInvalidArgument, deposit(-500));
  ExpectRefused("too big", absl::StatusCode::kInvalidArgument, deposit(kDepositFenMax + 1));
  ExpectRefused("no cashier named", absl::StatusCode::kInvalidArgument, [&] {
    return c_.AsCashier(testing::MakeBody(c_.Key("deposit"), now(), "room:B01-101", [](auto body) {
      auto made = body.initDepositMade();
      made.setRoomId("B01-101");
      made.setAmountFen(100);
      made.setChannel(DepositChannel::COUNTER);
      made.setPayerCardNo("card-a");
    }));
  });
  Ok(deposit(1)());
  Ok(deposit(kDepositFenMax)());
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 1 + kDepositFenMax);
}

TEST_F(CampusTest, TheDepositChannelMustMatchTheSignersRole) {
  auto deposit = [&](const ledger::SigningKey& key, DepositChannel channel) {
    return [this, &key, channel] {
      return c_.As(key, testing::ChannelDepositBody(c_.Key("deposit"), now(), "B01-101", 100,
                                                    channel, "card-a"));
    };
  };
  ExpectRefused("cashier on the card center channel", absl::StatusCode::kPermissionDenied,
                deposit(c_.cashier(), DepositChannel::CARD_CENTER));
  ExpectRefused("card center at the counter", absl::StatusCode::kPermissionDenied,
                deposit(c_.card_center(), DepositChannel::COUNTER));
  ExpectRefused("card center on the web", absl::StatusCode::kPermissionDenied,
                deposit(c_.card_center(), DepositChannel::WEB));
  ExpectRefused("operator", absl::StatusCode::kPermissionDenied,
                deposit(c_.operator_key(), DepositChannel::COUNTER));
  ExpectRefused("ingest", absl::StatusCode::kPermissionDenied,
                deposit(c_.ingest(), DepositChannel::COUNTER));
  Ok(deposit(c_.cashier(), DepositChannel::COUNTER)());
  Ok(deposit(c_.cashier(), DepositChannel::WEB)());
  Ok(deposit(c_.card_center(), DepositChannel::CARD_CENTER)());
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 300);
}

TEST_F(CampusTest, AReversalTakesTheDepositBackOnceAndOnlyAKnownOne) {
  uint64_t deposit = Deposit("B01-101", 4000, "card-a");
  Deposit("B01-101", 1000, "card-b");
  uint64_t registration = c_.head_seq() - 2;  // not a deposit
  ExpectRefused("an unknown seq", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), 999'999));
  });
  ExpectRefused("a seq that is no deposit", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), registration));
  });
  Ok(c_.AsCashier(testing::ReversalBody(c_.Key("reverse"), now(), deposit)));
  Room room = RoomNow("B01-101");
  EXPECT_EQ(room.balance_fen, 1000);
  EXPECT_EQ(room.deposits_fen, 5000);
  EXPECT_EQ(room.reversals_fen, 4000);
  EXPECT_EQ(room.card_nets["card-a"], 0);
  ExpectRefused("already reversed", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), deposit));
  });
  ExpectRefused("ingest may not reverse", absl::StatusCode::kPermissionDenied, [&] {
    return c_.AsIngest(testing::ReversalBody(c_.Key("reverse"), now(), deposit + 1));
  });
  ExpectAccountsBalance();
}

TEST_F(CampusTest, DepositsOlderThanTheReversalWindowCannotBeReversed) {
  uint64_t old_deposit = Deposit("B01-101", 100);
  c_.t().clock().Advance(20 * kDayUs);
  uint64_t recent = Deposit("B01-101", 200);
  c_.t().clock().Advance(12 * kDayUs);  // 32 days after the first
  Ok(c_.AsLedger(testing::PeriodBody(now(), now() - now() % kDayUs, PeriodKind::DAY)));
  ExpectRefused("past the window", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), old_deposit));
  });
  Ok(c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), recent)));
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 100);
}

// --- Settlements are derived, never submitted ---------------------------------------

TEST_F(CampusTest, ASettlementWithoutItsSourceIsRefusedEvenFromTheLedgerKey) {
  uint64_t deposit = Deposit("B01-101", 1000);
  ExpectRefused("deductions", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsLedger(testing::MakeBody("forged-deductions", now(), "gateway:G1", [&](auto body) {
      auto applied = body.initDeductionsApplied();
      applied.setSourceSeq(deposit);
      auto line = applied.initDeductions(1)[0];
      line.setRoomId("B01-101");
      line.setAmountFen(1000);
      line.setBalanceAfterFen(0);
    }));
  });
  ExpectRefused("refund", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsLedger(testing::MakeBody("forged-refund", now(), "room:B01-101", [&](auto body) {
      auto settled = body.initRefundSettled();
      settled.setRefundSeq(deposit);
      settled.setRoomId("B01-101");
      settled.setPersonId("p-a");
      settled.setAmountFen(1000);
    }));
  });
  ExpectRefused("exchange", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsLedger(testing::MakeBody("forged-exchange", now(), "room:B01-101", [&](auto body) {
      auto settled = body.initExchangeSettled();
      settled.setExchangeSeq(deposit);
      auto transfer = settled.initTransfers(1)[0];
      transfer.setPersonId("p-a");
      transfer.setFromRoomId("B01-101");
      transfer.setToRoomId("B01-102");
      transfer.setAmountFen(1000);
    }));
  });
  ExpectRefused("deductions from the operator", absl::StatusCode::kPermissionDenied, [&] {
    return c_.AsOperator(testing::MakeBody(c_.Key("forged"), now(), "gateway:G1", [&](auto body) {
      body.initDeductionsApplied().setSourceSeq(deposit);
    }));
  });
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 1000);
}

// --- Deductions from readings ---------------------------------------------------------

TEST_F(CampusTest, AReadingBatchYieldsOneDeductionsAppliedRightAfterItSignedByTheLedger) {
  Deposit("B01-101", 10'000);
  uint64_t batch = ReadAfterAnHour({{kMeter101, 1500}});
  EXPECT_EQ(c_.head_seq(), batch + 1);
  ledger::ParsedBody body = DeductionsFor(batch);
  EXPECT_EQ(std::string(body.get().getIdempotencyKey().cStr()), absl::StrCat("deductions/", batch));
  auto applied = body.get().getDeductionsApplied();
  EXPECT_EQ(applied.getAnomalies().size(), 0u);
  ASSERT_EQ(applied.getDeductions().size(), 1u);
  auto line = applied.getDeductions()[0];
  EXPECT_EQ(std::string(line.getRoomId().cStr()), "B01-101");
  EXPECT_EQ(std::string(line.getMeterAddress().cStr()), kMeter101);
  EXPECT_EQ(line.getCircuit(), 1);
  EXPECT_EQ(line.getFromWh(), 0);
  EXPECT_EQ(line.getToWh(), 1500);
  EXPECT_EQ(line.getEnergyWh(), 1500);
  EXPECT_EQ(line.getFreeWh(), 0);
  EXPECT_EQ(line.getChargedWh(), 1500);
  EXPECT_EQ(line.getAmountFen(), 88);  // 1500 Wh x 0.5880 = 88.2 fen
  EXPECT_EQ(line.getRemainderAfter(), 20'000);
  EXPECT_EQ(line.getBalanceAfterFen(), 10'000 - 88);
  Room room = RoomNow("B01-101");
  EXPECT_EQ(room.balance_fen, 10'000 - 88);
  EXPECT_EQ(room.deductions_fen, 88);
  EXPECT_EQ(room.energy_wh, 1500);
  EXPECT_EQ(room.month_energy_wh, 1500);
  EXPECT_EQ(room.remainder, 20'000);
  // A sweep where nothing moved still derives its (empty) record.
  uint64_t quiet = ReadAfterAnHour({{kMeter101, 1500}});
  EXPECT_EQ(DeductionsFor(quiet).get().getDeductionsApplied().getDeductions().size(), 0u);
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 10'000 - 88);
}

TEST_F(CampusTest, TiersFollowTheRoomsMonthlyConsumptionAcrossMeters) {
  // Room 101 gets a second meter; both count toward one monthly total.
  Ok(c_.AsOperator(testing::MeterBody(
      c_.Key("meter"), now(),
      MeterSpec{.address = "000000000111", .gateway_id = "G1", .room_id = "B01-101"})));
  uint64_t first = ReadAfterAnHour({{kMeter101, 6000}, {"000000000111", 2000}});
  auto lines_event = DeductionsFor(first);
  auto lines = lines_event.get().getDeductionsApplied().getDeductions();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].getAmountFen(), 352);  // 6000 x 0.5880 = 352.8
  EXPECT_EQ(lines[1].getAmountFen(), 118);  // 2000 x 0.5880 + 0.8 carried = 118.4
  // 8000 used; 4000 more crosses 10 kWh: 2000 at 0.5880 and 2000 at 0.6380.
  uint64_t second = ReadAfterAnHour({{kMeter101, 10'000}});
  auto crossing_event = DeductionsFor(second);
  auto crossing = crossing_event.get().getDeductionsApplied().getDeductions()[0];
  EXPECT_EQ(crossing.getChargedWh(), 4000);
  EXPECT_EQ(crossing.getAmountFen(), 245);  // 1176 + 1276 + 0.4 carried = 245.6
  EXPECT_EQ(crossing.getRemainderAfter(), 60'000);
  Room room = RoomNow("B01-101");
  EXPECT_EQ(room.month_energy_wh, 12'000);
  EXPECT_EQ(room.deductions_fen, 352 + 118 + 245);
  EXPECT_EQ(room.balance_fen, -(352 + 118 + 245));
}

TEST_F(CampusTest, TheMonthTickResetsConsumptionAndGrantsTheMonthlyAllowance) {
  // Undergraduates get 120 kWh a year: 10 kWh a month, prorated on move-in
  // (the 21st of a 30-day September leaves 10 days: 3333 Wh).
  Ok(c_.AsOperator(testing::RoomBody(c_.Key("room"), now(), "B01-201", "B01", 2)));
  Ok(c_.AsOperator(testing::MeterBody(
      c_.Key("meter"), now(),
      MeterSpec{.address = "000000000201", .gateway_id = "G1", .room_id = "B01-201"})));
  Assign("B01-201", "u-1", "undergraduate", "card-u1");
  EXPECT_EQ(RoomNow("B01-201").allowance_left_wh, 10'000 * 10 / 30);
  uint64_t september = ReadAfterAnHour({{"000000000201", 5000}, {kMeter102, 8000}});
  auto lines_event = DeductionsFor(september);
  auto lines = lines_event.get().getDeductionsApplied().getDeductions();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].getFreeWh(), 3333);
  EXPECT_EQ(lines[0].getChargedWh(), 1667);
  EXPECT_EQ(lines[0].getAmountFen(), 98);  // 1667 x 0.5880 = 98.0196
  EXPECT_EQ(RoomNow("B01-201").allowance_left_wh, 0);
  EXPECT_EQ(RoomNow("B01-102").month_energy_wh, 8000);

  CloseMonth(kOctober2026Us);
  Room undergraduates = RoomNow("B01-201");
  EXPECT_EQ(undergraduates.month_energy_wh, 0);
  EXPECT_EQ(undergraduates.allowance_left_wh, 10'000);
  EXPECT_EQ(RoomNow("B01-102").month_energy_wh, 0);
  EXPECT_EQ(RoomNow("B01-102").allowance_left_wh, 0);  // staff get none
  EXPECT_EQ(RoomNow("B01-201").energy_wh, 5000);       // all-time consumption stays

  // October starts at the first tier again, after the free energy.
  uint64_t october = ReadAfterAnHour({{"000000000201", 12'000}, {kMeter102, 9000}});
  lines_event = DeductionsFor(october);
  lines = lines_event.get().getDeductionsApplied().getDeductions();
  EXPECT_EQ(lines[0].getFreeWh(), 7000);
  EXPECT_EQ(lines[0].getAmountFen(), 0);
  EXPECT_EQ(lines[1].getFreeWh(), 0);
  EXPECT_EQ(lines[1].getAmountFen(), 59);  // 1000 x 0.5880 + 0.40 carried
  EXPECT_EQ(RoomNow("B01-201").allowance_left_wh, 3000);

  ExpectRefused("a tick not at a month start", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsLedger(testing::PeriodBody(now(), kOctober2026Us + kDayUs, PeriodKind::MONTH));
  });
  ExpectRefused("an earlier month", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsLedger(testing::PeriodBody(now(), kSeptember2026Us, PeriodKind::MONTH));
  });
  ExpectRefused("a tick from the operator", absl::StatusCode::kPermissionDenied, [&] {
    return c_.AsOperator(testing::PeriodBody(now(), kNovember2026Us, PeriodKind::MONTH));
  });
  // The month's allowance belongs to who lives there: a move-out on the 11th
  // of 31 days takes the remaining 20 days' share (10000 x 20 / 31 = 6451).
  c_.t().clock().Set(kOctober2026Us + 10 * kDayUs + kHourUs);
  Ok(c_.AsOperator(testing::MoveOutBody(c_.Key("out"), now(), "B01-201", "u-1")));
  EXPECT_EQ(RoomNow("B01-201").allowance_left_wh, 0);  // 3000 left, less than the share
}

TEST_F(CampusTest, ACounterRolloverChargesTheSmallTrueDelta) {
  Ok(c_.AsOperator(
      testing::MeterBody(c_.Key("meter"), now(),
                         MeterSpec{.address = "000000000199",
                                   .gateway_id = "G1",
                                   .room_id = "B01-103",
                                   .initial_wh = kRegisterModulusWh - 1000})));  // 999999.00 kWh
  Assign("B01-103", "p-d", "staff", "card-d");
  // A second meter wraps by exactly what its circuit can pass in the hour.
  Ok(c_.AsOperator(testing::MeterBody(c_.Key("meter"), now(),
                                      MeterSpec{.address = "000000000198",
                                                .gateway_id = "G1",
                                                .room_id = "B01-103",
                                                .initial_wh = kRegisterModulusWh - 8000})));
  uint64_t batch = ReadAfterAnHour({{"000000000199", 500}, {"000000000198", kHourMaxWh - 8000}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  EXPECT_EQ(applied.getAnomalies().size(), 0u);
  ASSERT_EQ(applied.getDeductions().size(), 2u);
  auto line = applied.getDeductions()[0];
  EXPECT_EQ(line.getFromWh(), kRegisterModulusWh - 1000);
  EXPECT_EQ(line.getToWh(), 500);
  EXPECT_EQ(line.getEnergyWh(), 1500);
  EXPECT_EQ(line.getAmountFen(), 88);
  EXPECT_EQ(applied.getDeductions()[1].getEnergyWh(), kHourMaxWh);
  EXPECT_EQ(RoomNow("B01-103").energy_wh, 1500 + kHourMaxWh);
}

TEST_F(CampusTest, ANegativeDeltaIsAnAnomalyThatChargesNothing) {
  ReadAfterAnHour({{kMeter101, 5000}});
  Room before = RoomNow("B01-101");
  uint64_t backwards = ReadAfterAnHour({{kMeter101, 4000}});
  auto applied_event = DeductionsFor(backwards);
  auto applied = applied_event.get().getDeductionsApplied();
  EXPECT_EQ(applied.getDeductions().size(), 0u);
  ASSERT_EQ(applied.getAnomalies().size(), 1u);
  auto anomaly = applied.getAnomalies()[0];
  EXPECT_EQ(anomaly.getKind(), schema::AnomalyKind::NEGATIVE_DELTA);
  EXPECT_EQ(anomaly.getFromWh(), 5000);
  EXPECT_EQ(anomaly.getToWh(), 4000);
  Room after = RoomNow("B01-101");
  EXPECT_EQ(after.balance_fen, before.balance_fen);
  EXPECT_EQ(after.energy_wh, before.energy_wh);
  // The baseline moves on: the next reading counts from 4000.
  uint64_t next = ReadAfterAnHour({{kMeter101, 4500}});
  EXPECT_EQ(DeductionsFor(next).get().getDeductionsApplied().getDeductions()[0].getEnergyWh(), 500);
}

TEST_F(CampusTest, AnImplausibleDeltaIsAnAnomalyThatChargesNothing) {
  // One hour of 40 A at 220 V allows 8810 Wh; 8811 is more than the circuit passes.
  uint64_t batch = ReadAfterAnHour({{kMeter101, kHourMaxWh + 1}, {kMeter102, kHourMaxWh}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  ASSERT_EQ(applied.getAnomalies().size(), 1u);
  auto anomaly = applied.getAnomalies()[0];
  EXPECT_EQ(anomaly.getKind(), schema::AnomalyKind::IMPLAUSIBLE_DELTA);
  EXPECT_EQ(std::string(anomaly.getMeterAddress().cStr()), kMeter101);
  EXPECT_EQ(anomaly.getElapsedUs(), kHourUs);
  EXPECT_EQ(anomaly.getMaxPlausibleWh(), kHourMaxWh);
  ASSERT_EQ(applied.getDeductions().size(), 1u);  // the other meter at its limit is charged
  EXPECT_EQ(std::string(applied.getDeductions()[0].getMeterAddress().cStr()), kMeter102);
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 0);
  EXPECT_EQ(RoomNow("B01-101").energy_wh, 0);
  uint64_t next = ReadAfterAnHour({{kMeter101, kHourMaxWh + 101}});
  EXPECT_EQ(DeductionsFor(next).get().getDeductionsApplied().getDeductions()[0].getEnergyWh(), 100);
}

TEST_F(CampusTest, AResentBatchChargesNothingTwice) {
  c_.t().clock().Advance(kHourUs);
  const int64_t read_at = now();
  std::string body = testing::ReadingsBody(
      "sweep-g1-1", now(), "G1", {{.address = kMeter101, .read_at_us = read_at, .total_wh = 3000}});
  ledger::SignedRequest request = testing::Sign(body, c_.ingest());
  auto first = Ok(c_.t().Append(request));
  Room charged = RoomNow("B01-101");
  EXPECT_EQ(charged.deductions_fen, 176);
  // The identical request again: an idempotent duplicate, nothing appended.
  uint64_t head = c_.head_seq();
  auto retry = c_.t().Append(request);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, first.seq);
  EXPECT_EQ(c_.head_seq(), head);
  // The same readings resent by a restarted collector (a new request): the
  // readings at or before the baseline change nothing.
  c_.t().clock().Advance(kHourUs);
  uint64_t resent = Ok(c_.AsIngest(testing::ReadingsBody(
                           c_.Key("sweep"), now(), "G1",
                           {{.address = kMeter101, .read_at_us = read_at, .total_wh = 3000},
                            {.address = kMeter101, .read_at_us = read_at - 1, .total_wh = 2000}})))
                        .seq;
  auto applied_event = DeductionsFor(resent);
  auto applied = applied_event.get().getDeductionsApplied();
  EXPECT_EQ(applied.getDeductions().size(), 0u);
  EXPECT_EQ(applied.getAnomalies().size(), 0u);
  Room after = RoomNow("B01-101");
  EXPECT_EQ(after.deductions_fen, charged.deductions_fen);
  EXPECT_EQ(after.energy_wh, 3000);
}

TEST_F(CampusTest, AMeterReplacementCarriesTheOldMetersFinalStretch) {
  ReadAfterAnHour({{kMeter101, 1000}});
  // The old meter read 1300 when it was taken out; the new one starts at 5.
  Ok(c_.AsOperator(
      testing::MeterReplacedBody(c_.Key("replace"), now(), kMeter101, "000000000901", 1, 1300, 5)));
  uint64_t batch = ReadAfterAnHour({{"000000000901", 105}, {kMeter101, 1400}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  ASSERT_EQ(applied.getDeductions().size(), 1u);
  auto line = applied.getDeductions()[0];
  EXPECT_EQ(std::string(line.getMeterAddress().cStr()), "000000000901");
  EXPECT_EQ(line.getEnergyWh(), 300 + 100);
  EXPECT_EQ(line.getToWh(), 105);
  // The retired meter's readings are no longer charged.
  ASSERT_EQ(applied.getAnomalies().size(), 1u);
  EXPECT_EQ(applied.getAnomalies()[0].getKind(), schema::AnomalyKind::UNKNOWN_METER);
  EXPECT_EQ(RoomNow("B01-101").energy_wh, 1400);
  ExpectRefused("replacing the retired meter again", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::MeterReplacedBody(c_.Key("replace"), now(), kMeter101,
                                                    "000000000902", 1, 1400, 0));
  });
  // A later reading of the new meter counts from its own register.
  uint64_t next = ReadAfterAnHour({{"000000000901", 205}});
  EXPECT_EQ(DeductionsFor(next).get().getDeductionsApplied().getDeductions()[0].getEnergyWh(), 100);
  // Replay applies the reading of the old meter and its replacement in one
  // chunk, and must still write the new meter's row; so must a reopen.
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ASSERT_TRUE((*replayed)->FindMeter("000000000901", 1).has_value());
  ASSERT_TRUE(c_.campus().FindMeter("000000000901", 1).has_value());
  uint64_t after_reopen = ReadAfterAnHour({{"000000000901", 305}});
  EXPECT_EQ(
      DeductionsFor(after_reopen).get().getDeductionsApplied().getDeductions()[0].getEnergyWh(),
      100);
}

TEST_F(CampusTest, AReplacementWhoseNewMeterStartsLowStillChargesTheTrueEnergy) {
  ReadAfterAnHour({{kMeter101, 8000}});
  // Final stretch 500 Wh is more than the new meter's start (0).
  Ok(c_.AsOperator(
      testing::MeterReplacedBody(c_.Key("replace"), now(), kMeter101, "000000000901", 1, 8500, 0)));
  uint64_t batch = ReadAfterAnHour({{"000000000901", 250}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  ASSERT_EQ(applied.getDeductions().size(), 1u);
  EXPECT_EQ(applied.getDeductions()[0].getEnergyWh(), 750);
}

TEST_F(CampusTest, UnknownMetersInABatchAreAnomaliesNotCharges) {
  uint64_t batch = ReadAfterAnHour({{"000000000777", 500}, {kMeter101, 100}});
  auto applied_event = DeductionsFor(batch);
  auto applied = applied_event.get().getDeductionsApplied();
  ASSERT_EQ(applied.getAnomalies().size(), 1u);
  EXPECT_EQ(applied.getAnomalies()[0].getKind(), schema::AnomalyKind::UNKNOWN_METER);
  EXPECT_EQ(applied.getDeductions().size(), 1u);
}

TEST_F(CampusTest, TheBalanceMayGoBelowZeroAndConsumptionStillRecords) {
  Ok(c_.AsOperator(testing::OverdraftBody(c_.Key("limit"), now(), "B01-101", 300)));
  Deposit("B01-101", 100);
  uint64_t batch = ReadAfterAnHour({{kMeter101, 8000}});
  auto line_event = DeductionsFor(batch);
  auto line = line_event.get().getDeductionsApplied().getDeductions()[0];
  EXPECT_EQ(line.getAmountFen(), 470);
  EXPECT_EQ(line.getBalanceAfterFen(), 100 - 470);
  ReadAfterAnHour({{kMeter101, 9000}});
  Room room = RoomNow("B01-101");
  EXPECT_EQ(room.energy_wh, 9000);
  EXPECT_EQ(room.balance_fen, 100 - 470 - 59);
  EXPECT_EQ(room.overdraft_limit_fen, 300);
  Deposit("B01-101", 1000);
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 100 - 470 - 59 + 1000);
  ExpectAccountsBalance();
}

// --- Refunds and exchanges ------------------------------------------------------------

TEST_F(CampusTest, ARefundPaysEachPayerTheirShareAndTheLastOccupantTheRest) {
  Deposit("B01-101", 3000, "card-a");
  Deposit("B01-101", 1000, "card-b");
  ReadAfterAnHour({{kMeter101, 1500}});  // 88 fen
  ASSERT_EQ(RoomNow("B01-101").balance_fen, 3912);
  ExpectRefused("a non-occupant", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-101", "p-c"));
  });
  ExpectRefused("an unknown room", absl::StatusCode::kNotFound, [&] {
    return c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-999", "p-a"));
  });
  ExpectRefused("an ingest key", absl::StatusCode::kPermissionDenied, [&] {
    return c_.AsIngest(testing::RefundBody(c_.Key("refund"), now(), "B01-101", "p-a"));
  });

  uint64_t refund =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-101", "p-a"))).seq;
  EXPECT_EQ(c_.head_seq(), refund + 1);
  ledger::ParsedBody body = LedgerEventAt(refund + 1);
  ASSERT_TRUE(body.get().isRefundSettled());
  auto settled = body.get().getRefundSettled();
  EXPECT_EQ(settled.getRefundSeq(), refund);
  EXPECT_EQ(std::string(settled.getPersonId().cStr()), "p-a");
  EXPECT_EQ(std::string(settled.getCardNo().cStr()), "card-a");
  EXPECT_EQ(settled.getAmountFen(), 3912 * 3000 / 4000);  // 2934
  EXPECT_EQ(settled.getBalanceBeforeFen(), 3912);
  EXPECT_EQ(settled.getBalanceAfterFen(), 3912 - 2934);
  EXPECT_EQ(settled.getPersonNetDepositsFen(), 3000);
  EXPECT_EQ(settled.getRoomNetDepositsFen(), 4000);
  EXPECT_FALSE(settled.getLastOccupant());
  EXPECT_EQ(c_.campus().RoomOf("p-a"), "");

  uint64_t last =
      Ok(c_.AsCashier(testing::RefundBody(c_.Key("refund"), now(), "B01-101", "p-b"))).seq;
  auto rest_event = LedgerEventAt(last + 1);
  auto rest = rest_event.get().getRefundSettled();
  EXPECT_TRUE(rest.getLastOccupant());
  EXPECT_EQ(rest.getAmountFen(), 978);
  Room room = RoomNow("B01-101");
  EXPECT_EQ(room.balance_fen, 0);
  EXPECT_EQ(room.refunds_fen, 3912);
  EXPECT_TRUE(room.occupants.empty());
  ExpectAccountsBalance();
}

TEST_F(CampusTest, ReversedDepositsAndOutsidersDoNotCountTowardsAShare) {
  uint64_t mistaken = Deposit("B01-101", 5000, "card-a");
  Deposit("B01-101", 1000, "card-a");
  Deposit("B01-101", 1000, "card-b");
  Deposit("B01-101", 2000, "card-parent");  // no occupant's card
  Ok(c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), mistaken)));
  ASSERT_EQ(RoomNow("B01-101").balance_fen, 4000);
  uint64_t refund =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-101", "p-b"))).seq;
  auto settled_event = LedgerEventAt(refund + 1);
  auto settled = settled_event.get().getRefundSettled();
  EXPECT_EQ(settled.getRoomNetDepositsFen(), 2000);  // card-a 1000 + card-b 1000
  EXPECT_EQ(settled.getPersonNetDepositsFen(), 1000);
  EXPECT_EQ(settled.getAmountFen(), 2000);  // half of the balance
}

TEST_F(CampusTest, TheLastOccupantTakesTheWholeBalanceEvenIfSomeoneElsePaid) {
  Assign("B01-103", "p-d", "staff", "card-d");
  Deposit("B01-103", 500, "card-parent");
  uint64_t refund =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-103", "p-d"))).seq;
  auto settled_event = LedgerEventAt(refund + 1);
  auto settled = settled_event.get().getRefundSettled();
  EXPECT_TRUE(settled.getLastOccupant());
  EXPECT_EQ(settled.getPersonNetDepositsFen(), 0);
  EXPECT_EQ(settled.getAmountFen(), 500);
  EXPECT_EQ(RoomNow("B01-103").balance_fen, 0);
  // With two occupants, neither of whom paid, nobody's share is positive.
  Deposit("B01-102", 800, "card-parent");
  Assign("B01-102", "p-e", "staff", "card-e");
  uint64_t shared =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-102", "p-e"))).seq;
  EXPECT_EQ(LedgerEventAt(shared + 1).get().getRefundSettled().getAmountFen(), 0);
  EXPECT_EQ(RoomNow("B01-102").balance_fen, 800);
}

TEST_F(CampusTest, ARefundFromANegativeBalancePaysNothingAndLeavesTheDebtWithTheRoom) {
  Deposit("B01-103", 100);
  Assign("B01-103", "p-d", "staff", "card-d");
  ReadAfterAnHour({{kMeter103, 8000}});  // 470 fen
  uint64_t refund =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-103", "p-d"))).seq;
  auto settled_event = LedgerEventAt(refund + 1);
  auto settled = settled_event.get().getRefundSettled();
  EXPECT_EQ(settled.getAmountFen(), 0);
  EXPECT_EQ(settled.getBalanceAfterFen(), -370);
  EXPECT_TRUE(settled.getLastOccupant());
  EXPECT_EQ(RoomNow("B01-103").balance_fen, -370);
  ExpectAccountsBalance();
}

TEST_F(CampusTest, AnExchangeMovesTheOccupantsShareWithThem) {
  Deposit("B01-101", 3000, "card-a");
  Deposit("B01-101", 1000, "card-b");
  Deposit("B01-102", 500, "card-c");
  uint64_t exchange = Ok(c_.AsOperator(testing::ExchangeBody(c_.Key("exchange"), now(), "p-a",
                                                             "B01-101", "B01-102")))
                          .seq;
  EXPECT_EQ(c_.head_seq(), exchange + 1);
  ledger::ParsedBody body = LedgerEventAt(exchange + 1);
  ASSERT_TRUE(body.get().isExchangeSettled());
  auto settled = body.get().getExchangeSettled();
  EXPECT_EQ(settled.getExchangeSeq(), exchange);
  ASSERT_EQ(settled.getTransfers().size(), 1u);
  auto transfer = settled.getTransfers()[0];
  EXPECT_EQ(std::string(transfer.getPersonId().cStr()), "p-a");
  EXPECT_EQ(std::string(transfer.getFromRoomId().cStr()), "B01-101");
  EXPECT_EQ(std::string(transfer.getToRoomId().cStr()), "B01-102");
  EXPECT_EQ(transfer.getAmountFen(), 3000);
  Room from = RoomNow("B01-101");
  Room to = RoomNow("B01-102");
  EXPECT_EQ(from.balance_fen, 1000);
  EXPECT_EQ(from.transfers_out_fen, 3000);
  EXPECT_EQ(to.balance_fen, 3500);
  EXPECT_EQ(to.transfers_in_fen, 3000);
  EXPECT_EQ(c_.campus().RoomOf("p-a"), "B01-102");
  // What they brought counts as paid into the new room: leaving it again
  // takes it back (3000 of 3500 paid by card-a).
  uint64_t refund =
      Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-102", "p-a"))).seq;
  EXPECT_EQ(LedgerEventAt(refund + 1).get().getRefundSettled().getAmountFen(), 3000);
  ExpectAccountsBalance();
}

TEST_F(CampusTest, ExchangeRulesRefuseAndAppendNothing) {
  Assign("B01-103", "p-d", "staff", "card-d");
  auto exchange = [&](std::string person, std::string from, std::string to, std::string swap) {
    return [=, this] {
      return c_.AsOperator(
          testing::ExchangeBody(c_.Key("exchange"), now(), person, from, to, swap));
    };
  };
  ExpectRefused("to a full room", absl::StatusCode::kFailedPrecondition,
                exchange("p-a", "B01-101", "B01-103", ""));
  ExpectRefused("to an unknown room", absl::StatusCode::kNotFound,
                exchange("p-a", "B01-101", "B01-999", ""));
  ExpectRefused("someone not living there", absl::StatusCode::kNotFound,
                exchange("p-c", "B01-101", "B01-102", ""));
  ExpectRefused("a swap with someone not in the other room", absl::StatusCode::kNotFound,
                exchange("p-a", "B01-101", "B01-103", "p-c"));
  ExpectRefused("within one room", absl::StatusCode::kInvalidArgument,
                exchange("p-a", "B01-101", "B01-101", ""));
  ExpectRefused("from a cashier", absl::StatusCode::kPermissionDenied, [&] {
    return c_.AsCashier(
        testing::ExchangeBody(c_.Key("exchange"), now(), "p-a", "B01-101", "B01-102"));
  });
}

TEST_F(CampusTest, ASwapIntoAFullRoomMovesBothSharesSymmetrically) {
  Assign("B01-103", "p-d", "staff", "card-d");
  Deposit("B01-101", 3000, "card-a");
  Deposit("B01-101", 1000, "card-b");
  Deposit("B01-103", 800, "card-d");
  uint64_t swap = Ok(c_.AsOperator(testing::ExchangeBody(c_.Key("exchange"), now(), "p-a",
                                                         "B01-101", "B01-103", "p-d")))
                      .seq;
  auto transfers_event = LedgerEventAt(swap + 1);
  auto transfers = transfers_event.get().getExchangeSettled().getTransfers();
  ASSERT_EQ(transfers.size(), 2u);
  EXPECT_EQ(std::string(transfers[0].getPersonId().cStr()), "p-a");
  EXPECT_EQ(transfers[0].getAmountFen(), 3000);
  EXPECT_EQ(std::string(transfers[1].getPersonId().cStr()), "p-d");
  EXPECT_EQ(transfers[1].getAmountFen(), 800);  // the whole balance of a one-bed room
  EXPECT_EQ(RoomNow("B01-101").balance_fen, 1000 + 800);
  EXPECT_EQ(RoomNow("B01-103").balance_fen, 3000);
  EXPECT_EQ(c_.campus().RoomOf("p-a"), "B01-103");
  EXPECT_EQ(c_.campus().RoomOf("p-d"), "B01-101");
  ExpectAccountsBalance();
}

// --- The whole history: audit, replay, reopen -------------------------------------------

struct Audit {
  std::map<std::string, int64_t> balance_by_room;
  int64_t deposits = 0;
  int64_t reversals = 0;
  int64_t deductions = 0;
  int64_t refunds = 0;
};

// What an auditor reads off the log alone: every money event, by room.
Audit AuditLog(const ledger::EventStore& store) {
  Audit audit;
  std::map<uint64_t, std::pair<std::string, int64_t>> deposits;
  uint64_t head = store.GetHead().value().seq;
  for (uint64_t seq = 1; seq <= head; ++seq) {
    auto stored = testing::ReadStoredEvent(store, seq);
    EXPECT_TRUE(stored.ok());
    auto parsed = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
    EXPECT_TRUE(parsed.ok());
    auto body = parsed->get();
    if (body.isDepositMade()) {
      std::string room(body.getDepositMade().getRoomId().cStr());
      int64_t amount = body.getDepositMade().getAmountFen();
      deposits[seq] = {room, amount};
      audit.balance_by_room[room] += amount;
      audit.deposits += amount;
    } else if (body.isDepositReversed()) {
      auto [room, amount] = deposits.at(body.getDepositReversed().getDepositSeq());
      audit.balance_by_room[room] -= amount;
      audit.reversals += amount;
    } else if (body.isDeductionsApplied()) {
      for (auto line : body.getDeductionsApplied().getDeductions()) {
        audit.balance_by_room[line.getRoomId().cStr()] -= line.getAmountFen();
        audit.deductions += line.getAmountFen();
      }
    } else if (body.isRefundSettled()) {
      audit.balance_by_room[body.getRefundSettled().getRoomId().cStr()] -=
          body.getRefundSettled().getAmountFen();
      audit.refunds += body.getRefundSettled().getAmountFen();
    } else if (body.isExchangeSettled()) {
      for (auto transfer : body.getExchangeSettled().getTransfers()) {
        audit.balance_by_room[transfer.getFromRoomId().cStr()] -= transfer.getAmountFen();
        audit.balance_by_room[transfer.getToRoomId().cStr()] += transfer.getAmountFen();
      }
    }
  }
  return audit;
}

TEST_F(CampusTest, AMixedHistoryAuditsReplaysAndReopensToTheSameBalances) {
  Assign("B01-103", "p-d", "undergraduate", "card-d");
  uint64_t mistaken = Deposit("B01-101", 9000, "card-a");
  Deposit("B01-101", 3000, "card-a");
  Ok(c_.AsCardCenter(testing::ChannelDepositBody(c_.Key("deposit"), now(), "B01-101", 1500,
                                                 DepositChannel::CARD_CENTER, "card-b")));
  Deposit("B01-102", 2000, "card-c");
  Deposit("B01-103", 700, "card-d");
  Ok(c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), mistaken)));
  ReadAfterAnHour({{kMeter101, 4000}, {kMeter102, 6000}, {kMeter103, 2500}});
  ReadAfterAnHour({{kMeter101, 11'000}, {kMeter102, 5000}, {kMeter103, 2600}});
  CloseMonth(kOctober2026Us);
  ReadAfterAnHour({{kMeter101, 12'345}, {kMeter102, 5800}, {kMeter103, 9000}});
  Ok(c_.AsOperator(testing::ExchangeBody(c_.Key("exchange"), now(), "p-a", "B01-101", "B01-102")));
  Ok(c_.AsOperator(testing::RefundBody(c_.Key("refund"), now(), "B01-103", "p-d")));
  ReadAfterAnHour({{kMeter101, 13'000}, {kMeter102, 7000}});
  ExpectAccountsBalance();

  // The log alone accounts for every room's balance.
  Audit audit = AuditLog(c_.ledger().store());
  int64_t total_balance = 0;
  for (const Room& room : c_.campus().Rooms()) {
    EXPECT_EQ(audit.balance_by_room[room.room_id], room.balance_fen) << room.room_id;
    total_balance += room.balance_fen;
  }
  EXPECT_EQ(audit.deposits - audit.reversals - audit.deductions - audit.refunds, total_balance);
  EXPECT_GT(audit.deductions, 0);
  EXPECT_GT(audit.refunds, 0);

  std::map<std::string, std::string> live;
  for (const Room& room : c_.campus().Rooms()) live[room.room_id] = EncodeRoom(room);
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  for (const Room& room : (*replayed)->Rooms()) {
    EXPECT_EQ(EncodeRoom(room), live[room.room_id]) << "replayed " << room.room_id;
  }
  EXPECT_EQ((*replayed)->Rooms().size(), live.size());
  for (const Room& room : c_.campus().Rooms()) {
    EXPECT_EQ(EncodeRoom(room), live[room.room_id]) << "reopened " << room.room_id;
  }

  // After the reopen everything carries on where it was: receipt numbers,
  // reversible deposits, meter baselines, refund shares.
  auto receipt = ledger::CanonicalMessage<schema::Receipt>::Parse(
      Ok(c_.AsCashier(testing::ChannelDepositBody(c_.Key("deposit"), now(), "B01-102", 100,
                                                  DepositChannel::COUNTER, "card-c")))
          .result,
      4096);
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(std::string(receipt->get().getReceiptNo().cStr()), "RC0000000006");
  ExpectRefused("a reversal repeated after the reopen", absl::StatusCode::kFailedPrecondition, [&] {
    return c_.AsOperator(testing::ReversalBody(c_.Key("reverse"), now(), mistaken));
  });
  int64_t before = RoomNow("B01-102").balance_fen;
  uint64_t batch = ReadAfterAnHour({{kMeter102, 7100}});
  EXPECT_EQ(DeductionsFor(batch).get().getDeductionsApplied().getDeductions()[0].getEnergyWh(),
            100);
  EXPECT_LE(RoomNow("B01-102").balance_fen, before);
  ExpectAccountsBalance();
  auto again = c_.ReplayAndReopen();
  ASSERT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace wattledger::projections
