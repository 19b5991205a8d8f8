// The query routes on a real Store (RocksDB) and its StoreView, next to the existing routes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <random>

#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/query_service.h"
#include "canvoy/fleet_store/store_view.h"
#include "canvoy/fleet_store/store_writer.h"
#include "fake_store_view.h"
#include "test_support.h"

namespace canvoy::fleet_store {
namespace {

using namespace test_support;
using test_support::FakeStoreView;
namespace json = boost::json;

constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z
constexpr std::int64_t kSecond = 1'000'000;

class QueryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open(StoreAt(dir_.path() / "db")).value();
    writer_ = std::make_unique<StoreWriter>(*store_);
    ASSERT_TRUE(writer_->PutCatalog(CatalogRecordOf(TestCatalog())));
    // Speed every 10 s for 20 minutes, starting 5 s into the day: 120 samples.
    std::vector<std::pair<std::int64_t, double>> speeds;
    for (int i = 0; i < 120; ++i) speeds.emplace_back(kT0 + 5 * kSecond + i * 10 * kSecond, i);
    BatchBuilder batch(1, kT0);
    batch.Doubles(kSpeed, speeds);
    auto applied = writer_->Apply({Record(0, kVin1, batch)});
    ASSERT_TRUE(applied) << applied.error().ToString();
    handler_ = MakeQueryHandler(
        *store_, [this] { return store_->View(); }, registry_);
  }

