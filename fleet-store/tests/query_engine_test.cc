// The query engine on an in-memory view: sources, steps, groups, paging and limits.
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
using ::testing::HasSubstr;
namespace json = boost::json;

constexpr std::int64_t kMinute = 60'000'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z

json::object RunDoc(const StoreView& view, const std::string& document, QueryLimits limits = {}) {
  auto answer = RunQuery(view, document, limits);
  EXPECT_TRUE(answer) << (answer ? "" : answer.error().ToString()) << "\n" << document;
  if (!answer) return {};
  return json::parse(answer.value().body).as_object();
}

Error ErrorOf(const StoreView& view, const std::string& document, QueryLimits limits = {}) {
  auto answer = RunQuery(view, document, limits);
  EXPECT_FALSE(answer) << document;
  return answer ? Error(Errc::kInternal, "no error") : answer.error();
}

std::string Rows(const json::object& answer) { return json::serialize(answer.at("rows")); }
std::string Columns(const json::object& answer) { return json::serialize(answer.at("columns")); }
std::string Q(const Vin& vin) { return "\"" + vin.str() + "\""; }

TEST(QueryEngineTest, LatestGivesOneRowPerVehicleWithNullsAndTheNewestTime) {
  FakeStoreView view;
  view.AddVehicle(TestVin(1), {{"name", "one"}});
  view.AddSample(TestVin(1), "lat", kT0 + 10, 1.5);
  view.AddSample(TestVin(1), "lon", kT0 + 20, 2.5);
  view.AddSample(TestVin(2), "lat", kT0 + 30, 3.5);
  view.AddSample(TestVin(2), "big", kT0, std::int64_t{9007199254740993});
  view.AddVehicle(TestVin(3));  // has neither signal: no row
  auto answer = RunDoc(view, R"j({"source": {"latest": ["lat", "lon"]}, "attributes": ["name"]})j");
  EXPECT_EQ(Columns(answer), R"j(["vin","name","t","lat","lon"])j");
  EXPECT_EQ(Rows(answer), "[[" + Q(TestVin(1)) + R"j(,"one",1699920000000020,1.5E0,2.5E0],)j" +
                              "[" + Q(TestVin(2)) + ",null,1699920000000030,3.5E0,null]]");
  EXPECT_EQ(answer.at("stats").at("vehicles").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(answer.at("stats").at("samples").to_number<std::uint64_t>(), 3u);

  auto exact = RunDoc(view, R"j({"source": {"latest": ["big"]}})j");
  EXPECT_THAT(Rows(exact), HasSubstr("9007199254740993"));
}

TEST(QueryEngineTest, SamplesOfSeveralSignalsJoinOnEqualTimestampsPairingTiesInOrder) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  for (auto [t, x] :
       std::vector<std::pair<int, double>>{{1, 10}, {2, 22}, {2, 21}, {3, 30}, {5, 50}})
    view.AddSample(v, "a", kT0 + t, x);
  for (auto [t, x] : std::vector<std::pair<int, double>>{{2, 3}, {2, 1}, {2, 2}, {3, 4}, {4, 5}})
    view.AddSample(v, "b", kT0 + t, x);
  auto answer = RunDoc(view, R"j({"source": {"samples": ["a", "b"]}})j");
  EXPECT_EQ(Columns(answer), R"j(["vin","t","a","b"])j");
  const std::string vin = Q(v);
  EXPECT_EQ(Rows(answer), "[[" + vin + ",1699920000000002,2.1E1,1E0],[" + vin +
                              ",1699920000000002,2.2E1,2E0],[" + vin +
                              ",1699920000000003,3E1,4E0]]");
}

