// DiskSpool after crashes and bad storage: torn and bit-flipped records are cut at the last good
// record, reported (log line with file and offset, counters), and never replayed as data.
#include <gtest/gtest.h>

#include <filesystem>

#include "spool/disk_spool.h"
#include "spool/spool_format.h"
#include "spool_test_util.h"

namespace canvoy::agent {
namespace {

namespace fs = std::filesystem;
using testing::AppendOrDie;
using testing::CapturedLog;
using testing::FlipBit;
using testing::Held;
using testing::OpenOrDie;
using testing::Payload;
using testing::SegmentFiles;
using testing::SmallSpool;
using testing::TempDir;

constexpr std::size_t kPayload = 500;
constexpr std::uint64_t kRecord = spool::kRecordHeaderSize + kPayload;
// One segment with batches 1-3 (then the process dies): the last record starts here.
constexpr std::uint64_t kLastRecord = spool::kSegmentHeaderSize + 2 * kRecord;
constexpr std::uint64_t kSegmentSize = spool::kSegmentHeaderSize + 3 * kRecord;

void WriteThreeBatches(const fs::path& dir) {
  auto spool = OpenOrDie(SmallSpool(dir));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, kPayload);
}

// Opens `dir` and checks that exactly the last record was cut and reported, and 1-2 are intact.
void ExpectLastRecordCut(const fs::path& dir, std::uint64_t bytes_cut) {
  const fs::path segment = SegmentFiles(dir).at(0);
  CapturedLog log;
  auto spool = OpenOrDie(SmallSpool(dir));
  ASSERT_TRUE(spool);
  const SpoolStats s = spool->stats();
  EXPECT_EQ(s.corrupt_cuts, 1u);
  EXPECT_EQ(s.corrupt_bytes_cut, bytes_cut);
  EXPECT_EQ(fs::file_size(segment), kLastRecord)
      << "the segment is truncated at the last good record";
  const auto held = Held(*spool);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held.at(1), Payload(1, kPayload));
  EXPECT_EQ(held.at(2), Payload(2, kPayload));
  EXPECT_GT(spool->NextSeq(), 3u) << "the seq of the cut batch is never given to other data";
  const std::string text = log.Text();
  EXPECT_NE(text.find("cut corrupt tail"), std::string::npos) << text;
  EXPECT_NE(text.find("file=" + segment.string()), std::string::npos) << text;
  EXPECT_NE(text.find("offset=" + std::to_string(kLastRecord)), std::string::npos) << text;
}

TEST(DiskSpoolCorruptionTest, TornLastRecordIsCutAtEveryOffset) {
  for (const std::uint64_t keep :
       {std::uint64_t{1}, std::uint64_t{4}, std::uint64_t{9}, std::uint64_t{17},
        spool::kRecordHeaderSize, spool::kRecordHeaderSize + 1,
        spool::kRecordHeaderSize + kPayload / 2, kRecord - 1}) {
    SCOPED_TRACE("record cut after " + std::to_string(keep) + " bytes");
    TempDir dir;
    WriteThreeBatches(dir.path());
    const fs::path segment = SegmentFiles(dir.path()).at(0);
    ASSERT_EQ(fs::file_size(segment), kSegmentSize);
    fs::resize_file(segment, kLastRecord + keep);
    ExpectLastRecordCut(dir.path(), keep);
  }
}

TEST(DiskSpoolCorruptionTest, BitFlipInTheLastRecordsPayloadIsCut) {
  for (const std::uint64_t at :
       {spool::kRecordHeaderSize, spool::kRecordHeaderSize + 123, kRecord - 1}) {
    SCOPED_TRACE("flip at record byte " + std::to_string(at));
    TempDir dir;
    WriteThreeBatches(dir.path());
    FlipBit(SegmentFiles(dir.path()).at(0), kLastRecord + at, 3);
    ExpectLastRecordCut(dir.path(), kRecord);
  }
}

TEST(DiskSpoolCorruptionTest, BitFlipInTheLastRecordsHeaderIsCut) {
  // checksum, length (low bit and high bit), type, priority, seq (low and high byte)
  const std::vector<std::pair<std::uint64_t, int>> flips{{0, 0}, {4, 0},  {7, 7}, {8, 1},
                                                         {9, 0}, {10, 0}, {17, 6}};
  for (const auto& [at, bit] : flips) {
    SCOPED_TRACE("flip of bit " + std::to_string(bit) + " at record byte " + std::to_string(at));
    TempDir dir;
    WriteThreeBatches(dir.path());
    FlipBit(SegmentFiles(dir.path()).at(0), kLastRecord + at, bit);
    ExpectLastRecordCut(dir.path(), kRecord);
  }
}

TEST(DiskSpoolCorruptionTest, TornAckRecordOnlyBringsItsBatchBack) {
  TempDir dir;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 0; i < 3; ++i) AppendOrDie(*spool, kPayload);
    spool->Ack(2);
  }
  const fs::path segment = SegmentFiles(dir.path()).at(0);
  ASSERT_EQ(fs::file_size(segment), kSegmentSize + spool::kAckRecordSize);
  fs::resize_file(segment, kSegmentSize + 5);
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().corrupt_bytes_cut, 5u);
  EXPECT_EQ(Held(*spool).size(), 3u) << "batch 2 is resent: allowed, ingest deduplicates";
}

