// History blocks: exact round trips of every type, canonical order across chunks, range reads,
// robustness against corrupt bytes, compression ratios, and the merge operator in a real RocksDB.
#include "storage/history_block.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "sample_testing.h"
#include "test_support.h"

namespace canvoy::fleet_store::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using namespace testing_samples;

std::vector<Sample> Decoded(std::string_view block) {
  std::vector<Sample> out;
  const auto status = DecodeBlock(block, &out);
  EXPECT_TRUE(status) << status.error().ToString();
  return out;
}

// Random samples of one type with a random timestamp pattern and value pattern.
std::vector<Sample> RandomSamples(std::size_t type, std::size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pattern(0, 3);
  const int time_pattern = pattern(rng), value_pattern = pattern(rng);
  std::vector<Sample> samples(n);
  std::int64_t t = kT0;
  std::uint64_t walk = rng();
  for (std::size_t i = 0; i < n; ++i) {
    Sample& s = samples[i];
    switch (time_pattern) {
      case 0:  // 10 ms with up to 1 ms of jitter
        s.timestamp_us =
            t + static_cast<std::int64_t>(i) * 10'000 + static_cast<std::int64_t>(rng() % 1000);
        break;
      case 1:  // anywhere
        s.timestamp_us = static_cast<std::int64_t>(rng());
        break;
      case 2:  // few distinct timestamps: many ties
        s.timestamp_us = t + static_cast<std::int64_t>(rng() % 4);
        break;
      default:  // near both ends of int64
        s.timestamp_us = (rng() & 1) ? kMax - static_cast<std::int64_t>(rng() % 5)
                                     : kMin + static_cast<std::int64_t>(rng() % 5);
    }
    const std::uint64_t r = rng();
    walk += (r % 7) - 3;
    const std::uint64_t edges[] = {0, 1, kUMax, kUMax / 2, kUMax / 2 + 1, r};
    const std::uint64_t u = value_pattern == 0   ? walk
                            : value_pattern == 1 ? r
                            : value_pattern == 2 ? edges[r % 6]
                                                 : i;
    switch (type) {
      case 0:
        s.value = (r & 1) != 0;
        break;
      case 1:
        s.value = static_cast<std::int64_t>(u);
        break;
      case 2:
        s.value = u;
        break;
      case 3: {
        const double specials[] = {0.0,
                                   -0.0,
                                   INFINITY,
                                   -INFINITY,
                                   Bits(0x7FF8'0000'0000'0001),
                                   Bits(0xFFF0'0000'0000'0001),
                                   Bits(1),
                                   1e300,
                                   -2.5};
        s.value = value_pattern == 0   ? 20.0 + static_cast<double>(walk % 1000) * 0.1
                  : value_pattern == 1 ? Bits(r)
                  : value_pattern == 2 ? specials[r % 9]
                                       : 42.0;
        break;
      }
      default: {
        const std::string pool[] = {
            "", "P", "R", "N", "D", std::string("\0\xff", 2), std::string(300, 'x')};
        s.value = value_pattern == 1 ? std::string(r % 20, static_cast<char>(r >> 8)) : pool[r % 7];
      }
    }
  }
  if (rng() & 1) std::shuffle(samples.begin(), samples.end(), rng);
  return samples;
}

TEST(HistoryBlockTest, RoundTripsRandomSamplesOfEveryType) {
  std::mt19937_64 rng(20240501);
  for (int round = 0; round < 40; ++round) {
    for (std::size_t type = 0; type < 5; ++type) {
      const std::size_t n = 1 + rng() % (round < 20 ? 8 : 2000);
      const auto samples = RandomSamples(type, n, rng);
      const std::string block = EncodeChunk(samples);
      ASSERT_EQ(CountChunks(block).value(), 1u);
      SCOPED_TRACE("round " + std::to_string(round) + " type " + std::to_string(type));
      ExpectSame(Decoded(block), Canonical(samples));
      // Encoding the decoded samples gives the same bytes: the encoding is canonical.
      EXPECT_EQ(EncodeChunk(Decoded(block)), block);
    }
  }
}

TEST(HistoryBlockTest, RoundTripsEdgeValuesExactly) {
  const std::vector<Sample> samples = {
      {kMax, std::int64_t{kMin}}, {kMin, std::int64_t{kMax}}, {0, std::int64_t{0}},
      {kMax, std::int64_t{kMax}}, {kMin, std::int64_t{kMin}}, {-1, std::int64_t{-1}},
      {kMin, std::int64_t{kMin}},  // a duplicate sample is kept
  };
  ExpectSame(Decoded(EncodeChunk(samples)), Canonical(samples));

  const std::vector<Sample> unsigned_samples = {{5, kUMax},
                                                {5, std::uint64_t{0}},
                                                {kMin, kUMax},
                                                {kMax, std::uint64_t{1}},
                                                {6, kUMax / 2 + 1}};
  ExpectSame(Decoded(EncodeChunk(unsigned_samples)), Canonical(unsigned_samples));

  const std::vector<Sample> doubles = {{1, 0.0},
                                       {1, -0.0},
                                       {2, Bits(0x7FF8'0000'0000'0000)},
                                       {3, Bits(0x7FF0'0000'0000'0001)},
                                       {4, Bits(0xFFFF'FFFF'FFFF'FFFF)},
                                       {5, kInf},
                                       {6, -kInf},
                                       {7, Bits(1)},
                                       {kMax, std::numeric_limits<double>::max()},
                                       {kMin, std::numeric_limits<double>::lowest()}};
  const auto decoded = Decoded(EncodeChunk(doubles));
  ExpectSame(decoded, Canonical(doubles));
  // -0.0 sorts before +0.0 at the same timestamp.
  EXPECT_TRUE(std::signbit(std::get<double>(decoded[1].value)));
  EXPECT_FALSE(std::signbit(std::get<double>(decoded[2].value)));

  const std::vector<Sample> strings = {{3, std::string()},
                                       {3, std::string("a\0b", 3)},
                                       {1, std::string("\xff")},
                                       {1, std::string()},
                                       {2, std::string(100000, 'z')}};
  ExpectSame(Decoded(EncodeChunk(strings)), Canonical(strings));

  const std::vector<Sample> bools = {{kMax, true}, {kMax, false}, {kMin, true}};
  ExpectSame(Decoded(EncodeChunk(bools)), Canonical(bools));
}

TEST(HistoryBlockTest, EncodesEmptyInputAsEmptyBlock) {
  EXPECT_EQ(EncodeChunk({}), "");
  EXPECT_TRUE(Decoded("").empty());
  EXPECT_EQ(CountChunks("").value(), 0u);
}

TEST(HistoryBlockTest, MixedTypesGiveOneChunkPerTypeAndDecodeInCanonicalOrder) {
  const std::vector<Sample> samples = {
      {3, 1.5}, {1, std::string("a")}, {2, true}, {1, std::int64_t{7}}, {3, false}, {1, 0.5}};
  const std::string block = EncodeChunk(samples);
  EXPECT_EQ(CountChunks(block).value(), 4u);
  ExpectSame(Decoded(block), Canonical(samples));
}

TEST(HistoryBlockTest, SeveralChunksDecodeInCanonicalOrderAndCompactCanonically) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    const auto all = RandomSamples(round % 5, 1 + rng() % 500, rng);
    // Split into chunks two ways; the compacted blocks are the same bytes.
    std::string a, b;
    for (std::size_t i = 0; i < all.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 50, all.size() - i);
      a += EncodeChunk(std::span(all).subspan(i, n));
      i += n;
    }
    auto shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (std::size_t i = 0; i < shuffled.size(); i += 3)
      b = EncodeChunk(
              std::span(shuffled).subspan(i, std::min<std::size_t>(3, shuffled.size() - i))) +
          b;
    ExpectSame(Decoded(a), Canonical(all));
    ExpectSame(Decoded(b), Canonical(all));
    const auto compact_a = CompactBlock(a), compact_b = CompactBlock(b);
    ASSERT_TRUE(compact_a && compact_b);
    EXPECT_EQ(compact_a.value(), compact_b.value());
    EXPECT_EQ(compact_a.value(), EncodeChunk(all));
    EXPECT_EQ(CountChunks(compact_a.value()).value(), 1u);
  }
}

TEST(HistoryBlockTest, RangeDecodeKeepsHalfOpenRange) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 40; ++round) {
    const auto all = Canonical(RandomSamples(round % 5, 1 + rng() % 400, rng));
    std::string block;
    for (std::size_t i = 0; i < all.size(); i += 64)
      block += EncodeChunk(std::span(all).subspan(i, std::min<std::size_t>(64, all.size() - i)));
    const std::int64_t from =
        all[rng() % all.size()].timestamp_us - static_cast<std::int64_t>(rng() % 3);
    const std::int64_t to = round % 4 == 0 ? kMax : all[rng() % all.size()].timestamp_us;
    std::vector<Sample> expected;
    for (const auto& s : all)
      if (s.timestamp_us >= from && s.timestamp_us < to) expected.push_back(s);
    std::vector<Sample> actual;
    ASSERT_TRUE(DecodeBlockRange(block, from, to, &actual));
    ExpectSame(actual, expected);
  }
  const std::vector<Sample> ends = {{kMin, 1.0}, {0, 2.0}, {kMax, 3.0}};
  std::vector<Sample> out;
  ASSERT_TRUE(DecodeBlockRange(EncodeChunk(ends), kMin, kMax, &out));
  ExpectSame(out, {ends[0], ends[1]});  // kMax itself is outside [kMin, kMax)
  out.clear();
  ASSERT_TRUE(DecodeBlockRange(EncodeChunk(ends), 5, 5, &out));
  EXPECT_TRUE(out.empty());
}

// DecodeBlockColumns gives DecodeBlockRange's samples as columns, or declines (nullopt, nothing
// appended) for strings, mixed types and chunks that overlap in time.
TEST(HistoryBlockTest, ColumnDecodeEqualsRangeDecodeOrDeclines) {
  std::mt19937_64 rng(2024);
  std::size_t as_columns = 0, declined = 0;
  for (int round = 0; round < 400; ++round) {
    const std::size_t type = round % 5;
    std::vector<Sample> all = Canonical(RandomSamples(type, 1 + rng() % 300, rng));
    if (round % 7 == 3) {  // a second type in the same block
      auto other = RandomSamples((type + 1) % 4, 1 + rng() % 20, rng);
      all.insert(all.end(), other.begin(), other.end());
      all = Canonical(std::move(all));
    }
    // Chunks of consecutive samples (they follow each other in time unless a tie spans two), or
    // of shuffled ones (they overlap).
    auto order = all;
    if (round % 3 == 0) std::shuffle(order.begin(), order.end(), rng);
    std::string block;
    for (std::size_t i = 0; i < order.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 120, order.size() - i);
      block += EncodeChunk(std::span(order).subspan(i, n));
      i += n;
    }
    const std::int64_t from = round % 2 == 0 ? kMin : all[rng() % all.size()].timestamp_us;
    const std::int64_t picked = all[rng() % all.size()].timestamp_us;
    const std::int64_t to = round % 5 == 0 || picked == kMax ? kMax : picked + 1;
    std::vector<Sample> expected;
    ASSERT_TRUE(DecodeBlockRange(block, from, to, &expected));
    std::vector<std::int64_t> t = {7};  // appended to, not replaced
    std::vector<double> num = {7};
    std::vector<std::uint64_t> exact = {7};
    const auto decoded = DecodeBlockColumns(block, from, to, {&t, &num, &exact});
    ASSERT_TRUE(decoded) << decoded.error().ToString();
    if (!decoded.value()) {
      ++declined;
      EXPECT_EQ(t.size(), 1u);
      EXPECT_EQ(num.size(), 1u);
      EXPECT_EQ(exact.size(), 1u);
      const bool one_numeric_type = !expected.empty() &&
                                    std::all_of(expected.begin(), expected.end(), [&](auto& s) {
                                      return s.value.index() == expected[0].value.index();
                                    }) &&
                                    expected[0].value.index() != 4;
      // A compacted block (one chunk) of one numeric type is never declined.
      if (one_numeric_type) {
        const auto compacted = CompactBlock(block);
        ASSERT_TRUE(compacted);
        std::vector<std::int64_t> t2;
        std::vector<double> num2;
        std::vector<std::uint64_t> exact2;
        const auto again = DecodeBlockColumns(compacted.value(), from, to, {&t2, &num2, &exact2});
        ASSERT_TRUE(again);
        EXPECT_TRUE(again.value() || CountChunks(compacted.value()).value() > 1)
            << "round " << round;
        if (again.value()) {
          EXPECT_EQ(t2.size(), expected.size());
        }
      }
      continue;
    }
    ++as_columns;
    const std::uint8_t k = *decoded.value();
    ASSERT_EQ(t.size(), expected.size() + 1);
    ASSERT_EQ(num.size(), expected.size() + 1);
    const bool integers = k == 1 || k == 2;
    ASSERT_EQ(exact.size(), integers ? expected.size() + 1 : 1u);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const Sample& s = expected[i];
      ASSERT_EQ(s.value.index(), k) << "round " << round;
      ASSERT_EQ(t[i + 1], s.timestamp_us) << "round " << round << " sample " << i;
      switch (k) {
        case 0:
          EXPECT_EQ(num[i + 1], std::get<bool>(s.value) ? 1.0 : 0.0);
          break;
        case 1:
          EXPECT_EQ(exact[i + 1], static_cast<std::uint64_t>(std::get<std::int64_t>(s.value)));
          EXPECT_EQ(num[i + 1], static_cast<double>(std::get<std::int64_t>(s.value)));
          break;
        case 2:
          EXPECT_EQ(exact[i + 1], std::get<std::uint64_t>(s.value));
          EXPECT_EQ(num[i + 1], static_cast<double>(std::get<std::uint64_t>(s.value)));
          break;
        default:
          EXPECT_EQ(std::bit_cast<std::uint64_t>(num[i + 1]),
                    std::bit_cast<std::uint64_t>(std::get<double>(s.value)));
      }
    }
  }
  EXPECT_GT(as_columns, 100u);
  EXPECT_GT(declined, 100u);
}

TEST(HistoryBlockTest, RejectsTruncatedBlocksWithPosition) {
  std::mt19937_64 rng(3);
  std::string block;
  std::vector<std::size_t> boundaries = {0};
  for (std::size_t type = 0; type < 5; ++type) {
    block += EncodeChunk(RandomSamples(type, 40, rng));
    boundaries.push_back(block.size());
  }
  for (std::size_t size = 0; size < block.size(); ++size) {
    std::vector<Sample> out;
    const auto status = DecodeBlock(std::string_view(block).substr(0, size), &out);
    if (std::find(boundaries.begin(), boundaries.end(), size) != boundaries.end()) {
      EXPECT_TRUE(status) << size;
      continue;
    }
    ASSERT_FALSE(status) << "prefix of " << size << " bytes";
    EXPECT_EQ(status.error().code(), Errc::kStorage);
    EXPECT_THAT(status.error().message(), StartsWith("history block: "));
    EXPECT_THAT(status.error().message(), HasSubstr(" at byte "));
  }
  std::vector<Sample> out;
  const auto bad_version = DecodeBlock(std::string("\x05\x01\x01\x09", 4), &out);
  ASSERT_FALSE(bad_version);
  EXPECT_EQ(bad_version.error().message(), "history block: unknown chunk version 5 at byte 0");
}

TEST(HistoryBlockTest, SurvivesRandomAndFlippedBytes) {
  std::mt19937_64 rng(11);
  std::size_t failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes = EncodeChunk(RandomSamples(rng() % 5, 1 + rng() % 60, rng));
      for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips)
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
    } else {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
      if (!bytes.empty() && (rng() & 1)) bytes[0] = static_cast<char>(1 + rng() % 2);  // a version
      if (bytes.size() > 1 && (rng() & 1)) bytes[1] = static_cast<char>(rng() % 5);
    }
    std::vector<Sample> out;
    const auto status = DecodeBlock(bytes, &out);
    if (!status) {
      ++failures;
      EXPECT_EQ(status.error().code(), Errc::kStorage);
    }
    std::vector<Sample> range;
    (void)DecodeBlockRange(bytes, kT0, kT0 + 1'000'000, &range);
    std::vector<std::int64_t> t;
    std::vector<double> num;
    std::vector<std::uint64_t> exact;
    std::vector<Sample> all_but_max;
    const auto range_status = DecodeBlockRange(bytes, kMin, kMax, &all_but_max);
    const auto columns = DecodeBlockColumns(bytes, kMin, kMax, {&t, &num, &exact});
    if (columns && columns.value()) {  // then the same samples as the range decode
      ASSERT_TRUE(range_status) << "round " << round;
      ASSERT_EQ(t.size(), all_but_max.size()) << "round " << round;
    }
    if (!range_status && columns) {
      EXPECT_FALSE(columns.value()) << "round " << round;
    }
    (void)CountChunks(bytes);
    (void)CompactBlock(bytes);
  }
  EXPECT_GT(failures, 1500u);  // most damage is detected
}