// A leading filter on one signal of a join lets the source drop failing samples before the join,
// but not samples that share their timestamp: those pair with the other signal's in order.
TEST(QueryEngineTest, FilterBeforeAJoinKeepsTiedSamplesPairedAsWithoutIt) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  for (auto [t, x] : std::vector<std::pair<int, double>>{{1, 10}, {2, 22}, {2, 21}, {3, 30}})
    view.AddSample(v, "a", kT0 + t, x);
  for (auto [t, x] : std::vector<std::pair<int, double>>{{1, 7}, {2, 3}, {2, 1}, {3, 4}})
    view.AddSample(v, "b", kT0 + t, x);
  auto answer =
      RunDoc(view, R"j({"source": {"samples": ["a", "b"]}, "steps": [{"filter": "a > 21.5"}]})j");
  const std::string vin = Q(v);
  EXPECT_EQ(Rows(answer), "[[" + vin + ",1699920000000002,2.2E1,3E0],[" + vin +
                              ",1699920000000003,3E1,4E0]]");
}

// Random joins of numbers (with NaNs), integers, bools and strings, each signal of one type, with
// ties and gaps over many hours: a
// filter the source may apply early (dropping failing samples, and hours that rollups show cannot
// pass) gives the rows of the same filter written so that it may not ("or" at its root), which the
// engine evaluates only after the join.
TEST(QueryEngineTest, FilterAppliedBeforeTheJoinGivesTheRowsOfTheFilterAfterIt) {
  std::mt19937_64 rng(20261127);
  // All conjuncts taken by the source (it may then skip the filter), or only some.
  const char* filters[] = {"a > 2",
                           "2 < a",
                           "a >= 3 and b < 2",
                           "b == 1",
                           "a <= 1 and 4 > c",
                           "c > 0.5 and a > 1 and b >= 1",
                           "a > 2 and a + b > 3",
                           "b != 0 and a >= 1"};
  int answers = 0;
  int nonempty = 0;
  std::uint64_t read_early = 0;
  std::uint64_t read_late = 0;
  for (int round = 0; round < 20; ++round) {
    FakeStoreView view;
    for (int vehicle = 1; vehicle <= 3; ++vehicle) {
      const Vin v = TestVin(vehicle);
      for (const char* signal : {"a", "b", "c"}) {
        const int kind = static_cast<int>(rng() % 5);
        std::uint64_t regime = 0;
        for (int i = 0; i < 300; ++i) {
          if (i % 6 == 0) regime = rng() % 3;  // an hour of zeros, of anything, or of 3 and 4
          if (rng() % 4 == 0) continue;
          const std::int64_t t = kT0 + i * 10 * kMinute;
          const int repeats = rng() % 10 == 0 ? 2 : 1;
          for (int r = 0; r < repeats; ++r) {
            const auto x = static_cast<std::int64_t>(regime == 0 ? 0
                                                     : regime == 1 ? rng() % 5
                                                                   : 3 + rng() % 2);
            if (kind == 0) view.AddSample(v, signal, t, static_cast<double>(x) * 0.75);
            if (kind == 1) view.AddSample(v, signal, t, x);
            if (kind == 2) view.AddSample(v, signal, t, x % 2 == 0);
            if (kind == 3) view.AddSample(v, signal, t, std::to_string(x));
            if (kind == 4) {
              view.AddSample(v, signal, t,
                             rng() % 3 == 0 ? std::numeric_limits<double>::quiet_NaN()
                                            : static_cast<double>(x));
            }
          }
        }
      }
    }
    for (const char* filter : filters) {
      const std::string f(filter);
      const std::string source = R"j({"source": {"samples": ["a", "b", "c"]}, "limit": 10000, )j";
      const std::string source2 = R"j({"source": {"samples": ["b", "a"]}, "limit": 10000, )j";
      for (const std::string& s : {source, source2}) {
        if (s == source2 && f.find('c') != std::string::npos) continue;
        std::uint64_t before = view.samples_read;
        auto early = RunDoc(view, s + R"j("steps": [{"filter": ")j" + f + R"j("}]})j");
        read_early += view.samples_read - before;
        before = view.samples_read;
        auto late = RunDoc(view, s + R"j("steps": [{"filter": "()j" + f + R"j() or 1 > 2"}]})j");
        read_late += view.samples_read - before;
        ASSERT_EQ(Rows(early), Rows(late)) << "round " << round << ": " << s << f;
        answers += 1;
        nonempty += Rows(early) != "[]" ? 1 : 0;
      }
    }
  }
  EXPECT_GT(nonempty, answers / 2);  // the comparisons are mostly over rows, not nothing
  EXPECT_LT(read_early, read_late * 3 / 4);  // and hours were left out
}

