// History chunks of version 4: timestamps that rise strictly on a grid of the unit, kept as a
// bitmap of the slots that have a sample (none when every slot has one), so that two signals of
// one message pair by slot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <string>
#include <vector>

#include "packed_layout_testing.h"
#include "sample_testing.h"
#include "storage/history_block.h"

namespace canvoy::fleet_store::storage {
namespace {

using namespace testing_samples;
using namespace testing_packed;
using ::testing::StartsWith;
constexpr std::int64_t k10s = 10'000'000;

// A version 4 chunk written from history_block.h alone.
std::string GridChunk(std::uint8_t type, std::uint64_t count, std::int64_t first,
                      std::uint64_t span, std::uint64_t unit, const std::string& bitmap,
                      const std::string& values) {
  std::string body;
  for (int shift = 56; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>(static_cast<std::uint64_t>(first) >> shift));
  body += Varint(span) + Varint(unit) + Varint(bitmap.size()) + bitmap + values;
  return std::string{'\4', static_cast<char>(type)} + Varint(count) + Varint(body.size()) + body;
}

TEST(GridChunkTest, EncodesTheDocumentedLayout) {
  // Every 10 us with the third reading lost: slots 0, 1, 3 of 4, bitmap 0b1011.
  EXPECT_EQ(EncodeChunk(std::vector<Sample>{
                {100, std::int64_t{5}}, {110, std::int64_t{3}}, {130, std::int64_t{3}}}),
            GridChunk(1, 3, 100, 30, 10, "\x0b", Group(4, {10, 3, 0})));
  // Every slot: no bitmap.
  EXPECT_EQ(EncodeChunk(std::vector<Sample>{
                {100, std::int64_t{5}}, {110, std::int64_t{3}}, {120, std::int64_t{3}}}),
            GridChunk(1, 3, 100, 20, 10, "", Group(4, {10, 3, 0})));
  // One sample: unit 1, one slot.
  EXPECT_EQ(EncodeChunk(std::vector<Sample>{{kMin, 2.5}}),
            GridChunk(3, 1, kMin, 0, 1, "", std::string("\0\1", 2) + Group(6, {50})));
  // Nine slots, the ninth in a second byte.
  EXPECT_EQ(EncodeChunk(std::vector<Sample>{{0, true}, {10, false}, {80, true}}),
            GridChunk(0, 3, 0, 80, 10, std::string("\x03\x01", 2), Group(1, {1, 0, 1})));
}

TEST(GridChunkTest, OnlyRisingTimestampsWithASmallBitmapMakeAGrid) {
  const auto version = [](const std::vector<Sample>& samples) {
    return static_cast<int>(EncodeChunk(samples).at(0));
  };
  // Two samples at one time: no grid.
  EXPECT_EQ(version({{10, 1.5}, {10, 2.5}, {20, 1.5}}), 3);
  // Microsecond jitter: a bitmap of every microsecond would be larger than the deltas.
  std::vector<Sample> jitter;
  std::mt19937_64 rng(4);
  for (std::int64_t i = 0; i < 500; ++i)
    jitter.push_back({kT0 + i * 10'000 + static_cast<std::int64_t>(rng() % 100), 1.0});
  EXPECT_EQ(version(jitter), 2);
  // Every 10 s with 1 in 8 lost: a grid, about a bit per reading for the timestamps.
  std::vector<Sample> readings;
  for (std::int64_t i = 0; i < 360; ++i) {
    if (rng() % 8 != 0 || i == 0 || i == 359) readings.push_back({kT0 + i * k10s, 1.0});
  }
  const std::string grid = EncodeChunk(readings);
  EXPECT_EQ(grid.at(0), '\4');
  EXPECT_LT(grid.size(), EncodeChunkV3(readings).size());
  // A regular signal costs nothing for its timestamps.
  std::vector<Sample> regular;
  for (std::int64_t i = 0; i < 360; ++i) regular.push_back({kT0 + i * k10s, std::int64_t{7}});
  const std::string every = EncodeChunk(regular);
  EXPECT_LT(every.size(), EncodeChunkV3(regular).size());
  // Version, type, count (2 bytes), body length, first, span (5 bytes), unit (4): then the
  // bitmap length, 0.
  ASSERT_EQ(every.at(0), '\4');
  EXPECT_EQ(every.at(22), '\0');
}

// Grid readings: `n` slots of `unit`, each present with probability `keep`, of `type`.
std::vector<Sample> GridSamples(std::size_t type, std::size_t n, std::int64_t unit, double keep,
                                std::mt19937_64& rng) {
  std::vector<Sample> samples;
  std::uniform_real_distribution<double> u(0, 1);
  std::int64_t level = 0;
  for (std::size_t k = 0; k < n; ++k) {
    level += static_cast<std::int64_t>(rng() % 9) - 4;
    if (k != 0 && u(rng) > keep) continue;
    const std::int64_t t = kT0 + static_cast<std::int64_t>(k) * unit;
    switch (type) {
      case 0:
        samples.push_back({t, level % 2 == 0});
        break;
      case 1:
        samples.push_back({t, level});
        break;
      case 2:
        samples.push_back({t, static_cast<std::uint64_t>(level) * 977});
        break;
      default:
        samples.push_back({t, rng() % 5 == 0 ? Bits(rng()) : static_cast<double>(level) / 10});
    }
  }
  return samples;
}

// Decodes to the samples as samples, as columns, in ranges and without timestamps (the values
// at the bitmap's slots); encodes back to the same bytes.
void ExpectGridRoundTrip(const std::vector<Sample>& samples) {
  const std::string chunk = EncodeChunk(samples);
  const auto decoded = Decoded(chunk);
  ExpectSame(decoded, Canonical(samples));
  EXPECT_EQ(EncodeChunk(decoded), chunk);
  // Ranges end before kMax: a sample at kMax is in no range.
  const bool at_max = decoded.back().timestamp_us == kMax;
  const Columns columns = ColumnsOf(chunk, kMin, kMax);
  ASSERT_EQ(columns.error, "");
  ASSERT_EQ(columns.t.size(), decoded.size() - (at_max ? 1 : 0));
  for (std::size_t i = 0; i < columns.t.size(); ++i)
    ASSERT_EQ(columns.t[i], decoded[i].timestamp_us);
  // From the middle: what DecodeBlockRange gives.
  const std::int64_t mid = decoded[decoded.size() / 2].timestamp_us;
  std::vector<Sample> tail;
  ASSERT_TRUE(DecodeBlockRange(chunk, mid, kMax, &tail));
  ExpectSame(tail,
             std::vector<Sample>(decoded.begin() + static_cast<std::ptrdiff_t>(decoded.size() / 2),
                                 decoded.end() - (at_max ? 1 : 0)));
  if (chunk.at(0) != '\4' || at_max) return;
  // Without timestamps: the values, and slots that give the timestamps back.
  Cells<std::int64_t> t;
  Cells<double> num;
  Cells<std::uint64_t> bits;
  const auto grid = DecodeGridColumns(chunk, kMin, kMax, {&t, &num, &bits});
  ASSERT_TRUE(grid) << grid.error().ToString();
  ASSERT_TRUE(grid.value().has_value());
  const GridColumns& g = *grid.value();
  EXPECT_TRUE(t.empty());
  ASSERT_EQ(num.size(), decoded.size());
  std::size_t i = 0;
  for (std::uint64_t k = 0; k < g.slots; ++k) {
    if (!g.bitmap.empty() && ((static_cast<unsigned char>(g.bitmap[k / 8]) >> (k % 8)) & 1) == 0)
      continue;
    ASSERT_LT(i, decoded.size());
    EXPECT_EQ(g.first_us + static_cast<std::int64_t>(k * g.unit), decoded[i].timestamp_us);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(num[i]), columns.num_bits[i]) << i;
    ++i;
  }
  EXPECT_EQ(i, decoded.size());
  EXPECT_EQ(bits.size(), g.type == 1 || g.type == 2 ? decoded.size() : 0u);
  // Not wholly in range, or another version: nothing.
  num.clear();
  EXPECT_FALSE(DecodeGridColumns(chunk, kMin, decoded.back().timestamp_us, {&t, &num, &bits})
                   .value()
                   .has_value());
  EXPECT_FALSE(DecodeGridColumns(EncodeChunkV3(samples), kMin, kMax, {&t, &num, &bits})
                   .value()
                   .has_value());
  EXPECT_TRUE(num.empty());
}

TEST(GridChunkTest, RoundTripsEveryNumericTypeAtEverySizeAndLoss) {
  std::mt19937_64 rng(2026);
  std::size_t grids = 0;
  for (const std::size_t n : {1, 2, 7, 8, 9, 63, 64, 65, 127, 128, 129, 1000, 36000}) {
    for (std::size_t type = 0; type < 4; ++type) {
      for (const double keep : {1.0, 0.99, 0.9, 0.5, 0.05}) {
        SCOPED_TRACE("n " + std::to_string(n) + " type " + std::to_string(type) + " keep " +
                     std::to_string(keep));
        const auto samples = GridSamples(type, n, k10s, keep, rng);
        grids += EncodeChunk(samples).at(0) == '\4' ? 1 : 0;
        ExpectGridRoundTrip(samples);
      }
    }
  }
  EXPECT_GT(grids, 200u);
  // At the ends of int64: slots computed modulo 2^64 stay exact.
  for (const auto& edge :
       {std::vector<Sample>{{kMin, 1.5}, {kMax, 2.5}},
        std::vector<Sample>{{kMax - 30, 1.5}, {kMax - 10, 2.5}, {kMax, 0.5}},
        std::vector<Sample>{{kMax - 31, 1.5}, {kMax - 11, 2.5}, {kMax - 1, 0.5}},
        std::vector<Sample>{{kMin, std::int64_t{1}}, {kMin + 7, std::int64_t{2}}}}) {
    ASSERT_EQ(EncodeChunk(edge).at(0), '\4');
    ExpectGridRoundTrip(edge);
  }
}

// Each check of a grid names what and where; cuts and bit flips give an error or a valid decode
// that every reader agrees with.
TEST(GridChunkTest, RejectsCorruptGridsNamingWhatAndWhere) {
  const std::string values = Group(4, {10, 3, 0});
  const auto error = [](const std::string& chunk) {
    std::vector<Sample> out;
    const auto status = DecodeBlock(chunk, &out);
    EXPECT_FALSE(status);
    if (status) return std::string();
    EXPECT_EQ(ColumnsOf(chunk, kMin, kMax).error, status.error().message());
    return status.error().message();
  };
  // The body starts at byte 4, the unit at byte 13, the bitmap length at 14, the bitmap at 15.
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 0, "\x0b", values)),
            "history block: timestamp unit 0 at byte 13");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 31, 10, "\x0b", values)),
            "history block: time span not a multiple of the unit at byte 13");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, std::string("\x0b\0", 2), values)),
            "history block: slot bitmap of the wrong length at byte 14");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, "\x0a", values)),
            "history block: grid whose first slot is empty at byte 15");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, "\x07", values)),
            "history block: grid whose last slot is empty at byte 15");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, "\x1b", values)),
            "history block: nonzero padding at byte 15");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, "\x0f", values)),
            "history block: slot bitmap without one slot per sample at byte 15");
  EXPECT_EQ(error(GridChunk(1, 3, 100, 30, 10, "", values)),
            "history block: grid without a bitmap but with empty slots at byte 14");
  EXPECT_THAT(error(GridChunk(1, 3, kMin, ~std::uint64_t{0}, 1, "", values)),
              StartsWith("history block: grid of more than 2^64 slots at byte "));
  EXPECT_THAT(error(GridChunk(1, 3, 100, 30, 10, "\x0b", values + "x")),
              StartsWith("history block: bytes after the value section at byte "));

  std::mt19937_64 rng(5);
  std::size_t flips = 0, detected = 0;
  for (int round = 0; round < 24; ++round) {
    const std::size_t n = std::array<std::size_t, 4>{1, 9, 65, 140}[round % 4];
    const auto samples = GridSamples(static_cast<std::size_t>(round) % 4, n, k10s, 0.8, rng);
    const std::string chunk = EncodeChunk(samples);
    ASSERT_EQ(chunk.at(0), '\4');
    std::vector<Sample> out;
    for (std::size_t cut = 1; cut < chunk.size(); ++cut)
      EXPECT_FALSE(DecodeBlock(chunk.substr(0, cut), &out)) << cut;
    for (std::size_t at = 0; at < chunk.size(); ++at) {
      std::string bytes = chunk;
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
      ++flips;
      out.clear();
      const auto status = DecodeBlock(bytes, &out);
      const Columns columns = ColumnsOf(bytes, kMin, kMax);
      Cells<std::int64_t> t;
      Cells<double> num;
      Cells<std::uint64_t> bits;
      const auto grid = DecodeGridColumns(bytes, kMin, kMax, {&t, &num, &bits});
      if (!status) {
        ++detected;
        EXPECT_EQ(columns.error, status.error().message());
        continue;
      }
      EXPECT_TRUE(std::is_sorted(out.begin(), out.end(), CanonicalLess));
      ASSERT_EQ(columns.error, "");
      ASSERT_TRUE(grid);
      if (grid.value()) {
        EXPECT_EQ(num.size(), out.size());
      }
    }
  }
  // Most flips land in values, which decode to other values.
  EXPECT_GT(detected, flips / 10);
}

}  // namespace
}  // namespace canvoy::fleet_store::storage
