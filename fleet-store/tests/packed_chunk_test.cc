// History chunks of version 2 ("packed"): the layout history_block.h documents, exact round trips
// of every numeric type at every group size and width, version 1 chunks read beside them,
// precise errors for corrupt input, and sizes against version 1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <utility>

#include "packed_layout_testing.h"
#include "sample_testing.h"
#include "storage/history_block.h"

namespace canvoy::fleet_store::storage {
namespace {

using ::testing::StartsWith;

using namespace testing_samples;
using namespace testing_packed;
constexpr std::int64_t k10s = 10'000'000;

TEST(PackedChunkTest, EncodesTheDocumentedLayout) {
  // t 100, 110, 121 (gaps 10 and 11: unit 1): residuals 0, zigzag(10) = 20, zigzag(1) = 2 at
  // width 5 (2 bytes; width 0 would take 4 in exceptions).
  const std::string times = Group(5, {0, 20, 2});
  // int64 5, 3, 3: residuals zigzag(5) = 10, zigzag(-2) = 3, 0 at width 4.
  EXPECT_EQ(EncodeChunkV3(std::vector<Sample>{
                {100, std::int64_t{5}}, {110, std::int64_t{3}}, {121, std::int64_t{3}}}),
            Chunk(1, 3, 100, 21, times, Group(4, {10, 3, 0})));
  // Version 3: t 100, 110, 120 have the unit 10, residuals 0, zigzag(1) = 2, 0 at width 2.
  EXPECT_EQ(EncodeChunkV3(std::vector<Sample>{
                {100, std::int64_t{5}}, {110, std::int64_t{3}}, {120, std::int64_t{3}}}),
            Chunk(1, 3, 100, 20, Group(2, {0, 2, 0}), Group(4, {10, 3, 0}), 10));
  // Decimal doubles: 13.7 and 0.1 are n / 10 for n = 137, 1: residuals 274, 271 at width 9.
  EXPECT_EQ(
      EncodeChunkV3(std::vector<Sample>{{0, 13.7}, {10, 0.1}}),
      Chunk(3, 2, 0, 10, Group(2, {0, 2}), std::string("\0\1", 2) + Group(9, {274, 271}), 10));
  // -0.0 is no decimal: xor scheme, group shift 63, residual 1 at width 1.
  EXPECT_EQ(EncodeChunkV3(std::vector<Sample>{{kMin, -0.0}}),
            Chunk(3, 1, kMin, 0, Group(0, {0}), std::string("\1\x3f") + Group(1, {1})));
  // Bools: the bits, false before true at one timestamp.
  EXPECT_EQ(EncodeChunkV3(std::vector<Sample>{{7, true}, {7, false}}),
            Chunk(0, 2, 7, 0, Group(0, {0, 0}), Group(1, {0, 1})));
  // Strings stay in version 1.
  EXPECT_EQ(EncodeChunkV3(std::vector<Sample>{{7, std::string("a")}})[0], '\1');
}

// ---- round trips ---------------------------------------------------------------------------

// Values of type `type` from `pattern`: random bits, a walk, edge values, decimals, constants.
SignalValue Value(std::size_t type, int pattern, std::size_t i, std::mt19937_64& rng) {
  const std::uint64_t r = rng();
  const std::uint64_t edges[] = {0, 1, kUMax, kUMax / 2, kUMax / 2 + 1, r, 42};
  // Zeros, infinities, NaNs with payloads, denormals, decimals, 2^53 and its neighbours.
  // clang-format off
  const double specials[] = {0.0, -0.0, kInf, -kInf, Bits(0x7FF8'0000'0000'0001),
      Bits(0xFFF0'0000'0000'0001), Bits(0x7FF4'0000'DEAD'BEEF), Bits(1),
      Bits(0x800F'FFFF'FFFF'FFFF), std::numeric_limits<double>::max(), 13.7, 0.1, 1e-300,
      9007199254740992.0, 9007199254740991.0, -9007199254740993.0};
  // clang-format on
  const std::uint64_t u = pattern == 0   ? r
                          : pattern == 1 ? static_cast<std::uint64_t>(i * 7 - (r % 5) * 3)
                          : pattern == 2 ? edges[r % 7]
                                         : 5;
  switch (type) {
    case 0:
      return pattern == 3 ? true : (r & 1) != 0;
    case 1:
      return static_cast<std::int64_t>(u);
    case 2:
      return u;
    default: {
      const auto e = static_cast<int>(i % 19);  // decimals of every exponent
      return pattern == 0   ? Bits(r)
             : pattern == 1 ? static_cast<double>(static_cast<std::int64_t>(r % 2001) - 1000) /
                                  std::pow(10.0, e)
             : pattern == 2 ? specials[r % 16]
                            : 21.5;
    }
  }
}

std::vector<Sample> Samples(std::size_t type, std::size_t n, int time_pattern, int value_pattern,
                            std::mt19937_64& rng) {
  std::vector<Sample> samples(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto step = static_cast<std::int64_t>(i);
    samples[i].timestamp_us = time_pattern == 0   ? kT0 + step * k10s  // regular
                              : time_pattern == 1 ? static_cast<std::int64_t>(rng())
                              : time_pattern == 2 ? kT0 + static_cast<std::int64_t>(rng() % 3)
                                                  : (rng() & 1 ? kMax : kMin);
    samples[i].value = Value(type, value_pattern, i, rng);
  }
  return samples;
}

// The chunk of `samples` is version 2 or 3 and decodes to them in canonical order, as samples and
// as columns; encoding the decoded samples gives the same bytes.
void ExpectRoundTrip(const std::vector<Sample>& samples) {
  const std::string chunk = EncodeChunkV3(samples);
  ASSERT_TRUE(chunk.at(0) == '\2' || chunk.at(0) == '\3');
  const auto decoded = Decoded(chunk);
  ExpectSame(decoded, Canonical(samples));
  EXPECT_EQ(EncodeChunkV3(decoded), chunk);
  Parse(chunk);  // the documented layout, every byte accounted for
  const Columns columns = ColumnsOf(chunk, kMin, kMax);
  ASSERT_EQ(columns.error, "");
  std::size_t i = 0;
  for (; i < decoded.size() && decoded[i].timestamp_us != kMax; ++i) {
    ASSERT_EQ(columns.t.at(i), decoded[i].timestamp_us);
    const double* d = std::get_if<double>(&decoded[i].value);
    EXPECT_TRUE(!d || columns.num_bits.at(i) == std::bit_cast<std::uint64_t>(*d)) << i;
  }
  EXPECT_EQ(columns.t.size(), i);
}

TEST(PackedChunkTest, RoundTripsEveryNumericTypeAtEveryChunkSize) {
  std::mt19937_64 rng(20250101);
  for (const std::size_t n : {1, 2, 63, 64, 65, 128, 129, 1000}) {
    for (std::size_t type = 0; type < 4; ++type) {
      for (int time_pattern = 0; time_pattern < 4; ++time_pattern) {
        for (int value_pattern = 0; value_pattern < 4; ++value_pattern) {
          SCOPED_TRACE("n " + std::to_string(n) + " type " + std::to_string(type) + " time " +
                       std::to_string(time_pattern) + " value " + std::to_string(value_pattern));
          auto samples = Samples(type, n, time_pattern, value_pattern, rng);
          if (rng() & 1) std::shuffle(samples.begin(), samples.end(), rng);
          ExpectRoundTrip(samples);
        }
      }
    }
  }
}

TEST(PackedChunkTest, RoundTripsEdgeValuesAndDuplicates) {
  ExpectRoundTrip({{kMax, std::int64_t{kMin}},
                   {kMin, std::int64_t{kMax}},
                   {0, std::int64_t{0}},
                   {kMax, std::int64_t{kMax}},
                   {kMin, std::int64_t{kMin}},
                   {kMin, std::int64_t{kMin}},  // a duplicate is kept
                   {-1, std::int64_t{-1}}});
  ExpectRoundTrip({{5, kUMax}, {5, std::uint64_t{0}}, {5, kUMax}, {kMax, std::uint64_t{1}}});
  ExpectRoundTrip({{1, 0.0},
                   {1, -0.0},
                   {1, -0.0},
                   {2, Bits(0x7FF8'0000'0000'0000)},
                   {2, Bits(0xFFFF'FFFF'FFFF'FFFF)},
                   {3, kInf},
                   {3, -kInf},
                   {4, Bits(1)},
                   {5, 1e-300},
                   {6, 9007199254740992.0},
                   {kMax, std::numeric_limits<double>::max()},
                   {kMin, std::numeric_limits<double>::lowest()}});
  ExpectRoundTrip({{kMax, true}, {kMax, false}, {kMin, true}, {kMin, true}});
}

// Which double scheme and exponent a chunk of these values gets.
std::pair<int, int> DoubleScheme(const std::vector<double>& values) {
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < values.size(); ++i)
    samples.push_back({kT0 + static_cast<std::int64_t>(i) * k10s, values[i]});
  ExpectRoundTrip(samples);
  const Layout layout = Parse(EncodeChunkV3(samples));
  return {layout.scheme, layout.exponent};
}

TEST(PackedChunkTest, DoublesTakeTheSmallestDecimalExponentOrXor) {
  using P = std::pair<int, int>;
  EXPECT_EQ(DoubleScheme({42.0, 43.0, 0.0, -7.0}), P(0, 0));
  EXPECT_EQ(DoubleScheme({13.7, 0.1, 20.0}), P(0, 1));
  EXPECT_EQ(DoubleScheme({0.001, 5.0, -2.25}), P(0, 3));
  EXPECT_EQ(DoubleScheme({3e-18, -5e-17}), P(0, 18));
  EXPECT_EQ(DoubleScheme({9007199254740991.0, -9007199254740991.0}), P(0, 0));
  EXPECT_EQ(DoubleScheme({1e-19}), P(1, -1));               // e would be 19
  EXPECT_EQ(DoubleScheme({1e-300}), P(1, -1));              // no e
  EXPECT_EQ(DoubleScheme({9007199254740992.0}), P(1, -1));  // n = 2^53 is out of range
  EXPECT_EQ(DoubleScheme({1.0, -0.0}), P(1, -1));           // -0.0 is not 0 / 10^e
  EXPECT_EQ(DoubleScheme({1.0, std::nan("")}), P(1, -1));   // NaN never reaches llround
  EXPECT_EQ(DoubleScheme({kInf}), P(1, -1));
  EXPECT_EQ(DoubleScheme({std::numeric_limits<double>::max()}), P(1, -1));
  EXPECT_EQ(DoubleScheme({Bits(1)}), P(1, -1));    // a denormal
  EXPECT_EQ(DoubleScheme({0.1 + 0.2}), P(1, -1));  // 0.30000000000000004: n would be 2^54+
}

// Values whose residuals are residual(i): uint64s, or decimal doubles n / 10.
std::vector<Sample> WithResiduals(std::size_t n, bool decimal, const auto& residual) {
  std::vector<Sample> samples;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = residual(i);
    v += (r >> 1) ^ (0 - (r & 1));
    const double d = static_cast<double>(static_cast<std::int64_t>(v)) / 10;
    samples.push_back(
        {kT0 + static_cast<std::int64_t>(i) * k10s, decimal ? SignalValue(d) : SignalValue(v)});
  }
  return samples;
}

TEST(PackedChunkTest, PacksGroupsAtEveryWidthWithAndWithoutExceptions) {
  std::mt19937_64 rng(64);
  const auto of_width = [&rng](unsigned bits) -> std::uint64_t {  // exactly `bits` bits
    const std::uint64_t top = bits == 0 ? 0 : std::uint64_t{1} << (bits - 1);
    return bits == 0 ? 0 : top | (rng() & (top - 1));
  };
  for (const unsigned w : {0u, 1u, 2u, 7u, 8u, 24u, 25u, 31u, 40u, 56u, 57u, 58u, 63u, 64u}) {
    for (const std::size_t n : {1, 63, 64, 65, 128, 129}) {
      for (const bool decimal : {false, true}) {
        if (decimal && (w == 0 || w > 40 || n == 1)) continue;  // n below 2^53, e is 1
        SCOPED_TRACE("width " + std::to_string(w) + " n " + std::to_string(n) +
                     (decimal ? " decimal" : ""));
        // Three wider residuals in every group (as n allows for decimals): 3 exceptions.
        const unsigned wide = decimal ? std::min(w + 12, 45u) : 64;
        const auto plain = WithResiduals(n, decimal, [&](std::size_t) { return of_width(w); });
        const auto patched = WithResiduals(n, decimal, [&](std::size_t i) {
          return i % 64 == 0 || i % 64 == 31 || i % 64 == 63 ? of_width(wide) : of_width(w);
        });
        for (const auto* samples : {&plain, &patched}) {
          ExpectRoundTrip(*samples);
          const Layout layout = Parse(EncodeChunkV3(*samples));
          EXPECT_EQ(layout.exponent, decimal ? 1 : -1);
          for (std::size_t k = 0; k < layout.values.size(); ++k) {
            if (samples == &patched && k == n / 64) break;  // a short last group may differ
            EXPECT_EQ(layout.values[k].first, w);
            EXPECT_EQ(layout.values[k].second, samples == &plain || w == 64 ? 0u : 3u);
          }
        }
      }
    }
  }
  // Timestamps anywhere in int64: wide timestamp groups.
  const auto wide = Samples(1, 200, 1, 0, rng);
  ExpectRoundTrip(wide);
  EXPECT_GE(Parse(EncodeChunkV3(wide)).times.at(1).first, 50u);
}

// ---- version 1 beside version 2 ------------------------------------------------------------

// Chunks of consecutive (or, in odd rounds, shuffled) samples, version 1 where version1(i).
std::string Block(const std::vector<Sample>& samples, const std::vector<std::size_t>& cuts,
                  const auto& version1) {
  std::string block;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const auto part = std::span(samples).subspan(cuts[i], cuts[i + 1] - cuts[i]);
    block += version1(i) ? EncodeChunkV1(part) : EncodeChunk(part);
  }
  return block;
}

TEST(PackedChunkTest, MixedVersionBlocksDecodeAsVersion1Blocks) {
  std::mt19937_64 rng(12);
  std::size_t as_columns = 0;
  for (int round = 0; round < 300; ++round) {
    auto samples = Canonical(Samples(round % 4, 1 + rng() % 400, rng() % 3, rng() % 4, rng));
    if (round % 2 == 1) std::shuffle(samples.begin(), samples.end(), rng);
    std::vector<std::size_t> cuts = {0};
    while (cuts.back() < samples.size())
      cuts.push_back(std::min(samples.size(), cuts.back() + 1 + rng() % 150));
    const std::string v1 = Block(samples, cuts, [](std::size_t) { return true; });
    const std::string mixed = Block(samples, cuts, [](std::size_t i) { return i % 2 == 0; });
    const std::string v2 = Block(samples, cuts, [](std::size_t) { return false; });
    ASSERT_EQ(CountChunks(mixed).value(), cuts.size() - 1);
    const std::int64_t from = samples[rng() % samples.size()].timestamp_us - 1;
    const std::int64_t to = round % 3 == 0 ? kMax : samples[rng() % samples.size()].timestamp_us;
    std::vector<Sample> range_v1;
    ASSERT_TRUE(DecodeBlockRange(v1, from, to, &range_v1));
    const Columns columns_v1 = ColumnsOf(v1, from, to);
    ASSERT_EQ(columns_v1.error, "");
    as_columns += columns_v1.type.has_value();
    for (const std::string* block : {&mixed, &v2}) {
      SCOPED_TRACE("round " + std::to_string(round) + (block == &v2 ? " v2" : " mixed"));
      ExpectSame(Decoded(*block), Decoded(v1));
      std::vector<Sample> range;
      ASSERT_TRUE(DecodeBlockRange(*block, from, to, &range));
      ExpectSame(range, range_v1);
      EXPECT_TRUE(ColumnsOf(*block, from, to) == columns_v1);
      EXPECT_EQ(CompactBlock(*block).value(), CompactBlock(v1).value());
    }
  }
  EXPECT_GT(as_columns, 60u);
}

// ---- corrupt input -------------------------------------------------------------------------

// DecodeBlock, DecodeBlockColumns and CompactBlock all fail with "history block: <what> at
// byte N".
void ExpectCorrupt(const std::string& chunk, const std::string& what) {
  SCOPED_TRACE(what);
  std::vector<Sample> out;
  const auto status = DecodeBlock(chunk, &out);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), Errc::kStorage);
  EXPECT_THAT(status.error().message(), StartsWith("history block: " + what + " at byte "));
  EXPECT_EQ(ColumnsOf(chunk, kMin, kMax).error, status.error().message());
  EXPECT_FALSE(CompactBlock(chunk));
}

TEST(PackedChunkTest, RejectsCorruptChunksNamingWhatAndWhere) {
  // The valid chunk of EncodesTheDocumentedLayout: int64 5, 3, 3 at t 100, 110, 120.
  const std::string times = Group(0, {0, 0, 0}, {{1, 20}}), values = Group(4, {10, 3, 0});
  const auto int64s = [](const std::string& t, const std::string& v, std::uint64_t span = 20) {
    return Chunk(1, 3, 100, span, t, v);
  };
  ASSERT_EQ(Decoded(int64s(times, values)).size(), 3u);
  // Byte 14 starts the timestamp section, byte 18 the value section.
  EXPECT_EQ(
      ColumnsOf(int64s(times, std::string("\x41\0", 2) + std::string(25, '\0')), 0, kMax).error,
      "history block: group width over 64 bits at byte 18");
  EXPECT_EQ(ColumnsOf(int64s(times + '\0', values), 0, kMax).error,
            "history block: bytes after the timestamp section at byte 18");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}, {{3, 20}}), values), "exception index past the group");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}, {{1, 20}, {1, 4}}), values),
                "exception indexes not increasing");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}, {{2, 4}, {1, 20}}), values),
                "exception indexes not increasing");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}, {{1, 0}}), values), "zero exception");
  ExpectCorrupt(int64s(times, Group(60, {10, 3, 0}, {{0, 0x1F}})), "exception wider than 64 bits");
  ExpectCorrupt(int64s(times, Group(4, {10, 3, 0}, {{0, 1}}).substr(0, 5)), "truncated exception");
  ExpectCorrupt(int64s(times, std::string("\4\4\x3A\0", 4)),
                "more exceptions than samples in a group");
  ExpectCorrupt(int64s(times, values.substr(0, 3)), "truncated group");
  ExpectCorrupt(int64s(times, std::string("\4\0\x3A\x10", 4)), "nonzero padding");
  ExpectCorrupt(int64s(times, values + '\0'), "bytes after the value section");
  ExpectCorrupt(int64s(times.substr(0, 1), values), "more samples than the body holds");
  ExpectCorrupt(int64s(times.substr(0, 3), values), "truncated exception");
  ExpectCorrupt(Chunk(1, 3, 100, 20, "", "").substr(0, 13) + Varint(9) + times,
                "truncated timestamp section");
  ExpectCorrupt(int64s(times, values, 21), "last timestamp differs from the header");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}, {{0, 2}, {1, 20}}), values),
                "first timestamp residual not zero");
  // t 100, 110, 100 (dods +10, -20); then t 100 three times with values 5, 3, 3.
  ExpectCorrupt(int64s(Group(6, {0, 20, 39}), values, 0), "samples out of order");
  ExpectCorrupt(int64s(Group(0, {0, 0, 0}), values, 0), "samples out of order");
  // Other types.
  ExpectCorrupt(Chunk(0, 1, 0, 0, Group(0, {0}), Group(2, {2})), "bool value not 0 or 1");
  ExpectCorrupt(Chunk(4, 1, 0, 0, Group(0, {0}), Group(0, {0})), "string chunk in version 2");
  const auto doubles = [](const std::string& v) { return Chunk(3, 1, 0, 0, Group(0, {0}), v); };
  ASSERT_EQ(Decoded(doubles(std::string("\0\1", 2) + Group(2, {2}))).size(), 1u);
  ExpectCorrupt(doubles(std::string("\2\1", 2) + Group(2, {2})), "unknown double scheme 2");
  ExpectCorrupt(doubles(std::string("\0\x13", 2) + Group(2, {2})), "decimal exponent over 18");
  ExpectCorrupt(doubles(std::string("\0\1", 2) + Group(55, {std::uint64_t{1} << 54})),
                "decimal value out of range");
  ExpectCorrupt(doubles(std::string("\0\1", 2) + Group(55, {(std::uint64_t{1} << 54) - 1})),
                "decimal value out of range");
  ASSERT_EQ(
      Decoded(doubles(std::string("\0\1", 2) + Group(54, {(std::uint64_t{1} << 54) - 3}))).size(),
      1u);  // n = -(2^53 - 1)
  ExpectCorrupt(doubles("\1\1" + Group(2, {2})), "xor shift not minimal");
  ExpectCorrupt(doubles(std::string("\1\0", 2) + Group(0, {0}) + Group(0, {0})),
                "bytes after the value section");
  ExpectCorrupt(doubles("\1\x3f" + Group(2, {3})), "xor past 64 bits");
  ExpectCorrupt(doubles("\1\x40" + Group(1, {1})), "xor shift over 63");
}

