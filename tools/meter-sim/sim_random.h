// Deterministic randomness for the meter simulator. Two kinds:
//  - Hash(): stateless, a pure function of its inputs. The load profile,
//    per-meter traits, voltage noise and power-failure plans use it, so a
//    meter's state at simulated time t does not depend on how often or in
//    which order anything was evaluated before.
//  - SimRandom: a small sequential generator (SplitMix64) for decisions taken
//    in request order (fault injection on one bus, bus turnaround times);
//    the same seed and the same request sequence give the same decisions.
// Header-only; everything is a value type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace wattledger::meter_sim {

// One SplitMix64 finaliser step.
inline constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A hash of several 64-bit words, order-sensitive.
inline constexpr uint64_t Hash(std::initializer_list<uint64_t> words) {
  uint64_t h = 0x6A09E667F3BCC909ull;
  for (uint64_t word : words) h = Mix64(h ^ Mix64(word));
  return h;
}

// FNV-1a of a string, to fold names (addresses, gateway ids) into hashes.
inline constexpr uint64_t HashString(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;
  }
  return Mix64(h);
}

// `h` mapped onto [0, bound) (bound > 0); the bias is below 2^-32 for the
// bounds used here.
inline constexpr uint64_t Below(uint64_t h, uint64_t bound) { return (h >> 11) % bound; }

// True with probability `ppm` / 1'000'000.
inline constexpr bool ChancePpm(uint64_t h, uint32_t ppm) { return Below(h, 1'000'000) < ppm; }

// Sequential generator; not thread-safe (one per bus, used under its lock).
class SimRandom {
 public:
  explicit constexpr SimRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t bound) { return meter_sim::Below(Next(), bound); }
  bool ChancePpm(uint32_t ppm) { return ppm > 0 && meter_sim::ChancePpm(Next(), ppm); }

 private:
  uint64_t state_;
};

}  // namespace wattledger::meter_sim
