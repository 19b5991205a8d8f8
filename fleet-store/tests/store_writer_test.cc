#include "canvoy/fleet_store/store_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "canvoy/fleet_store/store.h"
#include "test_support.h"

namespace canvoy::fleet_store {
namespace {

using namespace test_support;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // microseconds

class StoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_ = Store::Open(test_support::StoreAt(dir_.path() / "db")).value();
    writer_ = std::make_unique<StoreWriter>(*store_);
    ASSERT_TRUE(writer_->PutCatalog(CatalogRecordOf(TestCatalog())));
  }
  void Reopen() {
    writer_.reset();
    store_.reset();
    Open();
  }

  ApplyStats Apply(const std::vector<ConsumedRecord>& records) {
    auto stats = writer_->Apply(records);
    EXPECT_TRUE(stats) << stats.error().ToString();
    return stats ? stats.value() : ApplyStats{};
  }
  std::vector<Sample> Samples(const char* vin, const std::string& signal) {
    return store_
        ->ReadSamples(V(vin), signal, std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max())
        .value();
  }
  VehicleSummary Vehicle(const char* vin) { return store_->GetVehicle(V(vin)).value(); }
  std::map<std::string, LatestValue> Latest(const char* vin) {
    std::map<std::string, LatestValue> out;
    auto latest = store_->GetLatest(V(vin));
    EXPECT_TRUE(latest) << latest.error().ToString();
    if (!latest) return out;
    for (auto& l : latest.value().signals) out.emplace(l.name, l);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> writer_;
};

TEST_F(StoreWriterTest, StoresEverySampleOfEveryTypeWithAbsoluteTimestamps) {
  BatchBuilder batch(1, kT0);
  batch.Doubles(kSpeed, {{kT0 + 10, 12.5}, {kT0 + 20, 13.25}, {kT0 + 35, 0.1}})
      .UInt64s(kOdometer, {{kT0 + 5, 1000}})
      .Int64s(kCounter, {{kT0 + 1, -3}, {kT0 + 2, 7}})
      .Bools(kMoving, {{kT0 + 4, true}, {kT0 + 6, false}})
      .Strings(kGear, {{kT0 + 9, "D"}});
  auto stats = Apply({Record(0, kVin1, batch)});

  EXPECT_EQ(stats.batches_applied, 1u);
  EXPECT_EQ(stats.samples_written, 9u);
  EXPECT_THAT(Samples(kVin1, "Vehicle.Speed"),
              ElementsAre(Sample{kT0 + 10, 12.5}, Sample{kT0 + 20, 13.25}, Sample{kT0 + 35, 0.1}));
  EXPECT_THAT(Samples(kVin1, "Vehicle.TraveledDistanceHighRes"),
              ElementsAre(Sample{kT0 + 5, std::uint64_t{1000}}));
  EXPECT_THAT(Samples(kVin1, "Engine.Counter"),
              ElementsAre(Sample{kT0 + 1, std::int64_t{-3}}, Sample{kT0 + 2, std::int64_t{7}}));
  EXPECT_THAT(Samples(kVin1, "Vehicle.IsMoving"),
              ElementsAre(Sample{kT0 + 4, true}, Sample{kT0 + 6, false}));
  EXPECT_THAT(Samples(kVin1, "Vehicle.Powertrain.Transmission.SelectedGear"),
              ElementsAre(Sample{kT0 + 9, std::string("D")}));
  const auto vehicle = Vehicle(kVin1);
  EXPECT_EQ(vehicle.sample_count, 9u);
  EXPECT_EQ(vehicle.batch_count, 1u);
}

TEST_F(StoreWriterTest, IntegersBeyondDoublePrecisionStayExact) {
  constexpr std::int64_t kBig = (std::int64_t{1} << 53) + 1;
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMaxU = std::numeric_limits<std::uint64_t>::max();
  BatchBuilder batch(1, kT0);
  batch.Int64s(kCounter, {{kT0, kBig}, {kT0 + 1, kMin}}).UInt64s(kOdometer, {{kT0, kMaxU}});
  Apply({Record(0, kVin1, batch)});

  EXPECT_THAT(Samples(kVin1, "Engine.Counter"),
              ElementsAre(Sample{kT0, kBig}, Sample{kT0 + 1, kMin}));
  EXPECT_THAT(Samples(kVin1, "Vehicle.TraveledDistanceHighRes"), ElementsAre(Sample{kT0, kMaxU}));
  EXPECT_EQ(Latest(kVin1).at("Engine.Counter").sample.value, SignalValue(kMin));
  EXPECT_EQ(Latest(kVin1).at("Vehicle.TraveledDistanceHighRes").sample.value, SignalValue(kMaxU));
}

TEST_F(StoreWriterTest, LatestIsTheNewestSamplePerSignalAcrossBatches) {
  BatchBuilder first(1, kT0);
  first.Doubles(kSpeed, {{kT0 + 100, 50.0}, {kT0 + 200, 60.0}}).Int64s(kCounter, {{kT0 + 100, 1}});
  BatchBuilder second(2, kT0);
  // Speed here is older than the first batch's newest speed; the counter is newer.
  second.Doubles(kSpeed, {{kT0 + 150, 55.0}}).Int64s(kCounter, {{kT0 + 300, 2}});
  Apply({Record(0, kVin1, first)});
  Apply({Record(1, kVin1, second)});

  auto latest = Latest(kVin1);
  EXPECT_EQ(latest.at("Vehicle.Speed").sample, (Sample{kT0 + 200, 60.0}));
  EXPECT_EQ(latest.at("Vehicle.Speed").unit, "km/h");
  EXPECT_EQ(latest.at("Engine.Counter").sample, (Sample{kT0 + 300, std::int64_t{2}}));
  EXPECT_EQ(Vehicle(kVin1).sample_count, 5u);
}

TEST_F(StoreWriterTest, LatestWithinOneRoundIsTheNewestOfTheRound) {
  BatchBuilder newer(1, kT0);
  newer.Doubles(kSpeed, {{kT0 + 500, 80.0}});
  BatchBuilder older(2, kT0);
  older.Doubles(kSpeed, {{kT0 + 400, 70.0}});
  Apply({Record(0, kVin1, newer), Record(1, kVin1, older)});
  EXPECT_EQ(Latest(kVin1).at("Vehicle.Speed").sample, (Sample{kT0 + 500, 80.0}));
}

TEST_F(StoreWriterTest, DuplicateInALaterRoundIsDroppedAndCounted) {
  BatchBuilder batch(7, kT0);
  batch.Doubles(kSpeed, {{kT0 + 1, 1.0}, {kT0 + 2, 2.0}});
  Apply({Record(0, kVin1, batch)});
  auto stats = Apply({Record(1, kVin1, batch)});

  EXPECT_EQ(stats.duplicates_dropped, 1u);
  EXPECT_EQ(stats.batches_applied, 0u);
  EXPECT_EQ(Vehicle(kVin1).sample_count, 2u);
  EXPECT_EQ(Vehicle(kVin1).batch_count, 1u);
  EXPECT_EQ(Samples(kVin1, "Vehicle.Speed").size(), 2u);
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 2);
}

