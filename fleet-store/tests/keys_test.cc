// The byte layouts that the README promises: ordering of keys, exactness of values.
#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <limits>

#include "storage/encoding.h"
#include "storage/values.h"
#include "test_support.h"

namespace canvoy::fleet_store::storage {
namespace {

using test_support::Stream;
using test_support::V;

TEST(KeysTest, OrderedInt64SortsLikeTheNumbers) {
  const std::int64_t values[] = {
      std::numeric_limits<std::int64_t>::min(), -1'000'000, -1, 0, 1, 1'700'000'000'000'000,
      std::numeric_limits<std::int64_t>::max()};
  std::string previous;
  for (auto v : values) {
    std::string encoded;
    AppendOrderedInt64(encoded, v);
    EXPECT_LT(previous, encoded) << v;
    Reader reader(encoded);
    EXPECT_EQ(reader.OrderedInt64(), v);
    previous = encoded;
  }
}

TEST(KeysTest, SeriesKeysOfOneSignalSortBySpanStart) {
  const auto vin = V(test_support::kVin1);
  const auto a = SeriesKey(vin, "Vehicle.Speed", -kHourUs);
  const auto b = SeriesKey(vin, "Vehicle.Speed", 0);
  const auto c = SeriesKey(vin, "Vehicle.Speed", kHourUs);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_TRUE(a.starts_with(SeriesPrefix(vin, "Vehicle.Speed")));
  EXPECT_EQ(SeriesKeyStart(a), -kHourUs);
  EXPECT_EQ(SeriesKeyStart(c), kHourUs);
  // A signal whose name extends another's is outside the other's prefix.
  EXPECT_FALSE(SeriesKey(vin, "Vehicle.SpeedLimit", 0).starts_with(SeriesPrefix(vin, "Vehicle.Speed")));
}

TEST(KeysTest, FloorToRoundsTowardsMinusInfinityAndSaturates) {
  EXPECT_EQ(FloorTo(0, kHourUs), 0);
  EXPECT_EQ(FloorTo(kHourUs - 1, kHourUs), 0);
  EXPECT_EQ(FloorTo(-1, kHourUs), -kHourUs);
  EXPECT_EQ(FloorTo(-kHourUs, kHourUs), -kHourUs);
  EXPECT_EQ(FloorTo(std::numeric_limits<std::int64_t>::min(), kHourUs),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_LE(FloorTo(std::numeric_limits<std::int64_t>::max(), kHourUs),
            std::numeric_limits<std::int64_t>::max());
}

TEST(KeysTest, OffsetKeyRoundTrips) {
  auto parts = ParseOffsetKey(OffsetKey("canvoy.telemetry.v1", 7));
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->topic, "canvoy.telemetry.v1");
  EXPECT_EQ(parts->partition, 7);
  EXPECT_FALSE(ParseOffsetKey("no separator"));
}

TEST(KeysTest, RejectedKeyRoundTrips) {
  auto parts = ParseRejectedKey(RejectedKey("canvoy.telemetry.v1", 7, 123456789));
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->topic, "canvoy.telemetry.v1");
  EXPECT_EQ(parts->partition, 7);
  EXPECT_EQ(parts->offset, 123456789);
  EXPECT_FALSE(ParseRejectedKey("no separator"));
}

TEST(KeysTest, PrefixEndIsAboveEveryKeyWithThePrefix) {
  EXPECT_EQ(PrefixEnd(std::string("ab\xff", 3)), "ac");
  EXPECT_LT(std::string("ab\xff\xff", 4), PrefixEnd("ab"));
}

TEST(ValuesTest, LatestValuesRoundTripBitForBit) {
  const SignalValue values[] = {true, std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::uint64_t>::max(), -0.0,
                                std::string("D\0x", 3)};
  for (const auto& value : values) {
    LatestRecord record{"km/h", Sample{-42, value}};
    auto decoded = DecodeLatest(EncodeLatest(record));
    ASSERT_TRUE(decoded) << decoded.error().ToString();
    EXPECT_EQ(decoded.value().unit, "km/h");
    EXPECT_EQ(decoded.value().sample.timestamp_us, -42);
    EXPECT_EQ(decoded.value().sample.value.index(), value.index());
    EXPECT_EQ(decoded.value().sample.value, value);
  }
  auto nan = DecodeLatest(EncodeLatest({"", Sample{0, std::numeric_limits<double>::quiet_NaN()}}));
  EXPECT_TRUE(std::isnan(std::get<double>(nan.value().sample.value)));
  auto negative_zero = DecodeLatest(EncodeLatest({"", Sample{0, -0.0}}));
  EXPECT_TRUE(std::signbit(std::get<double>(negative_zero.value().sample.value)));
}

TEST(ValuesTest, TruncatedValuesAreReportedAsCorrupt) {
  auto bytes = EncodeLatest({"unit", Sample{1, std::int64_t{5}}});
  bytes.pop_back();
  EXPECT_EQ(DecodeLatest(bytes).error().code(), Errc::kStorage);
  EXPECT_EQ(DecodeVehicle("\x01short").error().code(), Errc::kStorage);
}

}  // namespace
TEST(DedupRecordTest, RangesMergeInAnyInsertionOrderAndRoundTrip) {
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t s = 0; s < 200; ++s) {
    if (s % 50 != 7) seqs.push_back(s);  // holes at 7, 57, 107, 157
  }
  seqs.push_back(5000);  // a jump, as after an agent restart
  std::mt19937_64 rng(42);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(seqs.begin(), seqs.end(), rng);
    DedupRecord record;
    for (auto s : seqs) {
      EXPECT_FALSE(record.Contains(s)) << s;
      record.Insert(s);
      EXPECT_TRUE(record.Contains(s)) << s;
      record.Insert(s);  // again: no change
    }
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> expected = {
        {0, 6}, {8, 56}, {58, 106}, {108, 156}, {158, 199}, {5000, 5000}};
    EXPECT_EQ(record.ranges, expected);
    for (std::uint64_t hole : {7, 57, 107, 157, 200, 4999, 5001}) EXPECT_FALSE(record.Contains(hole));
    record.updated_us = -12;
    auto decoded = DecodeDedup(EncodeDedup(record));
    ASSERT_TRUE(decoded) << decoded.error().ToString();
    EXPECT_EQ(decoded.value().ranges, expected);
    EXPECT_EQ(decoded.value().updated_us, -12);
  }
}

