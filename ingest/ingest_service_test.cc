// The meter side end to end on loopback: a real ledger (RocksDB in a temp
// dir, real signatures) with the domain projections, the IngestService, and
// the building simulator (tools/meter-sim) in-process with two collectors,
// one in each mode. Time is manual on both sides (the ledger's clock and the
// simulator's), moved 15 minutes before each sweep, so readings, deltas and
// deductions are deterministic; sockets and timeouts are real.
#include "ingest/ingest_service.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/limits.h"
#include "projections/domain.h"
#include "tests/testing/ledger_fixture.h"
#include "tools/meter-sim/simulator.h"

namespace wattledger::ingest {
namespace {

using schema::LinkState;
using testing::MakeBody;

constexpr int64_t kQuarterHourUs = 15 * 60'000'000LL;
constexpr int kMetersPerGateway = 4;

std::string MeterAddress(int n) { return absl::StrFormat("%012d", 10001 + n); }

// Polls `done` every 10 ms for at most `timeout`.
template <typename Done>
bool WaitFor(Done done, absl::Duration timeout = absl::Seconds(20)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

class IngestServiceTest : public ::testing::Test {
 protected:
  // Registry: building B01, gateways G1 (server) and G2 (client), one room
  // and one meter per (gateway, n); then the simulator and the service.
  // `snapshot`: the meters answer the vendor reading snapshot (else wattd
  // reads six standard DIs per meter); `trip_record`: they answer the vendor
  // last-self-trip record.
  void Start(meter_sim::FaultOptions faults = {}, bool snapshot = true, bool trip_record = true) {
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), now(), "B01")));
    Ok(c_.AsOperator(testing::TariffBody(c_.Key("t"), now(), "staff", now(), {{0, 5880}}, 0)));
    for (int n = 0; n < 2 * kMetersPerGateway; ++n) {
      meter_sim::MeterSpec meter;
      meter.address = MeterAddress(n);
      meter.gateway_id = n < kMetersPerGateway ? "G1" : "G2";
      meter.room_id = absl::StrCat("B01-", 101 + n);
      meter.initial_wh = 1'000'000 + 7919 * n;
      meters_.push_back(meter);
    }

    IngestOptions options;
    options.collector_listen = "127.0.0.1:0";
    options.settings.sweep_interval = std::chrono::hours(1);  // sweeps on request only
    options.settings.poll.timeout = std::chrono::milliseconds(300);
    options.settings.reconnect_min = std::chrono::milliseconds(50);
    options.settings.reconnect_max = std::chrono::milliseconds(500);
    options.settings.delivery_retry_min = std::chrono::milliseconds(50);
    options.supervise_every = std::chrono::milliseconds(20);
    options.registry_every = std::chrono::milliseconds(20);
    auto service = IngestService::Start(c_.ledger(), c_.campus(), c_.ingest(), options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);

    meter_sim::SimulatorOptions sim;
    sim.building.gateways = {
        {"G1", meter_sim::CollectorMode::kServer, "127.0.0.1", 0, ""},
        {"G2", meter_sim::CollectorMode::kClient, "127.0.0.1", service_->collector_port(), "G2"}};
    sim.building.meters = meters_;
    sim.simulation.seed = 7;
    sim.simulation.start_us = now();
    sim.bus.faults = faults;
    sim.bus.reading_snapshot = snapshot;
    sim.bus.self_trip_record = trip_record;
    sim.collector.backoff_initial_ms = 50;
    sim.collector.backoff_max_ms = 200;
    sim.tick_interval_ms = 50;
    auto simulator = meter_sim::Simulator::Create(sim, sim_log_, &sim_clock_);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    simulator_ = std::move(*simulator);
    ASSERT_TRUE(simulator_->Start().ok());

