// The meter side end to end on loopback: a real ledger (RocksDB in a temp
// dir, real signatures) with the domain projections, the IngestService, and
// the building simulator (tools/meter-sim) in-process with two collectors,
// one in each mode. Time is manual on both sides (the ledger's clock and the
// simulator's), moved 15 minutes before each sweep, so readings, deltas and
// deductions are deterministic; sockets and timeouts are real.
#include "ingest/ingest_service.h"

#include <gtest/gtest.h>

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
  // reads six standard DIs per meter).
  void Start(meter_sim::FaultOptions faults = {}, bool snapshot = true) {
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

}  // namespace
}  // namespace wattledger::ingest
