// Decoding history chunks, version 1 (bit-serial, EncodeChunkV1) against version 2 (packed,
// EncodeChunkV2), version 3 (packed with a timestamp unit, EncodeChunkV3) and what EncodeChunk
// writes (version 4, timestamps as a bitmap of grid slots, where that is smaller), on a
// decimal-noisy double signal: a temperature with one decimal digit every 10 s, 1 reading in 100
// missing (as CAN-derived signals resampled) or 1 in 8 (as TSBS's trucks). Decodes one whole chunk
// per iteration with DecodeBlockColumns (the query path), DecodeGridColumns (values without
// timestamps, for joins by slot; version 4 only) or DecodeBlock (samples), on one core.
// Reports ns per sample and bytes per sample; asserts nothing.
//
//   canvoy_chunk_decode_bench --benchmark_repetitions=15 --benchmark_report_aggregates_only
//       --benchmark_enable_random_interleaving   (on shared machines: compare the medians)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/history_block.h"

namespace {

namespace storage = canvoy::fleet_store::storage;
using canvoy::fleet_store::Sample;

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // microseconds
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// n samples every 10 s (about 1 in `missing` missing) of 21.5 C wandering by up to 0.3 C a step.
std::vector<Sample> DecimalNoisy(std::size_t n, unsigned missing) {
  std::mt19937_64 rng(42);
  std::vector<Sample> samples;
  std::int64_t t = kT0, tenths = 215;
  while (samples.size() < n) {
    t += 10'000'000;
    if (rng() % missing == 0) continue;
    tenths += static_cast<std::int64_t>(rng() % 7) - 3;
    samples.push_back({t, static_cast<double>(tenths) / 10.0});
  }
  return samples;
}

// Args: samples, version (1, 2, 3, or 4 for EncodeChunk), 1 in how many readings missing.
std::string Block(const benchmark::State& state) {
  const auto samples =
      DecimalNoisy(static_cast<std::size_t>(state.range(0)), static_cast<unsigned>(state.range(2)));
  switch (state.range(1)) {
    case 1:
      return storage::EncodeChunkV1(samples);
    case 2:
      return storage::EncodeChunkV2(samples);
    case 3:
      return storage::EncodeChunkV3(samples);
    default:
      return storage::EncodeChunk(samples);
  }
}

// CPU seconds per sample (printed with an SI prefix: "2.1n" is 2.1 ns) and bytes per sample.
void Counters(benchmark::State& state, std::size_t n, std::size_t bytes) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["s_per_sample"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / static_cast<double>(n);
}

void BM_DecodeColumns(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string block = Block(state);
  std::vector<std::int64_t> t;
  std::vector<double> num;
  std::vector<std::uint64_t> bits;
  for (auto _ : state) {
    t.clear();
    num.clear();
    bits.clear();
    const auto type = storage::DecodeBlockColumns(block, kMin, kMax, {&t, &num, &bits});
    if (!type || !type.value() || t.size() != n) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(num.data());
    benchmark::ClobberMemory();
  }
  Counters(state, n, block.size());
}

void BM_DecodeGridValues(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string block = Block(state);
  canvoy::fleet_store::Cells<std::int64_t> t;
  canvoy::fleet_store::Cells<double> num;
  canvoy::fleet_store::Cells<std::uint64_t> bits;
  for (auto _ : state) {
    num.clear();
    const auto grid = storage::DecodeGridColumns(block, kMin, kMax, {&t, &num, &bits});
    if (!grid || !grid.value() || num.size() != n) {
      state.SkipWithError("not a grid, or decode failed");
      break;
    }
    benchmark::DoNotOptimize(num.data());
    benchmark::ClobberMemory();
  }
  Counters(state, n, block.size());
}

void BM_DecodeSamples(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string block = Block(state);
  std::vector<Sample> out;
  for (auto _ : state) {
    out.clear();
    if (!storage::DecodeBlock(block, &out) || out.size() != n) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  Counters(state, n, block.size());
}

BENCHMARK(BM_DecodeColumns)
    ->ArgNames({"samples", "version", "missing"})
    ->ArgsProduct({{360, 36'000}, {1, 2, 3, 4}, {100, 8}});
BENCHMARK(BM_DecodeGridValues)
    ->ArgNames({"samples", "version", "missing"})
    ->ArgsProduct({{360, 36'000}, {4}, {8}});
BENCHMARK(BM_DecodeSamples)
    ->ArgNames({"samples", "version", "missing"})
    ->ArgsProduct({{360, 36'000}, {1, 2, 3, 4}, {100, 8}});

}  // namespace

BENCHMARK_MAIN();