  json::object Get(const std::string& path, std::map<std::string, std::string> query = {}) {
    auto response = handler_(http::Request{"GET", path, std::move(query), ""});
    EXPECT_EQ(response.status, 200u) << path << ": " << response.body;
    return json::parse(response.body).as_object();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> writer_;
  prometheus::Registry registry_;
  http::Handler handler_;
};

TEST_F(QueryStoreTest, SamplesAndDownsamplesComeFromTheStoresView) {
  const std::string signal = "/v1/vehicles/" + std::string(kVin1) + "/signals/Vehicle.Speed/";
  auto samples = Get(signal + "samples", {{"limit", "1000"}});
  ASSERT_EQ(samples.at("rows").as_array().size(), 120u);
  EXPECT_EQ(samples.at("rows").at(0).at(0).to_number<std::int64_t>(), kT0 + 5 * kSecond);

  auto downsampled = Get(signal + "downsample", {{"width", "10m"}, {"aggs", "count,min,max"}});
  EXPECT_EQ(json::serialize(downsampled.at("rows")),
            R"([[1699920000000000,6E1,0E0,5.9E1],[1699920600000000,6E1,6E1,1.19E2]])");
  EXPECT_GT(downsampled.at("stats").at("rollups").to_number<std::uint64_t>(), 0u);

  // Whole days without a range: hour rollups from the beginning of time to its end.
  auto daily = Get(signal + "downsample", {{"width", "1d"}, {"aggs", "count,sum"}});
  EXPECT_EQ(json::serialize(daily.at("rows")), R"([[1699920000000000,1.2E2,7.14E3]])");
  auto all = Get("/v1/query", {{"q", R"j({"source": {"samples": ["Vehicle.Speed"]},
      "steps": [{"bucket": {"width": "all", "aggs": {"n": "count()"}}}]})j"}});
  EXPECT_EQ(all.at("rows").at(0).at(2).as_double(), 120.0);
}

// Ten hours of speed and a counter, every other hour standing still: a leading filter on speed
// leaves out the still hours (their hour rollups show no speed above 1) and the counter's samples
// in them, and answers as the same filter the engine applies only after the join.
TEST_F(QueryStoreTest, AFilterBeforeAJoinLeavesOutHoursThatCannotPassAndAnswersTheSame) {
  std::vector<std::pair<std::int64_t, double>> speeds;
  std::vector<std::pair<std::int64_t, std::int64_t>> counts;
  for (int i = 0; i < 600; ++i) {
    const std::int64_t t = kT0 + i * 60 * kSecond;
    const bool still = (i / 60) % 2 == 0;
    if (i % 7 != 3) speeds.emplace_back(t, still ? 0.0 : static_cast<double>(i % 13) * 0.5);
    if (i % 5 != 1) counts.emplace_back(t, i);
  }
  BatchBuilder batch(1, kT0);
  batch.Doubles(kSpeed, speeds).Int64s(kCounter, counts);
  ASSERT_TRUE(writer_->Apply({Record(1, kVin2, batch)}));
  const auto run = [this](const std::string& filter) {
    return Get("/v1/query",
               {{"q", R"j({"source": {"samples": ["Engine.Counter", "Vehicle.Speed"]},
                   "vehicles": {"vin": ")j" + std::string(kVin2) + R"j("}, "limit": 10000,
                   "steps": [{"filter": ")j" + filter + R"j("}]})j"}});
  };
  auto early = run("Vehicle.Speed > 1");
  auto late = run("(Vehicle.Speed > 1) or 1 > 2");
  EXPECT_EQ(json::serialize(early.at("rows")), json::serialize(late.at("rows")));
  std::size_t expected = 0;
  for (int i = 0; i < 600; ++i) {
    expected += (i / 60) % 2 == 1 && i % 7 != 3 && i % 5 != 1 && (i % 13) * 0.5 > 1 ? 1 : 0;
  }
  EXPECT_EQ(early.at("rows").as_array().size(), expected);
  // The early one reads speeds and counters of the moving hours only: about half.
  const auto read = [](const json::object& answer) {
    return answer.at("stats").at("samples").to_number<std::uint64_t>();
  };
  EXPECT_LT(read(early) * 3, read(late) * 2) << json::serialize(early.at("stats"));
}

// A join of more than one window on the real view, which decodes runs straight into the
// engine's buffers: a signal that is an integer for some hours and a double (with NaN) for
// others, and a bool; the rows and a grouped filter agree with the same samples in memory.
TEST_F(QueryStoreTest, RunsDecodedInPlaceGiveTheRowsOfTheSamplesInMemory) {
  FakeStoreView memory;
  const Vin vin = Vin::Parse(kVin2).value();
  memory.AddVehicle(vin, {});
  ImportedBatch batch{vin, Stream(9), 1, kT0, {}};
  batch.series = {
      {"Vehicle.Speed", "", {}}, {"Engine.Counter", "", {}}, {"Vehicle.IsMoving", "", {}}};
  const auto add = [&](std::size_t series, std::int64_t t, SignalValue value) {
    batch.series[series].samples.push_back({t, value});
    memory.AddSample(vin, batch.series[series].signal, t, value);
  };
  for (int i = 0; i < 80'000; ++i) {  // a second apart: more than one join window
    const std::int64_t t = kT0 + i * kSecond;
    if (i % 7 != 3) add(0, t, (i % 13) * 0.5);
    if (i % 5 == 1) continue;
    if ((i / 3600) % 3 == 1) {  // every third hour in doubles, some of them NaN
      add(1, t, i % 11 == 0 ? std::numeric_limits<double>::quiet_NaN() : i * 0.25);
    } else {
      add(1, t, std::int64_t{i});
    }
    add(2, t, i % 3 == 0);
  }
  auto applied = writer_->ApplyImported({batch});
  ASSERT_TRUE(applied) << applied.error().ToString();
  auto view = store_->View();
  const std::string selector = R"j("vehicles": {"vin": ")j" + std::string(kVin2) + R"j("}, )j";
  for (const std::string document :
       {R"j({"source": {"samples": ["Engine.Counter", "Vehicle.Speed"]}, "limit": 100000})j",
        R"j({"source": {"samples": ["Vehicle.IsMoving", "Engine.Counter"]},
                "steps": [{"filter": "Engine.Counter > 20000"}], "limit": 100000})j",
        R"j({"source": {"samples": ["Engine.Counter", "Vehicle.Speed"]},
                "steps": [{"filter": "Vehicle.Speed > 2"}],
                "group": {"aggs": {"n": "count()", "s": "sum(Engine.Counter)",
                                   "hi": "max(Engine.Counter)", "l": "last(Engine.Counter)"}}})j"}) {
    const std::string query = "{" + selector + document.substr(1);
    QueryLimits limits;
    limits.max_scanned_values = 10'000'000;
    auto stored = RunQuery(*view, query, limits);
    auto expected = RunQuery(memory, query, limits);
    ASSERT_TRUE(stored) << stored.error().ToString();
    ASSERT_TRUE(expected) << expected.error().ToString();
    const auto rows = [](const QueryAnswer& answer) {
      return json::parse(answer.body).at("rows").as_array();
    };
    const auto got = rows(stored.value());
    const auto want = rows(expected.value());
    ASSERT_EQ(got.size(), want.size()) << document;
    EXPECT_GT(got.size(), 0u) << document;
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "row " << i << " of " << document;
  }
}