TEST(QueryEngineTest, JoinSpanningManyWindowsMatchesEveryCommonTimestamp) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  int expected = 0;
  for (int i = 0; i < 20000; ++i) {
    view.AddSample(v, "a", kT0 + i, static_cast<double>(i));
    if (i % 3 != 0) {
      view.AddSample(v, "b", kT0 + i, 1.0);
      ++expected;
    }
  }
  auto answer = RunDoc(view, R"j({"source": {"samples": ["a", "b"]},
      "steps": [{"bucket": {"width": "all", "aggs": {"n": "count()", "s": "sum(a * b)"}}}]})j");
  const auto& row = answer.at("rows").at(0).as_array();
  EXPECT_EQ(row.at(2).as_double(), expected);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) sum += i % 3 != 0 ? i : 0;
  EXPECT_EQ(row.at(3).as_double(), sum);
}

TEST(QueryEngineTest, NanSamplesAreNotRowsAndStringsAreNotNumbers) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  view.AddSample(v, "x", kT0 + 1, 1.0);
  view.AddSample(v, "x", kT0 + 2, std::numeric_limits<double>::quiet_NaN());
  view.AddSample(v, "x", kT0 + 3, std::numeric_limits<double>::infinity());
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"]}})j");
  EXPECT_EQ(Rows(answer), "[[" + Q(v) + ",1699920000000001,1E0],[" + Q(v) +
                              R"j(,1699920000000003,"Infinity"]])j");
}

TEST(QueryEngineTest, SourceRangeIsHalfOpen) {
  FakeStoreView view;
  for (int i = 0; i < 10; ++i) view.AddSample(TestVin(1), "x", kT0 + i, static_cast<double>(i));
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"], "from_us": 1699920000000002,
      "to_us": 1699920000000005}, "steps": [{"bucket": {"width": "all",
      "aggs": {"n": "count()", "lo": "min(x)", "hi": "max(x)"}}}]})j");
  EXPECT_EQ(Rows(answer), "[[" + Q(TestVin(1)) + ",1699920000000002,3E0,2E0,4E0]]");
}

TEST(QueryEngineTest, FilterAndComputeWorkRowByRow) {
  FakeStoreView view;
  for (int i = 0; i < 6; ++i) view.AddSample(TestVin(1), "x", kT0 + i, static_cast<double>(i));
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [
      {"compute": {"y": "x * 10", "x": "x + 1", "z": "y + x"}},
      {"filter": "x >= 3 and x < 6"}]})j");
  EXPECT_EQ(Columns(answer), R"j(["vin","t","x","y","z"])j");
  EXPECT_EQ(Rows(answer), "[[" + Q(TestVin(1)) + ",1699920000000002,3E0,2E1,2.3E1],[" +
                              Q(TestVin(1)) + ",1699920000000003,4E0,3E1,3.4E1],[" + Q(TestVin(1)) +
                              ",1699920000000004,5E0,4E1,4.5E1]]");
}

