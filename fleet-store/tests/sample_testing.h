// What the history block tests share: limits, bit-exact sample comparison, canonical sorting.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <variant>
#include <vector>

#include "canvoy/fleet_store/types.h"
#include "storage/history_block.h"

namespace canvoy::fleet_store::storage::testing_samples {

inline constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
inline constexpr std::uint64_t kUMax = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // microseconds
inline constexpr double kInf = std::numeric_limits<double>::infinity();

inline double Bits(std::uint64_t bits) { return std::bit_cast<double>(bits); }

// Equal timestamps and values, doubles bit for bit (so NaN equals the same NaN).
inline bool Same(const Sample& a, const Sample& b) {
  if (a.timestamp_us != b.timestamp_us || a.value.index() != b.value.index()) return false;
  if (const double* d = std::get_if<double>(&a.value))
    return std::bit_cast<std::uint64_t>(*d) ==
           std::bit_cast<std::uint64_t>(std::get<double>(b.value));
  return a.value == b.value;
}

inline void ExpectSame(const std::vector<Sample>& actual, const std::vector<Sample>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!Same(actual[i], expected[i]))
      FAIL() << "sample " << i << " at t=" << expected[i].timestamp_us;
  }
}

inline std::vector<Sample> Canonical(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(), CanonicalLess);
  return samples;
}

}  // namespace canvoy::fleet_store::storage::testing_samples
