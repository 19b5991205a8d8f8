// What the fleet store holds when batches come twice, out of order, on two partitions, or split
// between two instances; and whether its minute rollups agree with its raw history.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "fleet_store/store_fixture.h"
#include "support/json_numbers.h"

namespace canvoy::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace json = boost::json;

// Resends (the same batch again, right away or much later, through other ingest nodes and
// partitions) are dropped and counted; batches of one vehicle that arrive on two partitions, later
// seqs first, are all applied: no duplicate, no gap.
TEST_F(FleetStoreProcessTest, ResentAndReorderedBatchesAreStoredExactlyOnce) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceShuffledWithResends(workload));
  const std::uint64_t records = produced_.size();
  const std::uint64_t batches = workload.batches().size();
  ASSERT_GT(records, batches);
  const fs::path db = dir_ / "db";
  StoreOptions options = Options(db, UniqueName("store-dedup"));
  options.max_poll_records = 100;
  options.poll_round_ms = 50;
  StoreServer store(kStoreBin, options, dir_, "store");
  ASSERT_TRUE(store.WaitServing(60s));
  ASSERT_TRUE(store.WaitApplied(records, kCatchUpTimeout));
  EXPECT_TRUE(store.WaitLagZero(kAllPartitions));
  const std::string page = store.Metrics();
  EXPECT_EQ(Value(page, kConsumed), static_cast<double>(records))
      << "records applied after catching up";
  EXPECT_EQ(Value(page, kDuplicates), records - batches) << "every resend, and nothing else";
  EXPECT_EQ(Value(page, kBatchesApplied), batches);
  EXPECT_EQ(Value(page, kSamplesWritten), batches * workload.SamplesPerBatch());
  EXPECT_EQ(Value(page, kRejected), 0);

  // The per-vehicle counts exclude the resends too.
  auto [status, body] = HttpGet(store.port(), "/v1/vehicles?limit=1000");
  ASSERT_EQ(status, 200u) << body;
  const json::value list = json::parse(body);
  const json::array& vehicles = list.at("vehicles").as_array();
  EXPECT_EQ(vehicles.size(), static_cast<std::size_t>(workload.options().vehicles));
  for (const auto& v : vehicles) {
    EXPECT_EQ(v.at("batch_count").to_number<std::uint64_t>(),
              static_cast<std::uint64_t>(workload.options().batches_per_vehicle))
        << v.at("vin");
    EXPECT_EQ(v.at("sample_count").to_number<std::uint64_t>(),
              workload.options().batches_per_vehicle * workload.SamplesPerBatch())
        << v.at("vin");
  }
  ASSERT_NO_FATAL_FAILURE(
      StopAndExpectContent(store, db, workload.AllRows(), {0, 1, 2, 3}, "resends and reordering"));
}

// Minute buckets as the store serves them, and how many rollups and raw samples it read.
struct Downsampled {
  std::map<BucketKey, BucketStats> buckets;
  std::uint64_t rollups_read = 0;
  std::uint64_t samples_read = 0;
};

// GET /v1/vehicles/{vin}/signals/{signal}/downsample of [from_us, to_us) in 1-minute buckets
// with count, min, max, sum, first and last, added to *out.
::testing::AssertionResult GetMinuteDownsample(std::uint16_t port, const std::string& vin,
                                               const std::string& signal, std::int64_t from_us,
                                               std::int64_t to_us, Downsampled* out) {
  const std::string target = "/v1/vehicles/" + vin + "/signals/" + signal +
                             "/downsample?from_us=" + std::to_string(from_us) +
                             "&to_us=" + std::to_string(to_us) +
                             "&width=1m&aggs=count,min,max,sum,first,last&limit=100000";
  auto [status, body] = HttpGet(port, target);
  auto failure = [&] { return ::testing::AssertionFailure() << "GET " << target << ": "; };
  if (status != 200) return failure() << "status " << status << ": " << body;
  // Numbers as text: the comparison is bit for bit, and Boost.JSON's parser may be 1 ulp off.
  const json::value doc = ParseJsonNumbersAsText(body);
  if (!doc.is_object() || !doc.as_object().contains("columns") ||
      !doc.as_object().contains("rows") || !doc.as_object().contains("stats"))
    return failure() << "not {columns, rows, stats}: " << body;
  if (doc.as_object().contains("next")) return failure() << "more than one page";
  std::map<std::string, std::size_t> at;
  const json::array& columns = doc.at("columns").as_array();
  for (std::size_t i = 0; i < columns.size(); ++i) at[json::value_to<std::string>(columns[i])] = i;
  for (const char* c : {"t", "count", "min", "max", "sum", "first", "last"})
    if (!at.count(c)) return failure() << "no column '" << c << "' in " << json::serialize(columns);
  const auto& stats = doc.at("stats");
  out->rollups_read += static_cast<std::uint64_t>(ExactNumber(stats.at("rollups")).value_or(0));
  out->samples_read += static_cast<std::uint64_t>(ExactNumber(stats.at("samples")).value_or(0));
  for (const auto& row_value : doc.at("rows").as_array()) {
    const json::array& row = row_value.as_array();
    std::map<std::string, double> cell;
    for (const auto& [name, i] : at) {
      const auto number = i < row.size() ? ExactNumber(row.at(i)) : std::nullopt;
      if (!number)
        return failure() << "column " << name << " is not a number in " << json::serialize(row);
      cell[name] = *number;
    }
    BucketStats& b = out->buckets[{vin, signal, static_cast<std::int64_t>(cell["t"])}];
    b.count = static_cast<std::uint64_t>(cell["count"]);
    b.min = cell["min"];
    b.max = cell["max"];
    b.sum = cell["sum"];
    b.first = cell["first"];
    b.last = cell["last"];
  }
  return ::testing::AssertionSuccess();
}