// Segments of three 1000-byte batches: 1-3, 4-6, 7-9.
void WriteThreeSegments(const fs::path& dir) {
  auto spool = OpenOrDie(SmallSpool(dir));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 9; ++i) AppendOrDie(*spool, 1000);
  ASSERT_EQ(SegmentFiles(dir).size(), 3u);
}

std::set<std::uint64_t> HeldSeqs(Spool& spool) {
  std::set<std::uint64_t> seqs;
  for (const auto& [seq, payload] : Held(spool)) {
    EXPECT_EQ(payload, Payload(seq, 1000)) << seq;
    seqs.insert(seq);
  }
  return seqs;
}

TEST(DiskSpoolCorruptionTest, BadTailOfOneSegmentLeavesTheOthersIntact) {
  TempDir dir;
  WriteThreeSegments(dir.path());
  const fs::path middle = SegmentFiles(dir.path()).at(1);
  FlipBit(middle, spool::kSegmentHeaderSize + 2 * 1018 + 500);
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().corrupt_bytes_cut, 1018u);
  EXPECT_EQ(HeldSeqs(*spool), (std::set<std::uint64_t>{1, 2, 3, 4, 5, 7, 8, 9}));
}

TEST(DiskSpoolCorruptionTest, CorruptSegmentHeaderCutsTheWholeSegment) {
  TempDir dir;
  WriteThreeSegments(dir.path());
  const fs::path middle = SegmentFiles(dir.path()).at(1);
  const std::uint64_t size = fs::file_size(middle);
  FlipBit(middle, 20);  // inside the stream id
  CapturedLog log;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().corrupt_bytes_cut, size);
  EXPECT_EQ(HeldSeqs(*spool), (std::set<std::uint64_t>{1, 2, 3, 7, 8, 9}));
  EXPECT_FALSE(fs::exists(middle));
  EXPECT_NE(log.Text().find("file=" + middle.string() + " offset=0"), std::string::npos)
      << log.Text();
}

TEST(DiskSpoolCorruptionTest, EmptySegmentFromAnInterruptedCreationIsDroppedQuietly) {
  TempDir dir;
  WriteThreeSegments(dir.path());
  { std::ofstream empty(spool::SegmentPath(dir.path(), 50)); }
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().corrupt_cuts, 0u);
  EXPECT_EQ(HeldSeqs(*spool).size(), 9u);
  EXPECT_FALSE(fs::exists(spool::SegmentPath(dir.path(), 50)));
}

TEST(DiskSpoolCorruptionTest, BatchCorruptedAfterItWasWrittenIsDroppedWhenReadBack) {
  TempDir dir;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) AppendOrDie(*spool, kPayload);
  FlipBit(SegmentFiles(dir.path()).at(0), spool::kSegmentHeaderSize + kRecord + 100);  // batch 2
  auto next = spool->NextAfter(1);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first, 3u);
  EXPECT_EQ(next->second, Payload(3, kPayload));
  EXPECT_EQ(spool->stats().corrupt_cuts, 1u);
  EXPECT_EQ(spool->size(), 2u);
}

TEST(DiskSpoolCorruptionTest, DamagedMetaFileKeepsTheStreamIdOfTheSegmentsAndSkipsSeqs) {
  TempDir dir;
  StreamId id;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    id = spool->stream_id();
    for (int i = 0; i < 3; ++i) AppendOrDie(*spool, kPayload);
    spool->Close();
  }
  FlipBit(dir.path() / spool::kMetaFileName, 35);  // in next_seq
  CapturedLog log;
  auto spool = OpenOrDie(SmallSpool(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stream_id(), id);
  EXPECT_GT(spool->NextSeq(), 3 + DiskSpool::kSeqReservation);
  EXPECT_EQ(Held(*spool).size(), 3u);
  EXPECT_NE(log.Text().find("spool.meta is damaged"), std::string::npos) << log.Text();
}

TEST(DiskSpoolCorruptionTest, SegmentOfAnotherStreamIsRefused) {
  TempDir mine, other;
  WriteThreeBatches(mine.path());
  WriteThreeBatches(other.path());
  fs::copy_file(SegmentFiles(other.path()).at(0), spool::SegmentPath(mine.path(), 77));
  auto spool = DiskSpool::Open(SmallSpool(mine.path()));
  ASSERT_FALSE(spool);
  EXPECT_NE(spool.error().message().find("belongs to stream"), std::string::npos)
      << spool.error().message();
}

TEST(SpoolFormatTest, ReadSpoolDirectoryShowsBatchesAndAcksWithoutChangingAnything) {
  TempDir dir;
  {
    auto spool = OpenOrDie(SmallSpool(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 0; i < 3; ++i) AppendOrDie(*spool, kPayload);
    spool->Ack(1);
  }
  const fs::path segment = SegmentFiles(dir.path()).at(0);
  const std::uint64_t size = fs::file_size(segment) - 3;
  fs::resize_file(segment, size);
  auto contents = spool::ReadSpoolDirectory(dir.path());
  ASSERT_TRUE(contents);
  EXPECT_TRUE(contents.value().meta_ok);
  EXPECT_EQ(contents.value().batches.size(), 3u);
  EXPECT_EQ(contents.value().batches.at(2), Payload(2, kPayload));
  EXPECT_TRUE(contents.value().acked.empty()) << "the torn ack record is not an ack";
  EXPECT_EQ(contents.value().segments.begin()->second.good_end, kSegmentSize);
  EXPECT_EQ(fs::file_size(segment), size) << "reading changes nothing";
}

}  // namespace
}  // namespace canvoy::agent