// Stores written before version 2 hold version 1 chunks of every type: they decode, and
// compacting them gives the version 2 encoding (version 1 for strings).
TEST(HistoryBlockTest, Version1ChunksDecodeAndCompactToTheCurrentEncoding) {
  std::mt19937_64 rng(1);
  for (int round = 0; round < 100; ++round) {
    const std::size_t type = round % 5;
    const auto samples = RandomSamples(type, 1 + rng() % 300, rng);
    const std::string v1 = EncodeChunkV1(samples);
    ASSERT_EQ(v1.at(0), '\1');
    ExpectSame(Decoded(v1), Canonical(samples));
    auto twice = samples;
    twice.insert(twice.end(), samples.begin(), samples.end());
    const auto compacted = CompactBlock(v1 + v1);
    ASSERT_TRUE(compacted) << compacted.error().ToString();
    EXPECT_EQ(compacted.value(), EncodeChunk(twice));
    // Numeric chunks in version 2 or, with a timestamp unit, 3.
    EXPECT_EQ(compacted.value().at(0) == '\1', type == 4);
    ExpectSame(Decoded(compacted.value()), Canonical(twice));
  }
}

double BytesPerSample(const std::vector<Sample>& samples) {
  return static_cast<double>(EncodeChunk(samples).size()) / static_cast<double>(samples.size());
}

