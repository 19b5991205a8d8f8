// The fleet store under SIGKILL and SIGTERM, checked by content against the real broker: after
// every stop the database holds exactly the records below its stored offsets (data and offsets
// are written in one WriteBatch), no restart applies a record twice, and the last run completes
// the content: every sample exactly once.
#include <gtest/gtest.h>

#include <random>

#include "fleet_store/store_fixture.h"

namespace canvoy::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The baseline the other tests disturb: one undisturbed run stores every sample once, and its
// counters add up.
TEST_F(FleetStoreProcessTest, UndisturbedRunStoresEverySampleOnce) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceKeyed(workload));
  const std::uint64_t records = produced_.size();
  const fs::path db = dir_ / "db";
  StoreServer store(kStoreBin, Options(db, UniqueName("store-baseline")), dir_, "store");
  ASSERT_TRUE(store.WaitServing(60s));
  ASSERT_TRUE(store.WaitApplied(records, kCatchUpTimeout));
  EXPECT_TRUE(store.WaitLagZero(kAllPartitions));
  const std::string page = store.Metrics();
  EXPECT_EQ(Value(page, kConsumed), static_cast<double>(records))
      << "records applied after catching up";
  EXPECT_EQ(Value(page, kBatchesApplied), records);
  EXPECT_EQ(Value(page, kSamplesWritten), records * workload.SamplesPerBatch());
  EXPECT_EQ(Value(page, kDuplicates), 0);
  EXPECT_EQ(Value(page, kRejected), 0);
  EXPECT_EQ(Value(page, kAssigned), kPartitions);
  ASSERT_NO_FATAL_FAILURE(
      StopAndExpectContent(store, db, workload.AllRows(), {0, 1, 2, 3}, "after one run"));
}

// SIGKILL five times while the store consumes, after a random number of rounds of each run; after
// each kill the database holds exactly the records below its stored offsets, no run ever meets a
// batch it had applied, and a last run completes the content: every sample exactly once. Runs
// alternate between a consumer group (a new one each time: a killed member would hold its
// partitions until its session timed out) and static assignment (--partitions).
TEST_F(FleetStoreProcessTest, KilledFiveTimesWhileConsumingStoresEverySampleExactlyOnce) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceKeyed(workload));
  const std::int64_t total = static_cast<std::int64_t>(produced_.size());
  const fs::path db = dir_ / "db";
  std::mt19937 rng(std::random_device{}());
  std::int64_t applied = 0;     // records below the stored offsets
  std::size_t rows_stored = 0;  // rows exported after the last kill
  for (int run = 0; run < 5; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    StoreOptions options = Options(db, UniqueName("store-kill"), run % 2 ? "0,1,2,3" : "");
    options.max_poll_records = 20;
    options.poll_round_ms = 20;
    StoreServer store(kStoreBin, options, dir_, "store-" + std::to_string(run));
    ASSERT_TRUE(store.WaitServing(60s));
    // Somewhere in the first fifth of the work (rounds of 20 of 4000 records).
    const int rounds = std::uniform_int_distribution<int>(1, 40)(rng);
    std::string page;
    ASSERT_TRUE(WaitUntil(
        [&] {
          page = store.Metrics();
          return Value(page, kPollRounds) >= rounds || store.process().WaitFor(0ms);
        },
        kCatchUpTimeout, 10ms))
        << "no round was applied\n"
        << store.process().LogTail();
    ASSERT_FALSE(store.process().WaitFor(0ms)) << "the store exited\n" << store.process().LogTail();
    store.process().Signal(SIGKILL);
    ASSERT_EQ(store.process().WaitFor(kExitTimeout), 128 + SIGKILL) << store.process().LogTail();
    EXPECT_EQ(Value(page, kDuplicates), 0)
        << "the run met batches it had applied: data and offsets were not stored together";

    std::map<int, std::int64_t> offsets;
    ASSERT_TRUE(ReadOffsets(kStoreBin, db, dir_, telemetry_topic_, &offsets));
    const std::int64_t now = Sum(offsets);
    std::cerr << "run " << run << ": killed after " << Value(page, kPollRounds) << "+ rounds; "
              << (now - applied) << " records applied in the run, " << now << " of " << total
              << " in all\n";
    ASSERT_GT(now, applied) << "the stored offsets did not advance in this run";
    ASSERT_LT(now, total) << "the run consumed everything before the kill; the test needs a slower "
                             "store or a larger workload to kill it while it consumes";
    std::vector<Row> rows;
    ASSERT_TRUE(ExportRows(kStoreBin, db, dir_, &rows));
    ASSERT_TRUE(
        SameRows(RowsBelow(workload, offsets), rows,
                 "after kill " + std::to_string(run) + ", the records below the stored offsets"));
    applied = now;
    rows_stored = rows.size();
  }
  StoreServer store(kStoreBin, Options(db, UniqueName("store-kill")), dir_, "store-final");
  ASSERT_TRUE(store.WaitServing(60s));
  ASSERT_TRUE(store.WaitApplied(static_cast<std::uint64_t>(total - applied), kCatchUpTimeout));
  EXPECT_TRUE(store.WaitLagZero(kAllPartitions));
  const std::string page = store.Metrics();
  EXPECT_EQ(Value(page, kConsumed), static_cast<double>(total - applied))
      << "records applied after catching up";
  EXPECT_EQ(Value(page, kDuplicates), 0) << "the last run met batches applied before a kill";
  EXPECT_EQ(
      Value(page, kSamplesWritten),
      static_cast<double>(workload.batches().size() * workload.SamplesPerBatch() - rows_stored));
  ASSERT_NO_FATAL_FAILURE(
      StopAndExpectContent(store, db, workload.AllRows(), {0, 1, 2, 3}, "after five kills"));
}