TEST(QueryEngineTest, BucketsAlignToTheEpochAndSkipEmptyOnes) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  // Minute 0: 1, 2, 3; minute 2: 10, 4; nothing in minute 1.
  view.AddSample(v, "x", kT0 + 1, 1.0);
  view.AddSample(v, "x", kT0 + 2, 2.0);
  view.AddSample(v, "x", kT0 + 3, 3.0);
  view.AddSample(v, "x", kT0 + 2 * kMinute + 7, 10.0);
  view.AddSample(v, "x", kT0 + 2 * kMinute + 8, 4.0);
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"], "from_us": 1699920000000001},
      "steps": [{"bucket": {"width": "1m", "aggs": {
        "avg": "avg(x)", "min": "min(x)", "max": "max(x)", "sum": "sum(x)", "n": "count()",
        "nx": "count(x)", "first": "first(x)", "last": "last(x)", "per": "count() / 6",
        "big": "avg(x > 2)", "start": "t", "fleet": "attr.fleet"}}}]})j");
  EXPECT_EQ(
      Columns(answer),
      R"j(["vin","t","avg","min","max","sum","n","nx","first","last","per","big","start","fleet"])j");
  const auto& rows = answer.at("rows").as_array();
  ASSERT_EQ(rows.size(), 2u);
  const auto& m0 = rows[0].as_array();
  EXPECT_EQ(m0[1].as_int64(), kT0);
  EXPECT_EQ(m0[2].as_double(), 2.0);
  EXPECT_EQ(m0[3].as_double(), 1.0);
  EXPECT_EQ(m0[4].as_double(), 3.0);
  EXPECT_EQ(m0[5].as_double(), 6.0);
  EXPECT_EQ(m0[6].as_double(), 3.0);
  EXPECT_EQ(m0[8].as_double(), 1.0);
  EXPECT_EQ(m0[9].as_double(), 3.0);
  EXPECT_EQ(m0[10].as_double(), 0.5);
  EXPECT_NEAR(m0[11].as_double(), 1.0 / 3, 1e-15);
  EXPECT_EQ(m0[12].as_double(), static_cast<double>(kT0));
  EXPECT_TRUE(m0[13].is_null());
  const auto& m2 = rows[1].as_array();
  EXPECT_EQ(m2[1].as_int64(), kT0 + 2 * kMinute);
  EXPECT_EQ(m2[8].as_double(), 10.0);
  EXPECT_EQ(m2[9].as_double(), 4.0);

  // "all": one bucket at the query's from_us.
  auto all = RunDoc(view, R"j({"source": {"samples": ["x"], "from_us": 1699920000000001},
      "steps": [{"bucket": {"width": "all", "aggs": {"n": "count()"}}}]})j");
  EXPECT_EQ(Rows(all), "[[" + Q(v) + ",1699920000000001,5E0]]");
}

TEST(QueryEngineTest, AggregatesSkipNullsAndStrings) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  view.AddSample(v, "x", kT0 + 1, std::string("D"));
  view.AddSample(v, "x", kT0 + 2, std::string("R"));
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1d",
      "aggs": {"rows": "count()", "values": "count(x)", "sum": "sum(x)", "avg": "avg(x)",
               "first": "first(x)"}}}]})j");
  EXPECT_EQ(Rows(answer), "[[" + Q(v) + ",1699920000000000,2E0,0E0,null,null,null]]");
}

TEST(QueryEngineTest, BucketStateCarriesAcrossChunks) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  for (int i = 0; i < 10000; ++i) view.AddSample(v, "x", kT0 + i * 1000, 1.0);
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"filter": "x > 0"},
      {"bucket": {"width": "1d", "aggs": {"n": "count()", "s": "sum(x)"}}}]})j");
  EXPECT_EQ(Rows(answer), "[[" + Q(v) + ",1699920000000000,1E4,1E4]]");
}

TEST(QueryEngineTest, RunsStartAfterAFalseRowAndNeedAnEnd) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  // The first row is true but starts no run; a run at 3..4; a run from 5 without an end.
  const double x[] = {6, 7, 0, 8, 0, 9, 9};
  for (int i = 0; i < 7; ++i) view.AddSample(v, "x", kT0 + i * 10, x[i]);
  auto answer =
      RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"runs": {"when": "x > 5"}}]})j");
  EXPECT_EQ(Columns(answer), R"j(["vin","t","duration_us"])j");
  EXPECT_EQ(Rows(answer), "[[" + Q(v) + ",1699920000000030,10]]");
}

