// A first bucket answered from rollups gives what the raw samples give.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "canvoy/fleet_store/query.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;
namespace json = boost::json;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z

// Three vehicles over three days at irregular intervals, with equal timestamps, NaN samples,
// an int64 signal and a bool signal.
FakeStoreView IrregularFleet() {
  FakeStoreView view;
  std::mt19937_64 random(20231114);
  for (int v = 0; v < 3; ++v) {
    const Vin vin = TestVin(v);
    view.AddVehicle(vin, {{"k", std::to_string(v + 1)}});
    std::int64_t t = kT0 - 7 * kSecond + v * 13;
    while (t < kT0 + 3 * 24 * 3600 * kSecond) {
      const std::uint64_t r = random();
      double x = static_cast<double>(r % 10'000) / 100.0 - 20;
      if (r % 50 == 0) x = std::numeric_limits<double>::quiet_NaN();
      view.AddSample(vin, "x", t, x);
      view.AddSample(vin, "n", t, static_cast<std::int64_t>(r % 1000) - 500);
      view.AddSample(vin, "b", t, (r >> 20) % 3 == 0);
      if (r % 7 == 0) continue;  // another sample at the same time
      t += 1 + static_cast<std::int64_t>((r >> 8) % (90 * kSecond));
    }
  }
  return view;
}

std::string Document(const std::string& signal, const std::string& range, const std::string& width,
                     bool raw) {
  const std::string& s = signal;
  json::object aggs{{"avg", "avg(" + s + ")"},
                    {"min", "min(" + s + ")"},
                    {"max", "max(" + s + ")"},
                    {"sum", "sum(" + s + ")"},
                    {"n", "count()"},
                    {"nx", "count(" + s + ")"},
                    {"first", "first(" + s + ")"},
                    {"last", "last(" + s + ")"},
                    {"mix", "(max(" + s + ") - min(" + s + ")) / count() + attr.k + t / 1e15"}};
  json::array steps;
  if (raw) steps.push_back(json::object{{"filter", "true"}});  // a first step that is no bucket
  steps.push_back(json::object{{"bucket", json::object{{"width", width}, {"aggs", aggs}}}});
  json::object source = json::parse("{" + range + "}").as_object();
  source["samples"] = json::array{json::string(s)};
  return json::serialize(json::object{{"source", source}, {"steps", steps}});
}

void ExpectSameTables(const json::object& fast, const json::object& raw, const std::string& what) {
  ASSERT_EQ(fast.at("columns"), raw.at("columns")) << what;
  const auto& a = fast.at("rows").as_array();
  const auto& b = raw.at("rows").as_array();
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_FALSE(a.empty()) << what;
  const auto& columns = fast.at("columns").as_array();
  for (std::size_t r = 0; r < a.size(); ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const auto& x = a[r].at(c);
      const auto& y = b[r].at(c);
      const auto name = std::string(columns[c].as_string());
      const auto where = what + " row " + std::to_string(r) + " column " + name;
      if (name == "avg" || name == "sum" || name == "mix") {  // summed in another order
        ASSERT_EQ(x.is_null(), y.is_null()) << where;
        if (!x.is_null()) {
          ASSERT_NEAR(x.as_double(), y.as_double(), 1e-9 * std::max(1.0, std::fabs(y.as_double())))
              << where;
        }
      } else {
        ASSERT_EQ(x, y) << where;
      }
    }
  }
}

class QueryRollupTest : public ::testing::TestWithParam<const char*> {
 protected:
  static FakeStoreView& View() {
    static FakeStoreView view = IrregularFleet();
    return view;
  }
};

