// Queries read on several threads give the serial run's answer: the same rows in the same order,
// the same cursors, stats and errors. The fleet spans several vehicle batches (256) and its
// vehicles differ in size, so that workers finish out of order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
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
constexpr int kVehicles = 700;
constexpr unsigned kThreads[] = {2, 3, 4};

// A query's outcome without its timing: the body (stats.elapsed_us and stats.threads removed)
// or the error.
struct Outcome {
  json::value body;
  QueryStats stats;
  std::string error;
  std::string next;  // the cursor of the next page, if any
};

Outcome RunWith(const StoreView& view, const std::string& document, unsigned threads,
            QueryLimits limits = {}) {
  limits.threads = threads;
  Outcome out;
  auto answer = RunQuery(view, document, limits);
  if (!answer) {
    out.error = answer.error().ToString();
    return out;
  }
  out.stats = answer.value().stats;
  out.body = json::parse(answer.value().body);
  auto& body = out.body.as_object();
  body.at("stats").as_object().erase("elapsed_us");
  body.at("stats").as_object().erase("threads");
  if (auto* next = body.if_contains("next")) out.next = std::string(next->as_string());
  return out;
}

// Asserts that `threads` gives the serial outcome.
void ExpectSame(const Outcome& serial, const Outcome& parallel, const std::string& what) {
  EXPECT_EQ(parallel.error, serial.error) << what;
  EXPECT_EQ(parallel.body, serial.body) << what;
  EXPECT_EQ(parallel.stats.vehicles, serial.stats.vehicles) << what;
  EXPECT_EQ(parallel.stats.samples, serial.stats.samples) << what;
  EXPECT_EQ(parallel.stats.rollups, serial.stats.rollups) << what;
}

// The first `max_pages` pages of `document` with pages of `limit` rows.
std::vector<Outcome> Pages(const StoreView& view, const std::string& document, std::size_t limit,
                           unsigned threads, int max_pages = 100) {
  std::vector<Outcome> pages;
  std::string after;
  for (int page = 0; page < max_pages; ++page) {
    json::object doc = json::parse(document).as_object();
    doc["limit"] = limit;
    if (!after.empty()) doc["after"] = after;
    pages.push_back(RunWith(view, json::serialize(doc), threads));
    if (pages.back().next.empty()) break;
    after = pages.back().next;
  }
  return pages;
}

// Fails the reads of one vehicle's samples, rollups and latest values.
class FailingView final : public test_support::ForwardingView {
 public:
  FailingView(const StoreView& view, const Vin& bad) : ForwardingView(view), bad_(bad) {}

  Result<std::optional<LatestValue>> GetLatest(const Vin& vin,
                                               std::string_view signal) const override {
    if (vin == bad_) return Failure();
    return ForwardingView::GetLatest(vin, signal);
  }
  Status ScanSamples(const Vin& vin, std::string_view signal, std::int64_t from_us,
                     std::int64_t to_us,
                     const std::function<bool(const Sample&)>& fn) const override {
    if (vin == bad_) return Failure();
    return ForwardingView::ScanSamples(vin, signal, from_us, to_us, fn);
  }
  Status ScanSampleRuns(const Vin& vin, std::string_view signal, std::int64_t from_us,
                        std::int64_t to_us,
                        const std::function<bool(const SampleRun&)>& fn) const override {
    if (vin == bad_) return Failure();
    return ForwardingView::ScanSampleRuns(vin, signal, from_us, to_us, fn);
  }
  Status ScanRollups(const Vin& vin, std::string_view signal, RollupWidth width,
                     std::int64_t from_us, std::int64_t to_us,
                     const std::function<bool(std::int64_t, const Rollup&)>& fn) const override {
    if (vin == bad_) return Failure();
    return ForwardingView::ScanRollups(vin, signal, width, from_us, to_us, fn);
  }

 private:
  static Error Failure() { return Error(Errc::kStorage, "scan history: disk failure"); }

  Vin bad_;
};

class QueryParallelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeStoreView();
    std::mt19937_64 random(7);
    auto uniform = [&random] { return static_cast<double>(random() % 1'000'000) / 1e6; };
    const char* models[] = {"F-150", "G-2000", "H-2", "J-9"};
    for (int i = 0; i < kVehicles; ++i) {
      const Vin vin = TestVin(i * 3 + 1);  // gaps, so that VIN lists name unknown vehicles
      Attributes attributes;
      if (i % 11 != 0) {
        attributes["fleet"] = i % 3 == 0 ? "North" : "South";
        attributes["model"] = models[(i / 2) % 4];
        if (i % 7 != 0) attributes["name"] = "truck_" + std::to_string(i);
      }
      fake_->AddVehicle(vin, attributes);
      if (i % 13 == 5) continue;  // attributes only
      // Uneven sizes: most vehicles have up to a few hundred samples, some thousands.
      const int n = i % 50 == 7 ? 6000 : static_cast<int>((i * 7919) % 400);
      const std::int64_t step = (20 + (i % 5) * 7) * kSecond;
      std::int64_t t = kT0 + (i % 17) * 3 * kSecond + 123;
      double speed = uniform() * 80;
      for (int k = 0; k < n; ++k) {
        if (k % 97 != 5) t += step;  // some timestamps twice
        speed = std::clamp(speed + (uniform() - 0.5) * 30, 0.0, 120.0);
        fake_->AddSample(vin, "speed", t, speed);
        if (uniform() < 0.8) fake_->AddSample(vin, "fuel", t, 5 + uniform() * 20);
        fake_->AddSample(vin, "status", t, static_cast<std::int64_t>(random() % 5));
      }
    }
    view_ = fake_;
  }
  static void TearDownTestSuite() { delete fake_; }

  // Runs `document` on 1 and on several threads, and expects the same outcome.
  static Outcome ExpectSameForEveryThreadCount(const std::string& document,
                                               const QueryLimits& limits = {}) {
    const Outcome serial = RunWith(*view_, document, 1, limits);
    for (unsigned threads : kThreads)
      ExpectSame(serial, RunWith(*view_, document, threads, limits),
                 document + "\nthreads " + std::to_string(threads));
    return serial;
  }

  static FakeStoreView* fake_;
  static const StoreView* view_;  // *fake_, read-only: its reads are safe from several threads
};

FakeStoreView* QueryParallelTest::fake_ = nullptr;
const StoreView* QueryParallelTest::view_ = nullptr;

const std::string kHourlyRows = R"j({"source": {"samples": ["speed"],
    "from_us": 1699920017000000, "to_us": 1699950000000000},
    "steps": [{"bucket": {"width": "1h", "aggs": {"v": "avg(speed)", "n": "count()",
                                                  "hi": "max(speed)"}}}],
    "attributes": ["fleet", "name"]})j";

