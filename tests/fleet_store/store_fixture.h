// The fixture of the fleet store's process-level tests: its own topics on the shared broker
// (4 telemetry partitions), a known workload produced into them in a chosen order, and what the
// store must hold given its stored offsets or partitions. The tests run `canvoy-fleet-store` as a
// process (store_harness.h) and compare its `export` with the workload (workload.h).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fleet_store/store_harness.h"
#include "fleet_store/workload.h"
#include "support/kafka_fixture.h"
#include "support/kafka_producer.h"
#include "support/topics.h"

namespace canvoy::testing {

inline constexpr int kPartitions = 4;
inline const std::vector<int> kAllPartitions = {0, 1, 2, 3};
// The build's executable, or another build of it named by CANVOY_TEST_FLEET_STORE_BIN.
inline const std::string kStoreBin = std::getenv("CANVOY_TEST_FLEET_STORE_BIN") != nullptr
                                         ? std::getenv("CANVOY_TEST_FLEET_STORE_BIN")
                                         : CANVOY_FLEET_STORE_BIN;
// Hang guards only: a healthy run takes a few seconds.
inline constexpr std::chrono::seconds kCatchUpTimeout{180};
inline constexpr std::chrono::seconds kExitTimeout{60};

// One record the test produced: which batch, and where Kafka put it.
struct Produced {
  std::size_t batch = 0;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

// A record to produce: the batch, its partition (-1: by key, the VIN), the ingest node and how
// long after the batch's end it was received.
struct Planned {
  std::size_t batch = 0;
  std::int32_t partition = -1;
  std::string node = "ingest-a";
  std::int64_t delay_us = 500'000;
};

class FleetStoreProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / UniqueName("canvoy-fleet-store-process");
    std::filesystem::create_directories(dir_);
    bootstrap_ = KafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    telemetry_topic_ = UniqueName("store.telemetry");
    catalog_topic_ = UniqueName("store.catalog");
    ASSERT_EQ(CreateTopic(bootstrap_, telemetry_topic_, kPartitions, false), "");
    ASSERT_EQ(CreateTopic(bootstrap_, catalog_topic_, 1, true), "");
  }
  void TearDown() override {
    if (!HasFailure() && std::getenv("CANVOY_KEEP_TEST_DIRS") == nullptr)
      std::filesystem::remove_all(dir_);
    else
      std::cerr << "kept " << dir_ << " for inspection\n";
  }