TEST(QueryEngineTest, RisesMarkTheFalseRowBeforeEachTrueOne) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  const double z[] = {1, 0, 1, 1, 0, 0, 1};
  for (int i = 0; i < 7; ++i) view.AddSample(v, "z", kT0 + i * 10, z[i]);
  auto answer = RunDoc(
      view, R"j({"source": {"samples": ["z"]}, "steps": [{"rises": {"when": "z >= 0.5"}}]})j");
  EXPECT_EQ(Columns(answer), R"j(["vin","t"])j");
  EXPECT_EQ(Rows(answer), "[[" + Q(v) + ",1699920000000010],[" + Q(v) + ",1699920000000050]]");
}

TEST(QueryEngineTest, RunsAndRisesAcrossChunksMatchABruteForceCount) {
  FakeStoreView view;
  const Vin v = TestVin(1);
  std::vector<int> on;
  for (int i = 0; i < 12000; ++i) {
    on.push_back((i * 7919 % 13) < 6);
    view.AddSample(v, "x", kT0 + i, static_cast<double>(on.back()));
  }
  std::uint64_t runs = 0, rises = 0, total = 0;
  std::int64_t start = -1;
  for (std::size_t i = 1; i < on.size(); ++i) {
    if (!on[i - 1] && on[i]) {
      ++rises;
      start = static_cast<std::int64_t>(i);
    } else if (start >= 0 && !on[i]) {
      ++runs;
      total += static_cast<std::uint64_t>(static_cast<std::int64_t>(i) - start);
      start = -1;
    }
  }
  auto r = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"runs": {"when": "x == 1"}},
      {"bucket": {"width": "all", "aggs": {"n": "count()", "d": "sum(duration_us)"}}}]})j");
  EXPECT_EQ(r.at("rows").at(0).at(2).as_double(), static_cast<double>(runs));
  EXPECT_EQ(r.at("rows").at(0).at(3).as_double(), static_cast<double>(total));
  auto s = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"rises": {"when": "x == 1"}},
      {"bucket": {"width": "all", "aggs": {"n": "count()"}}}]})j");
  EXPECT_EQ(s.at("rows").at(0).at(2).as_double(), static_cast<double>(rises));
}

TEST(QueryEngineTest, VehicleSelectorMatchesVinsAttributesAndPresence) {
  FakeStoreView view;
  view.AddVehicle(TestVin(1), {{"fleet", "South"}, {"model", "F-150"}, {"name", "a"}});
  view.AddVehicle(TestVin(2), {{"fleet", "South"}, {"model", "H-2"}, {"name", ""}});
  view.AddVehicle(TestVin(3), {{"fleet", "North"}, {"model", "F-150"}, {"name", "c"}});
  view.AddVehicle(TestVin(4), {{"fleet", "South"}, {"model", "G-2000"}});
  for (int i = 1; i <= 4; ++i) view.AddSample(TestVin(i), "x", kT0, static_cast<double>(i));
  auto vins = [&](const std::string& selector) {
    auto answer =
        RunDoc(view, R"j({"vehicles": )j" + selector + R"j(, "source": {"latest": ["x"]}})j");
    std::string out;
    for (const auto& row : answer.at("rows").as_array())
      out += std::to_string(static_cast<int>(row.at(2).as_double()));
    return out;
  };
  EXPECT_EQ(vins(R"j({"where": {"fleet": "South"}})j"), "124");
  EXPECT_EQ(vins(R"j({"where": {"fleet": "South", "model": ["F-150", "H-2"]}})j"), "12");
  EXPECT_EQ(vins(R"j({"where": {"fleet": "South"}, "has": ["name"]})j"), "1");
  EXPECT_EQ(vins(R"j({"vin": ")j" + TestVin(3).str() + R"j("})j"), "3");
  EXPECT_EQ(vins(R"j({"vins": [")j" + TestVin(4).str() + R"j(", ")j" + TestVin(9).str() +
                 R"j(", ")j" + TestVin(2).str() + R"j("]})j"),
            "24");
}

