#include "canvoy/common/sample_digest.h"

#include <bit>
#include <functional>
#include <string_view>

namespace canvoy {
namespace {

// SplitMix64's finalizer: every input bit moves about half the output bits.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

void SampleDigest::AddSample(std::uint32_t signal_id, std::int64_t time_us, std::uint64_t value_bits) {
  ++count;
  sum += Mix(Mix(Mix(signal_id) ^ static_cast<std::uint64_t>(time_us)) ^ value_bits);
}

void SampleDigest::Add(const telemetry::v1::Batch& batch) {
  using telemetry::v1::SignalSeries;
  for (const SignalSeries& series : batch.series()) {
    std::int64_t t = batch.base_time_us();
    for (int i = 0; i < series.time_deltas_us_size(); ++i) {
      t += series.time_deltas_us(i);
      std::uint64_t bits = 0;
      switch (series.values_case()) {
        case SignalSeries::kBools:
          bits = i < series.bools().values_size() && series.bools().values(i) ? 1 : 0;
          break;
        case SignalSeries::kInt64S:
          if (i < series.int64s().values_size()) bits = static_cast<std::uint64_t>(series.int64s().values(i));
          break;
        case SignalSeries::kUint64S:
          if (i < series.uint64s().values_size()) bits = series.uint64s().values(i);
          break;
        case SignalSeries::kDoubles:
          if (i < series.doubles().values_size()) bits = std::bit_cast<std::uint64_t>(series.doubles().values(i));
          break;
        case SignalSeries::kStrings:
          if (i < series.strings().values_size()) {
            bits = std::hash<std::string_view>{}(series.strings().values(i));
          }
          break;
        case SignalSeries::VALUES_NOT_SET: break;
      }
      AddSample(series.signal_id(), t, bits);
    }
  }
}

}  // namespace canvoy
