#include "tools/meter-sim/bus.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ingest/dlt645/error.h"
#include "ingest/dlt645/messages.h"
#include "ingest/dlt645/parameters.h"
#include "ingest/dlt645/values.h"
#include "tools/meter-sim/building.h"

namespace wattledger::meter_sim {
namespace {

using dlt645::Address;
using dlt645::Frame;

constexpr int64_t kSecondUs = 1'000'000;
// 2026-03-02 10:00:00 China time.
const int64_t kStartUs =
    (LocalSecondsFromDateTime(
         {.year = 2026, .month = 3, .day = 2, .hour = 10, .minute = 0, .second = 0}) -
     8 * 3600) *
    kSecondUs;

const dlt645::Credentials kGood{.password = {0x02, 0x00, 0x00, 0x00},
                                .operator_code = {1, 2, 3, 4}};
const dlt645::Credentials kBad{.password = {0x02, 0x12, 0x34, 0x56}, .operator_code = {1, 2, 3, 4}};

std::unique_ptr<Bus> MakeBus(int meters, BusOptions options = {},
                             std::vector<SimEvent>* events = nullptr) {
  Building building = GeneratedBuilding(1, meters, CollectorMode::kServer, "127.0.0.1", 0);
  SimulationOptions simulation;
  simulation.seed = 42;
  simulation.start_us = kStartUs;
  EventSink sink;
  if (events != nullptr) sink = [events](const SimEvent& event) { events->push_back(event); };
  auto bus = Bus::Create("G1", options, DevicesOf(building, "G1", simulation), sink);
  EXPECT_TRUE(bus.ok()) << bus.status();
  return *std::move(bus);
}

Address Addr(const std::string& digits) { return *Address::Parse(digits); }

// The reply frame, decoded (the bus prefixes FE bytes).
absl::StatusOr<Frame> Exchange(Bus& bus, const Frame& request, int64_t now_us = kStartUs) {
  std::optional<Bus::Reply> reply = bus.Handle(request, now_us);
  if (!reply) return absl::DeadlineExceededError("no reply");
  return dlt645::DecodeFrame(reply->bytes);
}

absl::StatusOr<std::vector<uint8_t>> Read(Bus& bus, const std::string& address, dlt645::DataId id,
                                          int64_t now_us = kStartUs) {
  const Frame request = dlt645::ReadRequest(Addr(address), id);
  auto reply = Exchange(bus, request, now_us);
  if (!reply.ok()) return reply.status();
  auto parsed = dlt645::ParseReadReply(request, *reply);
  if (!parsed.ok()) return parsed.status();
  return parsed->value;
}

absl::Status Write(Bus& bus, const std::string& address, dlt645::DataId id,
                   const std::vector<uint8_t>& value,
                   const dlt645::Credentials& credentials = kGood, int64_t now_us = kStartUs) {
  auto request = dlt645::WriteRequest(Addr(address), id, credentials, value);
  if (!request.ok()) return request.status();
  auto reply = Exchange(bus, *request, now_us);
  if (!reply.ok()) return reply.status();
  return dlt645::CheckReply(*request, *reply);
}

absl::Status Control(Bus& bus, const std::string& address, dlt645::RemoteAction action,
                     const dlt645::DateTime& valid_until,
                     const dlt645::Credentials& credentials = kGood, int64_t now_us = kStartUs) {
  auto request = dlt645::RemoteControlRequest(
      Addr(address), {.credentials = credentials, .action = action, .valid_until = valid_until});
  if (!request.ok()) return request.status();
  auto reply = Exchange(bus, *request, now_us);
  if (!reply.ok()) return reply.status();
  return dlt645::CheckReply(*request, *reply);
}

const dlt645::DateTime kTomorrow{
    .year = 2026, .month = 3, .day = 3, .hour = 10, .minute = 0, .second = 0};
const dlt645::DateTime kYesterday{
    .year = 2026, .month = 3, .day = 1, .hour = 10, .minute = 0, .second = 0};

const CircuitTruth& TruthOf(const std::vector<CircuitTruth>& all, const std::string& address,
                            int circuit = 1) {
  for (const CircuitTruth& truth : all) {
    if (truth.address == address && truth.circuit == circuit) return truth;
  }
  ADD_FAILURE() << "no truth for " << address;
  return all.front();
}

TEST(Bus, AnswersAnEnergyReadWithTheRegisterAndRecordsIt) {
  auto bus = MakeBus(3);
  const int64_t at = kStartUs + 90 * kSecondUs;
  auto value = Read(*bus, "000000010002", dlt645::kForwardActiveEnergy, at);
  ASSERT_TRUE(value.ok()) << value.status();
  auto energy = dlt645::DecodeEnergyWh(*value, false);
  ASSERT_TRUE(energy.ok());
  const std::vector<CircuitTruth> truth = bus->Snapshot(at);
  const CircuitTruth& meter = TruthOf(truth, "000000010002");
  EXPECT_EQ(*energy, meter.displayed_wh);
  EXPECT_EQ(meter.answered_wh, *energy);
  EXPECT_EQ(meter.answered_energy_reads, 1u);
  EXPECT_EQ(meter.answered_at_us, at);
  // 1'000'000 + 7919 * 1 Wh at start, plus what 90 s of the profile added.
  EXPECT_GE(meter.register_wh, 1'007'919);
  EXPECT_LT(meter.register_wh, 1'007'919 + 200);
  EXPECT_EQ(TruthOf(truth, "000000010001").answered_energy_reads, 0u);
}

TEST(Bus, AMeterNotOnTheBusNeverAnswers) {
  auto bus = MakeBus(3);
  EXPECT_EQ(Read(*bus, "000000099999", dlt645::kForwardActiveEnergy).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(bus->stats().no_meter, 1u);
}

TEST(Bus, ReadAddressIsAnsweredOnlyByALoneMeter) {
  auto alone = MakeBus(1);
  const Frame request = dlt645::ReadAddressRequest();
  auto reply = Exchange(*alone, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  auto address = dlt645::ParseReadAddressReply(request, *reply);
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->ToString(), "000000010001");

  auto crowded = MakeBus(128);
  EXPECT_FALSE(crowded->Handle(request, kStartUs).has_value());
  EXPECT_EQ(crowded->stats().collisions, 1u);
}

TEST(Bus, WildcardDigitsMatchingOneMeterAreAnsweredWithTheRealAddress) {
  auto bus = MakeBus(128);
  const Frame one = dlt645::ReadRequest(Addr("AAAAAAAA0007"), dlt645::kForwardActiveEnergy);
  auto reply = Exchange(*bus, one);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->address.ToString(), "000000010007");
  // AA..01 fits 10001 and 10101: they collide.
  const Frame two = dlt645::ReadRequest(Addr("AAAAAAAAAA01"), dlt645::kForwardActiveEnergy);
  EXPECT_FALSE(bus->Handle(two, kStartUs).has_value());
}

TEST(Bus, BroadcastTimeGetsNoReplyAndSetsClocksWithinTheLimit) {
  auto bus = MakeBus(2);
  const dlt645::DateTime soon{
      .year = 2026, .month = 3, .day = 2, .hour = 10, .minute = 3, .second = 0};
  auto request = dlt645::BroadcastTimeRequest(soon);
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(bus->Handle(*request, kStartUs).has_value());
  auto time = Read(*bus, "000000010001", dlt645::kTime);
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(dlt645::DecodeTime(*time)->minute, 3);
  // An hour off is beyond the 5-minute limit: ignored.
  const dlt645::DateTime far{
      .year = 2026, .month = 3, .day = 2, .hour = 11, .minute = 3, .second = 0};
  EXPECT_FALSE(bus->Handle(*dlt645::BroadcastTimeRequest(far), kStartUs).has_value());
  EXPECT_EQ(dlt645::DecodeTime(*Read(*bus, "000000010001", dlt645::kTime))->hour, 10);
  EXPECT_EQ(bus->stats().time_syncs_refused, 2u);
  // A write of the time (with the password) sets any time.
  auto time_bytes = dlt645::EncodeTime(far);
  ASSERT_TRUE(time_bytes.ok());
  ASSERT_TRUE(
      Write(*bus, "000000010001", dlt645::kTime, {time_bytes->begin(), time_bytes->end()}).ok());
  EXPECT_EQ(dlt645::DecodeTime(*Read(*bus, "000000010001", dlt645::kTime))->hour, 11);
  EXPECT_EQ(dlt645::DecodeTime(*Read(*bus, "000000010002", dlt645::kTime))->hour, 10);
}

TEST(Bus, DateTimeAddressAndInstantValuesRead) {
  auto bus = MakeBus(1);
  auto date = dlt645::DecodeDate(*Read(*bus, "000000010001", dlt645::kDate));
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(date->year, 2026);
  EXPECT_EQ(date->month, 3);
  EXPECT_EQ(date->day, 2);
  auto address = Read(*bus, "000000010001", dlt645::kCommunicationAddress);
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(Address::FromWire(*address)->ToString(), "000000010001");
  auto voltage = dlt645::DecodeVoltageDv(*Read(*bus, "000000010001", dlt645::kVoltageA));
  ASSERT_TRUE(voltage.ok());
  EXPECT_NEAR(*voltage, 2200, 60);
  EXPECT_TRUE(dlt645::DecodePowerW(*Read(*bus, "000000010001", dlt645::kActivePower)).ok());
  EXPECT_TRUE(dlt645::DecodeCurrentMa(*Read(*bus, "000000010001", dlt645::kCurrentA)).ok());
  EXPECT_TRUE(
      dlt645::DecodePowerFactorMilli(*Read(*bus, "000000010001", dlt645::kPowerFactor)).ok());
  EXPECT_TRUE(dlt645::DecodeFrequencyCentiHz(*Read(*bus, "000000010001", dlt645::kFrequency)).ok());
  auto block = Read(*bus, "000000010001", dlt645::kForwardActiveEnergyBlock);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->size(), 20u);
  // Not a local-prepay meter: no remaining amount.
  EXPECT_EQ(dlt645::MeterErrorWordOf(Read(*bus, "000000010001", dlt645::kRemainingAmount).status()),
            dlt645::kMeterErrorNoData);
}

std::vector<uint8_t> Scalar(dlt645::Parameter parameter, int64_t value) {
  auto bytes = dlt645::EncodeScalarParameter(parameter, value);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return *bytes;
}

TEST(Bus, WritesParametersWithThePasswordAndReadsThemBack) {
  auto bus = MakeBus(2);
  const std::string meter = "000000010001";
  const dlt645::DataId load_limit = *dlt645::ParameterDataId(
      {.parameter = dlt645::Parameter::kLoadLimit, .circuit = 1, .period = 0});
  EXPECT_EQ(load_limit, 0x04000E01u);
  ASSERT_TRUE(Write(*bus, meter, load_limit, Scalar(dlt645::Parameter::kLoadLimit, 1500)).ok());
  EXPECT_EQ(
      *dlt645::DecodeScalarParameter(dlt645::Parameter::kLoadLimit, *Read(*bus, meter, load_limit)),
      1500);

  // A wrong password changes nothing and says so.
  absl::Status refused =
      Write(*bus, meter, load_limit, Scalar(dlt645::Parameter::kLoadLimit, 900), kBad);
  EXPECT_EQ(dlt645::ErrorOf(refused), dlt645::Error::kAbnormalReply);
  EXPECT_EQ(dlt645::MeterErrorWordOf(refused), dlt645::kMeterErrorPassword);
  EXPECT_EQ(bus->Snapshot(kStartUs)[0].parameters.load_limit_w, 1500);

  for (auto [parameter, value] :
       {std::pair{dlt645::Parameter::kMaliciousLoadPower, int64_t{800}},
        std::pair{dlt645::Parameter::kMaliciousLoadPowerFactor, int64_t{930}},
        std::pair{dlt645::Parameter::kRecoveryDelay, int64_t{5}},
        std::pair{dlt645::Parameter::kOverdraftLimit, int64_t{2000}}}) {
    const dlt645::DataId id =
        *dlt645::ParameterDataId({.parameter = parameter, .circuit = 1, .period = 0});
    ASSERT_TRUE(Write(*bus, meter, id, Scalar(parameter, value)).ok())
        << std::string(dlt645::ParameterName(parameter));
    EXPECT_EQ(*dlt645::DecodeScalarParameter(parameter, *Read(*bus, meter, id)), value);
  }
  const MeterParameters p = bus->Snapshot(kStartUs)[0].parameters;
  EXPECT_EQ(p.malicious_power_w, 800);
  EXPECT_EQ(p.malicious_power_factor_milli, 930);
  EXPECT_EQ(p.recovery_delay_min, 5);
  EXPECT_EQ(p.overdraft_limit_fen, 2000);

  // A recovery delay over 255 minutes is refused.
  const dlt645::DataId delay = *dlt645::ParameterDataId(
      {.parameter = dlt645::Parameter::kRecoveryDelay, .circuit = 1, .period = 0});
  absl::Status too_long = Write(*bus, meter, delay, *dlt645::EncodeBcd(300, 2, false));
  EXPECT_EQ(dlt645::ErrorOf(too_long), dlt645::Error::kAbnormalReply);

  // Schedule periods, one DI each, and the table block.
  const dlt645::SchedulePeriod night{
      .hour = 23, .minute = 30, .action = dlt645::ScheduleAction::kNight, .night_power_w = 300};
  const dlt645::DataId period3 = *dlt645::ParameterDataId(
      {.parameter = dlt645::Parameter::kWorkdayPeriod, .circuit = 1, .period = 3});
  ASSERT_TRUE(Write(*bus, meter, period3, *dlt645::EncodeSchedulePeriod(night)).ok());
  EXPECT_EQ(*dlt645::DecodeSchedulePeriod(*Read(*bus, meter, period3)), night);
  auto block =
      Read(*bus, meter, *dlt645::ScheduleBlockDataId(dlt645::Parameter::kWorkdayPeriod, 1));
  ASSERT_TRUE(block.ok()) << block.status();
  auto periods = dlt645::DecodeScheduleBlock(*block);
  ASSERT_TRUE(periods.ok());
  EXPECT_EQ((*periods)[2], night);
  EXPECT_EQ((*periods)[0].action, dlt645::ScheduleAction::kUnused);
  // A DI nobody knows: no such data.
  EXPECT_EQ(dlt645::MeterErrorWordOf(Write(*bus, meter, 0x04A0FF01, {1, 2, 3})),
            dlt645::kMeterErrorNoData);
}

TEST(Bus, RemoteControlMovesTheRelayAndStatusWord3ShowsIt) {
  auto bus = MakeBus(2);
  const std::string meter = "000000010002";
  ASSERT_TRUE(Control(*bus, meter, dlt645::RemoteAction::kTrip, kTomorrow).ok());
  auto status = dlt645::DecodeRunStatus3(*Read(*bus, meter, dlt645::kRunStatusWord3));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->relay_open);
  EXPECT_TRUE(status->relay_command_open);
  EXPECT_FALSE(TruthOf(bus->Snapshot(kStartUs), meter).relay_closed);
  EXPECT_TRUE(TruthOf(bus->Snapshot(kStartUs), "000000010001").relay_closed);
  // Power reads 0 with the relay open.
  EXPECT_EQ(*dlt645::DecodePowerW(*Read(*bus, meter, dlt645::kActivePower)), 0);

