// The byte layouts that the README promises: ordering of keys, exactness of values.
#include "storage/keys.h"

#include <gtest/gtest.h>

#include <cmath>
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

TEST(KeysTest, SampleKeysOfOneSignalSortByFirstTimestampThenSeq) {
  const auto vin = V(test_support::kVin1);
  const auto a = SampleKey(vin, "Vehicle.Speed", -5, 9, Stream(1));
  const auto b = SampleKey(vin, "Vehicle.Speed", 10, 2, Stream(1));
  const auto c = SampleKey(vin, "Vehicle.Speed", 10, 3, Stream(0));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_TRUE(a.starts_with(SamplePrefix(vin, "Vehicle.Speed")));
  // A signal whose name extends another's is outside the other's prefix.
  EXPECT_FALSE(SampleKey(vin, "Vehicle.SpeedLimit", 0, 1, Stream(1))
                   .starts_with(SamplePrefix(vin, "Vehicle.Speed")));
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
}  // namespace canvoy::fleet_store::storage
