// Writes the seed corpus of the history_block fuzz target (see history_block_fuzz.cc for the
// input layout): valid history blocks of every chunk version (1, 2, 3) and value type, blocks of
// several chunks (overlapping, one after another, of mixed types and versions), and rollup
// values, each behind the four selector bytes, once over the whole range and once over a part.
// Built with the real encoders, so the seeds follow the format as the store writes it.
//
//   canvoy_fuzz_history_block_seeds DIR
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "canvoy/fleet_store/types.h"
#include "storage/history_block.h"
#include "storage/rollup_codec.h"

namespace {

using namespace canvoy::fleet_store;
using namespace canvoy::fleet_store::storage;

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // microseconds
// Selector bytes: [from][to][begin][end]. Whole range: from = min, to = max, begin = 0,
// end = 2^64 - 1. Part: from the second sample (slot) to the one before the last of 63.
constexpr char kWhole[] = {0x00, 0x01, 0x00, 0x3F};
constexpr char kPart[] = {0x41, static_cast<char>(0x7E), 0x41, static_cast<char>(0xFE)};

class SeedWriter {
 public:
  explicit SeedWriter(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Writes `bytes` behind both selector sets; false when a file cannot be written.
  bool Write(const std::string& name, const std::string& bytes) {
    return WriteOne(name + "_whole", std::string(kWhole, sizeof kWhole) + bytes) &&
           WriteOne(name + "_part", std::string(kPart, sizeof kPart) + bytes);
  }

  std::size_t written() const { return written_; }

 private:
  bool WriteOne(const std::string& name, const std::string& contents) {
    std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) {
      std::cerr << (dir_ / name).string() << ": cannot write\n";
      return false;
    }
    ++written_;
    return true;
  }

  std::filesystem::path dir_;
  std::size_t written_ = 0;
};

// Timestamps: 0 every 10 s (a version 3 unit), 1 every 10 ms with jitter (version 2), 2 a few
// distinct ones (ties), 3 near both ends of int64.
std::int64_t Timestamp(int pattern, std::size_t i, std::mt19937_64& rng) {
  const auto n = static_cast<std::int64_t>(i);
  switch (pattern) {
    case 0:
      return kT0 + n * 10'000'000;
    case 1:
      return kT0 + n * 10'000 + static_cast<std::int64_t>(rng() % 1000);
    case 2:
      return kT0 + static_cast<std::int64_t>(rng() % 4);
    default:
      return (rng() & 1) ? std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(i)
                         : std::numeric_limits<std::int64_t>::min() + static_cast<std::int64_t>(i);
  }
}

// Values of one type: 0 a slow walk (decimal doubles), 1 anything (xor doubles), 2 edge values
// (the ends of the integer types; zeros, infinities, NaNs with payloads, a subnormal).
SignalValue Value(std::size_t type, int pattern, std::size_t i, std::mt19937_64& rng) {
  const std::uint64_t r = rng();
  const std::uint64_t walk = 1000 + i * 3 + r % 5;
  const std::uint64_t edges[] = {0, ~std::uint64_t{0}, std::uint64_t{1} << 63,
                                 (std::uint64_t{1} << 63) - 1};
  const std::uint64_t u = pattern == 0 ? walk : pattern == 1 ? r : edges[r % 4];
  const double specials[] = {0.0,
                             -0.0,
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::bit_cast<double>(std::uint64_t{0x7FF8000000000001}),
                             std::bit_cast<double>(std::uint64_t{0xFFF0000000000002}),
                             std::numeric_limits<double>::denorm_min()};
  const char* const words[] = {"", "park", "drive", "reverse", "a longer gear name"};
  switch (type) {
    case 0:
      return SignalValue(std::in_place_index<0>, (r & 1) != 0);
    case 1:
      return SignalValue(std::in_place_index<1>, static_cast<std::int64_t>(u));
    case 2:
      return SignalValue(std::in_place_index<2>, u);
    case 3:
      if (pattern == 0) return SignalValue(std::in_place_index<3>, static_cast<double>(walk) / 100);
      return SignalValue(std::in_place_index<3>,
                         pattern == 1 ? std::bit_cast<double>(r) : specials[r % 7]);
    default:
      return SignalValue(std::in_place_index<4>, words[r % 5]);
  }
}

std::vector<Sample> Samples(std::size_t type, int time_pattern, int value_pattern, std::size_t n,
                            std::mt19937_64& rng) {
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < n; ++i) {
    samples.push_back(Sample{Timestamp(time_pattern, i, rng), Value(type, value_pattern, i, rng)});
  }
  return samples;
}

