#include "canvoy/agent/batch_builder.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <tuple>

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;

struct Sample {
  SignalId id;
  std::int64_t time_us;
  PhysicalValue value;
  bool operator==(const Sample&) const = default;
};

tv1::Catalog ThreeSignals() {
  tv1::Catalog catalog;
  const tv1::SignalType types[] = {tv1::SIGNAL_TYPE_INT64, tv1::SIGNAL_TYPE_UINT64,
                                   tv1::SIGNAL_TYPE_DOUBLE};
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto* s = catalog.add_signals();
    s->set_id(i + 1);
    s->set_type(types[i]);
  }
  return catalog;
}

// Undoes the delta coding: the samples of a batch, series by series.
std::vector<Sample> Expand(const tv1::Batch& batch) {
  std::vector<Sample> samples;
  for (const auto& series : batch.series()) {
    std::int64_t time = batch.base_time_us();
    for (int i = 0; i < series.time_deltas_us_size(); ++i) {
      time += series.time_deltas_us(i);
      PhysicalValue value;
      if (series.has_int64s()) value = series.int64s().values(i);
      if (series.has_uint64s()) value = series.uint64s().values(i);
      if (series.has_doubles()) value = series.doubles().values(i);
      samples.push_back({series.signal_id(), time, value});
    }
  }
  return samples;
}

TEST(BatchBuilderTest, DeltasAreFromTheBaseTimeThenFromTheSeriesPreviousSample) {
  BatchBuilder builder(ThreeSignals());
  ASSERT_TRUE(builder.Add(1, 1000, std::int64_t{5}));
  ASSERT_TRUE(builder.Add(3, 1010, 1.5));
  ASSERT_TRUE(builder.Add(1, 1025, std::int64_t{6}));
  ASSERT_TRUE(builder.Add(1, 1020, std::int64_t{7}));  // out of order: negative delta
  const tv1::Batch batch = builder.Seal(StreamId::Random(), 1, std::string(32, 'h'));
  EXPECT_EQ(batch.base_time_us(), 1000);
  ASSERT_EQ(batch.series_size(), 2);
  EXPECT_EQ(batch.series(0).signal_id(), 1u);
  EXPECT_EQ(std::vector<std::int64_t>(batch.series(0).time_deltas_us().begin(),
                                      batch.series(0).time_deltas_us().end()),
            (std::vector<std::int64_t>{0, 25, -5}));
  EXPECT_EQ(batch.series(1).signal_id(), 3u);
  EXPECT_EQ(batch.series(1).time_deltas_us(0), 10);
  EXPECT_EQ(batch.series(1).doubles().values(0), 1.5);
}

TEST(BatchBuilderTest, TypedValuesAndTimesRoundTripThroughTheWireFormat) {
  BatchBuilder builder(ThreeSignals());
  std::mt19937_64 rng(7);
  std::vector<Sample> added;
  std::int64_t time = 1'700'000'000'000'000;
  for (int i = 0; i < 500; ++i) {
    time += static_cast<std::int64_t>(rng() % 20'000) - 2'000;
    const SignalId id = static_cast<SignalId>(1 + rng() % 3);
    PhysicalValue value;
    if (id == 1) value = static_cast<std::int64_t>(rng());
    if (id == 2) value = i == 0 ? std::numeric_limits<std::uint64_t>::max() : rng();
    if (id == 3) value = static_cast<double>(rng()) / 3.0;
    ASSERT_TRUE(builder.Add(id, time, value));
    added.push_back({id, time, value});
  }
  EXPECT_EQ(builder.sample_count(), 500u);
  const StreamId stream = StreamId::Random();
  const tv1::Batch sealed = builder.Seal(stream, 42, std::string(32, '\x01'));
  tv1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString(sealed.SerializeAsString()));
  EXPECT_EQ(parsed.seq(), 42u);
  EXPECT_EQ(parsed.stream_id(), stream.bytes());
  EXPECT_EQ(parsed.catalog_hash(), std::string(32, '\x01'));
  // Series group samples by id; within an id the order of arrival is kept.
  std::stable_sort(added.begin(), added.end(),
                   [](const Sample& a, const Sample& b) { return a.id < b.id; });
  std::vector<Sample> expanded = Expand(parsed);
  std::stable_sort(expanded.begin(), expanded.end(),
                   [](const Sample& a, const Sample& b) { return a.id < b.id; });
  EXPECT_EQ(expanded, added);
}

TEST(BatchBuilderTest, RejectsUnknownIdsAndValuesOfTheWrongType) {
  BatchBuilder builder(ThreeSignals());
  EXPECT_FALSE(builder.Add(4, 0, std::int64_t{1}));
  EXPECT_FALSE(builder.Add(0, 0, std::int64_t{1}));
  EXPECT_FALSE(builder.Add(1, 0, 1.0));
  EXPECT_FALSE(builder.Add(2, 0, std::int64_t{1}));
  EXPECT_EQ(builder.sample_count(), 0u);
}

TEST(BatchBuilderTest, ShouldSealBySampleCountOrAgeButNeverWhenEmpty) {
  BatchBuilder builder(ThreeSignals());
  EXPECT_FALSE(builder.ShouldSeal(1, 0, 1'000'000));
  ASSERT_TRUE(builder.Add(1, 1000, std::int64_t{1}));
  EXPECT_FALSE(builder.ShouldSeal(2, 500, 1499));
  EXPECT_TRUE(builder.ShouldSeal(2, 500, 1500));
  EXPECT_TRUE(builder.ShouldSeal(1, 500, 1000));
}

TEST(BatchBuilderTest, SealStartsAFreshBatch) {
  BatchBuilder builder(ThreeSignals());
  ASSERT_TRUE(builder.Add(1, 1000, std::int64_t{1}));
  std::ignore = builder.Seal(StreamId::Random(), 1, "");
  EXPECT_EQ(builder.sample_count(), 0u);
  ASSERT_TRUE(builder.Add(1, 5000, std::int64_t{2}));
  const tv1::Batch second = builder.Seal(StreamId::Random(), 2, "");
  EXPECT_EQ(second.base_time_us(), 5000);
  ASSERT_EQ(second.series_size(), 1);
  EXPECT_EQ(second.series(0).time_deltas_us(0), 0);
  EXPECT_EQ(second.series(0).int64s().values_size(), 1);
}

}  // namespace
}  // namespace canvoy::agent