    // Registered once the collector's address is known, as an operator would.
    Ok(c_.AsOperator(MakeBody(c_.Key("g"), now(), "gateway:G1", [&](schema::EventBody::Builder b) {
      auto gateway = b.initGatewayRegistered();
      gateway.setGatewayId("G1");
      gateway.setAddress(simulator_->collector("G1")->address());
      gateway.setMode(schema::GatewayMode::SERVER);
    })));
    Ok(c_.AsOperator(MakeBody(c_.Key("g"), now(), "gateway:G2", [&](schema::EventBody::Builder b) {
      auto gateway = b.initGatewayRegistered();
      gateway.setGatewayId("G2");
      gateway.setAddress("G2");
      gateway.setMode(schema::GatewayMode::CLIENT);
    })));
    for (const meter_sim::MeterSpec& meter : meters_) {
      Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), meter.room_id, "B01", 4, "staff")));
      testing::MeterSpec spec{meter.address, meter.gateway_id, meter.room_id};
      spec.initial_wh = meter.initial_wh;
      Ok(c_.AsOperator(testing::MeterBody(c_.Key("m"), now(), spec)));
      Ok(c_.t().Deposit(meter.room_id, 10'000));
    }
    // Once the sessions see the whole registry and both collectors are
    // connected, a first sweep reads every meter's starting register.
    ASSERT_TRUE(WaitFor([&] {
      return service_->stats().meter_circuits.load() == meters_.size() &&
             service_->stats().gateways_online.load() == 2;
    })) << service_->StatsJson();
    uint64_t before = service_->stats().sweeps.load();
    service_->RequestSweep();
    ASSERT_TRUE(WaitFor([&] { return service_->stats().sweeps.load() >= before + 2; }))
        << service_->StatsJson();
  }

  // Moves both clocks on, sweeps every gateway once more, waits for both batches.
  void SweepOnce() {
    c_.t().clock().Advance(kQuarterHourUs);
    sim_clock_.Advance(kQuarterHourUs);
    uint64_t before = service_->stats().sweeps.load();
    service_->RequestSweep();
    ASSERT_TRUE(WaitFor([&] { return service_->stats().sweeps.load() >= before + 2; }))
        << service_->StatsJson();
  }

  std::map<std::string, meter_sim::CircuitTruth> Truth() {
    std::map<std::string, meter_sim::CircuitTruth> truth;
    for (const char* gateway : {"G1", "G2"}) {
      for (auto& circuit : simulator_->bus(gateway)->Snapshot(sim_clock_.NowUs())) {
        truth[circuit.address] = circuit;
      }
    }
    return truth;
  }

  std::string Relay(const std::string& address, schema::RelayAction action) {
    return MakeBody(c_.Key("control"), now(), "meter:" + address,
                    [&](schema::EventBody::Builder body) {
                      auto command = body.initControlCommanded();
                      command.setMeterAddress(address);
                      command.setCircuit(1);
                      command.setReason("operator test");
                      command.setOrigin("operator");
                      command.setRelay(action);
                    });
  }

  std::optional<projections::ControlEntry> Entry(uint64_t seq) {
    for (const auto& entry : c_.campus().control().All()) {
      if (entry.seq == seq) return entry;
    }
    return std::nullopt;
  }

  int64_t now() const { return c_.now_us(); }
  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }

  // Every event of `kind` in the log, as parsed bodies.
  std::vector<ledger::ParsedBody> Events(schema::EventBody::Which kind) {
    std::vector<ledger::ParsedBody> out;
    uint64_t head = c_.ledger().head().seq;
    for (uint64_t seq = 1; seq <= head; ++seq) {
      auto event = testing::ReadStoredEvent(c_.ledger().store(), seq);
      if (!event.ok()) continue;
      auto body = ledger::ParsedBody::Parse(event->body, ledger::kEventBodyBytesMax);
      if (body.ok() && body->get().which() == kind) out.push_back(std::move(*body));
    }
    return out;
  }

  // The states recorded for `gateway`, in log order.
  std::vector<std::string> GatewayHistory(const std::string& gateway) {
    std::vector<std::string> states;
    for (auto& body : Events(schema::EventBody::GATEWAY_STATUS_CHANGED)) {
      auto changed = body.get().getGatewayStatusChanged();
      if (changed.getGatewayId() == gateway) {
        states.emplace_back(projections::LinkStateName(changed.getState()));
      }
    }
    return states;
  }

  // Sets the meter's malicious-load power to 800 W and switches a 1500 W
  // kettle on top of what its room draws, now: the meter trips at once.
  // Returns the load metered just before.
  meter_sim::Load SwitchOnAKettle(const std::string& gateway, const std::string& address) {
    meter_sim::Load before;
    absl::Status done = simulator_->bus(gateway)->WithMeter(
        address, 1, sim_clock_.NowUs(), [&before](meter_sim::MeterModel& meter) {
          meter_sim::MeterParameters parameters = meter.parameters();
          parameters.malicious_power_w = 800;
          meter.SetParameters(parameters);
          before = meter.metered_load();
          meter.ForceLoad(meter_sim::Load{.active_w = before.active_w + 1500,
                                          .reactive_var = before.reactive_var});
        });
    EXPECT_TRUE(done.ok()) << done;
    return before;
  }

  // `address`'s reading in each ReadingsBatch of the log that has one, in log order.
  std::vector<ledger::ParsedBody> BatchesWith(const std::string& address) {
    std::vector<ledger::ParsedBody> out;
    for (auto& body : Events(schema::EventBody::READINGS_BATCH)) {
      bool has = false;
      for (auto reading : body.get().getReadingsBatch().getReadings()) {
        has |= reading.getMeterAddress() == address;
      }
      if (has) out.push_back(std::move(body));
    }
    return out;
  }
  static schema::Reading::Reader ReadingOf(const ledger::ParsedBody& batch,
                                           const std::string& address) {
    for (auto reading : batch.get().getReadingsBatch().getReadings()) {
      if (reading.getMeterAddress() == address) return reading;
    }
    ADD_FAILURE() << "no reading of " << address;
    return batch.get().getReadingsBatch().getReadings()[0];
  }

  testing::CampusLedger<projections::Domain> c_;
  meter_sim::ManualSimClock sim_clock_{testing::kTestEpochUs};
  meter_sim::EventLog sim_log_{nullptr};
  std::vector<meter_sim::MeterSpec> meters_;
  std::unique_ptr<IngestService> service_;
  std::unique_ptr<meter_sim::Simulator> simulator_;
};