TEST(HistoryBlockTest, CompressesTypicalSignals) {
  std::mt19937_64 rng(5);
  std::vector<Sample> constant, drifting, noisy, counter, jittered;
  for (std::int64_t i = 0; i < 360; ++i) constant.push_back({kT0 + i * 10'000'000, 42.5});
  for (std::int64_t i = 0; i < 3600; ++i) {
    // A 1 Hz temperature scaled by 0.1 on the bus, wandering by a few degrees in an hour.
    drifting.push_back(
        {kT0 + i * 1'000'000,
         std::round((20.0 + 3.0 * std::sin(static_cast<double>(i) / 600.0)) * 10.0) / 10.0});
    noisy.push_back({kT0 + i * 1'000'000, std::uniform_real_distribution<double>(-50, 50)(rng)});
  }
  for (std::int64_t i = 0; i < 36000; ++i) {
    counter.push_back({kT0 + i * 100'000, std::int64_t{1'000'000} + i});
    jittered.push_back({kT0 + i * 100'000 + static_cast<std::int64_t>(rng() % 2000), 1.0});
  }
  const double constant_bps = BytesPerSample(constant), drifting_bps = BytesPerSample(drifting),
               noisy_bps = BytesPerSample(noisy), counter_bps = BytesPerSample(counter),
               jittered_bps = BytesPerSample(jittered);
  std::printf("[ bytes/sample ] constant double every 10 s (360): %.3f\n", constant_bps);
  std::printf("[ bytes/sample ] drifting 0.1-scaled double at 1 Hz (3600): %.3f\n", drifting_bps);
  std::printf("[ bytes/sample ] noisy random double at 1 Hz (3600): %.3f\n", noisy_bps);
  std::printf("[ bytes/sample ] int64 counter +1 at 10 Hz (36000): %.3f\n", counter_bps);
  std::printf("[ bytes/sample ] constant at 10 Hz, 0-2 ms timestamp jitter (36000): %.3f\n",
              jittered_bps);
  EXPECT_LT(constant_bps, 1.0);
  EXPECT_LT(counter_bps, 1.0);
  EXPECT_LT(drifting_bps, 4.0);
  EXPECT_LT(noisy_bps, 10.0);
  EXPECT_LT(jittered_bps, 3.0);
}

// ---- the merge operator in RocksDB ------------------------------------------------------------

class HistoryMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.merge_operator = NewHistoryMergeOperator();
    rocksdb::DB* db = nullptr;
    const auto status = rocksdb::DB::Open(options, (dir_.path() / "db").string(), &db);
    ASSERT_TRUE(status.ok()) << status.ToString();
    db_.reset(db);
  }
  std::string Get(const std::string& key) {
    std::string value;
    const auto status = db_->Get(rocksdb::ReadOptions(), key, &value);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return value;
  }

  test_support::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(HistoryMergeTest, FoldsOperandsToTheSameBytesInAnyOrder) {
  std::mt19937_64 rng(17);
  std::vector<Sample> all;
  std::vector<std::string> operands;
  for (std::size_t type : {3u, 3u, 1u, 3u}) {
    auto part = RandomSamples(type, 1 + rng() % 100, rng);
    operands.push_back(EncodeChunk(part));
    all.insert(all.end(), part.begin(), part.end());
  }
  std::vector<std::size_t> order = {0, 1, 2, 3};
  std::vector<std::string> keys;
  int permutation = 0;
  do {
    const std::string key = "k" + std::to_string(permutation++);
    keys.push_back(key);
    for (std::size_t i = 0; i < order.size(); ++i) {
      // Some operands go to an SST file first, so compactions merge partial histories.
      if (i == 2) {
        ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
      }
      ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), key, operands[order[i]]).ok());
    }
  } while (std::next_permutation(order.begin(), order.end()));
  const std::string expected = Get(keys[0]);
  EXPECT_EQ(expected, EncodeChunk(all));
  EXPECT_EQ(CountChunks(expected).value(), 2u);  // doubles and int64s
  ExpectSame(Decoded(expected), Canonical(all));
  for (const auto& key : keys) EXPECT_EQ(Get(key), expected) << key;
  ASSERT_TRUE(db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  for (const auto& key : keys) EXPECT_EQ(Get(key), expected) << key;

  // A base value written with Put is folded too.
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "base", operands[3]).ok());
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "base", operands[1]).ok());
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "base", operands[0]).ok());
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "base", operands[2]).ok());
  EXPECT_EQ(Get("base"), expected);
}

TEST_F(HistoryMergeTest, ReportsCorruptOperands) {
  ASSERT_TRUE(
      db_->Merge(rocksdb::WriteOptions(), "k", EncodeChunk(std::vector<Sample>{{1, 2.0}})).ok());
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "k", "\x01\x03garbage").ok());
  std::string value;
  const auto status = db_->Get(rocksdb::ReadOptions(), "k", &value);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
}

TEST(HistoryMergeOperatorTest, PartialMergesConcatenate) {
  const auto op = NewHistoryMergeOperator();
  EXPECT_STREQ(op->Name(), "canvoy.history.v1");
  const std::string a = EncodeChunk(std::vector<Sample>{{2, 1.0}});
  const std::string b = EncodeChunk(std::vector<Sample>{{1, 1.0}});
  std::string merged;
  ASSERT_TRUE(op->PartialMerge("k", a, b, &merged, nullptr));
  EXPECT_EQ(merged, a + b);
  ASSERT_TRUE(op->PartialMergeMulti("k", {a, b, a}, &merged, nullptr));
  EXPECT_EQ(merged, a + b + a);
}

}  // namespace
}  // namespace canvoy::fleet_store::storage
