#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "collect/collector.h"
#include "collect/policy.h"
#include "collect_test_util.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;
using testing::AddSignal;
using testing::CreateOrDie;
using testing::RecordingSink;

std::vector<std::int64_t> Kept(const tv1::CollectionPolicy& policy, const std::vector<std::pair<std::int64_t, PhysicalValue>>& samples) {
  PolicyState state(policy);
  std::vector<std::int64_t> kept;
  for (const auto& [t, v] : samples) {
    if (state.Offer(t, v)) kept.push_back(t);
  }
  return kept;
}

tv1::CollectionPolicy MinInterval(std::int64_t us) {
  tv1::CollectionPolicy p;
  p.mutable_min_interval()->set_interval_us(us);
  return p;
}

tv1::CollectionPolicy OnChange(double deadband) {
  tv1::CollectionPolicy p;
  p.mutable_on_change()->set_deadband(deadband);
  return p;
}

TEST(CollectPolicyTest, EverySampleKeepsEverySampleInOrder) {
  tv1::Catalog catalog;
  AddSignal(catalog, "A.x");
  Collector collector = CreateOrDie(catalog);
  RecordingSink sink;
  for (std::int64_t t : {5, 3, 3, 10}) ASSERT_TRUE(collector.Add(1, t, 1.0, sink));
  EXPECT_EQ(sink.Times(1), (std::vector<std::int64_t>{5, 3, 3, 10}));
}

TEST(CollectPolicyTest, MinIntervalKeepsAtMostOnePerIntervalMeasuredFromTheLastKeptSample) {
  const std::vector<std::pair<std::int64_t, PhysicalValue>> samples = {
      {1000, 1.0}, {1050, 2.0}, {1099, 3.0}, {1100, 4.0}, {1150, 5.0}, {1250, 6.0}, {1260, 7.0}};
  EXPECT_EQ(Kept(MinInterval(100), samples), (std::vector<std::int64_t>{1000, 1100, 1250}));
}

TEST(CollectPolicyTest, MinIntervalDropsSamplesWithEarlierTimestamps) {
  EXPECT_EQ(Kept(MinInterval(100), {{1000, 1.0}, {500, 2.0}, {1100, 3.0}}), (std::vector<std::int64_t>{1000, 1100}));
}

TEST(CollectPolicyTest, OnChangeKeepsTheFirstSampleThenChangesBeyondTheDeadband) {
  // 10 kept; 10.4 within 0.5 of 10; 10.6 beyond; 10.2 within 0.5 of 10.6 (compared with the last
  // kept value, not the last seen one); 9.9 beyond.
  const std::vector<std::pair<std::int64_t, PhysicalValue>> samples = {
      {1, 10.0}, {2, 10.4}, {3, 10.6}, {4, 10.2}, {5, 10.5}, {6, 9.9}};
  EXPECT_EQ(Kept(OnChange(0.5), samples), (std::vector<std::int64_t>{1, 3, 6}));
}

TEST(CollectPolicyTest, OnChangeAtTheDeadbandExactlyIsNoChange) {
  EXPECT_EQ(Kept(OnChange(0.5), {{1, 1.0}, {2, 1.5}, {3, 1.5000001}}), (std::vector<std::int64_t>{1, 3}));
}

TEST(CollectPolicyTest, OnChangeComparesIntegersExactlyBeyondDoublePrecision) {
  // 2^53 and 2^53 + 1 are one double; as int64 they differ.
  const std::int64_t big = std::int64_t{1} << 53;
  EXPECT_EQ(Kept(OnChange(0), {{1, big}, {2, big}, {3, big + 1}, {4, big + 1}}), (std::vector<std::int64_t>{1, 3}));
  const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(Kept(OnChange(0), {{1, huge}, {2, huge - 1}, {3, huge - 1}}), (std::vector<std::int64_t>{1, 2}));
}

TEST(CollectPolicyTest, OnChangeWithADeadbandOnIntegersNeedsADifferenceAboveIt) {
  EXPECT_EQ(Kept(OnChange(2), {{1, std::int64_t{10}}, {2, std::int64_t{12}}, {3, std::int64_t{13}}, {4, std::int64_t{-5}}}),
            (std::vector<std::int64_t>{1, 3, 4}));
}

TEST(CollectPolicyTest, OnChangeTreatsNaNAppearingOrDisappearingAsAChange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Kept(OnChange(1), {{1, 1.0}, {2, nan}, {3, nan}, {4, 1.0}}), (std::vector<std::int64_t>{1, 2, 4}));
}

TEST(CollectPolicyTest, EachSignalHasItsOwnPolicyAndState) {
  tv1::Catalog catalog;
  AddSignal(catalog, "A.every");
  AddSignal(catalog, "A.interval")->mutable_policy()->mutable_min_interval()->set_interval_us(10);
  AddSignal(catalog, "A.change", tv1::SIGNAL_TYPE_INT64)->mutable_policy()->mutable_on_change();
  Collector collector = CreateOrDie(catalog);
  RecordingSink sink;
  for (std::int64_t t = 0; t < 30; t += 5) {
    ASSERT_TRUE(collector.Add(1, t, 0.0, sink));
    ASSERT_TRUE(collector.Add(2, t, 0.0, sink));
    ASSERT_TRUE(collector.Add(3, t, std::int64_t{t / 10}, sink));
  }
  EXPECT_EQ(sink.Times(1).size(), 6u);
  EXPECT_EQ(sink.Times(2), (std::vector<std::int64_t>{0, 10, 20}));
  EXPECT_EQ(sink.Times(3), (std::vector<std::int64_t>{0, 10, 20}));
}

TEST(CollectPolicyTest, AnIdOutsideTheCatalogIsAnError) {
  tv1::Catalog catalog;
  AddSignal(catalog, "A.x");
  Collector collector = CreateOrDie(catalog);
  RecordingSink sink;
  EXPECT_FALSE(collector.Add(7, 0, 1.0, sink));
  EXPECT_TRUE(sink.emitted.empty());
}

}  // namespace
}  // namespace canvoy::agent