TEST_F(IngestServiceTest, EveryMeterInTheLedgerEqualsTheSimulatorAtEachSweep) {
  Start();
  for (int sweep = 0; sweep < 4; ++sweep) {
    SweepOnce();
    // Two sweeps counted can be one gateway's two (one was already under
    // way when the sweep was requested): wait until the other's lands too.
    WaitFor([&] {
      auto truth = Truth();
      for (const meter_sim::MeterSpec& meter : meters_) {
        auto recorded = c_.campus().campus().FindMeter(meter.address, 1);
        if (!recorded || recorded->last_wh != truth.at(meter.address).answered_wh) return false;
      }
      return true;
    });
    auto truth = Truth();
    for (const meter_sim::MeterSpec& meter : meters_) {
      auto recorded = c_.campus().campus().FindMeter(meter.address, 1);
      ASSERT_TRUE(recorded.has_value());
      EXPECT_EQ(recorded->last_wh, truth.at(meter.address).answered_wh)
          << "meter " << meter.address << " after sweep " << sweep;
    }
  }
  // Deductions follow: each room paid for what its meter counted.
  auto truth = Truth();
  int64_t charged_rooms = 0;
  for (const meter_sim::MeterSpec& meter : meters_) {
    auto room = c_.campus().campus().FindRoom(meter.room_id);
    ASSERT_TRUE(room.has_value());
    EXPECT_EQ(room->energy_wh, truth.at(meter.address).answered_wh - meter.initial_wh);
    if (room->deductions_fen > 0) ++charged_rooms;
  }
  EXPECT_GT(charged_rooms, 0);
  // Both gateways and every meter are recorded online, once each.
  for (const char* gateway : {"G1", "G2"}) {
    auto status = c_.campus().devices().Gateway(gateway);
    ASSERT_TRUE(status.has_value()) << gateway;
    EXPECT_EQ(status->state, LinkState::ONLINE);
  }
  EXPECT_EQ(Events(schema::EventBody::GATEWAY_STATUS_CHANGED).size(), 2u);
  EXPECT_EQ(Events(schema::EventBody::METER_STATUS_CHANGED).size(), meters_.size());
  for (const meter_sim::MeterSpec& meter : meters_) {
    auto status = c_.campus().devices().Meter(meter.address);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->state, LinkState::ONLINE);
  }
}