// Joined signals folded where they lie, on the real view, which pairs hours of grid chunks by
// slot: the answers of the same samples in memory (merged by timestamp), to the last bit, for
// hours of every kind: one grid (readings lost apart, or none lost), grids half a unit apart or
// of other units, duplicates (no grid), NaN, an hour missing, and a first hour of strings (read
// as before from there).
TEST_F(QueryStoreTest, JoinsOfGridHoursGiveTheAnswerOfTheSamplesInMemory) {
  FakeStoreView memory;
  std::mt19937_64 rng(4242);
  constexpr std::int64_t kHour = 3600 * kSecond;
  const char* fleets[] = {"North", "South"};
  std::vector<std::pair<Vin, Attributes>> attributes;
  std::vector<ImportedBatch> batches;
  int grid_hours = 0;
  for (int vehicle = 0; vehicle < 6; ++vehicle) {
    const Vin vin = test_support::TestVin(vehicle + 1);
    const Attributes attrs{{"fleet", fleets[vehicle % 2]}};
    attributes.emplace_back(vin, attrs);
    memory.AddVehicle(vin, attrs);
    ImportedBatch batch{vin, Stream(20 + vehicle), 1, kT0, {{"a", "", {}}, {"b", "", {}}}};
    const auto add = [&](std::size_t series, std::int64_t t, SignalValue value) {
      batch.series[series].samples.push_back({t, value});
      memory.AddSample(vin, batch.series[series].signal, t, value);
    };
    for (int hour = 0; hour < 20; ++hour) {
      const bool strings = vehicle == 5 && hour == 0;
      const auto kind = strings ? 0 : static_cast<int>(rng() % 8);
      grid_hours += kind <= 1 ? 1 : 0;
      const std::int64_t start = kT0 + hour * kHour;
      for (int i = 0; i < 360; ++i) {
        const std::int64_t t = start + i * 10 * kSecond;
        const auto x = static_cast<std::int64_t>(rng() % 40);
        const bool lose_a = kind != 1 && rng() % 10 == 0;
        const bool lose_b = kind != 1 && rng() % 10 == 0;
        if (!lose_a) {
          if (strings) {
            add(0, t, std::string(x % 2 == 0 ? "on" : "off"));
          } else if (kind == 4) {  // xor doubles, some NaN
            add(0, t, x == 7 ? std::numeric_limits<double>::quiet_NaN() : x / 3.0);
          } else {
            add(0, t, static_cast<double>(x) * 0.1);
          }
          if (kind == 3 && i % 50 == 0) add(0, t, static_cast<double>(x) * 0.2);  // a tie
        }
        if (lose_b || kind == 5) continue;
        const std::int64_t tb = kind == 2 ? t + 5 * kSecond : t;  // half a unit apart
        if (kind == 6 && i % 2 == 1) continue;                    // every 20 s
        add(1, tb, std::int64_t{(x * 7) % 5 + (hour % 3 == 0 ? 0 : 1)});
      }
    }
    batches.push_back(std::move(batch));
  }
  ASSERT_GT(grid_hours, 20);
  ASSERT_TRUE(writer_->PutAttributes(attributes));
  auto applied = writer_->ApplyImported(std::move(batches));
  ASSERT_TRUE(applied) << applied.error().ToString();
  ASSERT_TRUE(store_->Compact());
  auto view = store_->View();
  const std::string vehicles = R"j("vehicles": {"has": ["fleet"]}, )j";
  int compared = 0;
  for (const std::string document : {
           R"j({"source": {"samples": ["a", "b"]}, "steps": [{"filter": "b > 1"}],
                "group": {"by": ["fleet"], "aggs": {"n": "count()", "avg": "avg(a)",
                "sb": "sum(b)", "lo": "min(a)", "hi": "max(b)", "first": "first(a)",
                "last": "last(b)"}}})j",
           R"j({"source": {"samples": ["b", "a"]}, "steps": [{"filter": "a > 1.5"}],
                "group": {"by": ["fleet"], "aggs": {"avg": "avg(a)", "s": "sum(b)"}}})j",
           R"j({"source": {"samples": ["a", "b"]},
                "group": {"by": ["fleet"], "aggs": {"s": "sum(b)", "n": "count()"}}})j",
           R"j({"source": {"samples": ["b", "a"]}, "steps": [{"filter": "b >= 2 and a < 3"}],
                "group": {"by": ["fleet"], "aggs": {"s": "sum(a)"}}})j"}) {
    const std::string query = "{" + vehicles + document.substr(1);
    for (unsigned threads : {1u, 2u}) {
      QueryLimits limits;
      limits.threads = threads;
      auto stored = RunQuery(*view, query, limits);
      auto expected = RunQuery(memory, query, limits);
      ASSERT_TRUE(stored) << stored.error().ToString();
      ASSERT_TRUE(expected) << expected.error().ToString();
      const auto rows = [](const QueryAnswer& answer) {
        return json::serialize(json::parse(answer.body).at("rows"));
      };
      EXPECT_EQ(rows(stored.value()), rows(expected.value()))
          << threads << " threads: " << document;
      EXPECT_NE(rows(expected.value()), "[]");
      ++compared;
    }
  }
  EXPECT_EQ(compared, 8);
}

TEST_F(QueryStoreTest, TheExistingRoutesStillAnswer) {
  EXPECT_EQ(Get("/v1/vehicles").at("vehicles").as_array().size(), 1u);
  EXPECT_EQ(Get("/healthz").at("status"), "ok");
  auto latest = Get("/v1/latest", {{"signals", "Vehicle.Speed"}});
  EXPECT_EQ(latest.at("rows").at(0).at(2).as_double(), 119.0);
}

}  // namespace
}  // namespace canvoy::fleet_store