TEST(QueryEngineTest, GroupsFoldRowsOfAllTheirVehiclesInKeyOrder) {
  FakeStoreView view;
  view.AddVehicle(TestVin(1), {{"fleet", "South"}, {"cap", "100"}});
  view.AddVehicle(TestVin(2), {{"fleet", "North"}, {"cap", "200"}});
  view.AddVehicle(TestVin(3), {{"fleet", "South"}, {"cap", "300"}});
  view.AddVehicle(TestVin(4), {{"cap", "400"}});  // no fleet: the null key sorts last
  for (int i = 1; i <= 4; ++i) {
    view.AddSample(TestVin(i), "x", kT0 + 1, 1.0 * i);
    view.AddSample(TestVin(i), "x", kT0 + kDay + 1, 10.0 * i);
  }
  auto answer = RunDoc(view, R"j({"source": {"samples": ["x"]}, "group": {"by": ["fleet"],
      "aggs": {"n": "count()", "avg": "avg(x)", "pct": "avg(x / attr.cap)", "vehicles":
      "count(vin)", "latest": "last(x)"}}})j");
  EXPECT_EQ(Columns(answer), R"j(["fleet","n","avg","pct","vehicles","latest"])j");
  const auto& rows = answer.at("rows").as_array();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at(0), "North");
  EXPECT_EQ(rows[1].at(0), "South");
  EXPECT_TRUE(rows[2].at(0).is_null());
  EXPECT_EQ(rows[1].at(1).as_double(), 4.0);
  EXPECT_EQ(rows[1].at(2).as_double(), (1 + 10 + 3 + 30) / 4.0);
  EXPECT_NEAR(rows[1].at(3).as_double(), (0.01 + 0.1 + 0.01 + 0.1) / 4, 1e-15);
  EXPECT_EQ(rows[1].at(4).as_double(), 0.0);   // strings are not counted by count(e)
  EXPECT_EQ(rows[1].at(5).as_double(), 30.0);  // at the same t, the largest value

  auto by_day = RunDoc(view, R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1d",
      "aggs": {"s": "sum(x)"}}}], "group": {"by": ["fleet"], "time": true,
      "aggs": {"total": "sum(s)", "day": "t"}}})j");
  EXPECT_EQ(Columns(by_day), R"j(["fleet","t","total","day"])j");
  EXPECT_EQ(
      Rows(by_day),
      R"j([["North",1699920000000000,2E0,1.69992E15],["North",1700006400000000,2E1,1.7000064E15],)j"
      R"j(["South",1699920000000000,4E0,1.69992E15],["South",1700006400000000,4E1,1.7000064E15],)j"
      R"j([null,1699920000000000,4E0,1.69992E15],[null,1700006400000000,4E1,1.7000064E15]])j");
}

// Fetches every page of `document` (which has no "limit") with pages of `limit` rows.
json::array AllPages(const StoreView& view, const std::string& document, int limit) {
  json::array rows;
  std::string after;
  for (int page = 0; page < 1000; ++page) {
    auto doc = json::parse(document).as_object();
    doc["limit"] = limit;
    if (!after.empty()) doc["after"] = after;
    auto answer = RunDoc(view, json::serialize(doc));
    EXPECT_LE(answer.at("rows").as_array().size(), static_cast<std::size_t>(limit));
    for (const auto& row : answer.at("rows").as_array()) rows.push_back(row);
    if (!answer.contains("next")) return rows;
    after = std::string(answer.at("next").as_string());
  }
  ADD_FAILURE() << "paging did not end";
  return rows;
}

