// The control book through the real ledger: operators command meters, the
// meter side records outcomes, and every rule refuses with nothing appended.
#include "projections/control/control_book.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "ledger/event_format.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using schema::RelayAction;
using testing::MakeBody;
using testing::MeterSpec;

constexpr char kMeter[] = "000000010001";
constexpr char kOther[] = "000000010002";

class ControlBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), now(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), now(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), "B01-101", "B01", 4)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), "B01-102", "B01", 4)));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), MeterSpec{kMeter, "G1", "B01-101"})));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), MeterSpec{kOther, "G1", "B01-102"})));
  }

  int64_t now() const { return c_.now_us(); }
  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }

  std::string Relay(const std::string& address, RelayAction action,
                    const std::string& reason = "operator test") {
    return MakeBody(c_.Key("control"), now(), absl::StrCat("meter:", address),
                    [&](schema::EventBody::Builder body) {
                      auto command = body.initControlCommanded();
                      command.setMeterAddress(address);
                      command.setCircuit(1);
                      command.setReason(reason);
                      command.setOrigin("operator");
                      command.setRelay(action);
                    });
  }
  template <typename Fill>
  std::string Parameters(Fill fill) {
    return MakeBody(c_.Key("params"), now(), absl::StrCat("meter:", kMeter),
                    [&](schema::EventBody::Builder body) {
                      auto command = body.initControlCommanded();
                      command.setMeterAddress(kMeter);
                      command.setCircuit(1);
                      command.setReason("load limit for the room");
                      command.setOrigin("operator");
                      fill(command.initParameters());
                    });
  }
  std::string Delivered(uint64_t command_seq, const std::string& address = kMeter) {
    return MakeBody(c_.Key("delivered"), now(), absl::StrCat("meter:", address),
                    [&](schema::EventBody::Builder body) {
                      auto out = body.initControlDelivered();
                      out.setCommandSeq(command_seq);
                      out.setAttempts(1);
                      out.setMeterAddress(address);
                      out.setRelayOpen(true);
                    });
  }
  std::string Failed(uint64_t command_seq) {
    return MakeBody(c_.Key("failed"), now(), absl::StrCat("meter:", kMeter),
                    [&](schema::EventBody::Builder body) {
                      auto out = body.initControlFailed();
                      out.setCommandSeq(command_seq);
                      out.setAttempts(5);
                      out.setMeterAddress(kMeter);
                      out.setReason("no reply after 5 attempts");
                    });
  }

  // Refused with `code`, and nothing appended.
  void Refused(const absl::StatusOr<ledger::AppendResult>& result, absl::StatusCode code,
               absl::string_view words) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_TRUE(absl::StrContains(result.status().message(), words)) << result.status();
  }

  testing::CampusLedger<Domain> c_;
};

TEST_F(ControlBookTest, OperatorCommandIsPendingUntilDeliveredOnce) {
  auto trip = c_.AsOperator(Relay(kMeter, RelayAction::TRIP, "manual cut: wiring inspection"));
  Ok(trip);
  auto pending = c_.campus().control().Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, trip->seq);
  EXPECT_EQ(pending[0].relay, RelayAction::TRIP);

  Ok(c_.AsIngest(Delivered(trip->seq)));
  EXPECT_TRUE(c_.campus().control().Pending().empty());
  auto entries = c_.campus().control().ForMeter(kMeter);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].state, CommandState::kDelivered);
  EXPECT_TRUE(entries[0].relay_open);

  uint64_t head = c_.head_seq();
  Refused(c_.AsIngest(Delivered(trip->seq)), absl::StatusCode::kFailedPrecondition,
          "already delivered");
  Refused(c_.AsIngest(Failed(trip->seq)), absl::StatusCode::kFailedPrecondition,
          "already delivered");
  EXPECT_EQ(c_.head_seq(), head);
}