TEST_F(QueryParallelTest, ReducingQueriesGiveTheSerialAnswer) {
  const std::vector<std::string> documents = {
      // grouped, over raw samples
      R"j({"source": {"samples": ["speed"]},
          "group": {"by": ["fleet"], "aggs": {"a": "avg(speed)", "s": "sum(speed)",
                                              "n": "count()", "f": "first(speed)"}}})j",
      // grouped by time over buckets
      R"j({"source": {"samples": ["speed"]},
          "steps": [{"bucket": {"width": "10m", "aggs": {"v": "avg(speed)"}}}],
          "group": {"by": ["fleet", "model"], "time": true,
                    "aggs": {"m": "max(v)", "a": "avg(v)", "s": "sum(v)"}}})j",
      // bucketed rows, from rollups
      kHourlyRows,
      // bucketed rows of a join, filtered after the bucket
      R"j({"source": {"samples": ["speed", "fuel"]},
          "steps": [{"bucket": {"width": "5m", "aggs": {"r": "sum(speed) / sum(fuel)"}}},
                    {"filter": "r > 3"}], "attributes": ["model"]})j",
      // runs
      R"j({"source": {"samples": ["speed"]}, "steps": [{"runs": {"when": "speed > 60"}}],
          "attributes": ["name"]})j",
      // rises, grouped
      R"j({"source": {"samples": ["speed", "status"]},
          "steps": [{"compute": {"r": "speed / (status + 1)"}}, {"rises": {"when": "r > 20"}}],
          "group": {"by": ["model"], "aggs": {"n": "count()"}}})j",
      // a selector, and latest values into a group
      R"j({"vehicles": {"where": {"fleet": "South"}, "has": ["name"]},
          "source": {"samples": ["speed"]},
          "steps": [{"bucket": {"width": "all", "aggs": {"v": "avg(speed)"}}}],
          "group": {"by": ["model"], "aggs": {"v": "avg(v)", "n": "count()"}}})j",
      R"j({"source": {"latest": ["speed", "fuel"]},
          "group": {"by": ["fleet"], "aggs": {"n": "count()", "a": "avg(speed + fuel)"}}})j",
      // joined, filtered and grouped: rows folded where they lie, partials merged
      R"j({"source": {"samples": ["fuel", "speed"]}, "steps": [{"filter": "speed > 30"}],
          "group": {"by": ["model"], "aggs": {"a": "avg(fuel)", "n": "count()",
                    "hi": "max(speed)", "l": "last(fuel)", "m": "sum(attr.model == 'H-2')"}}})j",
  };
  for (const auto& document : documents) {
    const Outcome serial = ExpectSameForEveryThreadCount(document);
    EXPECT_EQ(serial.error, "") << document;
    EXPECT_GT(serial.stats.vehicles, 256u) << document;
  }
  // The hourly rows read rollups, and come by VIN: a replay out of order would show.
  const Outcome hourly = RunWith(*view_, kHourlyRows, 1);
  EXPECT_GT(hourly.stats.rollups, 0u);
  EXPECT_GT(hourly.body.at("rows").as_array().size(), 1000u);
}

TEST_F(QueryParallelTest, PagesAndCursorsAreTheSerialOnes) {
  const std::vector<std::string> documents = {
      kHourlyRows,
      R"j({"source": {"samples": ["speed"]}, "steps": [{"runs": {"when": "speed > 60"}}]})j",
      R"j({"source": {"samples": ["speed"]},
          "steps": [{"bucket": {"width": "30m", "aggs": {"v": "avg(speed)"}}}],
          "group": {"by": ["fleet", "model"], "time": true, "aggs": {"a": "avg(v)"}}})j",
  };
  for (const auto& document : documents) {
    const std::size_t rows = RunWith(*view_, document, 1).body.at("rows").as_array().size();
    // A few short pages (cursors inside vehicles and groups), then every page of a fifth.
    const std::vector<std::pair<std::size_t, int>> pagings = {{7, 5}, {rows / 5 + 3, 100}};
    for (const auto& [limit, max_pages] : pagings) {
      const auto serial = Pages(*view_, document, limit, 1, max_pages);
      ASSERT_GT(serial.size(), 2u) << document;
      for (unsigned threads : kThreads) {
        const auto parallel = Pages(*view_, document, limit, threads, max_pages);
        ASSERT_EQ(parallel.size(), serial.size()) << document << " threads " << threads;
        for (std::size_t p = 0; p < serial.size(); ++p) {
          ExpectSame(serial[p], parallel[p],
                     document + "\nlimit " + std::to_string(limit) + " page " +
                         std::to_string(p) + " threads " + std::to_string(threads));
        }
      }
    }
  }
}

TEST_F(QueryParallelTest, VinListsGiveTheSerialAnswer) {
  std::string vins;
  for (int i = 0; i < 1200; i += 2) {  // every other VIN of the fleet's range, half unknown
    if (!vins.empty()) vins += ", ";
    vins += "\"" + TestVin(i).str() + "\"";
  }
  const std::string document = R"j({"vehicles": {"vins": [)j" + vins + R"j(]},
      "source": {"samples": ["speed"]},
      "steps": [{"bucket": {"width": "20m", "aggs": {"v": "avg(speed)", "n": "count()"}}}],
      "attributes": ["fleet"]})j";
  const Outcome serial = ExpectSameForEveryThreadCount(document);
  EXPECT_EQ(serial.error, "");
  const std::size_t rows = serial.body.at("rows").as_array().size();
  const auto expected = Pages(*view_, document, rows / 4 + 1, 1);
  ASSERT_GT(expected.size(), 2u);
  for (unsigned threads : kThreads) {
    const auto pages = Pages(*view_, document, rows / 4 + 1, threads);
    ASSERT_EQ(pages.size(), expected.size());
    for (std::size_t p = 0; p < pages.size(); ++p)
      ExpectSame(expected[p], pages[p], "page " + std::to_string(p));
  }
}