TEST_F(StoreWriterTest, DuplicateWithinOneRoundIsDroppedAndCounted) {
  BatchBuilder batch(7, kT0);
  batch.Doubles(kSpeed, {{kT0 + 1, 1.0}});
  auto stats = Apply({Record(0, kVin1, batch), Record(1, kVin1, batch)});

  EXPECT_EQ(stats.batches_applied, 1u);
  EXPECT_EQ(stats.duplicates_dropped, 1u);
  EXPECT_EQ(Vehicle(kVin1).sample_count, 1u);
  EXPECT_EQ(Vehicle(kVin1).batch_count, 1u);
}

TEST_F(StoreWriterTest, SameSeqFromAnotherStreamOrVehicleIsNotADuplicate) {
  BatchBuilder a(1, kT0, Stream(1));
  a.Doubles(kSpeed, {{kT0, 1.0}});
  BatchBuilder b(1, kT0, Stream(2));
  b.Doubles(kSpeed, {{kT0, 2.0}});
  auto stats = Apply({Record(0, kVin1, a), Record(1, kVin1, b), Record(2, kVin2, a)});
  EXPECT_EQ(stats.batches_applied, 3u);
  EXPECT_EQ(stats.duplicates_dropped, 0u);
  EXPECT_EQ(Vehicle(kVin1).sample_count, 2u);
  EXPECT_EQ(Vehicle(kVin2).sample_count, 1u);
}