// A chunk whose header claims an earlier last timestamp than its samples reach is found out at
// the first sample past it, not only at its end: a read that stops at the end of its range never
// hands one out, so the headers of a block order its chunks' samples (the fuzz target found a
// column read returning 10, 22, 20, 25 here).
TEST(PackedChunkTest, ASamplePastTheHeadersLastTimestampFailsAtOnceInEveryVersion) {
  const std::vector<Sample> a = {{0, 1.5}, {10, 2.5}, {22, 3.5}, {30, 4.5}};
  const std::vector<Sample> b = {{20, 5.5}, {25, 6.5}};
  using Encoder = std::string (*)(std::span<const Sample>);
  for (const Encoder encode :
       {Encoder{&EncodeChunkV1}, Encoder{&EncodeChunkV2}, Encoder{&EncodeChunkV3}}) {
    std::string first = encode(a);
    // The span follows version, type, count, body length and 8 bytes of first timestamp.
    ASSERT_EQ(first.at(12), '\x1e');  // 30
    first[12] = 15;
    const std::string block = first + encode(b);
    SCOPED_TRACE("version " + std::to_string(block[0]));
    std::vector<Sample> range;
    const auto range_status = DecodeBlockRange(block, 1, 29, &range);
    ASSERT_FALSE(range_status);
    EXPECT_THAT(range_status.error().message(),
                StartsWith("history block: timestamp past the header's last at byte "));
    EXPECT_EQ(ColumnsOf(block, 1, 29).error, range_status.error().message());
    ExpectCorrupt(block, "timestamp past the header's last");
  }
}

