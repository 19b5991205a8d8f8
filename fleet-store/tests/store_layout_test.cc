// History blocks, rollups, attributes, import and retention through the real RocksDB store.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <random>

#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_view.h"
#include "canvoy/fleet_store/store_writer.h"
#include "import/csv_import.h"
#include "test_support.h"

namespace canvoy::fleet_store {
namespace {

using namespace test_support;

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kHourUs = 60 * kMinuteUs;
constexpr std::int64_t kT0 = 1'700'000'000'000'000 / kHourUs * kHourUs;  // an hour boundary

class StoreLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(StoreAt(dir_.path() / "db")); }
  void Open(const StoreOptions& options) {
    writer_.reset();
    store_.reset();
    store_ = Store::Open(options).value();
    writer_ = std::make_unique<StoreWriter>(*store_);
    ASSERT_TRUE(writer_->PutCatalog(CatalogRecordOf(TestCatalog())));
  }
  std::vector<Sample> Samples(const char* vin, const std::string& signal) {
    return store_->ReadSamples(V(vin), signal, kMin, kMax).value();
  }
  std::vector<std::pair<std::int64_t, Rollup>> Rollups(const char* vin, const std::string& signal,
                                                       RollupWidth width) {
    std::vector<std::pair<std::int64_t, Rollup>> out;
    auto status = store_->View()->ScanRollups(V(vin), signal, width, kMin, kMax,
                                              [&](std::int64_t t, const Rollup& r) {
                                                out.emplace_back(t, r);
                                                return true;
                                              });
    EXPECT_TRUE(status) << status.error().ToString();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> writer_;
};

// Rollups recomputed from raw samples, by brute force, with the documented tie rules.
std::vector<std::pair<std::int64_t, Rollup>> Recompute(const std::vector<Sample>& samples,
                                                       std::int64_t width) {
  std::map<std::int64_t, Rollup> buckets;
  for (const auto& s : samples) {
    const double v = std::get<double>(s.value);
    if (std::isnan(v)) continue;
    std::int64_t b = s.timestamp_us / width * width;
    if (s.timestamp_us % width != 0 && s.timestamp_us < 0) b -= width;
    Rollup& r = buckets[b];
    if (r.count == 0) {
      r = Rollup{1, v, v, v, s.timestamp_us, v, s.timestamp_us, v};
      continue;
    }
    r.count += 1;
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
    r.sum += v;
    if (s.timestamp_us < r.first_us || (s.timestamp_us == r.first_us && v < r.first)) {
      r.first_us = s.timestamp_us;
      r.first = v;
    }
    if (s.timestamp_us > r.last_us || (s.timestamp_us == r.last_us && v > r.last)) {
      r.last_us = s.timestamp_us;
      r.last = v;
    }
  }
  return {buckets.begin(), buckets.end()};
}

void ExpectRollupsEqual(const std::vector<std::pair<std::int64_t, Rollup>>& actual,
                        const std::vector<std::pair<std::int64_t, Rollup>>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const auto& [t, a] = actual[i];
    const auto& [et, e] = expected[i];
    SCOPED_TRACE("bucket " + std::to_string(t));
    EXPECT_EQ(t, et);
    EXPECT_EQ(a.count, e.count);
    EXPECT_EQ(a.min, e.min);
    EXPECT_EQ(a.max, e.max);
    EXPECT_NEAR(a.sum, e.sum, 1e-9 * std::max(1.0, std::abs(e.sum)));
    EXPECT_EQ(a.first_us, e.first_us);
    EXPECT_EQ(a.first, e.first);
    EXPECT_EQ(a.last_us, e.last_us);
    EXPECT_EQ(a.last, e.last);
  }
}