TEST_F(ControlBookTest, NewerCommandSupersedesAPendingOne) {
  auto trip = c_.AsOperator(Relay(kMeter, RelayAction::TRIP));
  auto close = c_.AsOperator(Relay(kMeter, RelayAction::CLOSE_DIRECT));
  Ok(trip);
  Ok(close);
  auto pending = c_.campus().control().Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, close->seq);
  Refused(c_.AsIngest(Delivered(trip->seq)), absl::StatusCode::kFailedPrecondition, "superseded");
  Ok(c_.AsIngest(Failed(close->seq)));
  auto entries = c_.campus().control().ForMeter(kMeter);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].state, CommandState::kFailed);
  EXPECT_EQ(entries[0].outcome_reason, "no reply after 5 attempts");
}

TEST_F(ControlBookTest, RelayAndParametersArePendingSeparately) {
  Ok(c_.AsOperator(Relay(kMeter, RelayAction::KEEP_POWER, "medical need")));
  Ok(c_.AsOperator(Parameters([](schema::MeterParameters::Builder p) {
    p.setLoadLimitW(1500);
    p.setMaliciousStepW(800);
    p.setMaliciousPfMilli(950);
    p.setRecoveryDelayMinutes(5);
    auto periods = p.initWorkdayPeriods(2);
    periods[0].setStartMinute(0);
    periods[0].setMode(schema::PeriodMode::NIGHT);
    periods[0].setNightLimitW(300);
    periods[1].setStartMinute(7 * 60);
    periods[1].setMode(schema::PeriodMode::ON);
  })));
  auto pending = c_.campus().control().Pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_TRUE(pending[0].is_relay);
  EXPECT_FALSE(pending[1].is_relay);
}

TEST_F(ControlBookTest, RefusesWhatAMeterCannotDoAndAppendsNothing) {
  uint64_t head = c_.head_seq();
  Refused(c_.AsOperator(Relay("000000099999", RelayAction::TRIP)),
          absl::StatusCode::kFailedPrecondition, "not installed");
  Refused(c_.AsOperator(Relay(kMeter, RelayAction::TRIP, "")), absl::StatusCode::kInvalidArgument,
          "needs a reason");
  Refused(c_.AsCashier(Relay(kMeter, RelayAction::TRIP)), absl::StatusCode::kPermissionDenied,
          "may not issue");
  Refused(c_.AsOperator(Parameters([](schema::MeterParameters::Builder p) {
    auto periods = p.initHolidayPeriods(9);
    for (unsigned i = 0; i < 9; ++i) periods[i].setStartMinute(static_cast<uint16_t>(i * 60));
  })),
          absl::StatusCode::kInvalidArgument, "at most 8");
  Refused(c_.AsOperator(Parameters([](schema::MeterParameters::Builder p) {
    auto periods = p.initWorkdayPeriods(2);
    periods[0].setStartMinute(600);
    periods[1].setStartMinute(300);
  })),
          absl::StatusCode::kInvalidArgument, "ascending");
  Refused(c_.AsOperator(
              Parameters([](schema::MeterParameters::Builder p) { p.setMaliciousPfMilli(1200); })),
          absl::StatusCode::kInvalidArgument, "power factor");
  Refused(c_.AsIngest(Delivered(12345)), absl::StatusCode::kFailedPrecondition,
          "not a pending control command");
  auto trip = c_.AsOperator(Relay(kMeter, RelayAction::TRIP));
  Ok(trip);
  head = c_.head_seq();
  Refused(c_.AsIngest(Delivered(trip->seq, kOther)), absl::StatusCode::kInvalidArgument,
          "is for meter");
  Refused(c_.AsOperator(Delivered(trip->seq)), absl::StatusCode::kPermissionDenied,
          "may not issue");
  EXPECT_EQ(c_.head_seq(), head);
}

TEST_F(ControlBookTest, SurvivesReopenAndReplaysByteForByte) {
  auto trip = c_.AsOperator(Relay(kMeter, RelayAction::TRIP));
  Ok(trip);
  Ok(c_.AsOperator(Relay(kOther, RelayAction::TRIP)));
  Ok(c_.AsIngest(Delivered(trip->seq)));
  auto before = c_.campus().control().All();
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->control().All(), before);
  EXPECT_EQ(c_.campus().control().All(), before);
  ASSERT_EQ(c_.campus().control().Pending().size(), 1u);
  EXPECT_EQ(c_.campus().control().Pending()[0].meter_address, kOther);
}

}  // namespace
}  // namespace wattledger::projections