TEST_F(IngestServiceTest, AnOperatorCutReachesItsMeterAndIsConfirmedOnce) {
  Start();
  const std::string g1_meter = MeterAddress(1);
  const std::string g2_meter = MeterAddress(kMetersPerGateway + 2);
  auto cut = c_.AsOperator(Relay(g1_meter, schema::RelayAction::TRIP));
  auto cut2 = c_.AsOperator(Relay(g2_meter, schema::RelayAction::TRIP));
  Ok(cut);
  Ok(cut2);
  // Delivered while the gateways wait for their next sweep: no sweep needed.
  ASSERT_TRUE(WaitFor([&] {
    auto a = Entry(cut->seq);
    auto b = Entry(cut2->seq);
    return a && b && a->state == projections::CommandState::kDelivered &&
           b->state == projections::CommandState::kDelivered;
  })) << service_->StatsJson();
  EXPECT_TRUE(Entry(cut->seq)->relay_open);
  EXPECT_EQ(Entry(cut->seq)->attempts, 1u);
  auto truth = Truth();
  EXPECT_FALSE(truth.at(g1_meter).relay_closed);
  EXPECT_FALSE(truth.at(g2_meter).relay_closed);
  EXPECT_TRUE(truth.at(MeterAddress(0)).relay_closed);

  // A sweep reports the open relay and sends nothing again.
  SweepOnce();
  SweepOnce();
  EXPECT_EQ(Events(schema::EventBody::CONTROL_DELIVERED).size(), 2u);
  EXPECT_EQ(service_->stats().commands_delivered.load(), 2u);

  auto restore = c_.AsOperator(Relay(g1_meter, schema::RelayAction::CLOSE_DIRECT));
  Ok(restore);
  ASSERT_TRUE(WaitFor([&] {
    auto entry = Entry(restore->seq);
    return entry && entry->state == projections::CommandState::kDelivered;
  }));
  EXPECT_FALSE(Entry(restore->seq)->relay_open);
  EXPECT_TRUE(Truth().at(g1_meter).relay_closed);
}

TEST_F(IngestServiceTest, AMeterThatTripsItselfCarriesItsTripRecordInTheNextReadingOnly) {
  Start();
  const std::string meter = MeterAddress(1);  // on G1, seen closed by the first sweep
  const int64_t trip_us = sim_clock_.NowUs();
  const meter_sim::Load before = SwitchOnAKettle("G1", meter);
  ASSERT_FALSE(Truth().at(meter).relay_closed);
  const size_t batches_before = BatchesWith(meter).size();

  SweepOnce();
  std::vector<ledger::ParsedBody> batches = BatchesWith(meter);
  ASSERT_EQ(batches.size(), batches_before + 1);
  schema::Reading::Reader reading = ReadingOf(batches.back(), meter);
  EXPECT_TRUE(reading.getRelayOpen());
  EXPECT_EQ(reading.getPowerW(), 0);
  ASSERT_TRUE(reading.hasLastTrip());
  schema::MeterTrip::Reader trip = reading.getLastTrip();
  EXPECT_EQ(trip.getReason(), schema::MeterTripReason::MALICIOUS_LOAD);
  EXPECT_EQ(trip.getPowerBeforeW(), before.active_w);
  EXPECT_EQ(trip.getPowerW(), before.active_w + 1500);
  EXPECT_GE(trip.getPowerFactorMilli(), 950);
  EXPECT_EQ(trip.getTripCount(), Truth().at(meter).trip_count);
  EXPECT_GE(trip.getTripCount(), 1u);
  // The meter's clock (campus time, to the second) back in Unix time.
  EXPECT_LE(std::abs(trip.getAtUs() - trip_us), 1'000'000) << trip.getAtUs() << " vs " << trip_us;
  // Nobody else tripped: no other reading carries a record.
  for (auto other : batches.back().get().getReadingsBatch().getReadings()) {
    if (other.getMeterAddress() != meter) {
      EXPECT_FALSE(other.hasLastTrip()) << std::string(other.getMeterAddress());
    }
  }

  // Still open at the next sweep: the record is not read or carried again.
  const uint64_t requests = service_->stats().requests.load();
  SweepOnce();
  batches = BatchesWith(meter);
  reading = ReadingOf(batches.back(), meter);
  EXPECT_TRUE(reading.getRelayOpen());
  EXPECT_FALSE(reading.hasLastTrip());
  // One snapshot read per meter circuit on each gateway, nothing more.
  EXPECT_EQ(service_->stats().requests.load() - requests, meters_.size());
}

