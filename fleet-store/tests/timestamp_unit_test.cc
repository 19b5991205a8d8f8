// History chunks of version 3: version 2 with a timestamp unit, the greatest common divisor of
// the gaps between timestamps, so that readings every 10 s with some missing pack their
// timestamps as small counts of 10 s instead of as exceptions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
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
constexpr std::int64_t k10s = 10'000'000;

// Decodes exactly, as samples, as columns and from the middle on; encodes back to the same bytes.
void ExpectExact(const std::vector<Sample>& samples) {
  const std::string chunk = EncodeChunkV3(samples);
  const auto decoded = Decoded(chunk);
  ExpectSame(decoded, Canonical(samples));
  EXPECT_EQ(EncodeChunkV3(decoded), chunk);
  const Columns columns = ColumnsOf(chunk, kMin, kMax);
  ASSERT_EQ(columns.error, "");
  for (std::size_t i = 0; i < columns.t.size(); ++i)
    EXPECT_EQ(columns.t[i], decoded[i].timestamp_us);
  const std::int64_t from = decoded[decoded.size() / 2].timestamp_us;
  std::vector<Sample> tail;
  ASSERT_TRUE(DecodeBlockRange(chunk, from, kMax, &tail));
  std::vector<Sample> expected;
  for (const Sample& s : decoded) {
    if (s.timestamp_us >= from && s.timestamp_us < kMax) expected.push_back(s);
  }
  ExpectSame(tail, expected);
}

// The unit EncodeChunk chose: 1 for version 2.
std::uint64_t UnitOf(const std::vector<std::int64_t>& times) {
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < times.size(); ++i)
    samples.push_back({times[i], static_cast<std::int64_t>(i % 3)});
  ExpectExact(samples);
  return Parse(EncodeChunkV3(samples)).unit;
}

TEST(TimestampUnitTest, ReadingsWithMissingOnesPackTheirTimestampsWithoutExceptions) {
  std::mt19937_64 rng(10);
  std::vector<Sample> samples;
  std::int64_t t = kT0, tenths = 300;
  for (int i = 0; i < 360; ++i) {  // an hour every 10 s, about one reading in eight missing
    t += k10s;
    if (rng() % 8 == 0) continue;
    tenths += static_cast<std::int64_t>(rng() % 11) - 5;
    samples.push_back({t, static_cast<double>(tenths) / 10.0});
  }
  ExpectExact(samples);
  const std::string chunk = EncodeChunkV3(samples);
  ASSERT_EQ(chunk.at(0), '\3');
  const Layout layout = Parse(chunk);
  EXPECT_EQ(layout.unit, static_cast<std::uint64_t>(k10s));
  // Gaps of 1 to 4 units: residuals of at most 3 bits, in groups of at most that width.
  for (const auto& [width, exceptions] : layout.times) EXPECT_LE(width, 3u);
  const double time_bytes =
      static_cast<double>(layout.time_bytes.size()) / static_cast<double>(samples.size());
  std::printf("[ bytes/sample ] 10 s readings, 1 in 8 missing: timestamps %.3f, all %.3f\n",
              time_bytes, static_cast<double>(chunk.size()) / static_cast<double>(samples.size()));
  // In microseconds, each missing reading would be an exception of 5 bytes (an index and a
  // 25-bit varint): well over a byte per sample.
  EXPECT_LT(time_bytes, 0.5);
}

TEST(TimestampUnitTest, TheUnitIsTheGreatestCommonDivisorOfTheGaps) {
  EXPECT_EQ(UnitOf({0, 6, 10, 22}), 2u);
  EXPECT_EQ(UnitOf({5, 5, 10, 10, 10}), 5u);  // ties leave it alone
  EXPECT_EQ(UnitOf({-30, -10, 20}), 10u);
  EXPECT_EQ(UnitOf({kT0, kT0 + 3 * k10s, kT0 + 7 * k10s}), static_cast<std::uint64_t>(k10s));
  EXPECT_EQ(UnitOf({kMin, kMax}), kUMax);  // the one gap, 2^64 - 1
  EXPECT_EQ(UnitOf({kMin, 0, kMax}), 1u);  // gaps 2^63 and 2^63 - 1
  EXPECT_EQ(UnitOf({0, 10, 21}), 1u);
  EXPECT_EQ(UnitOf({7, 7}), 1u);  // no gap: version 2
  EXPECT_EQ(UnitOf({7}), 1u);
}

TEST(TimestampUnitTest, RejectsABadUnitNamingWhere) {
  // int64 5, 3, 3 at t 100, 110, 120: unit 10, timestamp residuals 0, zigzag(1), 0.
  const std::string times = Group(2, {0, 2, 0}), values = Group(4, {10, 3, 0});
  const auto chunk = [&](std::uint64_t unit) { return Chunk(1, 3, 100, 20, times, values, unit); };
  ASSERT_EQ(chunk(10),
            EncodeChunkV3(std::vector<Sample>{
                {100, std::int64_t{5}}, {110, std::int64_t{3}}, {120, std::int64_t{3}}}));
  // The unit is byte 13: version, type, count, body length, 8 bytes of first, the span.
  std::string one = chunk(10);
  one[13] = 1;
  std::string zero = chunk(10);
  zero[13] = 0;
  for (const std::string* bad : {&one, &zero}) {
    std::vector<Sample> out;
    const auto status = DecodeBlock(*bad, &out);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().message(), "history block: timestamp unit below 2 at byte 13");
    EXPECT_EQ(ColumnsOf(*bad, kMin, kMax).error, status.error().message());
  }
  std::vector<Sample> out;
  // A unit that is not the gaps' divisor ends elsewhere than the header says.
  const auto wrong = DecodeBlock(chunk(20), &out);
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message(),
              ::testing::StartsWith("history block: timestamp past the header's last"));
  const auto short_unit = DecodeBlock(chunk(5), &out);
  ASSERT_FALSE(short_unit);
  EXPECT_THAT(short_unit.error().message(),
              ::testing::StartsWith("history block: last timestamp differs from the header"));
  // A body that ends at the span.
  std::string cut = chunk(10).substr(0, 13);
  cut[3] = 9;  // the body length
  const auto truncated = DecodeBlock(cut, &out);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().message(), "history block: truncated timestamp unit at byte 13");
  // Strings have no version 3.
  const auto strings = DecodeBlock(Chunk(4, 1, 0, 0, Group(0, {0}), "", 10), &out);
  ASSERT_FALSE(strings);
  EXPECT_EQ(strings.error().message(), "history block: string chunk in version 3 at byte 1");
}

}  // namespace
}  // namespace canvoy::fleet_store::storage