// Every cut of either section and many single-bit flips of version 2 chunks give an error or a
// valid decode; the sanitizers of the dev build catch any read out of bounds.
TEST(PackedChunkTest, SurvivesCutsAndFlippedBitsOfEveryByte) {
  std::mt19937_64 rng(99);
  std::size_t flips = 0, detected = 0;
  for (int round = 0; round < 48; ++round) {
    const std::size_t n = std::array<std::size_t, 6>{1, 5, 63, 64, 65, 140}[round % 6];
    const auto samples = Samples(round % 4, n, round / 12, static_cast<int>(rng() % 4), rng);
    const std::string chunk = EncodeChunkV3(samples);
    // Cuts inside a section, with the lengths made to fit: never a valid chunk.
    const Layout layout = Parse(chunk);
    const std::string &times = layout.time_bytes, &values = layout.value_bytes;
    const auto rebuilt = [&](const std::string& t, const std::string& v) {
      return Chunk(static_cast<std::uint8_t>(layout.type), n, layout.first, layout.span, t, v,
                   layout.unit);
    };
    ASSERT_EQ(rebuilt(times, values), chunk);
    std::vector<Sample> out;
    const auto fails = [&out](std::string_view block) {
      out.clear();
      return !DecodeBlock(block, &out);
    };
    for (std::size_t cut = 1; cut < chunk.size(); ++cut) {
      EXPECT_TRUE(fails(chunk.substr(0, cut))) << cut;
      EXPECT_TRUE(cut > times.size() || fails(rebuilt(times.substr(0, cut - 1), values))) << cut;
      EXPECT_TRUE(cut > values.size() || fails(rebuilt(times, values.substr(0, cut - 1)))) << cut;
    }
    // Flips of every byte (each bit in chunks of up to 200 bytes, one random bit otherwise).
    for (std::size_t at = 0; at < chunk.size(); ++at) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        if (chunk.size() > 200 && bit != rng() % 8) continue;
        std::string bytes = chunk;
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
        ++flips;
        out.clear();
        const auto status = DecodeBlock(bytes, &out);
        std::vector<Sample> range;
        const auto range_status = DecodeBlockRange(bytes, kT0, kT0 + 100 * k10s, &range);
        const Columns columns = ColumnsOf(bytes, kMin, kMax);
        (void)CountChunks(bytes), (void)CompactBlock(bytes);
        if (!status) {
          ++detected;
          EXPECT_EQ(status.error().code(), Errc::kStorage);
          continue;
        }
        // A valid decode: canonical samples, and the other readers agree.
        EXPECT_TRUE(std::is_sorted(out.begin(), out.end(), CanonicalLess));
        EXPECT_TRUE(range_status);
        ASSERT_EQ(columns.error, "");
        const auto below_max = std::count_if(
            out.begin(), out.end(), [](const Sample& s) { return s.timestamp_us != kMax; });
        EXPECT_TRUE(!columns.type || columns.t.size() == static_cast<std::size_t>(below_max));
      }
    }
  }
  std::printf("[ flips ] %zu of %zu single-bit flips detected\n", detected, flips);
  EXPECT_GT(detected, flips / 4);
}

