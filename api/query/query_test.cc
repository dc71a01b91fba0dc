// The operators' queries against a real ledger: the live projections and
// projections loaded afresh from the store (what wattctl --data does) answer
// alike; refusals name what was wrong; the role table denies by default.
#include "api/query/query.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::query {
namespace {

using absl::StatusCode;

constexpr char kMeter[] = "000000010001";

void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
  ASSERT_TRUE(result.ok()) << result.status();
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), c_.now_us(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), c_.now_us(), "G1")));
    for (const char* room : {"B01-101", "B01-102"}) {
      Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), c_.now_us(), room, "B01", 4)));
    }
    Ok(c_.AsOperator(
        testing::TariffBody(c_.Key("t"), c_.now_us(), "staff", c_.now_us(), {{0, 5000}}, 0)));
    Ok(c_.AsOperator(
        testing::OccupantBody(c_.Key("o"), c_.now_us(), "B01-101", "P1", "staff", "C0001")));
    Ok(c_.AsOperator(
        testing::MeterBody(c_.Key("m"), c_.now_us(), testing::MeterSpec{kMeter, "G1", "B01-101"})));
    Ok(c_.AsCashier(testing::ChannelDepositBody(c_.Key("d"), c_.now_us(), "B01-101", 10'000,
                                                schema::DepositChannel::COUNTER, "C0001")));
    Ok(c_.AsIngest(
        testing::ReadingsBody(c_.Key("rd"), c_.now_us(), "G1", {{kMeter, 1, c_.now_us(), 1'500}})));
  }

  QuerySource Live() {
    return QuerySource{
        .domain = &c_.campus(), .store = &c_.ledger().store(), .now_us = c_.now_us()};
  }

  absl::StatusOr<Answer> Ask(const std::string& name,
                             std::map<std::string, std::string> args = {}) {
    return RunQuery(Live(), Query{.name = name, .args = std::move(args)});
  }

  testing::CampusLedger<projections::Domain> c_;
};

TEST_F(QueryTest, TheLiveProjectionsAndOnesLoadedFromTheStoreAnswerAlike) {
  projections::Domain loaded;
  ASSERT_TRUE(loaded.Load(c_.ledger().store()).ok());
  QuerySource fresh = Live();
  fresh.domain = &loaded;
  const std::vector<Query> queries = {
      {"rooms", {}},
      {"rooms", {{"room", "B01-101"}}},
      {"balance", {{"room", "B01-101"}}},
      {"room-status", {{"room", "B01-101"}}},
      {"control-why", {{"room", "B01-101"}}},
      {"commands", {}},
      {"devices", {}},
      {"violations", {}},
      {"alarms", {{"all", "true"}, {"format", "json"}}},
      {"notifications", {}},
  };
  for (const Query& q : queries) {
    auto live = RunQuery(Live(), q);
    auto again = RunQuery(fresh, q);
    ASSERT_TRUE(live.ok()) << q.name << ": " << live.status();
    ASSERT_TRUE(again.ok()) << q.name << ": " << again.status();
    EXPECT_EQ(live->lines, again->lines) << q.name;
  }
}

TEST_F(QueryTest, RoomsShowBalancesOccupantsAndTheLatestReading) {
  auto rooms = Ask("rooms");
  ASSERT_TRUE(rooms.ok()) << rooms.status();
  ASSERT_EQ(rooms->lines.size(), 2u);
  auto room = c_.campus().campus().FindRoom("B01-101");
  ASSERT_TRUE(room.has_value());
  EXPECT_TRUE(
      absl::StrContains(rooms->lines[0], absl::StrCat("\"balanceFen\":", room->balance_fen)))
      << rooms->lines[0];
  EXPECT_TRUE(absl::StrContains(rooms->lines[0], "\"cardNo\":\"C0001\"")) << rooms->lines[0];

  auto status = Ask("room-status", {{"room", "B01-101"}});
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->lines.size(), 1u);
  EXPECT_TRUE(absl::StrContains(status->lines[0], "\"totalWh\":1500")) << status->lines[0];
  EXPECT_TRUE(absl::StrContains(status->lines[0], "\"power\":\"on\"")) << status->lines[0];
}

TEST_F(QueryTest, RefusalsSayWhatWasWrong) {
  EXPECT_EQ(Ask("everything").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ask("rooms", {{"colour", "red"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ask("room-status").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ask("room-status", {{"room", "B09-999"}}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ask("control-why", {{"room", "B09-999"}}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ask("alarms", {{"format", "xml"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ask("report.deposits", {{"format", "pdf"}}).status().code(),
            StatusCode::kInvalidArgument);
  // This ledger was opened without the reports' families.
  auto report = Ask("report.deposits");
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition) << report.status();
  QuerySource no_domain = Live();
  no_domain.domain = nullptr;
  EXPECT_EQ(RunQuery(no_domain, Query{.name = "rooms"}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(QueryTest, BalancesReplayTheLogIntoAScratchStore) {
  testing::TempDir scratch;
  QuerySource source = Live();
  source.scratch_dir = scratch.path();
  auto answer = RunQuery(source, Query{.name = "report.balances", .args = {{"format", "csv"}}});
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->lines.size(), 3u);  // the header and two rooms
  EXPECT_TRUE(absl::StartsWith(answer->lines[0], "atSeq,roomId,buildingId,balanceFen"));
  auto room = c_.campus().campus().FindRoom("B01-101");
  ASSERT_TRUE(room.has_value());
  std::vector<std::string> fields = absl::StrSplit(answer->lines[1], ',');
  ASSERT_GE(fields.size(), 4u);
  EXPECT_EQ(fields[1], "B01-101");
  EXPECT_EQ(fields[3], absl::StrCat(room->balance_fen));
  EXPECT_TRUE(std::filesystem::is_empty(scratch.path()));  // the replay was removed
}

TEST(QueryRoles, TheTableDeniesByDefault) {
  using ledger::Role;
  for (const QueryInfo& info : Queries()) {
    for (Role role : {Role::ADMIN, Role::OPERATOR, Role::AUDITOR}) {
      EXPECT_TRUE(RoleMayQuery(role, info.name)) << info.name;
    }
    for (Role role : {Role::CARD_CENTER, Role::INGEST, Role::LEDGER}) {
      EXPECT_FALSE(RoleMayQuery(role, info.name)) << info.name;
    }
    const bool cashier = info.name == "rooms" || info.name == "balance" ||
                         info.name == "room-status" || info.name == "report.deposits" ||
                         info.name == "report.settlement";
    EXPECT_EQ(RoleMayQuery(Role::CASHIER, info.name), cashier) << info.name;
  }
  EXPECT_FALSE(RoleMayQuery(Role::ADMIN, "everything"));
}

}  // namespace
}  // namespace wattledger::query