TEST_F(StoreLayoutTest, LateDuplicatedAndReorderedBatchesGiveRollupsOfTheRawHistory) {
  // 60 batches of 100 samples over ~3 hours, with ties and a NaN; applied in a shuffled order,
  // each twice, across rounds that end and start anywhere.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> value(-50, 150);
  std::vector<ConsumedRecord> records;
  std::int64_t offset = 0;
  std::vector<BatchBuilder> batches;
  for (std::uint64_t seq = 0; seq < 60; ++seq) {
    std::vector<std::pair<std::int64_t, double>> samples;
    for (int i = 0; i < 100; ++i) {
      const std::int64_t t = kT0 - kHourUs / 2 + static_cast<std::int64_t>(seq) * 180'000'000 +
                             i * 1'800'000 - (i % 10 == 0 ? 1'800'000 : 0);  // ties
      samples.emplace_back(t, i == 50 && seq == 3 ? std::nan("") : std::round(value(rng) * 8) / 8);
    }
    BatchBuilder batch(seq, kT0);
    batch.Doubles(kSpeed, samples);
    batches.push_back(std::move(batch));
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < batches.size(); ++i) order.insert(order.end(), {i, i});
  std::shuffle(order.begin(), order.end(), rng);
  for (auto i : order) records.push_back(Record(offset++, kVin1, batches[i]));
  std::size_t begin = 0;
  std::uint64_t duplicates = 0;
  while (begin < records.size()) {
    const std::size_t n = std::min<std::size_t>(records.size() - begin, 1 + rng() % 13);
    auto stats = writer_->Apply({records.begin() + static_cast<long>(begin),
                                 records.begin() + static_cast<long>(begin + n)});
    ASSERT_TRUE(stats) << stats.error().ToString();
    duplicates += stats.value().duplicates_dropped;
    begin += n;
  }
  EXPECT_EQ(duplicates, 60u);

  const auto samples = Samples(kVin1, "Vehicle.Speed");
  ASSERT_EQ(samples.size(), 6000u);
  EXPECT_TRUE(std::is_sorted(samples.begin(), samples.end(),
                             [](const Sample& a, const Sample& b) {
                               return a.timestamp_us < b.timestamp_us;
                             }));
  ExpectRollupsEqual(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kMinute),
                     Recompute(samples, kMinuteUs));
  ExpectRollupsEqual(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kHour),
                     Recompute(samples, kHourUs));

  // Compaction folds the merge operands; nothing changes.
  ASSERT_TRUE(store_->Compact());
  const auto compacted = Samples(kVin1, "Vehicle.Speed");
  ASSERT_EQ(compacted.size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {  // bit for bit: NaN != NaN
    EXPECT_EQ(compacted[i].timestamp_us, samples[i].timestamp_us) << i;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(std::get<double>(compacted[i].value)),
              std::bit_cast<std::uint64_t>(std::get<double>(samples[i].value)))
        << i;
  }
  ExpectRollupsEqual(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kMinute),
                     Recompute(samples, kMinuteUs));
}

TEST_F(StoreLayoutTest, RangeScansCrossHistoryBucketsAndKeepIntegersExact) {
  BatchBuilder batch(1, kT0);
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max() - 3;
  batch.UInt64s(kOdometer, {{kT0 - 1, big}, {kT0, big + 1}, {kT0 + kHourUs, big + 2},
                            {kT0 + 2 * kHourUs + 5, 7}});
  ASSERT_TRUE(writer_->Apply({Record(0, kVin1, batch)}));
  auto view = store_->View();
  std::vector<Sample> got;
  ASSERT_TRUE(view->ScanSamples(V(kVin1), "Vehicle.TraveledDistanceHighRes", kT0, kT0 + kHourUs + 1,
                                [&](const Sample& s) {
                                  got.push_back(s);
                                  return true;
                                }));
  EXPECT_EQ(got, (std::vector<Sample>{{kT0, big + 1}, {kT0 + kHourUs, big + 2}}));
  // Stopping early is not an error.
  got.clear();
  ASSERT_TRUE(view->ScanSamples(V(kVin1), "Vehicle.TraveledDistanceHighRes", kMin, kMax,
                                [&](const Sample& s) {
                                  got.push_back(s);
                                  return false;
                                }));
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(StoreLayoutTest, RetentionHidesAndCompactionDeletesOldHistoryAndRollups) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  BatchBuilder batch(1, now);
  batch.Doubles(kSpeed, {{now - 10 * 24 * kHourUs, 1.0}, {now - 1'000'000, 2.0}});
  ASSERT_TRUE(writer_->Apply({Record(0, kVin1, batch)}));
  ASSERT_EQ(Samples(kVin1, "Vehicle.Speed").size(), 2u);

  StoreOptions options = StoreAt(dir_.path() / "db");
  options.retention.history = std::chrono::hours(24 * 2);
  options.retention.rollups_1m = std::chrono::hours(24 * 2);
  Open(options);
  EXPECT_EQ(Samples(kVin1, "Vehicle.Speed"), (std::vector<Sample>{{now - 1'000'000, 2.0}}));
  EXPECT_EQ(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kMinute).size(), 1u);
  // Hour rollups are kept forever here.
  EXPECT_EQ(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kHour).size(), 2u);
  ASSERT_TRUE(store_->Compact());
  // Reopened without retention: the old block is gone for good, the hour rollup is not.
  Open(StoreAt(dir_.path() / "db"));
  EXPECT_EQ(Samples(kVin1, "Vehicle.Speed").size(), 1u);
  EXPECT_EQ(Rollups(kVin1, "Vehicle.Speed", RollupWidth::kHour).size(), 2u);
}

