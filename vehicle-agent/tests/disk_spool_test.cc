// DiskSpool: round trips across restarts, seq and stream id persistence, segment roll and
// deletion, the byte cap and its eviction order, fsync policies and options.
#include "spool/disk_spool.h"

#include <gtest/gtest.h>

#include <random>

#include "spool/memory_spool.h"
#include "spool_test_util.h"

namespace canvoy::agent {
namespace {

using testing::AppendOrDie;
using testing::Held;
using testing::OpenOrDie;
using testing::Payload;
using testing::SegmentBytesOnDisk;
using testing::SegmentFiles;
using testing::SmallSpool;
using testing::TempDir;

TEST(DiskSpoolTest, AppendAckAndRestartKeepExactlyTheUnacknowledgedBatches) {
  TempDir dir;
  StreamId id;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    id = spool->stream_id();
    EXPECT_EQ(spool->NextSeq(), 1u);
    for (int i = 0; i < 6; ++i) AppendOrDie(*spool);
    EXPECT_EQ(spool->size(), 6u);
    spool->Ack(2);
    spool->Ack(4);
    spool->Ack(4);   // twice: ignored
    spool->Ack(99);  // never appended: ignored
    EXPECT_EQ(spool->size(), 4u);
  }  // destroyed without Close, like a process that dies
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stream_id(), id);
  const auto held = Held(*spool);
  ASSERT_EQ(held.size(), 4u);
  for (const std::uint64_t seq : {1u, 3u, 5u, 6u}) {
    ASSERT_TRUE(held.count(seq)) << seq;
    EXPECT_EQ(held.at(seq), Payload(seq)) << seq;
  }
  EXPECT_EQ(spool->stats().corrupt_bytes_cut, 0u);
}

TEST(DiskSpoolTest, CleanRestartContinuesAtTheNextSeqEvenWhenEverySegmentWasDeleted) {
  TempDir dir;
  StreamId id;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    id = spool->stream_id();
    for (int i = 0; i < 5; ++i) AppendOrDie(*spool);
    spool->Close();
    for (std::uint64_t seq = 1; seq <= 5; ++seq) spool->Ack(seq);
    EXPECT_TRUE(spool->WaitDrained(std::chrono::steady_clock::now()));
  }
  EXPECT_TRUE(SegmentFiles(dir.path()).empty()) << "fully acknowledged segments are deleted";
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stream_id(), id);
  EXPECT_EQ(spool->NextSeq(), 6u);
  EXPECT_EQ(spool->size(), 0u);
}

TEST(DiskSpoolTest, RestartAfterACrashSkipsTheReservedSeqsAndNeverReusesOne) {
  TempDir dir;
  StreamId id;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    id = spool->stream_id();
    for (int i = 0; i < 5; ++i) AppendOrDie(*spool);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) spool->Ack(seq);
  }  // no Close: a crash. Seqs up to the reservation may have been sent.
  std::uint64_t first_after_crash = 0;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    EXPECT_EQ(spool->stream_id(), id);
    first_after_crash = spool->NextSeq();
    EXPECT_EQ(first_after_crash, 1 + DiskSpool::kSeqReservation);
    AppendOrDie(*spool);
  }
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stream_id(), id);
  EXPECT_GT(spool->NextSeq(), first_after_crash + 1);
  EXPECT_EQ(Held(*spool).begin()->first, first_after_crash);
}

TEST(DiskSpoolTest, ReservationIsExtendedBeforeASeqPassesIt) {
  TempDir dir;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    for (std::uint64_t i = 0; i < DiskSpool::kSeqReservation + 3; ++i) {
      const std::uint64_t seq = AppendOrDie(*spool, 10);
      spool->Ack(seq);
    }
  }
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_GT(spool->NextSeq(), DiskSpool::kSeqReservation + 3);
}

