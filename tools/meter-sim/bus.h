// One collector's RS485 bus: the meters on it, answering DL/T 645 requests
// the way the meters would, and the faults the bus and its meters inject.
// The collector (collector.h) feeds it each request frame it finds in the TCP
// stream and puts whatever comes back on the line; tests call it directly.
//
// Who answers: the meter whose address the request names (wildcard AA
// digits match when exactly one meter fits — more would collide, so nobody
// answers); nobody for an address not on this bus, for a meter whose supply
// has failed, or for broadcast time (08, all meters set their clocks within
// the broadcast limit). Read-address (13 to AA..AA) is answered only on a bus
// with one meter: with more they would all talk at once.
//
// Faults (from BusOptions, decided per reply by a generator seeded per bus, so
// the same request sequence gets the same faults): a dropped reply, a
// garbled byte, a wrong checksum, the reply carrying another address (at most
// one of these per reply), and independently a delay.
//
// Thread-safe: every public method takes the bus's lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ingest/dlt645/frame.h"
#include "tools/meter-sim/meter_model.h"
#include "tools/meter-sim/sim_random.h"

namespace wattledger::meter_sim {

struct FaultOptions {
  uint32_t drop_ppm = 0;           // reply lost
  uint32_t garble_ppm = 0;         // one byte of the reply changed
  uint32_t bad_checksum_ppm = 0;   // CS off by one
  uint32_t wrong_address_ppm = 0;  // reply carries another meter's address
  uint32_t delay_ppm = 0;          // reply held back by delay_ms
  int32_t delay_ms = 0;
};

struct BusOptions {
  uint64_t seed = 1;  // fault decisions and turnaround times
  FaultOptions faults = {};
  // PA P0 P1 P2 the meters accept for writes and remote control.
  std::array<uint8_t, 4> password = {0x02, 0x00, 0x00, 0x00};
  // Broadcast time moves a meter's clock by at most this much (0 = any).
  int64_t broadcast_time_limit_s = 300;
  size_t reply_preamble_bytes = 4;  // FE bytes before each reply
  int32_t baud = 2400;              // for TransmitUs()
  int32_t turnaround_ms_min = 20;
  int32_t turnaround_ms_max = 50;
  // Answer the vendor reading snapshot (04C10000); false: "no requested data",
  // like meters without it.
  bool reading_snapshot = true;
  // Answer the vendor last-self-trip record (04C200cc); false: "no requested
  // data", like meters without it.
  bool self_trip_record = true;
};

// One circuit of a meter: its room and its model's configuration.
struct CircuitConfig {
  int circuit = 1;  // 1..4
  std::string room_id;
  MeterConfig model = {};
};

// One meter (one address) on the bus.
struct DeviceConfig {
  std::string address;  // 12 digits
  std::vector<CircuitConfig> circuits;
};

// What the simulator holds for one circuit, for the truth file.
struct CircuitTruth {
  std::string address;
  int circuit = 1;
  std::string room_id;
  int64_t register_wh = 0;
  int64_t displayed_wh = 0;
  int64_t consumed_wh = 0;
  int64_t answered_wh = -1;  // last energy value delivered intact, -1 before the first
  uint64_t answered_energy_reads = 0;
  int64_t answered_at_us = 0;
  bool relay_closed = true;
  bool remote_open = false;
  bool keep_power = false;
  bool alarm = false;
  bool powered = true;
  bool awaiting_user_close = false;
  std::optional<TripReason> self_trip;
  dlt645::ScheduleAction schedule_action = dlt645::ScheduleAction::kUnused;
  int32_t power_w = 0;
  int32_t room_power_w = 0;
  int64_t meter_local_s = 0;
  MeterParameters parameters = {};
  uint64_t trip_count = 0;
  std::vector<MeterEvent> trips;  // the most recent kTripsKept
};

struct BusStats {
  uint64_t requests = 0;  // frames handed to Handle()
  uint64_t replies = 0;   // replies put on the line (faulty ones included)
  uint64_t abnormal_replies = 0;
  uint64_t no_meter = 0;    // addressed to nobody on this bus
  uint64_t collisions = 0;  // a wildcard several meters match: nobody answers
  uint64_t unpowered = 0;   // the meter's supply is down
  uint64_t broadcasts = 0;
  uint64_t time_syncs_refused = 0;  // broadcast time beyond the limit (per meter)
  uint64_t dropped = 0;
  uint64_t commands_dropped = 0;  // writes and remote controls lost (SetDropCommands)
  uint64_t garbled = 0;
  uint64_t bad_checksum = 0;
  uint64_t wrong_address = 0;
  uint64_t delayed = 0;
  uint64_t energy_answers = 0;   // energy reads answered intact
  uint64_t remote_controls = 0;  // remote-control commands carried out
};

// A meter's own event, with where it happened.
struct SimEvent {
  std::string gateway;
  std::string address;
  int circuit = 1;
  MeterEvent event;
};
using EventSink = std::function<void(const SimEvent&)>;

class Bus {
 public:
  // `devices` must have distinct, valid addresses and circuits (building.h
  // checks them); kInvalidArgument otherwise. `sink` (may be empty) receives
  // every meter event, called under the bus's lock.
  static absl::StatusOr<std::unique_ptr<Bus>> Create(std::string gateway_id,
                                                     const BusOptions& options,
                                                     std::vector<DeviceConfig> devices,
                                                     EventSink sink);
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  struct Reply {
    std::vector<uint8_t> bytes;
    int64_t delay_us = 0;  // injected delay before it goes on the line
  };
  // The meters' answer to `request` at simulated time `now_us`, or nullopt
  // when nobody answers (or the reply was dropped). A request that is not
  // well-formed for its function gets an abnormal reply, as meters do.
  std::optional<Reply> Handle(const dlt645::Frame& request, int64_t now_us);