TEST_F(StoreLayoutTest, VehiclesAreTheUnionOfDataAndAttributesInVinOrder) {
  BatchBuilder batch(1, kT0);
  batch.Doubles(kSpeed, {{kT0, 1.0}});
  ASSERT_TRUE(writer_->Apply({Record(0, kVin2, batch)}));
  ASSERT_TRUE(writer_->PutAttributes({{V(kVin1), {{"model", "F-150"}}},
                                      {V(kVin2), {{"model", "H-2"}, {"region", "north"}}}}));
  std::vector<VehicleInfo> seen;
  ASSERT_TRUE(store_->View()->ForEachVehicle([&](const VehicleInfo& v) {
    seen.push_back(v);
    return true;
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].summary.vin.str(), kVin1);
  EXPECT_EQ(seen[0].summary.sample_count, 0u);
  EXPECT_EQ(seen[0].attributes.at("model"), "F-150");
  EXPECT_EQ(seen[1].summary.vin.str(), kVin2);
  EXPECT_EQ(seen[1].summary.sample_count, 1u);
  EXPECT_EQ(seen[1].attributes.at("region"), "north");
  seen.clear();
  ASSERT_TRUE(store_->View()->ForEachVehicle(
      [&](const VehicleInfo& v) {
        seen.push_back(v);
        return true;
      },
      V(kVin1)));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].summary.vin.str(), kVin2);
}

void Write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST_F(StoreLayoutTest, CsvImportWritesThroughTheSamePathAndIsIdempotent) {
  Write(dir_.path() / "s.csv",
        "vin,timestamp_us,signal,value\n"
        "1HGCM82633A004352,1000,speed,10\n"
        "1HGCM82633A004352,2000,speed,10.5\n"       // speed mixes int and double: all double
        "1HGCM82633A004352,2000,odo,18446744073709551615\n"
        "1HGCM82633A004352,3000,note,\"a, \"\"quoted\"\"\nline\"\n"
        "WVWZZZ1JZXW000001,3000,moving,true\n"
        "WVWZZZ1JZXW000001,4000,moving,\n"           // missing reading
        "BADVIN,1,speed,1\n"
        "1HGCM82633A004352,12x,speed,1\n"
        "1HGCM82633A004352,5,speed\n");
  Write(dir_.path() / "a.csv", "vin,model,region\n1HGCM82633A004352,F-150,\nnot-a-vin,x,y\n");
  import::ImportOptions options;
  options.samples = dir_.path() / "s.csv";
  options.attributes = dir_.path() / "a.csv";
  options.chunk_lines = 3;
  auto report = import::ImportCsv(*writer_, options);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report.value().sample_lines, 9u);
  EXPECT_EQ(report.value().samples_written, 5u);
  EXPECT_EQ(report.value().empty_values, 1u);
  EXPECT_EQ(report.value().rejected_lines, 3u);
  EXPECT_EQ(report.value().rejected_attribute_lines, 1u);
  ASSERT_EQ(report.value().errors.size(), 4u);
  const std::string where = (dir_.path() / "s.csv").string();
  EXPECT_EQ(report.value().errors[0], where + ":9: field 1 (vin): VIN 'BADVIN': length 6, expected 17");
  EXPECT_EQ(report.value().errors[1],
            where + ":10: field 2 (timestamp_us): '12x' is not an integer number of microseconds");
  EXPECT_EQ(report.value().errors[2],
            where + ":11: expected 4 fields (vin,timestamp_us,signal,value), found 3");

  EXPECT_EQ(Samples(kVin1, "speed"), (std::vector<Sample>{{1000, 10.0}, {2000, 10.5}}));
  EXPECT_EQ(Samples(kVin1, "odo"),
            (std::vector<Sample>{{2000, std::numeric_limits<std::uint64_t>::max()}}));
  EXPECT_EQ(Samples(kVin1, "note"), (std::vector<Sample>{{3000, std::string("a, \"quoted\"\nline")}}));
  EXPECT_EQ(Samples(kVin2, "moving"), (std::vector<Sample>{{3000, true}}));
  auto vehicle = store_->View()->GetVehicle(V(kVin1)).value();
  ASSERT_TRUE(vehicle);
  EXPECT_EQ(vehicle->attributes, (Attributes{{"model", "F-150"}}));  // empty region: absent
  EXPECT_EQ(vehicle->summary.sample_count, 4u);

  // Importing the same file again stores nothing twice.
  options.attributes.clear();
  auto again = import::ImportCsv(*writer_, options);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().samples_written, 0u);
  EXPECT_GT(again.value().duplicate_batches, 0u);
  EXPECT_EQ(Samples(kVin1, "speed").size(), 2u);
}

