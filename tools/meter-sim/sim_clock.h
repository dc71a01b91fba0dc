// Simulated time for the meters: Unix microseconds that run `speed` times
// faster than the steady clock from a chosen start. Only the meters' physics
// (energy, schedules, recovery delays, supply failures, their clocks) runs on
// it; the link (bus timing, delays, heartbeats, reconnects) runs in real time.
// The collectors read it from any thread; tests use ManualSimClock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace wattledger::meter_sim {

class SimClock {
 public:
  virtual ~SimClock() = default;
  // Simulated Unix time in microseconds; never decreases. Thread-safe.
  virtual int64_t NowUs() const = 0;
};

// start_us + (steady now - steady at construction) * speed.
class ScaledSimClock final : public SimClock {
 public:
  ScaledSimClock(int64_t start_us, double speed)
      : start_us_(start_us), speed_(speed), origin_(std::chrono::steady_clock::now()) {}
  int64_t NowUs() const override {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - origin_)
                             .count();
    return start_us_ + static_cast<int64_t>(static_cast<double>(elapsed) * speed_);
  }
  double speed() const { return speed_; }

 private:
  int64_t start_us_;
  double speed_;
  std::chrono::steady_clock::time_point origin_;
};

// A clock tests move by hand.
class ManualSimClock final : public SimClock {
 public:
  explicit ManualSimClock(int64_t now_us) : now_us_(now_us) {}
  int64_t NowUs() const override { return now_us_.load(); }
  void Advance(int64_t delta_us) { now_us_.fetch_add(delta_us); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace wattledger::meter_sim