  // Past its deadline, or with a wrong password: refused, nothing moves.
  absl::Status expired = Control(*bus, meter, dlt645::RemoteAction::kCloseDirect, kYesterday);
  EXPECT_EQ(dlt645::MeterErrorWordOf(expired), dlt645::kMeterErrorOther);
  absl::Status wrong = Control(*bus, meter, dlt645::RemoteAction::kCloseDirect, kTomorrow, kBad);
  EXPECT_EQ(dlt645::MeterErrorWordOf(wrong), dlt645::kMeterErrorPassword);
  EXPECT_FALSE(TruthOf(bus->Snapshot(kStartUs), meter).relay_closed);

  ASSERT_TRUE(Control(*bus, meter, dlt645::RemoteAction::kCloseDirect, kTomorrow).ok());
  status = dlt645::DecodeRunStatus3(*Read(*bus, meter, dlt645::kRunStatusWord3));
  EXPECT_FALSE(status->relay_open);
  EXPECT_FALSE(status->relay_command_open);

  // Keep-power: a trip is refused while it is in force.
  ASSERT_TRUE(Control(*bus, meter, dlt645::RemoteAction::kKeepPower, kTomorrow).ok());
  EXPECT_TRUE(dlt645::DecodeRunStatus3(*Read(*bus, meter, dlt645::kRunStatusWord3))->keep_power);
  EXPECT_EQ(dlt645::MeterErrorWordOf(Control(*bus, meter, dlt645::RemoteAction::kTrip, kTomorrow)),
            dlt645::kMeterErrorOther);
  ASSERT_TRUE(Control(*bus, meter, dlt645::RemoteAction::kKeepPowerClear, kTomorrow).ok());
  EXPECT_TRUE(Control(*bus, meter, dlt645::RemoteAction::kTrip, kTomorrow).ok());
}