// The served buckets equal the computed ones: sums within 1e-9 of the sum of magnitudes (float
// rounding depends on the order of addition), everything else exactly. Names the first ten
// differences.
::testing::AssertionResult SameBuckets(const std::map<BucketKey, BucketStats>& computed,
                                       const std::map<BucketKey, BucketStats>& served) {
  auto failure = ::testing::AssertionFailure();
  int differences = 0;
  auto text = [](const BucketStats& b) {
    std::ostringstream out;
    out.precision(17);
    out << "count=" << b.count << " min=" << b.min << " max=" << b.max << " sum=" << b.sum
        << " first=" << b.first << " last=" << b.last;
    return out.str();
  };
  for (const auto& [key, want] : computed) {
    const auto& [vin, signal, start] = key;
    const auto it = served.find(key);
    if (it == served.end()) {
      if (++differences <= 10)
        failure << "\n  " << vin << " " << signal << " minute " << start << ": not served";
      continue;
    }
    const BucketStats& got = it->second;
    const bool same = got.count == want.count && got.min == want.min && got.max == want.max &&
                      got.first == want.first && got.last == want.last &&
                      std::abs(got.sum - want.sum) <= 1e-9 * std::max(want.abs_sum, 1.0);
    if (!same && ++differences <= 10) {
      failure << "\n  " << vin << " " << signal << " minute " << start << ": served " << text(got)
              << "; from raw samples " << text(want);
    }
  }
  for (const auto& [key, got] : served) {
    if (computed.count(key)) continue;
    const auto& [vin, signal, start] = key;
    if (++differences <= 10)
      failure << "\n  " << vin << " " << signal << " minute " << start
              << ": served, but no raw sample is in it: " << text(got);
  }
  if (differences == 0) return ::testing::AssertionSuccess();
  return failure << "\n" << differences << " of " << computed.size() << " minute buckets differ";
}

// The minute downsample (count, min, max, sum, first, last), which the store answers from its
// rollups, equals the same statistics computed here from the raw samples it exports, after
// resends and out-of-order arrival across partitions. Sums may differ by rounding only.
TEST_F(FleetStoreProcessTest, MinuteRollupsEqualRollupsOfTheRawHistory) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceShuffledWithResends(workload));
  const fs::path db = dir_ / "db";
  StoreOptions options = Options(db, UniqueName("store-rollups"));
  options.max_poll_records = 100;
  options.poll_round_ms = 50;
  StoreServer store(kStoreBin, options, dir_, "store");
  ASSERT_TRUE(store.WaitServing(60s));
  ASSERT_TRUE(store.WaitApplied(produced_.size(), kCatchUpTimeout));
  EXPECT_TRUE(store.WaitLagZero(kAllPartitions));

  // Whole minutes around the fleet's time range, so that every bucket can come from rollups.
  constexpr std::int64_t kMinuteUs = 60'000'000;
  const auto& o = workload.options();
  const std::int64_t from = (o.start_us / kMinuteUs - 2) * kMinuteUs;
  const std::int64_t end = o.start_us + o.batches_per_vehicle * Workload::kBatchSpanUs;
  const std::int64_t to = (end / kMinuteUs + 2) * kMinuteUs;
  Downsampled served;
  for (int v = 0; v < o.vehicles; ++v) {
    for (const auto& spec : Workload::kSignals) {
      ASSERT_TRUE(
          GetMinuteDownsample(store.port(), Workload::VinOf(v), spec.name, from, to, &served));
    }
  }
  EXPECT_EQ(served.samples_read, 0u) << "some buckets were computed from raw samples, not rollups";
  EXPECT_GT(served.rollups_read, 0u) << "the downsample read no rollups: the test compared raw "
                                        "samples with raw samples";
  ASSERT_EQ(store.Terminate(kExitTimeout), 0) << store.process().LogTail();
  std::vector<Row> rows;
  ASSERT_TRUE(ExportRows(kStoreBin, db, dir_, &rows));
  ASSERT_TRUE(SameRows(workload.AllRows(), rows, "raw history"));
  EXPECT_TRUE(SameBuckets(MinuteBuckets(rows), served.buckets));
}