TEST_F(IngestServiceTest, AMeterWithoutATripRecordStillHasItsReading) {
  Start({}, /*snapshot=*/true, /*trip_record=*/false);
  const std::string meter = MeterAddress(kMetersPerGateway + 1);  // on G2
  SwitchOnAKettle("G2", meter);
  const uint64_t abnormal = service_->stats().abnormal_replies.load();
  SweepOnce();
  std::vector<ledger::ParsedBody> batches = BatchesWith(meter);
  ASSERT_FALSE(batches.empty());
  schema::Reading::Reader reading = ReadingOf(batches.back(), meter);
  EXPECT_TRUE(reading.getRelayOpen());
  EXPECT_FALSE(reading.hasLastTrip());
  EXPECT_EQ(service_->stats().abnormal_replies.load(), abnormal + 1);  // "no requested data"
  // The meter stays online: its answer was an answer.
  auto status = c_.campus().devices().Meter(meter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, LinkState::ONLINE);
}

TEST_F(IngestServiceTest, GarbledRepliesAndADroppedCollectorLoseAndDoubleCountNothing) {
  meter_sim::FaultOptions faults;
  faults.garble_ppm = 100'000;  // 10% of replies have a byte changed
  Start(faults, /*snapshot=*/false);
  SweepOnce();
  simulator_->collector("G1")->DropConnections();
  // wattd notices while idle, records offline, reconnects, records online.
  ASSERT_TRUE(WaitFor([&] { return GatewayHistory("G1").size() >= 3; }));
  for (int sweep = 0; sweep < 4; ++sweep) SweepOnce();

  EXPECT_GT(service_->stats().checksum_errors.load() + service_->stats().garbled_replies.load(),
            0u);
  EXPECT_EQ(GatewayHistory("G1"), (std::vector<std::string>{"online", "offline", "online"}));
  EXPECT_EQ(GatewayHistory("G2"), (std::vector<std::string>{"online"}));

  // No reading lost or counted twice: each meter's last reading in the log is
  // the last energy its meter answered intact, and the room's energy is the
  // register's rise exactly (deltas summed once each).
  std::map<std::string, int64_t> last_in_log;
  for (auto& body : Events(schema::EventBody::READINGS_BATCH)) {
    for (auto reading : body.get().getReadingsBatch().getReadings()) {
      last_in_log[reading.getMeterAddress()] = reading.getTotalWh();
    }
  }
  auto truth = Truth();
  for (const meter_sim::MeterSpec& meter : meters_) {
    ASSERT_TRUE(last_in_log.contains(meter.address)) << meter.address;
    auto recorded = c_.campus().campus().FindMeter(meter.address, 1);
    EXPECT_EQ(recorded->last_wh, last_in_log[meter.address]);
    EXPECT_LE(recorded->last_wh, truth.at(meter.address).register_wh);
    auto room = c_.campus().campus().FindRoom(meter.room_id);
    EXPECT_EQ(room->energy_wh, recorded->last_wh - meter.initial_wh) << meter.address;
  }
  // The whole log replays to the same state, byte for byte.
  service_->Stop();
  auto replayed = c_.ReplayAndReopen();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
}

