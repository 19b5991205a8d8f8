#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "collect/collector.h"
#include "collect_test_util.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;
using testing::AddSignal;
using testing::CreateOrDie;
using testing::RecordingSink;

constexpr SignalId kX = 1;  // the condition's input, every sample
constexpr SignalId kA = 2;  // captured
constexpr SignalId kB = 3;  // captured
constexpr SignalId kY = 4;  // every sample, not captured

tv1::Trigger* AddTrigger(tv1::Catalog& catalog, const std::string& condition, std::int64_t pre_us,
                         std::int64_t post_us, std::vector<SignalId> capture) {
  auto* t = catalog.add_triggers();
  t->set_name("t" + std::to_string(catalog.triggers_size()));
  t->set_condition(condition);
  t->set_pre_us(pre_us);
  t->set_post_us(post_us);
  for (SignalId id : capture) t->add_capture_ids(id);
  return t;
}

tv1::Catalog BaseCatalog() {
  tv1::Catalog catalog;
  AddSignal(catalog, "T.x");
  AddSignal(catalog, "C.a")->mutable_policy()->mutable_on_trigger();
  AddSignal(catalog, "C.b")->mutable_policy()->mutable_on_trigger();
  AddSignal(catalog, "T.y");
  return catalog;
}

// Feeds A every 20 us over [from, to] and X at the given (time, value) points, in time order
// (X before A at equal times).
void Feed(Collector& c, RecordingSink& sink, std::int64_t from, std::int64_t to,
          std::vector<std::pair<std::int64_t, double>> x) {
  std::size_t next_x = 0;
  for (std::int64_t t = from; t <= to; t += 20) {
    while (next_x < x.size() && x[next_x].first <= t) {
      ASSERT_TRUE(c.Add(kX, x[next_x].first, x[next_x].second, sink));
      ++next_x;
    }
    ASSERT_TRUE(c.Add(kA, t, static_cast<double>(t), sink));
  }
}

TEST(TriggerCaptureTest, EmitsCapturedSamplesFromPreToPostWindowAndNothingElse) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 50, 50, {kA, kB});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  Feed(c, sink, 0, 300, {{0, 0.0}, {100, 10.0}});
  EXPECT_EQ(sink.Times(kA), (std::vector<std::int64_t>{60, 80, 100, 120, 140}));
  EXPECT_EQ(sink.Times(kX), (std::vector<std::int64_t>{0, 100}));  // its own policy: every sample
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1}));
}

TEST(TriggerCaptureTest, PreTriggerSamplesAreEmittedWhenTheTriggerFiresWithTheirOwnTimestampsAndValues) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 1000, 0, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  ASSERT_TRUE(c.Add(kA, 10, 1.5, sink));
  ASSERT_TRUE(c.Add(kA, 20, std::int64_t{7}, sink));
  EXPECT_TRUE(sink.emitted.empty());
  ASSERT_TRUE(c.Add(kX, 30, 9.0, sink));
  ASSERT_EQ(sink.emitted.size(), 3u);
  EXPECT_EQ(sink.emitted[0], (testing::Emitted{kA, 10, 1.5}));
  EXPECT_EQ(sink.emitted[1], (testing::Emitted{kA, 20, std::int64_t{7}}));
  EXPECT_EQ(sink.emitted[2], (testing::Emitted{kX, 30, 9.0}));
}

TEST(TriggerCaptureTest, FiresOnRisingEdgesOnly) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 0, 0, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  for (double v : {1.0, 6.0, 7.0, 8.0, 2.0, 9.0, 9.0}) ASSERT_TRUE(c.Add(kX, 0, v, sink));
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{2}));
}

TEST(TriggerCaptureTest, ATriggerAtTheVeryStartCapturesFromTheFirstSampleOn) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 1000, 60, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  Feed(c, sink, 0, 200, {{0, 10.0}});
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(sink.Times(kA), (std::vector<std::int64_t>{0, 20, 40, 60}));
}

TEST(TriggerCaptureTest, OverlappingFiringsEmitEachSampleOnce) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 50, 50, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  // Fires at 100 ([50, 150]) and again at 130 ([80, 180]).
  Feed(c, sink, 0, 300, {{100, 10.0}, {110, 0.0}, {130, 10.0}});
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(sink.Times(kA), (std::vector<std::int64_t>{60, 80, 100, 120, 140, 160, 180}));
}