TEST_F(StoreWriterTest, OutOfOrderSeqsAreBothAppliedAndAnOlderResendIsDropped) {
  BatchBuilder seq3(3, kT0);
  seq3.Doubles(kSpeed, {{kT0 + 30, 3.0}});
  BatchBuilder seq2(2, kT0);
  seq2.Doubles(kSpeed, {{kT0 + 20, 2.0}});
  auto first = Apply({Record(0, kVin1, seq3)});
  auto second = Apply({Record(1, kVin1, seq2)});
  auto resend = Apply({Record(2, kVin1, seq2)});

  EXPECT_EQ(first.batches_applied + second.batches_applied, 2u);
  EXPECT_EQ(resend.duplicates_dropped, 1u);
  EXPECT_THAT(Samples(kVin1, "Vehicle.Speed"),
              ElementsAre(Sample{kT0 + 20, 2.0}, Sample{kT0 + 30, 3.0}));
  EXPECT_EQ(Vehicle(kVin1).batch_count, 2u);
  EXPECT_EQ(Latest(kVin1).at("Vehicle.Speed").sample, (Sample{kT0 + 30, 3.0}));
}

TEST_F(StoreWriterTest, NextOffsetsOfEveryPartitionAreStoredWithTheRound) {
  BatchBuilder a(1, kT0), b(2, kT0), c(3, kT0);
  a.Doubles(kSpeed, {{kT0, 1.0}});
  b.Doubles(kSpeed, {{kT0 + 1, 1.0}});
  c.Doubles(kSpeed, {{kT0 + 2, 1.0}});
  Apply({Record(5, kVin1, a, 0), Record(6, kVin1, b, 0), Record(9, kVin2, c, 1)});

  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 7);
  EXPECT_EQ(store_->NextOffset(kTopic, 1).value(), 10);
  EXPECT_EQ(store_->NextOffset(kTopic, 2).value(), std::nullopt);
  EXPECT_EQ(store_->NextOffset("other.topic", 0).value(), std::nullopt);
}

TEST_F(StoreWriterTest, ReopenedStoreHasTheSameCountsOffsetsAndDuplicateKeys) {
  BatchBuilder a(1, kT0), b(2, kT0);
  a.Doubles(kSpeed, {{kT0, 1.0}, {kT0 + 1, 2.0}});
  b.Int64s(kCounter, {{kT0 + 5, 42}});
  Apply({Record(0, kVin1, a), Record(1, kVin1, b)});
  Reopen();

  EXPECT_EQ(Vehicle(kVin1).sample_count, 3u);
  EXPECT_EQ(Vehicle(kVin1).batch_count, 2u);
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 2);
  EXPECT_EQ(Latest(kVin1).at("Engine.Counter").sample, (Sample{kT0 + 5, std::int64_t{42}}));
  // After a restart, the catalog comes from RocksDB and resends are still recognised.
  auto stats = Apply({Record(2, kVin1, a)});
  EXPECT_EQ(stats.duplicates_dropped, 1u);
  EXPECT_EQ(Vehicle(kVin1).sample_count, 3u);
}

TEST_F(StoreWriterTest, RecordsBelowTheStoredNextOffsetAreNotAppliedAgain) {
  BatchBuilder a(1, kT0), b(2, kT0);
  a.Doubles(kSpeed, {{kT0, 1.0}});
  b.Doubles(kSpeed, {{kT0 + 1, 2.0}});
  Apply({Record(0, kVin1, a)});
  auto stats = Apply({Record(0, kVin1, a), Record(1, kVin1, b)});

  EXPECT_EQ(stats.records_already_applied, 1u);
  EXPECT_EQ(stats.batches_applied, 1u);
  EXPECT_EQ(stats.duplicates_dropped, 0u);
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 2);
}

TEST_F(StoreWriterTest, RoundWithAnUnknownCatalogIsNotAppliedAndHarmsNothing) {
  BatchBuilder known(1, kT0);
  known.Doubles(kSpeed, {{kT0, 1.0}});
  Apply({Record(0, kVin1, known)});

  tv1::Catalog other = TestCatalog();
  other.mutable_signals(0)->set_unit("m/s");
  BatchBuilder good(2, kT0), unknown(1, kT0, Stream(9));
  good.Doubles(kSpeed, {{kT0 + 1, 2.0}});
  unknown.CatalogHashBytes(CatalogHash(other)).Doubles(kSpeed, {{kT0 + 2, 3.0}});
  const std::vector<ConsumedRecord> round = {Record(1, kVin1, good), Record(2, kVin2, unknown)};

  auto applied = writer_->Apply(round);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code(), Errc::kUnavailable);
  EXPECT_THAT(applied.error().message(), HasSubstr(ToHex(CatalogHash(other))));
  EXPECT_THAT(applied.error().message(), HasSubstr(std::string(kTopic) + "/0@2"));
  // Nothing of the round was written, not even its offsets; earlier data is intact.
  EXPECT_EQ(Vehicle(kVin1).sample_count, 1u);
  EXPECT_EQ(store_->GetVehicle(V(kVin2)).error().code(), Errc::kNotFound);
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 1);
  EXPECT_THAT(writer_->MissingCatalogs(round).value(), ElementsAre(CatalogHash(other)));

  // Once the catalog is read, the same round applies in full.
  ASSERT_TRUE(writer_->PutCatalog(CatalogRecordOf(other)));
  auto retried = Apply(round);
  EXPECT_EQ(retried.batches_applied, 2u);
  EXPECT_EQ(Latest(kVin2).at("Vehicle.Speed").unit, "m/s");
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 3);
}