TEST_P(QueryRollupTest, RollupsGiveTheRawResultForEveryRangeAndSignal) {
  const std::string width = GetParam();
  const std::vector<std::string> ranges = {
      "",                                                            // everything
      R"("from_us": 1699920017000123, "to_us": 1700106187654321)",   // unaligned edges
      R"("from_us": 1699923600000000, "to_us": 1700089200000000)",   // whole hours
      R"("from_us": 1699920060000000, "to_us": 1699920300000000)",   // whole minutes
      R"("from_us": 1699920061000000, "to_us": 1699920119000000)"};  // inside a minute
  auto& view = View();
  for (const std::string signal : {"x", "n", "b"}) {
    for (const auto& range : ranges) {
      const std::string what = signal + range + " width " + width;
      view.rollups_read = 0;
      auto fast = RunQuery(view, Document(signal, range, width, false), QueryLimits{});
      ASSERT_TRUE(fast) << what << ": " << fast.error().ToString();
      const auto rollups_read = view.rollups_read;
      auto raw = RunQuery(view, Document(signal, range, width, true), QueryLimits{});
      ASSERT_TRUE(raw) << what << ": " << raw.error().ToString();
      EXPECT_EQ(fast.value().kind, "downsampled") << what;
      EXPECT_EQ(raw.value().kind, "samples") << what;
      EXPECT_EQ(raw.value().stats.rollups, 0u) << what;
      if (range.find("1699920119") == std::string::npos) {
        EXPECT_GT(rollups_read, 0u) << what;
        EXPECT_EQ(fast.value().stats.rollups, rollups_read) << what;
        EXPECT_LT(fast.value().stats.samples, raw.value().stats.samples) << what;
      }
      ExpectSameTables(json::parse(fast.value().body).as_object(),
                       json::parse(raw.value().body).as_object(), what);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, QueryRollupTest,
                         ::testing::Values("1m", "10m", "1h", "2h", "1d", "all"));

TEST(QueryRollupPathTest, WholeHourBucketsReadHourRollups) {
  FakeStoreView view = IrregularFleet();
  auto answer = RunQuery(view, Document("x", "", "1d", false), QueryLimits{});
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_GT(view.hour_rollups_read, 0u);
  view.hour_rollups_read = 0;
  auto minutes = RunQuery(view, Document("x", "", "10m", false), QueryLimits{});
  ASSERT_TRUE(minutes) << minutes.error().ToString();
  EXPECT_EQ(view.hour_rollups_read, 0u);
}

TEST(QueryRollupPathTest, OnlyAFirstBucketOverTheSignalItselfUsesRollups) {
  FakeStoreView view;
  view.AddSample(TestVin(1), "x", kT0, 1.0);
  auto kind = [&](const std::string& document) {
    auto answer = RunQuery(view, document, QueryLimits{});
    EXPECT_TRUE(answer) << document;
    return answer ? answer.value().kind : "";
  };
  EXPECT_EQ(kind(R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1h",
      "aggs": {"v": "avg(x) * 2 + count() / max(x) + attr.a", "w": "first(x) - last(x)"}}}]})j"),
            "downsampled");
  EXPECT_EQ(kind(R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1h",
      "aggs": {"v": "avg(x == 0)"}}}]})j"),
            "samples");
  EXPECT_EQ(kind(R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "90s",
      "aggs": {"v": "avg(x)"}}}]})j"),
            "samples");
  EXPECT_EQ(kind(R"j({"source": {"samples": ["x", "y"]}, "steps": [{"bucket": {"width": "1h",
      "aggs": {"v": "avg(x)"}}}]})j"),
            "samples");
  EXPECT_EQ(kind(R"j({"source": {"samples": ["x"]}, "steps": [{"filter": "x > 0"},
      {"bucket": {"width": "1h", "aggs": {"v": "avg(x)"}}}]})j"),
            "samples");
}

TEST(QueryRollupPathTest, AStringSignalIsBucketedFromItsSamples) {
  FakeStoreView view;
  view.AddSample(TestVin(1), "gear", kT0 + 1, std::string("D"));
  view.AddSample(TestVin(1), "gear", kT0 + 2, std::string("R"));
  auto answer = RunQuery(view, R"j({"source": {"samples": ["gear"]}, "steps": [{"bucket":
      {"width": "1h", "aggs": {"n": "count()"}}}]})j",
                         QueryLimits{});
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_EQ(json::parse(answer.value().body).at("rows").at(0).at(2).as_double(), 2.0);
  EXPECT_EQ(view.rollup_scans, 0u);
}

}  // namespace
}  // namespace canvoy::fleet_store
