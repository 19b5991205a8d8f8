// A small, fast, seedable random source whose sequence is fixed by its seed on every platform
// (the standard library's distributions are not), so the generated data depend only on --seed.
#pragma once

#include <cmath>
#include <cstdint>

namespace canvoy::bench::tsbs {

// Mixes a 64-bit value (SplitMix64's finaliser); used to derive independent seeds.
constexpr std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Stream ids keep the generator's random streams apart (tags, motion, delivery, parameters).
enum class Stream : std::uint64_t {
  kTags = 1,
  kMotion = 2,
  kDelivery = 3,
  kParams = 4,
  kNullTags = 5
};

// xoshiro256**: one instance per independent stream; not thread-safe, cheap to copy.
class Rng {
 public:
  Rng(std::uint64_t seed, Stream stream, std::uint64_t index = 0) {
    std::uint64_t x =
        Mix64(seed ^ Mix64(static_cast<std::uint64_t>(stream) * 0x100000001b3ULL + Mix64(index)));
    for (auto& word : s_) {
      x = Mix64(x);
      word = x;
    }
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [0, n); n > 0.
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  bool Chance(double p) { return Uniform() < p; }
  // Log-uniform in [lo, hi): as many short values as long ones per factor of ten.
  double LogUniform(double lo, double hi) { return lo * std::exp(Uniform() * std::log(hi / lo)); }
  // Standard normal (Box-Muller; the second value is dropped to keep the stream simple).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace canvoy::bench::tsbs