// ---- sizes ---------------------------------------------------------------------------------

TEST(PackedChunkTest, PacksSlowSignalsTightlyAndDecimalNoiseSmallerThanVersion1) {
  std::mt19937_64 rng(7);
  std::vector<Sample> slow, soc, noisy;
  for (std::int64_t i = 0; i < 360; ++i) {  // an hour at 0.1 Hz, one key
    // A temperature in 0.1 steps that moves every 5 minutes; a state of charge every 15.
    slow.push_back({kT0 + i * k10s, 21.5 + 0.1 * static_cast<double>(i / 30 % 4)});
    soc.push_back({kT0 + i * k10s, static_cast<double>(80 - i / 90)});
  }
  std::int64_t t = kT0, tenths = 215;
  while (noisy.size() < 3600) {
    t += k10s;
    if (rng() % 100 == 0) continue;  // a few readings missing
    tenths += static_cast<std::int64_t>(rng() % 7) - 3;
    noisy.push_back({t, static_cast<double>(tenths) / 10.0});
  }
  const auto per_sample = [](const std::string& chunk, const std::vector<Sample>& samples) {
    return static_cast<double>(chunk.size()) / static_cast<double>(samples.size());
  };
  const double slow_v2 = per_sample(EncodeChunkV3(slow), slow),
               soc_v2 = per_sample(EncodeChunkV3(soc), soc),
               noisy_v1 = per_sample(EncodeChunkV1(noisy), noisy),
               noisy_v2 = per_sample(EncodeChunkV3(noisy), noisy);
  std::printf("[ bytes/sample ] 0.1-step temperature, 10 s: v1 %.3f, v2 %.3f\n",
              per_sample(EncodeChunkV1(slow), slow), slow_v2);
  std::printf("[ bytes/sample ] state of charge, 10 s: v1 %.3f, v2 %.3f\n",
              per_sample(EncodeChunkV1(soc), soc), soc_v2);
  std::printf("[ bytes/sample ] decimal noise, 10 s, 1%% missing: v1 %.3f, v2 %.3f\n", noisy_v1,
              noisy_v2);
  EXPECT_LT(slow_v2, 0.25);
  EXPECT_LT(soc_v2, 0.25);
  EXPECT_LT(noisy_v2, noisy_v1);
  ExpectRoundTrip(slow);
  ExpectRoundTrip(noisy);
}

}  // namespace
}  // namespace canvoy::fleet_store::storage