TEST(TriggerCaptureTest, TwoTriggersCapturingOneSignalEmitEachSampleOnce) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 50, 20, {kA});
  AddTrigger(catalog, "T.y > 5", 100, 100, {kA, kB});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  ASSERT_TRUE(c.Add(kY, 0, 0.0, sink));
  // x fires at 100: [50, 120]; y fires at 110: [10, 210], the older samples 20 and 40 now count too.
  for (std::int64_t t = 0; t <= 300; t += 20) {
    if (t == 100) {
      ASSERT_TRUE(c.Add(kX, 100, 10.0, sink));
    }
    ASSERT_TRUE(c.Add(kA, t, 1.0, sink));
    if (t == 100) {
      ASSERT_TRUE(c.Add(kY, 110, 10.0, sink));
    }
  }
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1, 1}));
  const auto times = sink.Times(kA);
  EXPECT_EQ(std::set<std::int64_t>(times.begin(), times.end()).size(), times.size()) << "duplicates";
  std::vector<std::int64_t> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::int64_t>{20, 40, 60, 80, 100, 120, 140, 160, 180, 200}));
  EXPECT_TRUE(sink.Times(kB).empty());  // B had no samples
}

TEST(TriggerCaptureTest, WindowAggregatesUseSamplesInsideTheWindowOnly) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "avg(T.x, 0.1) > 5", 0, 0, {kA});  // 100 us
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  ASSERT_TRUE(c.Add(kX, 0, 0.0, sink));    // avg {0} = 0
  ASSERT_TRUE(c.Add(kX, 50, 10.0, sink));  // avg {0, 10} = 5: not above 5
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{0}));
  ASSERT_TRUE(c.Add(kX, 100, 10.0, sink));  // t=0 left (0, 100]: avg {10, 10}
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1}));
}

TEST(TriggerCaptureTest, MinAndMaxTrackTheWindow) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "max(T.x, 0.1) - min(T.x, 0.1) > 10", 0, 0, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  ASSERT_TRUE(c.Add(kX, 0, 0.0, sink));
  ASSERT_TRUE(c.Add(kX, 100, 10.0, sink));  // window (0, 100]: range 0
  ASSERT_TRUE(c.Add(kX, 150, 21.0, sink));  // range 11
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1}));
}

TEST(TriggerCaptureTest, ConditionWaitsUntilEverySignalItNamesHasASample) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "not (T.y > 0) and T.x > 5", 0, 0, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  ASSERT_TRUE(c.Add(kX, 0, 10.0, sink));
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{0}));
  ASSERT_TRUE(c.Add(kY, 1, 0.0, sink));
  EXPECT_EQ(c.trigger_counts(), (std::vector<std::uint64_t>{1}));
}

TEST(TriggerCaptureTest, PreWindowIsBoundedByTheRingAndTheLossIsCounted) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 1'000'000, 0, {kA});
  Collector c = CreateOrDie(catalog);
  RecordingSink sink;
  const std::int64_t n = Collector::kMaxPreTriggerSamples + 100;
  for (std::int64_t t = 1; t <= n; ++t) ASSERT_TRUE(c.Add(kA, t, 0.0, sink));
  ASSERT_TRUE(c.Add(kX, n + 1, 10.0, sink));
  const auto times = sink.Times(kA);
  ASSERT_EQ(times.size(), Collector::kMaxPreTriggerSamples);
  EXPECT_EQ(times.front(), 101);
  EXPECT_EQ(times.back(), n);
  EXPECT_EQ(c.truncated_pre_windows(), 1u);
}

TEST(TriggerCaptureTest, CreateRejectsCapturingASignalWithAnotherPolicy) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > 5", 0, 0, {kY});
  auto c = Collector::Create(catalog);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "trigger 't1': captures signal id 4 whose policy is not on_trigger");
}

TEST(TriggerCaptureTest, CreateRejectsAConditionThatDoesNotParse) {
  tv1::Catalog catalog = BaseCatalog();
  AddTrigger(catalog, "T.x > (5", 0, 0, {kA});
  auto c = Collector::Create(catalog);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "expression:1:9: expected ')'");
}

}  // namespace
}  // namespace canvoy::agent