// --- The control loop: the policies decide, the meter side delivers -----------

class ControlLoopTest : public IngestServiceTest {
 protected:
  // Forces the room's load on `address` (resistive); nullopt: back to the profile.
  meter_sim::Load ForceLoad(const std::string& gateway, const std::string& address,
                            std::optional<int32_t> extra_w) {
    meter_sim::Load before;
    absl::Status done = simulator_->bus(gateway)->WithMeter(
        address, 1, sim_clock_.NowUs(), [&](meter_sim::MeterModel& meter) {
          before = meter.metered_load();
          if (extra_w.has_value()) {
            meter.ForceLoad(meter_sim::Load{.active_w = before.active_w + *extra_w,
                                            .reactive_var = before.reactive_var});
          } else {
            meter.ForceLoad(std::nullopt);
          }
        });
    EXPECT_TRUE(done.ok()) << done;
    return before;
  }
  // Sweeps every gateway after moving both clocks on by `advance_us`.
  void SweepAfter(int64_t advance_us) {
    c_.t().clock().Advance(advance_us);
    sim_clock_.Advance(advance_us);
    uint64_t before = service_->stats().sweeps.load();
    service_->RequestSweep();
    ASSERT_TRUE(WaitFor([&] { return service_->stats().sweeps.load() >= before + 2; }))
        << service_->StatsJson();
  }
  // The policy-derived relay commands to `address` in the log: (action, origin).
  std::vector<std::pair<schema::RelayAction, std::string>> DerivedRelays(
      const std::string& address) {
    std::vector<std::pair<schema::RelayAction, std::string>> out;
    for (auto& body : Events(schema::EventBody::CONTROL_COMMANDED)) {
      auto command = body.get().getControlCommanded();
      if (command.getMeterAddress() != address ||
          command.which() != schema::ControlCommanded::RELAY || command.getOrigin() == "operator")
        continue;
      out.emplace_back(command.getRelay(), command.getOrigin());
    }
    return out;
  }
  bool AllDelivered(const std::string& address) {
    for (const auto& entry : c_.campus().control().ForMeter(address)) {
      if (entry.state != projections::CommandState::kDelivered) return false;
    }
    return true;
  }
};