TEST_F(QueryParallelTest, ScanLimitFailsAsSerialWithSeveralThreads) {
  const std::string grouped = R"j({"source": {"samples": ["speed"]},
      "steps": [{"bucket": {"width": "10m", "aggs": {"v": "avg(speed)"}}}],
      "group": {"by": ["fleet"], "aggs": {"a": "avg(v)"}}})j";
  const Outcome whole = RunWith(*view_, grouped, 1);
  ASSERT_EQ(whole.error, "");
  const std::uint64_t total = whole.stats.samples + whole.stats.rollups;
  QueryLimits limits;
  for (std::uint64_t max : {total / 3, total - 1}) {
    limits.max_scanned_values = max;
    const Outcome serial = ExpectSameForEveryThreadCount(grouped, limits);
    EXPECT_THAT(serial.error, ::testing::StartsWith("invalid argument: query scans more than"));
  }
  limits.max_scanned_values = total;
  EXPECT_EQ(ExpectSameForEveryThreadCount(grouped, limits).error, "");
}

// A page that fills early: the workers read ahead in the batch, but the count, and so the scan
// limit, is the serial run's, which stops reading the vehicle where the page filled.
TEST_F(QueryParallelTest, ReadingAheadCountsAndLimitsAsSerial) {
  const std::string runs =
      R"j({"source": {"samples": ["speed"]}, "steps": [{"runs": {"when": "speed > 60"}}]})j";
  // The page fills inside the first chunk of vehicle 7, which has 6000 samples.
  const Outcome whole = RunWith(*view_, runs, 1);
  const std::string big = TestVin(7 * 3 + 1).str();
  std::size_t before_big = 0;
  for (const auto& row : whole.body.at("rows").as_array())
    before_big += row.as_array().at(0).as_string() < big ? 1 : 0;
  for (auto [document, limit] :
       {std::pair{kHourlyRows, std::size_t{30}}, std::pair{runs, before_big + 1}}) {
    json::object doc = json::parse(document).as_object();
    doc["limit"] = limit;
    const std::string paged = json::serialize(doc);
    const Outcome first = ExpectSameForEveryThreadCount(paged);
    ASSERT_FALSE(first.next.empty());
    const std::uint64_t read = first.stats.samples + first.stats.rollups;
    QueryLimits limits;
    for (std::uint64_t max : {read / 2, read - 1, read, read + 1, read + 300, 5 * read}) {
      limits.max_scanned_values = max;
      ExpectSameForEveryThreadCount(paged, limits);
    }
  }
}

TEST_F(QueryParallelTest, StorageErrorsComeWhereTheSerialRunMeetsThem) {
  const FailingView failing(*view_, TestVin(3 * 40 + 1));  // the 41st vehicle
  const std::string rows = R"j({"source": {"samples": ["speed"]},
      "steps": [{"bucket": {"width": "all", "aggs": {"v": "avg(speed)"}}}], "limit": 20})j";
  const std::string grouped = R"j({"source": {"samples": ["speed"]},
      "steps": [{"bucket": {"width": "all", "aggs": {"v": "avg(speed)"}}}],
      "group": {"by": ["model"], "aggs": {"v": "avg(v)"}}})j";
  const Outcome page = RunWith(failing, rows, 1);  // full before the failing vehicle
  EXPECT_EQ(page.error, "");
  const Outcome failed = RunWith(failing, grouped, 1);
  EXPECT_EQ(failed.error, "storage error: scan history: disk failure");
  for (unsigned threads : kThreads) {
    ExpectSame(page, RunWith(failing, rows, threads), "rows");
    ExpectSame(failed, RunWith(failing, grouped, threads), "grouped");
  }
}