TEST(DiskSpoolTest, RollsSegmentsAndDeletesOnlyFullyAcknowledgedOnes) {
  TempDir dir;
  auto spool = OpenOrDie(SmallSpool(dir.path()));  // 4096-byte segments
  ASSERT_TRUE(spool);
  // 1000-byte payloads: three records fit a segment, the fourth rolls it.
  for (int i = 0; i < 9; ++i) AppendOrDie(*spool, 1000);
  ASSERT_EQ(SegmentFiles(dir.path()).size(), 3u);
  for (const auto& f : SegmentFiles(dir.path()))
    EXPECT_LE(std::filesystem::file_size(f), 4096u) << f;
  const auto first = SegmentFiles(dir.path()).front();
  spool->Ack(1);
  spool->Ack(2);
  EXPECT_TRUE(std::filesystem::exists(first)) << "one batch of it is still held";
  spool->Ack(3);
  EXPECT_FALSE(std::filesystem::exists(first));
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 2u);
  spool->Ack(5);  // a batch in the middle: its segment stays
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 2u);
  EXPECT_EQ(spool->stats().segments, 2u);
  // The active (last) segment stays while it takes appends, and goes once closed and acknowledged.
  for (std::uint64_t seq : {4u, 6u, 7u, 8u, 9u}) spool->Ack(seq);
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 1u);
  spool->Close();
  EXPECT_TRUE(SegmentFiles(dir.path()).empty());
  EXPECT_TRUE(spool->WaitDrained(std::chrono::steady_clock::now()));
}

TEST(DiskSpoolTest, AppendRefusesAWrongSeqAndAppendsAfterClose) {
  TempDir dir;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_FALSE(spool->Append(2, "x", 1));
  AppendOrDie(*spool);
  spool->Close();
  EXPECT_FALSE(spool->Append(spool->NextSeq(), "x", 1));
}

TEST(DiskSpoolTest, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto first = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(first);
  auto second = DiskSpool::Open(SmallSpool(dir.path()));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("in use by another process"), std::string::npos)
      << second.error().message();
  first.reset();
  EXPECT_TRUE(DiskSpool::Open(SmallSpool(dir.path())));
}

TEST(DiskSpoolTest, ListenerIsCalledOnAppendAndClose) {
  TempDir dir;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  int calls = 0;
  spool->SetListener([&] { ++calls; });
  AppendOrDie(*spool);
  spool->Close();
  EXPECT_EQ(calls, 2);
  spool->SetListener(nullptr);
}

// ---- byte cap and eviction ----

// 4096-byte segments of three 1000-byte batches each (3144 bytes counted: header, records and
// their future acks), under a cap of four segments.
DiskSpoolOptions CappedSpool(const std::filesystem::path& dir) {
  DiskSpoolOptions o = SmallSpool(dir);
  o.max_bytes = 4 * 3144 + 100;
  return o;
}

std::set<std::uint64_t> HeldSeqs(Spool& spool) {
  std::set<std::uint64_t> seqs;
  for (const auto& [seq, payload] : Held(spool)) seqs.insert(seq);
  return seqs;
}