TEST_F(StoreLayoutTest, StrictImportWritesNothingWhenALineIsBad) {
  Write(dir_.path() / "s.csv", "vin,timestamp_us,signal,value\n1HGCM82633A004352,1,a,1\nx,1,a,1\n");
  import::ImportOptions options;
  options.samples = dir_.path() / "s.csv";
  options.strict = true;
  auto report = import::ImportCsv(*writer_, options);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message().find("s.csv:3: field 1 (vin)"), std::string::npos)
      << report.error().message();
  EXPECT_TRUE(Samples(kVin1, "a").empty());
}

TEST_F(StoreLayoutTest, CsvImportRejectsAWrongHeaderAndAnUnterminatedQuote) {
  Write(dir_.path() / "h.csv", "vin,time,signal,value\n");
  import::ImportOptions options;
  options.samples = dir_.path() / "h.csv";
  auto report = import::ImportCsv(*writer_, options);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message().find("h.csv:1: the header must be"), std::string::npos);
  Write(dir_.path() / "q.csv", "vin,timestamp_us,signal,value\n1HGCM82633A004352,1,a,\"open\n");
  options.samples = dir_.path() / "q.csv";
  report = import::ImportCsv(*writer_, options);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code(), Errc::kParse);
  EXPECT_NE(report.error().message().find("q.csv:"), std::string::npos) << report.error().message();
}

// Damaged CSV files (bytes flipped, commas, quotes and newlines inserted, lines cut) import what
// is good and name each bad line by file and line, or fail as a whole with kInvalidArgument or
// kParse; nothing crashes and every data line is accounted for.
TEST_F(StoreLayoutTest, DamagedCsvFilesImportTheGoodLinesAndNameTheBadOnes) {
  std::string good = "vin,timestamp_us,signal,value\n";
  for (int i = 0; i < 60; ++i) {
    good += std::string(i % 2 ? kVin1 : kVin2) + "," + std::to_string(1000 + i) + "," +
            (i % 3 ? "speed" : "note") + "," + (i % 3 ? std::to_string(i * 0.5) : "\"a, b\"") +
            "\n";
  }
  std::mt19937_64 rng(7);
  const std::string noise = ",\"\n\r x-.9";
  std::size_t imported = 0, refused = 0, bad_lines = 0;
  for (int round = 0; round < 80; ++round) {
    std::string text = good;
    for (int e = 1 + static_cast<int>(rng() % 4); e > 0; --e) {
      const std::size_t at = 30 + rng() % (text.size() - 30);  // the header stays
      if (rng() % 2) {
        text.insert(at, 1, noise[rng() % noise.size()]);
      } else {
        text[at] = static_cast<char>(rng());
      }
    }
    const auto file = dir_.path() / ("damaged-" + std::to_string(round) + ".csv");
    Write(file, text);
    import::ImportOptions options;
    options.samples = file;
    options.chunk_lines = 7;
    auto report = import::ImportCsv(*writer_, options);
    if (!report) {
      ++refused;
      ASSERT_TRUE(report.error().code() == Errc::kInvalidArgument ||
                  report.error().code() == Errc::kParse)
          << report.error().ToString();
      EXPECT_NE(report.error().message().find(file.string() + ":"), std::string::npos)
          << report.error().message();
      continue;
    }
    ++imported;
    const auto& r = report.value();
    if (r.duplicate_batches == 0) {
      EXPECT_EQ(r.sample_lines, r.samples_written + r.empty_values + r.rejected_lines)
          << "round " << round;
    }
    bad_lines += r.rejected_lines;
    EXPECT_EQ(r.errors.size(), std::min<std::uint64_t>(r.rejected_lines, options.errors_kept));
    for (const auto& error : r.errors) {
      EXPECT_EQ(error.rfind(file.string() + ":", 0), 0u) << error;
    }
  }
  EXPECT_GT(imported, 40u);
  EXPECT_GT(bad_lines, 40u);
  (void)refused;
}

}  // namespace
}  // namespace canvoy::fleet_store