TEST(Bus, MalformedRequestsGetAbnormalRepliesAndRepliesOnTheLineAreIgnored) {
  auto bus = MakeBus(1);
  Frame short_read{.address = Addr("000000010001"),
                   .control = dlt645::Control::Request(dlt645::Function::kRead),
                   .data = {0x00, 0x01}};
  auto reply = Exchange(*bus, short_read);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->control.abnormal);
  Frame echo = dlt645::ReadRequest(Addr("000000010001"), dlt645::kForwardActiveEnergy);
  echo.control.reply = true;
  EXPECT_FALSE(bus->Handle(echo, kStartUs).has_value());
  Frame freeze{.address = Addr("000000010001"),
               .control = dlt645::Control::Request(dlt645::Function::kFreeze),
               .data = {0x99, 0x99, 0x99, 0x99}};
  reply = Exchange(*bus, freeze);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->control.abnormal);
}

TEST(Bus, AMeterWithoutSupplyIsSilentAndItsRegisterFrozen) {
  auto bus = MakeBus(1);
  ASSERT_TRUE(bus->WithMeter("000000010001", 0, kStartUs,
                             [](MeterModel& meter) { meter.FailPower(kStartUs + 600 * kSecondUs); })
                  .ok());
  EXPECT_EQ(Read(*bus, "000000010001", dlt645::kForwardActiveEnergy, kStartUs + kSecondUs)
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(bus->stats().unpowered, 1u);
  const int64_t frozen = bus->Snapshot(kStartUs + 599 * kSecondUs)[0].register_wh;
  EXPECT_EQ(bus->Snapshot(kStartUs)[0].register_wh, frozen);
  EXPECT_TRUE(
      Read(*bus, "000000010001", dlt645::kForwardActiveEnergy, kStartUs + 600 * kSecondUs).ok());
  EXPECT_EQ(bus->WithMeter("000000099999", 0, kStartUs, [](MeterModel&) {}).code(),
            absl::StatusCode::kNotFound);
}

TEST(Bus, RegisterRollsOverOnTheWire) {
  auto bus = MakeBus(1);
  ASSERT_TRUE(bus->WithMeter("000000010001", 1, kStartUs,
                             [](MeterModel& meter) {
                               meter.SetRegisterWh(kRegisterModulusWh - 5);
                               meter.ForceLoad(
                                   Load{.active_w = 3600, .reactive_var = 0});  // 1 Wh/s
                             })
                  .ok());
  EXPECT_EQ(
      *dlt645::DecodeEnergyWh(*Read(*bus, "000000010001", dlt645::kForwardActiveEnergy), false),
      999'999'990);
  // Combined energy is signed: above 799 999.99 kWh it cannot be expressed.
  EXPECT_EQ(
      dlt645::MeterErrorWordOf(Read(*bus, "000000010001", dlt645::kCombinedActiveEnergy).status()),
      dlt645::kMeterErrorOther);
  EXPECT_EQ(*dlt645::DecodeEnergyWh(*Read(*bus, "000000010001", dlt645::kForwardActiveEnergy,
                                          kStartUs + 25 * kSecondUs),
                                    false),
            20);
  EXPECT_EQ(*dlt645::DecodeEnergyWh(*Read(*bus, "000000010001", dlt645::kCombinedActiveEnergy,
                                          kStartUs + 25 * kSecondUs),
                                    true),
            20);
}

TEST(Bus, MultiCircuitMetersAnswerPerCircuit) {
  Building building;
  building.gateways.push_back(*ParseGatewaySpec("G1=server:127.0.0.1:0"));
  building.meters.push_back({.address = "000000020001",
                             .gateway_id = "G1",
                             .room_id = "A-101",
                             .circuit = 1,
                             .initial_wh = 5000,
                             .rated_current_ma = 10000,
                             .voltage_dv = 2200});
  building.meters.push_back({.address = "000000020001",
                             .gateway_id = "G1",
                             .room_id = "A-102",
                             .circuit = 2,
                             .initial_wh = 7000,
                             .rated_current_ma = 10000,
                             .voltage_dv = 2200});
  ASSERT_TRUE(CheckBuilding(building, 128).ok());
  SimulationOptions simulation;
  simulation.start_us = kStartUs;
  auto bus = Bus::Create("G1", {}, DevicesOf(building, "G1", simulation), nullptr);
  ASSERT_TRUE(bus.ok()) << bus.status();
  EXPECT_EQ((*bus)->meter_count(), 1u);
  const dlt645::DataId circuit2 = *dlt645::CircuitDataId(dlt645::kForwardActiveEnergy, 2);
  EXPECT_EQ(*dlt645::DecodeEnergyWh(*Read(**bus, "000000020001", circuit2), false), 7000);
  EXPECT_EQ(
      *dlt645::DecodeEnergyWh(*Read(**bus, "000000020001", dlt645::kForwardActiveEnergy), false),
      5000);
  // Circuit 3 does not exist.
  EXPECT_EQ(dlt645::MeterErrorWordOf(
                Read(**bus, "000000020001", *dlt645::CircuitDataId(dlt645::kForwardActiveEnergy, 3))
                    .status()),
            dlt645::kMeterErrorNoData);
  // A parameter of circuit 2 only.
  const dlt645::DataId limit2 = *dlt645::ParameterDataId(
      {.parameter = dlt645::Parameter::kLoadLimit, .circuit = 2, .period = 0});
  ASSERT_TRUE(
      Write(**bus, "000000020001", limit2, Scalar(dlt645::Parameter::kLoadLimit, 700)).ok());
  const std::vector<CircuitTruth> truth = (*bus)->Snapshot(kStartUs);
  EXPECT_EQ(TruthOf(truth, "000000020001", 1).parameters.load_limit_w, 0);
  EXPECT_EQ(TruthOf(truth, "000000020001", 2).parameters.load_limit_w, 700);
}

TEST(Bus, FaultsComeAtTheirRatesAndOnlyIntactEnergyAnswersCount) {
  BusOptions options;
  options.faults = {.drop_ppm = 100'000,
                    .garble_ppm = 50'000,
                    .bad_checksum_ppm = 50'000,
                    .wrong_address_ppm = 50'000,
                    .delay_ppm = 100'000,
                    .delay_ms = 250};
  auto bus = MakeBus(4, options);
  constexpr int kRequests = 20'000;
  int dropped = 0, bad = 0, checksum = 0, wrong_address = 0, delayed = 0, intact = 0;
  for (int i = 0; i < kRequests; ++i) {
    const Frame request = dlt645::ReadRequest(Addr("000000010003"), dlt645::kForwardActiveEnergy);
    std::optional<Bus::Reply> reply = bus->Handle(request, kStartUs + i * 1000);
    if (!reply) {
      ++dropped;
      continue;
    }
    if (reply->delay_us > 0) {
      EXPECT_EQ(reply->delay_us, 250'000);
      ++delayed;
    }
    auto frame = dlt645::DecodeFrame(reply->bytes);
    if (!frame.ok()) {
      ++(dlt645::ErrorOf(frame.status()) == dlt645::Error::kBadChecksum ? checksum : bad);
      continue;
    }
    if (!dlt645::CheckReply(request, *frame).ok()) {
      EXPECT_EQ(dlt645::ErrorOf(dlt645::CheckReply(request, *frame)), dlt645::Error::kWrongAddress);
      ++wrong_address;
      continue;
    }
    ++intact;
  }
  // Binomial counts: expected +- 5 sigma.
  auto near = [](int count, double expected) {
    return std::abs(count - expected) < 5 * std::sqrt(expected);
  };
  EXPECT_TRUE(near(dropped, 2000)) << dropped;
  EXPECT_TRUE(near(wrong_address, 1000)) << wrong_address;
  EXPECT_TRUE(near(checksum + bad, 2000)) << checksum << " " << bad;  // a garbled byte may hit CS
  EXPECT_GE(checksum, 1000 - 5 * 32);
  EXPECT_TRUE(near(delayed, 1800)) << delayed;
  const BusStats stats = bus->stats();
  EXPECT_EQ(stats.dropped, static_cast<uint64_t>(dropped));
  EXPECT_EQ(stats.garbled + stats.bad_checksum, static_cast<uint64_t>(checksum + bad));
  EXPECT_EQ(stats.wrong_address, static_cast<uint64_t>(wrong_address));
  EXPECT_EQ(
      TruthOf(bus->Snapshot(kStartUs + kRequests * 1000), "000000010003").answered_energy_reads,
      static_cast<uint64_t>(intact));
  EXPECT_EQ(stats.energy_answers, static_cast<uint64_t>(intact));
}

TEST(Bus, TheSameSeedAndRequestsGiveTheSameBytes) {
  BusOptions options;
  options.faults = {.drop_ppm = 100'000,
                    .garble_ppm = 100'000,
                    .bad_checksum_ppm = 0,
                    .wrong_address_ppm = 100'000,
                    .delay_ppm = 0,
                    .delay_ms = 0};
  auto a = MakeBus(8, options);
  auto b = MakeBus(8, options);
  for (int i = 0; i < 500; ++i) {
    const std::string address = "00000001000" + std::to_string(1 + i % 8);
    const Frame request = dlt645::ReadRequest(Addr(address), dlt645::kForwardActiveEnergy);
    const int64_t at = kStartUs + i * 7 * kSecondUs;
    std::optional<Bus::Reply> ra = a->Handle(request, at);
    std::optional<Bus::Reply> rb = b->Handle(request, at);
    ASSERT_EQ(ra.has_value(), rb.has_value()) << i;
    if (ra) {
      EXPECT_EQ(ra->bytes, rb->bytes) << i;
    }
  }
  EXPECT_EQ(a->TurnaroundUs(), b->TurnaroundUs());
  const int64_t turnaround = a->TurnaroundUs();
  EXPECT_GE(turnaround, 20'000);
  EXPECT_LE(turnaround, 50'000);
  EXPECT_EQ(a->TransmitUs(24), 24 * 11 * 1'000'000 / 2400);  // 110 ms: 4 FE + 20 B at 2400 8E1
}

TEST(Bus, SelfTripsReachTheSinkWithTheirMeter) {
  std::vector<SimEvent> events;
  auto bus = MakeBus(2, {}, &events);
  ASSERT_TRUE(
      Write(*bus, "000000010002", 0x04000E01, Scalar(dlt645::Parameter::kLoadLimit, 500)).ok());
  ASSERT_TRUE(bus->WithMeter("000000010002", 1, kStartUs,
                             [](MeterModel& meter) {
                               meter.ForceLoad(Load{.active_w = 900, .reactive_var = 0});
                             })
                  .ok());
  bus->AdvanceAll(kStartUs + 11 * kSecondUs);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].gateway, "G1");
  EXPECT_EQ(events[0].address, "000000010002");
  EXPECT_EQ(events[0].event.kind, MeterEvent::Kind::kSelfTrip);
  EXPECT_EQ(events[0].event.reason, TripReason::kLoadLimit);
  const std::vector<CircuitTruth> all = bus->Snapshot(kStartUs + 11 * kSecondUs);
  const CircuitTruth& truth = TruthOf(all, "000000010002");
  EXPECT_EQ(truth.trip_count, 1u);
  ASSERT_EQ(truth.trips.size(), 1u);
  EXPECT_EQ(truth.trips[0].at_us, kStartUs + 10 * kSecondUs);
  EXPECT_EQ(truth.self_trip, TripReason::kLoadLimit);
  // The relay command state still reads closed: the meter tripped by itself.
  auto status = dlt645::DecodeRunStatus3(
      *Read(*bus, "000000010002", dlt645::kRunStatusWord3, kStartUs + 11 * kSecondUs));
  EXPECT_TRUE(status->relay_open);
  EXPECT_FALSE(status->relay_command_open);
}

TEST(Bus, TheLastSelfTripRecordIsAnsweredFromTheModel) {
  auto bus = MakeBus(2);
  const std::string meter = "000000010001";
  // Never tripped: reason 0 and zeros.
  auto none = Read(*bus, meter, dlt645::kLastSelfTrip);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, std::vector<uint8_t>(dlt645::kSelfTripRecordBytes, 0));

  // A kettle on top of what the room draws, 5 s into the test.
  const dlt645::DataId malicious = *dlt645::ParameterDataId(
      {.parameter = dlt645::Parameter::kMaliciousLoadPower, .circuit = 1, .period = 0});
  ASSERT_TRUE(
      Write(*bus, meter, malicious, Scalar(dlt645::Parameter::kMaliciousLoadPower, 800)).ok());
  const int64_t at = kStartUs + 5 * kSecondUs;
  Load base;
  ASSERT_TRUE(bus->WithMeter(meter, 1, at,
                             [&base](MeterModel& model) {
                               base = model.metered_load();
                               model.ForceLoad(Load{.active_w = base.active_w + 1500,
                                                    .reactive_var = base.reactive_var});
                             })
                  .ok());
  auto value = Read(*bus, meter, dlt645::kLastSelfTrip, at + kSecondUs);
  ASSERT_TRUE(value.ok()) << value.status();
  auto record = dlt645::DecodeSelfTripRecord(*value);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->reason, dlt645::SelfTripReason::kMaliciousLoad);
  // The meter's own clock, local time: 2026-03-02 10:00:05.
  EXPECT_EQ(
      record->at,
      (dlt645::DateTime{.year = 2026, .month = 3, .day = 2, .hour = 10, .minute = 0, .second = 5}));
  EXPECT_EQ(record->power_before_w, base.active_w);
  EXPECT_EQ(record->power_w, base.active_w + 1500);
  EXPECT_EQ(record->power_factor_milli, 1000);
  EXPECT_EQ(record->trip_count, 1u);

  // Circuit 2 does not exist on this meter; an older meter has no record.
  EXPECT_EQ(dlt645::MeterErrorWordOf(Read(*bus, meter, *dlt645::SelfTripDataId(2)).status()),
            dlt645::kMeterErrorNoData);
  BusOptions older;
  older.self_trip_record = false;
  auto old_bus = MakeBus(1, older);
  EXPECT_EQ(dlt645::MeterErrorWordOf(Read(*old_bus, meter, dlt645::kLastSelfTrip).status()),
            dlt645::kMeterErrorNoData);
}