// Two stores, each with its own database, own half of the partitions (--partitions, the same
// group id: static assignment does not join the group). Each holds exactly the vehicles keyed to
// its partitions; together they hold everything.
TEST_F(FleetStoreProcessTest, TwoStoresOwningHalfThePartitionsEachHoldOnlyTheirVehicles) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceKeyed(workload));
  const std::string group = UniqueName("store-shard");
  const std::set<int> first_half = {0, 1}, second_half = {2, 3};
  const fs::path db_a = dir_ / "db-a", db_b = dir_ / "db-b";
  StoreServer a(kStoreBin, Options(db_a, group, "0,1"), dir_, "store-a");
  StoreServer b(kStoreBin, Options(db_b, group, "2,3"), dir_, "store-b");
  ASSERT_TRUE(a.WaitServing(60s));
  ASSERT_TRUE(b.WaitServing(60s));
  ASSERT_TRUE(a.WaitApplied(RecordsOf(first_half), kCatchUpTimeout));
  EXPECT_TRUE(a.WaitLagZero({0, 1}));
  const std::string page_a = a.Metrics();
  EXPECT_EQ(Value(page_a, kConsumed), static_cast<double>(RecordsOf(first_half)))
      << "records applied after catching up";
  ASSERT_TRUE(b.WaitApplied(RecordsOf(second_half), kCatchUpTimeout));
  EXPECT_TRUE(b.WaitLagZero({2, 3}));
  const std::string page_b = b.Metrics();
  EXPECT_EQ(Value(page_b, kConsumed), static_cast<double>(RecordsOf(second_half)))
      << "records applied after catching up";
  EXPECT_EQ(Value(page_a, kAssigned), 2);
  EXPECT_EQ(Value(page_b, kAssigned), 2);
  EXPECT_FALSE(MetricValue(page_a, LagSeries(2)).has_value()) << "store a reads partition 2";
  EXPECT_FALSE(MetricValue(page_b, LagSeries(0)).has_value()) << "store b reads partition 0";

  std::vector<Row> rows_a, rows_b;
  ASSERT_NO_FATAL_FAILURE(StopAndExpectContent(a, db_a, RowsOfPartitions(workload, first_half),
                                               first_half, "store a (partitions 0,1)", &rows_a));
  ASSERT_NO_FATAL_FAILURE(StopAndExpectContent(b, db_b, RowsOfPartitions(workload, second_half),
                                               second_half, "store b (partitions 2,3)", &rows_b));

  std::set<std::string> vins_a, vins_b;
  for (const auto& r : rows_a) vins_a.insert(r.substr(0, r.find(',')));
  for (const auto& r : rows_b) vins_b.insert(r.substr(0, r.find(',')));
  ASSERT_FALSE(vins_a.empty()) << "no vehicle is keyed to partitions 0,1: the test proves little";
  ASSERT_FALSE(vins_b.empty()) << "no vehicle is keyed to partitions 2,3: the test proves little";
  std::vector<std::string> both;
  std::set_intersection(vins_a.begin(), vins_a.end(), vins_b.begin(), vins_b.end(),
                        std::back_inserter(both));
  EXPECT_TRUE(both.empty()) << both.size() << " vehicle(s) in both stores, e.g. " << both.front();
  EXPECT_EQ(vins_a.size() + vins_b.size(), static_cast<std::size_t>(workload.options().vehicles));
  std::cerr << "store a: " << vins_a.size() << " vehicles, " << rows_a.size()
            << " samples; store b: " << vins_b.size() << " vehicles, " << rows_b.size()
            << " samples\n";
}

}  // namespace
}  // namespace canvoy::testing