TEST(DedupRecordTest, ExtremeSeqsAndCorruptValues) {
  DedupRecord record;
  record.Insert(std::numeric_limits<std::uint64_t>::max());
  record.Insert(0);
  record.Insert(std::numeric_limits<std::uint64_t>::max() - 1);
  EXPECT_EQ(record.ranges.size(), 2u);
  auto decoded = DecodeDedup(EncodeDedup(record));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded.value().ranges, record.ranges);
  const std::string bytes = EncodeDedup(record);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeDedup(bytes.substr(0, n))) << "truncated to " << n;
  }
  EXPECT_FALSE(DecodeDedup(bytes + "x"));
}

TEST(AttributesValueTest, RoundTripsAndRejectsTruncation) {
  Attributes attributes{{"model", "F-150"}, {"region", "north"}, {"tags", "a,b"}, {"empty", ""}};
  const auto bytes = EncodeAttributes(attributes);
  auto decoded = DecodeAttributes(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded.value(), attributes);
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(DecodeAttributes(bytes.substr(0, n)));
}

// Decoding into a map that already holds entries gives what a fresh decode gives, whether the
// names are the same (values replaced in place), other, fewer or more; errors leave it empty.
TEST(AttributesValueTest, DecodingIntoAFilledMapGivesAFreshDecode) {
  const std::vector<Attributes> sequence = {
      {{"model", "F-150"}, {"region", "north"}},
      {{"model", "RAV4"}, {"region", "a much longer region name than before"}},
      {{"model", "RAV4"}, {"region", ""}},
      {{"model", "RAV4"}, {"tags", "x"}},
      {{"model", "RAV4"}},
      {{"a", "1"}, {"model", "RAV4"}, {"z", "2"}},
      {},
      {{"model", "F-150"}, {"region", "north"}},
  };
  Attributes into;
  for (const auto& attributes : sequence) {
    const auto bytes = EncodeAttributes(attributes);
    ASSERT_TRUE(DecodeAttributesInto(bytes, into));
    EXPECT_EQ(into, attributes);
    EXPECT_EQ(into, DecodeAttributes(bytes).value());
  }
  const auto bytes = EncodeAttributes(sequence[0]);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Attributes filled = sequence[0];
    EXPECT_FALSE(DecodeAttributesInto(bytes.substr(0, n), filled)) << n;
    EXPECT_TRUE(filled.empty()) << n;
  }
  Attributes filled = sequence[0];
  EXPECT_FALSE(DecodeAttributesInto(bytes + "x", filled));
  EXPECT_TRUE(filled.empty());
}

}  // namespace canvoy::fleet_store::storage