TEST(QueryEngineTest, PagesResumeExactlyAfterTheirLastRowAlsoAmongEqualTimestamps) {
  FakeStoreView view;
  for (int v = 1; v <= 3; ++v) {
    view.AddVehicle(TestVin(v), {{"fleet", v == 2 ? "North" : "South"}});
    for (int i = 0; i < 7; ++i) {
      view.AddSample(TestVin(v), "x", kT0 + i / 3, static_cast<double>(i));  // three at a time
      view.AddSample(TestVin(v), "x", kT0 + kDay + i, static_cast<double>(-i));
    }
  }
  const std::vector<std::string> documents = {
      R"j({"source": {"samples": ["x"]}})j",
      R"j({"source": {"samples": ["x"]}, "steps": [{"filter": "x != 4"}]})j",
      R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1h", "aggs": {"n": "count()"}}}]})j",
      R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "1h", "aggs": {"n": "count()"}}}],
          "group": {"by": ["fleet"], "time": true, "aggs": {"n": "sum(n)"}}})j",
      R"j({"source": {"latest": ["x"]}})j"};
  for (const auto& document : documents) {
    const auto whole = RunDoc(view, document).at("rows");
    for (int limit : {1, 2, 3, 5, 100}) {
      EXPECT_EQ(json::serialize(AllPages(view, document, limit)), json::serialize(whole))
          << document << " limit " << limit;
    }
  }
}

TEST(QueryEngineTest, DocumentErrorsNameThePart) {
  FakeStoreView view;
  auto message = [&](const std::string& document, QueryLimits limits = {}) {
    return ErrorOf(view, document, limits).message();
  };
  EXPECT_EQ(message("{\"source\": {\"latest\": [\"x\"]},\n  \"steps\": [}"),
            "query: line 2, column 13: syntax error");
  EXPECT_EQ(
      message(
          R"j({"source": {"samples": ["x"]}, "steps": [{"filter": "x > 1"}, {"fliter": "x"}]})j"),
      "steps[1]: unknown step 'fliter' (expected filter, compute, bucket, runs or rises)");
  EXPECT_EQ(message(R"j({"source": {"samples": ["x"], "form_us": 1}})j"),
            "source: unknown key 'form_us' (expected samples, from_us, to_us)");
  EXPECT_EQ(message(R"j({"source": {"samples": ["x"]}, "limit": 100001})j"),
            "limit: expected an integer in 1..100000 (rows per page)");
  EXPECT_EQ(
      message(
          R"j({"source": {"samples": ["x"]}, "steps": [{"bucket": {"width": "10x", "aggs": {"n": "count()"}}}]})j"),
      "steps[0].bucket.width: '10x': expected an integer and a unit (us, ms, s, m, h, d), or all");
  EXPECT_THAT(
      message(
          R"j({"vehicles": {"vins": ["1FTFW1E50PFA00001", "nope"]}, "source": {"latest": ["x"]}})j"),
      HasSubstr("vehicles.vins[1]: VIN 'nope'"));
  EXPECT_EQ(message(R"j({"source": {"samples": ["x", "t"]}})j"),
            "source.samples[1]: 't' is reserved and cannot name a column");
  EXPECT_EQ(message(R"j({"source": {"samples": ["x"], "from_us": 5, "to_us": 5}})j"),
            "source: from_us must be less than to_us");
  EXPECT_EQ(message(R"j({"source": {"latest": ["x"]}, "after": "eyJxIjoiMCIsInQiOjB9"})j"),
            "after: the cursor belongs to another query");
  EXPECT_EQ(message(R"j({"source": {"latest": ["x"]}, "after": "%%"})j"),
            "after: not a cursor of this API; pass a page's \"next\" as it is");
  std::string steps;
  for (int i = 0; i < 65; ++i) steps += std::string(i ? "," : "") + R"j({"filter": "x > 0"})j";
  EXPECT_EQ(message(R"j({"source": {"samples": ["x"]}, "steps": [)j" + steps + "]}"),
            "steps: 65 steps; at most 64 are allowed");
  EXPECT_EQ(ErrorOf(view, "[1]").code(), Errc::kInvalidArgument);
}