bool WriteBlocks(SeedWriter& writer) {
  std::mt19937_64 rng(20261127);
  const char* const type_names[] = {"bool", "int64", "uint64", "double", "string"};
  bool ok = true;
  // One chunk of each type, encoder, timestamp pattern and (for numbers) value pattern; 100
  // samples span two packed groups.
  for (std::size_t type = 0; type < 5; ++type) {
    for (int time_pattern = 0; time_pattern < 4; ++time_pattern) {
      for (int value_pattern = 0; value_pattern < 3; ++value_pattern) {
        const auto samples = Samples(type, time_pattern, value_pattern, 100, rng);
        const std::string name = std::string(type_names[type]) + "_t" +
                                 std::to_string(time_pattern) + "_v" +
                                 std::to_string(value_pattern);
        ok = ok && writer.Write("chunk_" + name, EncodeChunk(samples)) &&
             writer.Write("v1_" + name, EncodeChunkV1(samples));
        if (type != 4) ok = ok && writer.Write("v2_" + name, EncodeChunkV2(samples));
      }
    }
    // A single sample.
    ok = ok && writer.Write(std::string("one_") + type_names[type],
                            EncodeChunk(Samples(type, 0, 0, 1, rng)));
  }
  // Several chunks: overlapping in time (merged on read), one after another (read as columns),
  // of mixed types, and of mixed versions.
  const auto a = Samples(3, 0, 0, 70, rng);
  auto b = Samples(3, 0, 0, 70, rng);
  for (Sample& s : b) s.timestamp_us += 5'000'000;
  auto later = Samples(3, 1, 0, 70, rng);
  for (Sample& s : later) s.timestamp_us += 3'600'000'000;
  const auto ints = Samples(1, 1, 0, 30, rng);
  const auto strings = Samples(4, 0, 0, 10, rng);
  ok = ok && writer.Write("multi_overlapping", EncodeChunk(a) + EncodeChunk(b));
  ok = ok && writer.Write("multi_consecutive", EncodeChunk(a) + EncodeChunk(later));
  ok = ok && writer.Write("multi_types", EncodeChunk(a) + EncodeChunk(ints) + EncodeChunk(strings));
  ok = ok &&
       writer.Write("multi_versions", EncodeChunkV1(a) + EncodeChunkV2(b) + EncodeChunk(later));
  ok = ok && writer.Write("empty", "");
  return ok;
}

bool WriteRollups(SeedWriter& writer) {
  Rollup single;
  AddSample(single, kT0, 42.5);
  Rollup many;
  for (int i = 0; i < 10; ++i) AddSample(many, kT0 + i * 60'000'000, 1.0 / (i + 1));
  Rollup negative;
  AddSample(negative, -5, -0.0);
  AddSample(negative, 7, 0.0);
  const std::vector<RollupSlot> minutes = {
      {0, single}, {1, many}, {2, single}, {17, negative}, {59, many}};
  const std::vector<RollupSlot> edges = {
      {5, many}, {1'000'000, single}, {std::numeric_limits<std::uint32_t>::max(), negative}};
  return writer.Write("rollup_minutes", EncodeRollupSlots(minutes)) &&
         writer.Write("rollup_edges", EncodeRollupSlots(edges)) &&
         writer.Write("rollup_one", EncodeRollupSlots(std::vector<RollupSlot>{{3, single}})) &&
         writer.Write("rollup_none", EncodeRollupSlots({}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " DIR\n";
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    std::cerr << dir.string() << ": " << error.message() << "\n";
    return 1;
  }
  SeedWriter writer(dir);
  const bool ok = WriteBlocks(writer) && WriteRollups(writer);
  std::cout << "wrote " << writer.written() << " seeds to " << dir.string() << "\n";
  return ok ? 0 : 1;
}