// SIGTERM applies and commits the round in hand and exits 0; the restart (same consumer group)
// reads each remaining record once and none of the applied ones.
TEST_F(FleetStoreProcessTest, SigtermStopsCleanlyAndRestartReadsNoRecordTwice) {
  const Workload workload(WorkloadOptions{});
  ASSERT_NO_FATAL_FAILURE(ProduceKeyed(workload));
  const std::int64_t total = static_cast<std::int64_t>(produced_.size());
  const fs::path db = dir_ / "db";
  const std::string group = UniqueName("store-term");
  StoreOptions options = Options(db, group);
  options.max_poll_records = 20;
  options.poll_round_ms = 20;
  double consumed_at_signal = 0;
  {
    StoreServer store(kStoreBin, options, dir_, "store-1");
    ASSERT_TRUE(store.WaitServing(60s));
    std::string page;
    ASSERT_TRUE(WaitUntil(
        [&] {
          page = store.Metrics();
          return Value(page, kPollRounds) >= 2 || store.process().WaitFor(0ms);
        },
        kCatchUpTimeout, 10ms))
        << store.process().LogTail();
    ASSERT_FALSE(store.process().WaitFor(0ms)) << "the store exited\n" << store.process().LogTail();
    consumed_at_signal = Value(page, kConsumed);
    ASSERT_EQ(store.Terminate(kExitTimeout), 0) << store.process().LogTail();
  }
  std::map<int, std::int64_t> offsets;
  ASSERT_TRUE(ReadOffsets(kStoreBin, db, dir_, telemetry_topic_, &offsets));
  const std::int64_t applied = Sum(offsets);
  std::cerr << "stopped with " << applied << " of " << total << " records applied ("
            << consumed_at_signal << " seen applied when SIGTERM was sent)\n";
  ASSERT_GE(applied, consumed_at_signal) << "rounds applied before SIGTERM are missing";
  ASSERT_LT(applied, total) << "the store consumed everything before SIGTERM; the test needs a "
                               "larger workload to stop it while it consumes";
  std::vector<Row> rows;
  ASSERT_TRUE(ExportRows(kStoreBin, db, dir_, &rows));
  ASSERT_TRUE(SameRows(RowsBelow(workload, offsets), rows,
                       "after SIGTERM, the records below the stored offsets"));

  StoreServer store(kStoreBin, options, dir_, "store-2");
  ASSERT_TRUE(store.WaitServing(60s));
  ASSERT_TRUE(store.WaitApplied(static_cast<std::uint64_t>(total - applied), kCatchUpTimeout));
  EXPECT_TRUE(store.WaitLagZero(kAllPartitions));
  const std::string page = store.Metrics();
  EXPECT_EQ(Value(page, kConsumed), static_cast<double>(total - applied))
      << "records applied after catching up";
  EXPECT_EQ(Value(page, kDuplicates), 0);
  EXPECT_EQ(
      Value(page, kSamplesWritten),
      static_cast<double>(workload.batches().size() * workload.SamplesPerBatch() - rows.size()));
  ASSERT_NO_FATAL_FAILURE(StopAndExpectContent(store, db, workload.AllRows(), {0, 1, 2, 3},
                                               "after SIGTERM and restart"));
}

}  // namespace
}  // namespace canvoy::testing