TEST(QueryEngineTest, ScanningMoreThanTheLimitIsRefused) {
  FakeStoreView view;
  for (int i = 0; i < 100; ++i) view.AddSample(TestVin(1), "x", kT0 + i, 1.0);
  QueryLimits limits;
  limits.max_scanned_values = 50;
  auto error = ErrorOf(view, R"j({"source": {"samples": ["x"]}})j", limits);
  EXPECT_EQ(error.code(), Errc::kInvalidArgument);
  EXPECT_EQ(error.message(),
            "query scans more than 50 values; narrow the time range or the vehicles");
}

TEST(QueryEngineTest, HoldingMoreGroupsThanTheLimitIsRefused) {
  FakeStoreView view;
  for (int v = 0; v < 3; ++v) {
    view.AddVehicle(TestVin(v), {{"fleet", "F" + std::to_string(v)}});
    for (int day = 0; day < 4; ++day) view.AddSample(TestVin(v), "x", kT0 + day * kDay, 1.0);
  }
  const std::string by_day = R"j({"source": {"samples": ["x"]}, "steps": [{"bucket":
      {"width": "1d", "aggs": {"s": "sum(x)"}}}], "group": {"by": ["fleet"], "time": true,
      "aggs": {"total": "sum(s)"}}})j";
  const std::string by_fleet = R"j({"source": {"samples": ["x"]},
      "group": {"by": ["fleet"], "aggs": {"n": "count()"}}})j";
  QueryLimits limits;
  limits.max_groups = 12;  // 3 fleets x 4 days: exactly enough
  EXPECT_EQ(RunDoc(view, by_day, limits).at("rows").as_array().size(), 12u);
  for (const unsigned threads : {1u, 2u}) {
    limits.threads = threads;
    limits.max_groups = 11;
    auto error = ErrorOf(view, by_day, limits);
    EXPECT_EQ(error.code(), Errc::kInvalidArgument);
    EXPECT_EQ(error.message(),
              "group: more than 11 groups (each time bucket counts); group by fewer attributes "
              "or use wider time buckets");
    limits.max_groups = 3;  // without time, a group per fleet
    EXPECT_EQ(RunDoc(view, by_fleet, limits).at("rows").as_array().size(), 3u);
    limits.max_groups = 2;
    EXPECT_EQ(ErrorOf(view, by_fleet, limits).code(), Errc::kInvalidArgument);
  }
  limits.max_groups = 0;
  EXPECT_FALSE(limits.Validate());
}

TEST(QueryEngineTest, AQueryPastItsTimeLimitFailsAsUnavailable) {
  FakeStoreView view;
  view.AddSample(TestVin(1), "x", kT0, 1.0);
  QueryLimits limits;
  limits.timeout = std::chrono::milliseconds(0);
  auto error = ErrorOf(view, R"j({"source": {"samples": ["x"]}})j", limits);
  EXPECT_EQ(error.code(), Errc::kUnavailable);
  EXPECT_EQ(error.message(), "query exceeded its time limit of 0 ms");
}

TEST(QueryEngineTest, StorageFailuresAreReturned) {
  FakeStoreView view;
  view.AddSample(TestVin(1), "x", kT0, 1.0);
  view.fail = Error(Errc::kStorage, "disk on fire");
  EXPECT_EQ(ErrorOf(view, R"j({"source": {"samples": ["x"]}})j").code(), Errc::kStorage);
}

TEST(QueryEngineTest, ParamsReplacePlaceholdersTypedWhenWhole) {
  auto text = SubstituteParams(
      R"j({"a": "${fleet}", "b": "${from_us}", "c": "x ${fleet} y", "d": ["${n}"]})j",
      {{"fleet", "South"}, {"from_us", "1699920000000000"}, {"n", "0.5"}});
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(text.value(), R"j({"a":"South","b":1699920000000000,"c":"x South y","d":[5E-1]})j");
  auto missing = SubstituteParams(R"j({"a": "${fleet}"})j", {});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("parameter 'fleet' has no value"));
}

}  // namespace
}  // namespace canvoy::fleet_store