  // The catalog, then every planned record in order (per partition, Kafka keeps that order).
  void Produce(const Workload& workload, const std::vector<Planned>& plan) {
    std::string error;
    auto producer = TestProducer::Create(bootstrap_, &error);
    ASSERT_TRUE(producer) << error;
    ASSERT_EQ(
        producer->Produce(catalog_topic_, workload.catalog_key(), workload.catalog_record(), 0),
        "");
    for (const auto& p : plan) {
      const auto& b = workload.batches()[p.batch];
      ASSERT_EQ(producer->Produce(telemetry_topic_, b.vin, Workload::Record(b, p.node, p.delay_us),
                                  p.partition),
                "");
    }
    ASSERT_EQ(producer->Flush(std::chrono::seconds(120)), "");
    produced_.clear();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const auto& d = producer->deliveries()[i + 1];  // [0] is the catalog
      produced_.push_back(Produced{plan[i].batch, d.partition, d.offset});
      end_offsets_[d.partition] = std::max(end_offsets_[d.partition], d.offset + 1);
    }
  }

  // Every batch once, keyed by VIN, the fleet's vehicles interleaved as they would stream.
  void ProduceKeyed(const Workload& workload) {
    std::vector<Planned> plan;
    const auto& o = workload.options();
    for (int seq = 1; seq <= o.batches_per_vehicle; ++seq)
      for (int v = 0; v < o.vehicles; ++v) plan.push_back(Planned{workload.Index(v, seq)});
    Produce(workload, plan);
  }

  // Every batch, with explicit partitions (a vehicle's home partition is v % 4) and disorder:
  // - vehicles v % 5 == 0 send seqs 41..60 through another ingest node, to the next partition,
  //   latest first (60, 59, ..., 41), as after a reconnect;
  // - vehicles v % 3 == 1 swap seqs 10/11, 30/31 and 70/71 in their home partition;
  // - every batch with seq % 9 == 0 is resent: by even vehicles right away to the same
  //   partition (often in the same poll round), by odd vehicles at the very end through another
  //   node to partition + 2; vehicle 1's seq 99 is sent a third time.
  void ProduceShuffledWithResends(const Workload& workload) {
    std::vector<Planned> plan, late;
    const auto& o = workload.options();
    auto emit = [&](int v, int seq, int partition, const std::string& node) {
      const std::size_t i = workload.Index(v, seq);
      plan.push_back(Planned{i, partition, node});
      if (seq % 9 != 0) return;
      if (v % 2 == 0) {
        plan.push_back(Planned{i, partition, node, 1'500'000});
      } else {
        late.push_back(Planned{i, (partition + 2) % kPartitions, "ingest-c", 5'000'000});
        if (v == 1 && seq == 99)
          late.push_back(Planned{i, (partition + 1) % kPartitions, "ingest-d", 9'000'000});
      }
    };
    const std::set<int> swapped = {10, 30, 70};
    for (int seq = 1; seq <= o.batches_per_vehicle; ++seq) {
      for (int v = 0; v < o.vehicles; ++v) {
        const int home = v % kPartitions;
        if (v % 5 == 0 && seq >= 41 && seq <= 60) {
          if (seq == 41)
            for (int s = 60; s >= 41; --s) emit(v, s, (home + 1) % kPartitions, "ingest-b");
          continue;
        }
        if (v % 3 == 1 && swapped.count(seq)) {
          emit(v, seq + 1, home, "ingest-a");
          emit(v, seq, home, "ingest-a");
          continue;
        }
        if (v % 3 == 1 && swapped.count(seq - 1)) continue;
        emit(v, seq, home, "ingest-a");
      }
    }
    plan.insert(plan.end(), late.begin(), late.end());
    Produce(workload, plan);
  }

  StoreOptions Options(const std::filesystem::path& db, const std::string& group,
                       const std::string& partitions = "") const {
    StoreOptions o;
    o.db = db;
    o.bootstrap = bootstrap_;
    o.telemetry_topic = telemetry_topic_;
    o.catalog_topic = catalog_topic_;
    o.group = group;
    o.partitions = partitions;
    return o;
  }

  // The rows of the produced records below `offsets` (per partition): what a store that stored
  // these offsets must hold, each batch once.
  std::vector<Row> RowsBelow(const Workload& workload,
                             const std::map<int, std::int64_t>& offsets) const {
    std::vector<std::size_t> batches;
    for (const auto& p : produced_) {
      auto it = offsets.find(p.partition);
      if (it != offsets.end() && p.offset < it->second) batches.push_back(p.batch);
    }
    return workload.RowsOf(batches);
  }
  std::vector<Row> RowsOfPartitions(const Workload& workload,
                                    const std::set<int>& partitions) const {
    std::vector<std::size_t> batches;
    for (const auto& p : produced_)
      if (partitions.count(p.partition)) batches.push_back(p.batch);
    return workload.RowsOf(batches);
  }
  std::uint64_t RecordsOf(const std::set<int>& partitions) const {
    std::uint64_t n = 0;
    for (const auto& p : produced_) n += partitions.count(p.partition);
    return n;
  }
  static std::int64_t Sum(const std::map<int, std::int64_t>& offsets) {
    std::int64_t sum = 0;
    for (const auto& [p, next] : offsets) sum += next;
    return sum;
  }

  // Stops the store with SIGTERM (exit code 0), then checks that its database holds exactly
  // `expected` and that it stored the end offset of each of `partitions`.
  void StopAndExpectContent(StoreServer& store, const std::filesystem::path& db,
                            const std::vector<Row>& expected, const std::set<int>& partitions,
                            const std::string& what, std::vector<Row>* exported = nullptr) {
    ASSERT_EQ(store.Terminate(kExitTimeout), 0) << store.process().LogTail();
    std::vector<Row> local;
    std::vector<Row>& rows = exported != nullptr ? *exported : local;
    ASSERT_TRUE(ExportRows(kStoreBin, db, dir_, &rows));
    EXPECT_TRUE(SameRows(expected, rows, what));
    std::map<int, std::int64_t> offsets, want;
    ASSERT_TRUE(ReadOffsets(kStoreBin, db, dir_, telemetry_topic_, &offsets));
    for (int p : partitions) want[p] = end_offsets_.at(p);
    EXPECT_EQ(offsets, want) << what << ": stored next offsets (partition -> offset)";
  }

  std::filesystem::path dir_;
  std::string bootstrap_, telemetry_topic_, catalog_topic_;
  std::vector<Produced> produced_;
  std::map<int, std::int64_t> end_offsets_;  // partition -> offset after its last record
};

// A series' value on a /metrics page; -1 when absent.
inline double Value(const std::string& page, const std::string& series) {
  return MetricValue(page, series).value_or(-1);
}

}  // namespace canvoy::testing
