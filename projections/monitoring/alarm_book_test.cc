// The alarm book through the real ledger: the meter side's events raise and
// clear alarms, each raise and clear is one derived event signed by the
// ledger, an open alarm is never raised twice, and replay from seq 1 (full
// and state-only) rebuilds the same alarms and rows byte for byte.
#include "projections/monitoring/alarm_book.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "projections/calendar.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::projections {
namespace {

using schema::LinkState;
using testing::MakeBody;

constexpr char kRoom1Meter[] = "000000010001";
constexpr char kRoom2Meter[] = "000000010002";
constexpr char kMasterMeter[] = "000000019999";
constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kHourUs = 60 * kMinuteUs;

struct ReadingRow {
  std::string address;
  int64_t total_wh = 0;
  bool relay_open = false;
  int32_t power_w = 100;
  int32_t voltage_dv = 2200;
  int64_t read_at_us = 0;  // 0: the sweep's start
};

// An alarm event as an operator would read it in the log.
struct Seen {
  bool raised = false;
  std::string id;
  std::string text;
  schema::AlarmSeverity severity = schema::AlarmSeverity::INFO;
  uint64_t evidence_seq = 0;
};

class AlarmBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), c_.now_us(), "B01")));
    Ok(c_.AsOperator(testing::GatewayBody(c_.Key("g"), c_.now_us(), "G1")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), c_.now_us(), "B01-101", "B01", 4)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), c_.now_us(), "B01-102", "B01", 4)));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), c_.now_us(), "B01-MASTER", "B01", 1)));
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), c_.now_us(),
                                        testing::MeterSpec{kRoom1Meter, "G1", "B01-101"})));
    testing::MeterSpec room2{kRoom2Meter, "G1", "B01-102"};
    room2.initial_wh = 999'999'000;  // about to roll over
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), c_.now_us(), room2)));
    testing::MeterSpec master{kMasterMeter, "G1", "B01-MASTER"};
    master.rated_current_ma = 400'000;
    Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), c_.now_us(), master)));
    seen_through_ = c_.head_seq();
  }

  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }

  const AlarmBook& alarms() { return c_.campus().alarms(); }

  // Moves the clock on and submits one sweep of readings read at its start
  // (unless a row says otherwise), signed by the ingest key.
  uint64_t Sweep(const std::vector<ReadingRow>& rows, int64_t advance_us = 15 * kMinuteUs,
                 int64_t sweep_started_us = 0) {
    c_.t().clock().Advance(advance_us);
    int64_t now = c_.now_us();
    if (sweep_started_us == 0) sweep_started_us = now;
    std::string body =
        MakeBody(c_.Key("sweep"), now, "gateway:G1", [&](schema::EventBody::Builder out) {
          auto batch = out.initReadingsBatch();
          batch.setGatewayId("G1");
          batch.setSweepStartedUs(sweep_started_us);
          auto list = batch.initReadings(static_cast<unsigned>(rows.size()));
          for (unsigned i = 0; i < rows.size(); ++i) {
            const ReadingRow& row = rows[i];
            list[i].setMeterAddress(row.address);
            list[i].setCircuit(1);
            list[i].setReadAtUs(row.read_at_us != 0 ? row.read_at_us : now);
            list[i].setTotalWh(row.total_wh);
            list[i].setVoltageDv(row.voltage_dv);
            list[i].setPowerW(row.power_w);
            list[i].setCurrentMa(row.power_w * 10'000 / 2200);
            list[i].setPowerFactorMilli(1000);
            list[i].setRelayOpen(row.relay_open);
          }
        });
    auto result = c_.AsIngest(body);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  uint64_t MeterLink(const std::string& address, LinkState state) {
    auto result = c_.AsIngest(MakeBody(c_.Key("mt"), c_.now_us(), "meter:" + address,
                                       [&](schema::EventBody::Builder body) {
                                         auto out = body.initMeterStatusChanged();
                                         out.setMeterAddress(address);
                                         out.setGatewayId("G1");
                                         out.setState(state);
                                         out.setDetail("3 timeouts in a row");
                                         out.setRequests(40);
                                         out.setTimeouts(3);
                                       }));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  uint64_t GatewayLink(LinkState state) {
    auto result = c_.AsIngest(
        MakeBody(c_.Key("gw"), c_.now_us(), "gateway:G1", [&](schema::EventBody::Builder body) {
          auto out = body.initGatewayStatusChanged();
          out.setGatewayId("G1");
          out.setState(state);
          out.setDetail(state == LinkState::ONLINE ? "connected" : "connection refused");
          out.setPeer("127.0.0.1:9601");
        }));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  uint64_t Command(const std::string& address, schema::RelayAction action) {
    auto result = c_.AsOperator(MakeBody(c_.Key("cmd"), c_.now_us(), "meter:" + address,
                                         [&](schema::EventBody::Builder body) {
                                           auto out = body.initControlCommanded();
                                           out.setMeterAddress(address);
                                           out.setCircuit(1);
                                           out.setReason("operator test");
                                           out.setOrigin("operator");
                                           out.setRelay(action);
                                         }));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  uint64_t Outcome(const std::string& address, uint64_t command_seq, bool delivered) {
    auto result = c_.AsIngest(
        MakeBody(c_.Key("out"), c_.now_us(), "meter:" + address, [&](schema::EventBody::Builder b) {
          if (delivered) {
            auto out = b.initControlDelivered();
            out.setCommandSeq(command_seq);
            out.setAttempts(2);
            out.setMeterAddress(address);
          } else {
            auto out = b.initControlFailed();
            out.setCommandSeq(command_seq);
            out.setAttempts(5);
            out.setMeterAddress(address);
            out.setReason("no answer from the meter");
          }
        }));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->seq : 0;
  }

  // The alarm events appended since the last call, in log order.
  std::vector<Seen> NewAlarmEvents() {
    std::vector<Seen> out;
    uint64_t head = c_.head_seq();
    for (uint64_t seq = seen_through_ + 1; seq <= head; ++seq) {
      auto stored = testing::ReadStoredEvent(c_.ledger().store(), seq);
      EXPECT_TRUE(stored.ok()) << stored.status();
      if (!stored.ok()) break;
      auto body = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
      EXPECT_TRUE(body.ok()) << body.status();
      if (!body.ok()) break;
      auto event = body->get();
      if (event.isAlarmRaised()) {
        EXPECT_EQ(stored->signer, c_.t().ledger_key().key_id());
        EXPECT_EQ(std::string(event.getStream().cStr()), "alarms");
        auto raised = event.getAlarmRaised();
        std::string id = raised.getAlarmId();
        EXPECT_EQ(id, absl::StrCat(raised.getKind().cStr(), "/", raised.getSubject().cStr()));
        out.push_back({true, id, raised.getText(), raised.getSeverity(), raised.getEvidenceSeq()});
      } else if (event.isAlarmCleared()) {
        EXPECT_EQ(stored->signer, c_.t().ledger_key().key_id());
        auto cleared = event.getAlarmCleared();
        out.push_back({false, cleared.getAlarmId(), cleared.getText(), schema::AlarmSeverity::INFO,
                       cleared.getEvidenceSeq()});
      }
    }
    seen_through_ = head;
    return out;
  }

  // Exactly one alarm event since the last look: `raised` or cleared `id`.
  Seen ExpectOne(bool raised, const std::string& id) {
    std::vector<Seen> seen = NewAlarmEvents();
    EXPECT_EQ(seen.size(), 1u) << Describe(seen);
    if (seen.size() != 1) return {};
    EXPECT_EQ(seen[0].raised, raised) << Describe(seen);
    EXPECT_EQ(seen[0].id, id) << Describe(seen);
    return seen[0];
  }
  void ExpectNone() {
    std::vector<Seen> seen = NewAlarmEvents();
    EXPECT_TRUE(seen.empty()) << Describe(seen);
  }
  static std::string Describe(const std::vector<Seen>& seen) {
    std::string out;
    for (const Seen& s : seen) {
      absl::StrAppend(&out, s.raised ? "raised " : "cleared ", s.id, ": ", s.text, "\n");
    }
    return out;
  }

  std::vector<std::string> OpenIds() {
    std::vector<std::string> ids;
    for (const Alarm& alarm : alarms().Open()) ids.push_back(alarm.id);
    return ids;
  }

  // Replays the log from seq 1 (full and state-only: the fixture compares
  // every rebuilt row byte for byte) and reopens; the alarms must be the same.
  void ExpectReplayRebuildsTheSame() {
    std::vector<Alarm> history = alarms().History(kAlarmHistoryMax * 2);
    std::vector<Alarm> open = alarms().Open();
    auto replayed = c_.ReplayAndReopen();
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ((*replayed)->alarms().History(kAlarmHistoryMax * 2), history);
    EXPECT_EQ(alarms().History(kAlarmHistoryMax * 2), history);
    EXPECT_EQ(alarms().Open(), open);
  }

  testing::CampusLedger<Domain> c_;
  uint64_t seen_through_ = 0;
};

TEST_F(AlarmBookTest, ControlFailureRaisedOnceAndClearedByADelivery) {
  uint64_t cut = Command(kRoom1Meter, schema::RelayAction::TRIP);
  uint64_t failed = Outcome(kRoom1Meter, cut, /*delivered=*/false);
  Seen raised = ExpectOne(true, "controlFailure/meter:000000010001");
  EXPECT_EQ(raised.text, absl::StrCat("Cut-off of meter 000000010001 (room B01-101, command ", cut,
                                      ") failed after 5 attempts: no answer from the meter"));
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::MAJOR);
  EXPECT_EQ(raised.evidence_seq, failed);

  // A second failure while it is open raises nothing more.
  uint64_t again = Command(kRoom1Meter, schema::RelayAction::TRIP);
  Outcome(kRoom1Meter, again, /*delivered=*/false);
  ExpectNone();
  ASSERT_EQ(alarms().Open().size(), 1u);
  EXPECT_EQ(alarms().Open()[0].raised_seq, failed);

  // Another meter's delivery clears nothing; this meter's does.
  uint64_t other = Command(kRoom2Meter, schema::RelayAction::TRIP);
  Outcome(kRoom2Meter, other, /*delivered=*/true);
  ExpectNone();
  uint64_t restore = Command(kRoom1Meter, schema::RelayAction::CLOSE_DIRECT);
  uint64_t delivered = Outcome(kRoom1Meter, restore, /*delivered=*/true);
  Seen cleared = ExpectOne(false, "controlFailure/meter:000000010001");
  EXPECT_TRUE(
      absl::StartsWith(cleared.text, absl::StrCat("Restore of meter 000000010001 (command ",
                                                  restore, ") delivered after 2 attempts at ")))
      << cleared.text;
  EXPECT_TRUE(alarms().Open().empty());
  std::vector<Alarm> history = alarms().History(10);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].kind, "controlFailure");
  EXPECT_EQ(history[0].subject, "meter:000000010001");
  EXPECT_EQ(history[0].raised_seq, failed);
  EXPECT_EQ(history[0].cleared_seq, delivered);
  EXPECT_EQ(history[0].clear_text, cleared.text);

  // A later delivery with nothing open derives nothing.
  uint64_t cut_again = Command(kRoom1Meter, schema::RelayAction::TRIP);
  Outcome(kRoom1Meter, cut_again, /*delivered=*/true);
  ExpectNone();
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, MeterAndGatewayLinkAlarmsFollowTheirState) {
  uint64_t offline = MeterLink(kRoom1Meter, LinkState::OFFLINE);
  Seen raised = ExpectOne(true, "meterOffline/meter:000000010001");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::WARNING);
  EXPECT_TRUE(absl::StartsWith(
      raised.text, "meter 000000010001 (room B01-101, gateway G1) stopped answering at "))
      << raised.text;
  EXPECT_TRUE(absl::StrContains(raised.text, "3 timeouts in a row (3 timeouts,")) << raised.text;
  EXPECT_EQ(raised.evidence_seq, offline);
  MeterLink(kRoom1Meter, LinkState::OFFLINE);
  ExpectNone();

  // Answering wrongly: a communication error instead of offline.
  MeterLink(kRoom1Meter, LinkState::FAULT);
  std::vector<Seen> seen = NewAlarmEvents();
  ASSERT_EQ(seen.size(), 2u) << Describe(seen);
  EXPECT_TRUE(seen[0].raised);
  EXPECT_EQ(seen[0].id, "commError/meter:000000010001");
  EXPECT_TRUE(absl::StrContains(seen[0].text, "answers wrongly since")) << seen[0].text;
  EXPECT_FALSE(seen[1].raised);
  EXPECT_EQ(seen[1].id, "meterOffline/meter:000000010001");
  MeterLink(kRoom1Meter, LinkState::ONLINE);
  ExpectOne(false, "commError/meter:000000010001");
  MeterLink(kRoom1Meter, LinkState::ONLINE);
  ExpectNone();

  GatewayLink(LinkState::OFFLINE);
  raised = ExpectOne(true, "gatewayOffline/gateway:G1");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::MAJOR);
  EXPECT_TRUE(absl::StrContains(raised.text, "offline since")) << raised.text;
  EXPECT_TRUE(absl::StrContains(raised.text, "connection refused")) << raised.text;
  GatewayLink(LinkState::OFFLINE);
  ExpectNone();
  GatewayLink(LinkState::ONLINE);
  Seen cleared = ExpectOne(false, "gatewayOffline/gateway:G1");
  EXPECT_TRUE(absl::StrContains(cleared.text, "from 127.0.0.1:9601")) << cleared.text;
  GatewayLink(LinkState::OFFLINE);  // a new occurrence, raised afresh
  ExpectOne(true, "gatewayOffline/gateway:G1");
  EXPECT_EQ(OpenIds(), std::vector<std::string>{"gatewayOffline/gateway:G1"});
  EXPECT_EQ(alarms().History(100).size(), 4u);  // the open one and three cleared
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, EnergyPastAnOpenRelayIsATheftSign) {
  Sweep({{kRoom1Meter, 1000}});
  // Tripped during the interval: the energy before the trip is honest.
  Sweep({{kRoom1Meter, 1100, /*relay_open=*/true, /*power_w=*/0}});
  Sweep({{kRoom1Meter, 1100, true, 0}});
  ExpectNone();
  Sweep({{kRoom1Meter, 1150, true, 0}});
  Seen raised = ExpectOne(true, "theftEnergyWhileOpen/meter:000000010001");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::CRITICAL);
  EXPECT_TRUE(absl::StartsWith(raised.text,
                               "meter 000000010001 (room B01-101): its relay is open, yet it "
                               "counted 0.05 kWh and 0 W from "))
      << raised.text;
  Sweep({{kRoom1Meter, 1200, true, 0}});  // still flowing: still the same alarm
  ExpectNone();
  Sweep({{kRoom1Meter, 1200, true, 0}});
  Seen cleared = ExpectOne(false, "theftEnergyWhileOpen/meter:000000010001");
  EXPECT_TRUE(absl::StartsWith(cleared.text, "no energy past the open relay by ")) << cleared.text;

  // Power with the relay open, before the register moves.
  Sweep({{kRoom1Meter, 1200, true, 300}});
  raised = ExpectOne(true, "theftEnergyWhileOpen/meter:000000010001");
  EXPECT_TRUE(absl::StrContains(raised.text, "0.00 kWh and 300 W")) << raised.text;
  Sweep({{kRoom1Meter, 1300, false, 300}});
  cleared = ExpectOne(false, "theftEnergyWhileOpen/meter:000000010001");
  EXPECT_TRUE(absl::StartsWith(cleared.text, "the relay is closed again at ")) << cleared.text;
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, RegisterGoingBackIsATheftSignButARolloverIsNot) {
  Sweep({{kRoom1Meter, 5000}, {kRoom2Meter, 999'999'500}});
  Sweep({{kRoom1Meter, 4000}, {kRoom2Meter, 300}});  // room 2 rolled over
  Seen raised = ExpectOne(true, "theftBackwards/meter:000000010001");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::CRITICAL);
  EXPECT_TRUE(absl::StartsWith(
      raised.text,
      "meter 000000010001 (room B01-101): the register went back from 5.00 kWh to 4.00 kWh at "))
      << raised.text;
  EXPECT_TRUE(absl::EndsWith(raised.text,
                             ", not a rollover: the meter may have been tampered "
                             "with or reset"))
      << raised.text;
  Sweep({{kRoom1Meter, 4500}, {kRoom2Meter, 400}});
  ExpectNone();
  Sweep({{kRoom1Meter, 5010}, {kRoom2Meter, 500}});
  Seen cleared = ExpectOne(false, "theftBackwards/meter:000000010001");
  EXPECT_TRUE(absl::StartsWith(cleared.text, "the register is back at 5.01 kWh at "))
      << cleared.text;

  // A replaced meter takes its alarms with it.
  Sweep({{kRoom1Meter, 100}});
  ExpectOne(true, "theftBackwards/meter:000000010001");
  Ok(c_.AsOperator(testing::MeterReplacedBody(c_.Key("swap"), c_.now_us(), kRoom1Meter,
                                              "000000010003", 1, 100, 0)));
  cleared = ExpectOne(false, "theftBackwards/meter:000000010001");
  EXPECT_TRUE(absl::StartsWith(cleared.text, "meter 000000010001 was replaced by 000000010003 at "))
      << cleared.text;
  Sweep({{"000000010003", 200}});
  ExpectNone();
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, MasterMeterBeyondItsRoomsOverACampusDay) {
  // Start at 01:00 campus time on the next day, so each sweep's day is known.
  int64_t day = DayStartUs(c_.now_us()) + kMicrosPerDay;
  c_.t().clock().Set(day + kHourUs - 15 * kMinuteUs);
  // The first master reading opens the window; what the rooms counted
  // before it does not count.
  Sweep({{kMasterMeter, 10'000}, {kRoom1Meter, 1'000}, {kRoom2Meter, 999'999'500}});
  Sweep({{kRoom1Meter, 5'000}, {kMasterMeter, 20'000}, {kRoom2Meter, 3'500}}, 12 * kHourUs);
  ExpectNone();  // the window closes with the next day's first master reading
  uint64_t closing =
      Sweep({{kMasterMeter, 22'000}, {kRoom1Meter, 6'000}, {kRoom2Meter, 4'500}}, 12 * kHourUs);
  Seen raised = ExpectOne(true, "theftMasterMeter/building:B01");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::CRITICAL);
  EXPECT_EQ(raised.evidence_seq, closing);
  // Master 12 kWh against rooms 5 + 5 kWh (room 2 across its rollover).
  std::string day1 = CampusTimeText(day + kHourUs);
  std::string day2 = CampusTimeText(day + kMicrosPerDay + kHourUs);
  EXPECT_EQ(raised.text,
            absl::StrCat("building B01, ", day1, " to ", day2,
                         ": master meter 000000019999 counted 12.00 kWh, its rooms 10.00 kWh; "
                         "2.00 kWh (20.0% of the rooms') is unaccounted for: energy may be taken "
                         "past the room meters"));
  // The next day within 10%: cleared.
  Sweep({{kMasterMeter, 32'500}, {kRoom1Meter, 11'000}, {kRoom2Meter, 9'500}}, 24 * kHourUs);
  Seen cleared = ExpectOne(false, "theftMasterMeter/building:B01");
  EXPECT_TRUE(absl::StrContains(cleared.text,
                                "counted 10.50 kWh, its rooms 10.00 kWh: the "
                                "difference is back under 10.0% or 1.00 kWh"))
      << cleared.text;
  // Over 10% but under 1 kWh: not raised.
  Sweep({{kMasterMeter, 33'400}, {kRoom1Meter, 11'400}, {kRoom2Meter, 9'900}}, 24 * kHourUs);
  ExpectNone();
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, VoltageOutOfRangeAndSupplyLost) {
  Sweep({{kRoom1Meter, 1000, false, 100, 2200}});
  Sweep({{kRoom1Meter, 1010, false, 100, 1950}});
  Seen raised = ExpectOne(true, "voltage/meter:000000010001");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::WARNING);
  EXPECT_TRUE(absl::StartsWith(raised.text, "meter 000000010001 (room B01-101) reads 195.0 V at "))
      << raised.text;
  EXPECT_TRUE(absl::EndsWith(raised.text, ", outside 198.0 V to 242.0 V (nominal 220.0 V ±10.0%)"))
      << raised.text;
  Sweep({{kRoom1Meter, 1020, false, 100, 1900}});
  ExpectNone();
  // In range, but not by the margin that clears it.
  Sweep({{kRoom1Meter, 1030, false, 100, 1990}});
  ExpectNone();

  // It survives a restart: the reopened book still knows it is open.
  ASSERT_TRUE(c_.Reopen().ok());
  EXPECT_EQ(OpenIds(), std::vector<std::string>{"voltage/meter:000000010001"});
  Sweep({{kRoom1Meter, 1040, false, 100, 2180}});
  Seen cleared = ExpectOne(false, "voltage/meter:000000010001");
  EXPECT_TRUE(absl::StartsWith(cleared.text, "voltage back in range at ")) << cleared.text;
  EXPECT_TRUE(absl::EndsWith(cleared.text, ": 218.0 V")) << cleared.text;

  // 0 V with the relay open says nothing (meters that measure behind it).
  Sweep({{kRoom1Meter, 1040, true, 0, 0}});
  ExpectNone();
  Sweep({{kRoom1Meter, 1040, false, 0, 0}});
  raised = ExpectOne(true, "supplyLost/meter:000000010001");
  EXPECT_TRUE(absl::StrContains(raised.text, "reads 0 V with its relay closed")) << raised.text;
  Sweep({{kRoom1Meter, 1050, false, 100, 2210}});
  cleared = ExpectOne(false, "supplyLost/meter:000000010001");
  EXPECT_TRUE(absl::EndsWith(cleared.text, ": 221.0 V")) << cleared.text;

  // A register read by hand carries no electrical values: no supply alarm.
  c_.t().clock().Advance(15 * kMinuteUs);
  std::string hand =
      MakeBody(c_.Key("hand"), c_.now_us(), "gateway:G1", [&](schema::EventBody::Builder out) {
        auto batch = out.initReadingsBatch();
        batch.setGatewayId("G1");
        batch.setSweepStartedUs(c_.now_us());
        auto list = batch.initReadings(1);
        list[0].setMeterAddress(kRoom1Meter);
        list[0].setCircuit(1);
        list[0].setReadAtUs(c_.now_us());
        list[0].setTotalWh(1060);
      });
  Ok(c_.AsIngest(hand));
  ExpectNone();
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, ClockDriftOfAGatewaysSweep) {
  Sweep({{kRoom1Meter, 1000}, {kRoom2Meter, 999'999'100}});
  ExpectNone();
  // The collector says its sweep began 7 minutes before the meters were read.
  int64_t now = c_.now_us() + 15 * kMinuteUs;
  Sweep({{kRoom1Meter, 1010}, {kRoom2Meter, 999'999'110}}, 15 * kMinuteUs, now - 7 * kMinuteUs);
  Seen raised = ExpectOne(true, "clockDrift/gateway:G1");
  EXPECT_EQ(raised.severity, schema::AlarmSeverity::WARNING);
  EXPECT_TRUE(absl::StartsWith(raised.text, "gateway G1: meter 000000010001 was read at "))
      << raised.text;
  EXPECT_TRUE(absl::StrContains(raised.text, ", 7 min after its sweep began at ")) << raised.text;
  Sweep({{kRoom1Meter, 1020}}, 15 * kMinuteUs, c_.now_us() + 15 * kMinuteUs - 6 * kMinuteUs);
  ExpectNone();
  Sweep({{kRoom1Meter, 1030}}, 15 * kMinuteUs, c_.now_us() + 15 * kMinuteUs - 4 * kMinuteUs);
  Seen cleared = ExpectOne(false, "clockDrift/gateway:G1");
  EXPECT_TRUE(absl::EndsWith(cleared.text, " read every meter within 5 min of its start"))
      << cleared.text;
  ExpectReplayRebuildsTheSame();
}

TEST_F(AlarmBookTest, AlarmEventsAreOnlyDerivedNeverSubmitted) {
  std::string body =
      MakeBody("fake-alarm", c_.now_us(), "alarms", [&](schema::EventBody::Builder out) {
        auto raised = out.initAlarmRaised();
        raised.setAlarmId("gatewayOffline/gateway:G1");
        raised.setKind("gatewayOffline");
        raised.setSubject("gateway:G1");
        raised.setText("made up");
      });
  uint64_t head = c_.head_seq();
  auto as_ledger = c_.AsLedger(body);
  ASSERT_FALSE(as_ledger.ok());
  EXPECT_EQ(as_ledger.status().code(), absl::StatusCode::kFailedPrecondition);
  auto as_ingest = c_.AsIngest(body);
  ASSERT_FALSE(as_ingest.ok());
  EXPECT_EQ(as_ingest.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c_.head_seq(), head);
  EXPECT_TRUE(alarms().Open().empty());
}

TEST_F(AlarmBookTest, OpenIsBySeverityAndHistoryKeepsTheLastThousandCleared) {
  MeterLink(kRoom1Meter, LinkState::OFFLINE);  // warning
  Sweep({{kRoom1Meter, 5000}});
  Sweep({{kRoom1Meter, 4000}});     // critical
  GatewayLink(LinkState::OFFLINE);  // major
  std::vector<std::string> expected = {"theftBackwards/meter:000000010001",
                                       "gatewayOffline/gateway:G1",
                                       "meterOffline/meter:000000010001"};
  EXPECT_EQ(OpenIds(), expected);
  GatewayLink(LinkState::ONLINE);
  for (int i = 0; i < 1001; ++i) {
    GatewayLink(LinkState::OFFLINE);
    GatewayLink(LinkState::ONLINE);
  }
  std::vector<Alarm> history = alarms().History(5000);
  ASSERT_EQ(history.size(), kAlarmHistoryMax + 2);  // two open, the last 1000 cleared
  EXPECT_TRUE(history[0].cleared_seq > 0);
  EXPECT_EQ(history[0].cleared_seq, c_.head_seq() - 1);  // the newest first
  EXPECT_EQ(alarms().History(3).size(), 3u);
  ExpectReplayRebuildsTheSame();
}

}  // namespace
}  // namespace wattledger::projections