TEST(DiskSpoolTest, EvictsTheLowestPriorityFirstThenTheOldest) {
  TempDir dir;
  auto spool = OpenOrDie(CappedSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, 1000, 1);  // 1-3: low, oldest
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, 1000, 9);  // 4-6: high, oldest
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, 1000, 1);  // 7-9: low, newer
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, 1000, 9);  // 10-12: high, newer
  EXPECT_EQ(spool->stats().evicted_batches, 0u);
  EXPECT_EQ(spool->size(), 12u);

  AppendOrDie(*spool, 1000, 9);  // 13 needs a fifth segment: the oldest low one goes
  auto s = spool->stats();
  EXPECT_EQ(s.evicted_batches, 3u);
  EXPECT_EQ(s.evicted_bytes, 3000u);
  EXPECT_LE(s.bytes, CappedSpool(dir.path()).max_bytes);
  std::set<std::uint64_t> expected{4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  EXPECT_EQ(HeldSeqs(*spool), expected);

  AppendOrDie(*spool, 1000, 9);  // 14, 15 fill segment 5; 16 needs a sixth: the newer low one goes
  AppendOrDie(*spool, 1000, 9);
  EXPECT_EQ(spool->stats().evicted_batches, 3u);
  AppendOrDie(*spool, 1000, 9);
  EXPECT_EQ(spool->stats().evicted_batches, 6u);
  expected = {4, 5, 6, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(HeldSeqs(*spool), expected);

  // Only high priority is left: the oldest high segment goes next.
  AppendOrDie(*spool, 1000, 9);
  AppendOrDie(*spool, 1000, 9);
  AppendOrDie(*spool, 1000, 9);
  s = spool->stats();
  EXPECT_EQ(s.evicted_batches, 9u);
  EXPECT_EQ(s.evicted_bytes, 9000u);
  expected = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  EXPECT_EQ(HeldSeqs(*spool), expected);
}

TEST(DiskSpoolTest, ArrivingBatchLessImportantThanEverythingHeldIsTheOneEvicted) {
  TempDir dir;
  auto spool = OpenOrDie(CappedSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 12; ++i) AppendOrDie(*spool, 1000, 5);
  const std::uint64_t seq = AppendOrDie(*spool, 1000, 4);
  const auto s = spool->stats();
  EXPECT_EQ(s.evicted_batches, 1u);
  EXPECT_EQ(s.evicted_bytes, 1000u);
  EXPECT_EQ(spool->size(), 12u);
  EXPECT_EQ(spool->NextSeq(), seq + 1) << "its seq is used up all the same";
  EXPECT_FALSE(spool->NextAfter(seq - 1));
  // A batch larger than the whole cap is evicted on arrival too.
  AppendOrDie(*spool, CappedSpool(dir.path()).max_bytes, 200);
  EXPECT_EQ(spool->stats().evicted_batches, 2u);
}

TEST(DiskSpoolTest, AcknowledgedSegmentsMakeRoomBeforeAnythingIsEvicted) {
  TempDir dir;
  auto spool = OpenOrDie(CappedSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 12; ++i) AppendOrDie(*spool, 1000, 5);
  for (std::uint64_t seq = 10; seq <= 12; ++seq) spool->Ack(seq);  // the active segment, all acked
  AppendOrDie(*spool, 1000, 5);
  EXPECT_EQ(spool->stats().evicted_batches, 0u);
  EXPECT_EQ(spool->size(), 10u);
}

TEST(DiskSpoolTest, AckOfAnEvictedInFlightBatchIsIgnored) {
  TempDir dir;
  auto spool = OpenOrDie(CappedSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 13; ++i) AppendOrDie(*spool, 1000, 5);  // 1-3 evicted
  ASSERT_EQ(spool->stats().evicted_batches, 3u);
  spool->Ack(1);
  EXPECT_EQ(spool->size(), 10u);
  EXPECT_EQ(spool->stats().evicted_batches, 3u);
}

TEST(DiskSpoolTest, ByteCapHoldsOnDiskUnderRandomAppendsAndAcks) {
  TempDir dir;
  DiskSpoolOptions options = SmallSpool(dir.path());
  options.segment_bytes = 8192;
  options.max_bytes = 40000;
  auto spool = OpenOrDie(options);
  ASSERT_TRUE(spool);
  std::mt19937 rng(7);
  std::uint64_t appended = 0, acked = 0;
  for (int i = 0; i < 600; ++i) {
    const std::size_t size = std::uniform_int_distribution<std::size_t>(1, 3000)(rng);
    AppendOrDie(*spool, size, static_cast<BatchPriority>(rng() % 4));
    ++appended;
    if (rng() % 3 == 0) {
      // The uplink acknowledges the oldest held batch.
      if (auto next = spool->NextAfter(0)) {
        spool->Ack(next->first);
        ++acked;
      }
    }
    const auto s = spool->stats();
    ASSERT_LE(s.bytes, options.max_bytes) << "after append " << i;
    ASSERT_LE(SegmentBytesOnDisk(dir.path()), options.max_bytes) << "after append " << i;
    ASSERT_EQ(s.batches + s.evicted_batches + acked, appended)
        << "every batch is held, acked or evicted";
  }
  EXPECT_GT(spool->stats().evicted_batches, 0u) << "the test must push the spool past its cap";
}

TEST(DiskSpoolTest, LoweredCapIsAppliedOnOpen) {
  TempDir dir;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 0; i < 12; ++i) AppendOrDie(*spool, 1000, 5);
  }
  DiskSpoolOptions smaller = CappedSpool(dir.path());
  smaller.max_bytes = 3 * 3144;  // three of the four segments
  auto spool = OpenOrDie(smaller);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().evicted_batches, 3u);
  EXPECT_EQ(HeldSeqs(*spool), (std::set<std::uint64_t>{4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_LE(SegmentBytesOnDisk(dir.path()), smaller.max_bytes);
}

// ---- fsync policies and options ----

TEST(DiskSpoolTest, EveryAppendPolicySyncsBeforeAppendReturns) {
  TempDir dir;
  DiskSpoolOptions options = SmallSpool(dir.path());
  options.fsync.mode = FsyncPolicy::Mode::kEveryAppend;
  auto spool = OpenOrDie(options);
  ASSERT_TRUE(spool);
  AppendOrDie(*spool);  // creates a segment: file and directory synced
  const std::uint64_t before = spool->stats().fsyncs;
  AppendOrDie(*spool);
  EXPECT_EQ(spool->stats().fsyncs, before + 1);
}

TEST(DiskSpoolTest, IntervalPolicySyncsWithoutAnotherWrite) {
  TempDir dir;
  DiskSpoolOptions options = SmallSpool(dir.path());
  options.fsync = {FsyncPolicy::Mode::kInterval, std::chrono::milliseconds(20)};
  auto spool = OpenOrDie(options);
  ASSERT_TRUE(spool);
  AppendOrDie(*spool);
  AppendOrDie(*spool);
  const std::uint64_t before = spool->stats().fsyncs;
  EXPECT_TRUE(testing::WaitFor([&] { return spool->stats().fsyncs > before; }))
      << "the flusher thread syncs what was written";
}

TEST(DiskSpoolTest, NeverPolicyNeverSyncs) {
  TempDir dir;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 10; ++i) AppendOrDie(*spool, 1000);
  spool->Close();
  EXPECT_EQ(spool->stats().fsyncs, 0u);
}

TEST(FsyncPolicyTest, ParsesEveryIntervalAndNever) {
  auto every = FsyncPolicy::Parse("every");
  ASSERT_TRUE(every);
  EXPECT_EQ(every.value().mode, FsyncPolicy::Mode::kEveryAppend);
  auto never = FsyncPolicy::Parse("never");
  ASSERT_TRUE(never);
  EXPECT_EQ(never.value().mode, FsyncPolicy::Mode::kNever);
  auto interval = FsyncPolicy::Parse("interval:250");
  ASSERT_TRUE(interval);
  EXPECT_EQ(interval.value().mode, FsyncPolicy::Mode::kInterval);
  EXPECT_EQ(interval.value().interval, std::chrono::milliseconds(250));
  EXPECT_EQ(interval.value().ToString(), "interval:250");
  EXPECT_EQ(FsyncPolicy{}.ToString(), "interval:1000") << "the default";
}

TEST(FsyncPolicyTest, RejectsBadTextNamingTheOption) {
  for (const char* bad :
       {"", "always", "Every", "interval", "interval:", "interval:0", "interval:-5", "interval:abc",
        "interval:10ms", "interval:3600001", "interval:99999999999999999999"}) {
    auto parsed = FsyncPolicy::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().message().rfind("--spool-fsync '", 0), 0u) << parsed.error().message();
  }
}