TEST_F(QueryParallelTest, TimeLimitFailsWithSeveralThreads) {
  QueryLimits limits;
  limits.timeout = std::chrono::milliseconds(0);
  const Outcome serial = ExpectSameForEveryThreadCount(
      R"j({"source": {"samples": ["speed"]}, "group": {"aggs": {"n": "count()"}}})j",
      limits);
  EXPECT_EQ(serial.error, "unavailable: query exceeded its time limit of 0 ms");
}

// The threads beyond the caller's come from the shared budget: a query takes what is free, hands it
// back when it ends, and answers as the serial run whatever it was granted.
TEST_F(QueryParallelTest, ThreadsBeyondTheCallersComeFromTheSharedBudget) {
  const std::string document = R"j({"source": {"samples": ["fuel", "speed"]},
      "steps": [{"filter": "speed > 30"}],
      "group": {"by": ["model"], "aggs": {"a": "avg(fuel)", "n": "count()"}}})j";
  const Outcome serial = RunWith(*view_, document, 1);
  EXPECT_EQ(serial.stats.threads, 1u);
  ASSERT_EQ(serial.error, "");
  QueryLimits limits;
  limits.budget = std::make_shared<QueryThreadBudget>(2);
  // Slots held by other queries: none, one, both.
  for (const unsigned held : {0u, 1u, 2u}) {
    ASSERT_EQ(limits.budget->Take(held), held);
    const Outcome parallel = RunWith(*view_, document, 4, limits);
    ExpectSame(serial, parallel, "held " + std::to_string(held));
    EXPECT_EQ(parallel.stats.threads, 1 + 2 - held) << held;
    EXPECT_EQ(limits.budget->free(), 2 - held) << "the query handed its slots back";
    limits.budget->Give(held);
  }
  // Without a budget a query starts its own threads.
  EXPECT_EQ(RunWith(*view_, document, 3).stats.threads, 3u);
}

TEST(QueryParallelLimitsTest, ABudgetGrantsWhatIsFree) {
  QueryThreadBudget budget(3);
  EXPECT_EQ(budget.Take(2), 2u);
  EXPECT_EQ(budget.Take(5), 1u);
  EXPECT_EQ(budget.Take(1), 0u);
  budget.Give(3);
  EXPECT_EQ(budget.free(), 3u);
  EXPECT_EQ(budget.Take(0), 0u);
  EXPECT_EQ(budget.free(), 3u);
}

TEST(QueryParallelLimitsTest, ZeroThreadsAreRejected) {
  QueryLimits limits;
  limits.threads = 0;
  EXPECT_FALSE(limits.Validate());
  limits.threads = 1;
  EXPECT_TRUE(limits.Validate());
}

// Vehicles with many rows of many columns: the workers' rounds end before the batch does, and
// a vehicle too large to keep is read by the caller in its turn.
TEST(QueryParallelLargeTest, LargeVehiclesGiveTheSerialAnswer) {
  FakeStoreView fake;
  for (int i = 0; i < 7; ++i) {
    const Vin vin = TestVin(i);
    fake.AddVehicle(vin, {{"fleet", i % 2 == 0 ? "North" : "South"}});
    const int n = i == 3 ? 200'000 : 100'000 + i * 1000;
    for (int k = 0; k < n; ++k)
      fake.AddSample(vin, "x", kT0 + k * kSecond, std::sin(k * 0.001 + i));
  }
  const std::string document = R"j({"source": {"samples": ["x"]},
      "steps": [{"compute": {"a": "x + 1", "b": "x * 2", "c": "x - 3", "d": "x / 4",
                             "e": "a + b", "f": "c + d", "g": "e * f", "h": "g - x",
                             "i": "h + a", "j": "i * b"}}],
      "group": {"by": ["fleet"], "aggs": {"s": "sum(j)", "n": "count()", "l": "last(g)"}}})j";
  const Outcome serial = RunWith(fake, document, 1);
  ASSERT_EQ(serial.error, "");
  for (unsigned threads : {2u, 3u})
    ExpectSame(serial, RunWith(fake, document, threads), "threads " + std::to_string(threads));
}

}  // namespace
}  // namespace canvoy::fleet_store