TEST(Bus, AnyWellFramedRequestIsAnsweredOrIgnoredNeverACrash) {
  auto bus = MakeBus(3);
  SimRandom random(99);
  const std::vector<std::string> addresses = {"000000010001", "000000010002", "AAAAAAAAAAAA",
                                              "999999999999", "AAAAAAAA0003", "000000077777"};
  const uint8_t functions[] = {0x03, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
                               0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1F, 0x00};
  for (int i = 0; i < 20'000; ++i) {
    Frame request;
    request.address = Addr(addresses[random.Below(addresses.size())]);
    request.control = dlt645::Control::FromByte(functions[random.Below(sizeof(functions))] |
                                                (random.Below(8) == 0 ? 0x80 : 0));
    // Sometimes a real DI (parameters, circuits, measurements), then noise.
    const size_t length =
        random.Below(4) == 0 ? random.Below(dlt645::kDataBytesMax + 1) : random.Below(24);
    for (size_t k = 0; k < length; ++k) request.data.push_back(static_cast<uint8_t>(random.Next()));
    if (length >= 4 && random.Below(2) == 0) {
      const uint32_t prefixes[] = {0x04A00000, 0x04A10000, 0x04A20000, 0x04C00000,
                                   0x04000E00, 0x00010000, 0x04000500};
      const uint32_t id = prefixes[random.Below(7)] | static_cast<uint32_t>(random.Below(0x10000));
      const std::array<uint8_t, 4> wire = dlt645::EncodeDataId(id);
      std::copy(wire.begin(), wire.end(), request.data.begin());
    }
    std::optional<Bus::Reply> reply = bus->Handle(request, kStartUs + i * 1000);
    if (reply) {
      auto frame = dlt645::DecodeFrame(reply->bytes);
      ASSERT_TRUE(frame.ok()) << frame.status();
      EXPECT_TRUE(frame->control.reply);
    }
  }
  EXPECT_EQ(bus->stats().requests, 20'000u);
}

}  // namespace
}  // namespace wattledger::meter_sim