  // Serial time of `bytes` bytes at the bus's baud rate (11 bits a byte, 8E1).
  int64_t TransmitUs(size_t bytes) const;
  // A meter's turnaround before it answers, 20..50 ms by default.
  int64_t TurnaroundUs();

  // Brings every meter to `now_us` (they keep counting while nobody asks).
  void AdvanceAll(int64_t now_us);
  std::vector<CircuitTruth> Snapshot(int64_t now_us);
  BusStats stats() const;
  const std::string& gateway_id() const { return gateway_id_; }
  size_t meter_count() const { return device_count_; }
  bool HasMeter(const std::string& address) const;

  // Runs `change` on one circuit (or on every circuit with circuit 0) of the
  // meter at `address`, advanced to `now_us`: the control port's and the
  // tests' way in. kNotFound for an unknown address or circuit.
  absl::Status WithMeter(const std::string& address, int circuit, int64_t now_us,
                         absl::FunctionRef<void(MeterModel&)> change);

  // A collector that loses commands: while set, every write and remote
  // control is dropped before it reaches a meter (nothing done, no reply);
  // reads still work. The control port's `drop-commands G on|off`.
  void SetDropCommands(bool drop);

 private:
  struct Circuit {
    int circuit = 1;
    std::string room_id;
    MeterModel model;
    int64_t answered_wh = -1;
    uint64_t answered_energy_reads = 0;
    int64_t answered_at_us = 0;
  };
  struct Device {
    dlt645::Address address;
    std::string address_text;
    std::vector<Circuit> circuits;  // sorted by circuit number
  };
  // An energy value a reply carries, counted once the reply leaves intact.
  struct EnergyAnswer {
    Circuit* circuit = nullptr;
    int64_t wh = 0;
  };

  Bus(std::string gateway_id, const BusOptions& options, EventSink sink);

  Device* FindDevice(const dlt645::Address& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Circuit* FindCircuit(Device& device, int circuit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdvanceDevice(Device& device, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainEvents(Device& device, Circuit& circuit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleBroadcastTime(const dlt645::Frame& request, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  dlt645::Frame Answer(Device& device, const dlt645::Frame& request,
                       std::optional<EnergyAnswer>& energy) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  dlt645::Frame AnswerRead(Device& device, const dlt645::Frame& request,
                           std::optional<EnergyAnswer>& energy) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  dlt645::Frame AnswerWrite(Device& device, const dlt645::Frame& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  dlt645::Frame AnswerControl(Device& device, const dlt645::Frame& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Reply> Deliver(const Device& device, dlt645::Frame reply,
                               const std::optional<EnergyAnswer>& energy)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string gateway_id_;
  const BusOptions options_;
  const EventSink sink_;
  size_t device_count_ = 0;  // fixed after Create()
  mutable absl::Mutex mu_;
  std::vector<Device> devices_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, size_t> by_address_ ABSL_GUARDED_BY(mu_);
  SimRandom fault_random_ ABSL_GUARDED_BY(mu_);
  bool drop_commands_ ABSL_GUARDED_BY(mu_) = false;
  SimRandom timing_random_ ABSL_GUARDED_BY(mu_);
  BusStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wattledger::meter_sim