TEST_F(StoreWriterTest, CatalogWhoseHashDoesNotMatchIsRejected) {
  auto record = CatalogRecordOf(TestCatalog());
  record.mutable_catalog()->mutable_signals(0)->set_name("Vehicle.Tampered");
  auto status = writer_->PutCatalog(record);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), Errc::kRejected);
  EXPECT_FALSE(writer_->HasCatalog(CatalogHash(record.catalog())).value());
}

TEST_F(StoreWriterTest, MalformedRecordIsKeptAsRejectedAndTheRestOfTheRoundIsApplied) {
  BatchBuilder good(1, kT0);
  good.Doubles(kSpeed, {{kT0, 1.0}});
  ConsumedRecord garbage{kTopic, 0, 0, "key", "\xff\xff\xff not a protobuf"};
  auto stats = Apply({garbage, Record(1, kVin1, good), Record(2, "NOT-A-VIN", good)});

  EXPECT_EQ(stats.records_rejected, 2u);
  EXPECT_EQ(stats.batches_applied, 1u);
  EXPECT_EQ(store_->NextOffset(kTopic, 0).value(), 3);
  auto rejected = store_->ListRejected(10).value();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].offset, 0);
  EXPECT_THAT(rejected[0].reason, HasSubstr("TelemetryRecord"));
  EXPECT_EQ(rejected[1].offset, 2);
  EXPECT_THAT(rejected[1].reason, HasSubstr("VIN 'NOT-A-VIN'"));
}

TEST_F(StoreWriterTest, SeriesThatContradictsItsCatalogRejectsTheWholeBatch) {
  BatchBuilder wrong_type(1, kT0);
  wrong_type.Doubles(kSpeed, {{kT0, 1.0}}).Doubles(kCounter, {{kT0, 2.0}});
  BatchBuilder unknown_signal(2, kT0);
  unknown_signal.Doubles(99, {{kT0, 1.0}});
  BatchBuilder short_values(3, kT0);
  short_values.Doubles(kSpeed, {{kT0, 1.0}, {kT0 + 1, 2.0}});
  short_values.batch().mutable_series(0)->mutable_doubles()->mutable_values()->RemoveLast();
  auto stats = Apply({Record(0, kVin1, wrong_type), Record(1, kVin1, unknown_signal),
                      Record(2, kVin1, short_values)});

  EXPECT_EQ(stats.records_rejected, 3u);
  EXPECT_EQ(store_->GetVehicle(V(kVin1)).error().code(), Errc::kNotFound);
  auto rejected = store_->ListRejected(10).value();
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_THAT(rejected[0].reason,
              HasSubstr("series 1 (signal id 3): values do not have the catalog's type"));
  EXPECT_THAT(rejected[1].reason, HasSubstr("series 0 (signal id 99): not in the batch's catalog"));
  EXPECT_THAT(rejected[2].reason, HasSubstr("2 timestamps but 1 values"));
  // A corrected resend of a rejected batch is applied: rejection marks no batch as seen.
  BatchBuilder fixed(1, kT0);
  fixed.Doubles(kSpeed, {{kT0, 1.0}});
  EXPECT_EQ(Apply({Record(3, kVin1, fixed)}).batches_applied, 1u);
}

TEST_F(StoreWriterTest, TimestampOverflowRejectsTheBatch) {
  BatchBuilder batch(1, std::numeric_limits<std::int64_t>::max() - 1);
  batch.Doubles(kSpeed, {{std::numeric_limits<std::int64_t>::max(), 1.0}});
  batch.batch().mutable_series(0)->add_time_deltas_us(5);
  batch.batch().mutable_series(0)->mutable_doubles()->add_values(2.0);
  auto stats = Apply({Record(0, kVin1, batch)});
  EXPECT_EQ(stats.records_rejected, 1u);
  EXPECT_THAT(store_->ListRejected(1).value().at(0).reason, HasSubstr("overflows int64"));
}

}  // namespace
}  // namespace canvoy::fleet_store