TEST(DiskSpoolOptionsTest, RejectsBadOptionsNamingThem) {
  DiskSpoolOptions o;
  EXPECT_NE(o.Validate().error().message().find("--spool-dir"), std::string::npos);
  o.dir = "/tmp/x";
  EXPECT_TRUE(o.Validate());
  o.segment_bytes = 100;
  EXPECT_NE(o.Validate().error().message().find("--spool-segment-bytes"), std::string::npos);
  o.segment_bytes = 1u << 20;
  o.max_bytes = (1u << 20) + 1;
  EXPECT_NE(o.Validate().error().message().find("--spool-max-bytes"), std::string::npos);
  o.max_bytes = 64u << 20;
  o.fsync = {FsyncPolicy::Mode::kInterval, std::chrono::milliseconds(0)};
  EXPECT_NE(o.Validate().error().message().find("--spool-fsync"), std::string::npos);
}

TEST(MemorySpoolTest, ImplementsTheSpoolContract) {
  MemorySpool memory;
  Spool& spool = memory;
  EXPECT_FALSE(spool.Append(5, "x", 1));
  AppendOrDie(spool);
  AppendOrDie(spool);
  spool.Ack(1);
  EXPECT_EQ(Held(spool).begin()->first, 2u);
  spool.Close();
  EXPECT_FALSE(spool.WaitDrained(std::chrono::steady_clock::now()));
  spool.Ack(2);
  EXPECT_TRUE(spool.WaitDrained(std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace canvoy::agent