TEST_F(ControlLoopTest, ARoomThatRunsDryIsCutWithinOneSweepAndADepositRestoresIt) {
  Start();
  const std::string meter = MeterAddress(0);  // room B01-101, on G1
  // 1000 CNY/kWh from now on: a quarter hour of 2 kW (500 Wh) empties the
  // room's 100 CNY; the other rooms' standby loads do not.
  Ok(c_.AsOperator(
      testing::TariffBody(c_.Key("t"), now(), "staff", now() + 1, {{0, 10'000'000}}, 0)));
  ForceLoad("G1", meter, 2000);
  SweepOnce();
  // The cut was derived with the readings that emptied the account and is
  // carried out before the next sweep.
  ASSERT_TRUE(c_.campus().policies().ForRoom("B01-101")->arrears_cut);
  ASSERT_TRUE(WaitFor([&] { return !Truth().at(meter).relay_closed && AllDelivered(meter); }))
      << service_->StatsJson();
  EXPECT_TRUE(Truth().at(MeterAddress(1)).relay_closed);

  Ok(c_.t().Deposit("B01-101", 500'000));
  ASSERT_TRUE(WaitFor([&] { return Truth().at(meter).relay_closed && AllDelivered(meter); }))
      << service_->StatsJson();
  EXPECT_EQ(DerivedRelays(meter), (std::vector<std::pair<schema::RelayAction, std::string>>{
                                      {schema::RelayAction::TRIP, "arrears"},
                                      {schema::RelayAction::CLOSE_DIRECT, "arrears"}}));
  // The next sweep sees the relay closed and decides nothing new.
  SweepOnce();
  EXPECT_EQ(DerivedRelays(meter).size(), 2u);
}

TEST_F(ControlLoopTest, AHeaterTripsTheRoomWithEvidenceAndItRecoversAfterTheDelay) {
  Start();
  const std::string meter = MeterAddress(0);
  Ok(c_.AsOperator(MakeBody(c_.Key("policy"), now(), "policy:room:B01-101", [](auto body) {
    auto set = body.initControlPolicySet();
    set.setScope("room:B01-101");
    set.setReason("no heaters in B01");
    auto policy = set.initPolicy();
    policy.setReminderBelowFen(1000);
    policy.setWarningBelowFen(300);
    policy.setMaliciousStepW(800);
    policy.setMaliciousPfMilli(950);
    policy.setRecoveryDelayMinutes(1);
  })));
  // The policy's parameters reach the meter.
  ASSERT_TRUE(WaitFor([&] {
    return AllDelivered(meter) && !c_.campus().control().ForMeter(meter).empty();
  })) << service_->StatsJson();
  meter_sim::Load before = ForceLoad("G1", meter, 1500);  // a kettle: the meter trips at once
  ForceLoad("G1", meter, std::nullopt);                   // and it is switched off again
  ASSERT_FALSE(Truth().at(meter).relay_closed);
  SweepAfter(10'000'000);

  auto violations = Events(schema::EventBody::VIOLATION_RECORDED);
  ASSERT_EQ(violations.size(), 1u);
  auto v = violations[0].get().getViolationRecorded();
  EXPECT_EQ(v.getRoomId(), "B01-101");
  EXPECT_EQ(v.getKind(), schema::ViolationKind::MALICIOUS_LOAD);
  EXPECT_EQ(v.getAction(), "tripped by the meter");
  EXPECT_EQ(v.getPowerBeforeW(), before.active_w);
  EXPECT_EQ(v.getPowerAfterW(), before.active_w + 1500);
  EXPECT_GE(v.getPowerFactorMilli(), 950);
  EXPECT_EQ(v.getRecoveryAtUs(), v.getAtUs() + 60'000'000);
  EXPECT_TRUE(DerivedRelays(meter).empty());  // the meter acted; the server only records

  // A minute later the meter has closed by itself, and the next sweep shows it.
  SweepAfter(61'000'000);
  EXPECT_TRUE(Truth().at(meter).relay_closed);
  EXPECT_FALSE(ReadingOf(BatchesWith(meter).back(), meter).getRelayOpen());
  EXPECT_EQ(Events(schema::EventBody::VIOLATION_RECORDED).size(), 1u);
}

TEST_F(ControlLoopTest, ACollectorThatDropsCommandsRaisesAControlFailureAlarmUntilOneTakes) {
  Start();
  const std::string meter = MeterAddress(1);  // on G1
  const std::string alarm_id = "controlFailure/meter:" + meter;
  auto open_alarm = [&] {
    for (const auto& alarm : c_.campus().alarms().Open()) {
      if (alarm.id == alarm_id) return true;
    }
    return false;
  };
  simulator_->bus("G1")->SetDropCommands(true);
  auto cut = c_.AsOperator(Relay(meter, schema::RelayAction::TRIP));
  Ok(cut);
  ASSERT_TRUE(WaitFor([&] {
    auto entry = Entry(cut->seq);
    return entry && entry->state == projections::CommandState::kFailed;
  })) << service_->StatsJson();
  ASSERT_TRUE(WaitFor(open_alarm));
  EXPECT_TRUE(Truth().at(meter).relay_closed);  // the trip did not take

  simulator_->bus("G1")->SetDropCommands(false);
  auto again = c_.AsOperator(Relay(meter, schema::RelayAction::TRIP));
  Ok(again);
  ASSERT_TRUE(WaitFor([&] {
    auto entry = Entry(again->seq);
    return entry && entry->state == projections::CommandState::kDelivered;
  })) << service_->StatsJson();
  EXPECT_FALSE(open_alarm());
  EXPECT_FALSE(Truth().at(meter).relay_closed);
  bool cleared = false;
  for (const auto& alarm : c_.campus().alarms().History(100)) {
    cleared = cleared || (alarm.id == alarm_id && !alarm.open());
  }
  EXPECT_TRUE(cleared);
}

}  // namespace
}  // namespace wattledger::ingest
