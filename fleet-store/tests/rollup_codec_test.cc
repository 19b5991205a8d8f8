// Rollups: the tie-break semantics of types.h, slot lists' exact round trips and robustness, and
// the merge operator against a brute-force recomputation in a real RocksDB.
#include "storage/rollup_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <compare>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "test_support.h"

namespace canvoy::fleet_store::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kT0 = 1'700'000'000'000'000;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t B(double d) { return std::bit_cast<std::uint64_t>(d); }

// Equal bit for bit, except sum, which may differ by rounding.
void ExpectSameRollup(const Rollup& actual, const Rollup& expected) {
  EXPECT_EQ(actual.count, expected.count);
  EXPECT_EQ(B(actual.min), B(expected.min));
  EXPECT_EQ(B(actual.max), B(expected.max));
  if (std::isfinite(expected.sum)) {
    EXPECT_NEAR(actual.sum, expected.sum, 1e-9 * (1 + std::abs(expected.sum)));
  } else {  // with infinities: the same infinity, or NaN for inf + -inf
    EXPECT_TRUE(actual.sum == expected.sum || (std::isnan(actual.sum) && std::isnan(expected.sum)));
  }
  EXPECT_EQ(actual.first_us, expected.first_us);
  EXPECT_EQ(B(actual.first), B(expected.first));
  EXPECT_EQ(actual.last_us, expected.last_us);
  EXPECT_EQ(B(actual.last), B(expected.last));
}

void ExpectSameSlots(const std::vector<RollupSlot>& actual,
                     const std::vector<RollupSlot>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].first, expected[i].first);
    ExpectSameRollup(actual[i].second, expected[i].second);
  }
}

struct Point {
  std::uint32_t slot;
  std::int64_t t;
  double v;
};

// totalOrder of doubles, as the rollups break ties.
bool TotalLess(double a, double b) { return std::strong_order(a, b) < 0; }

// Straight from the definition in types.h.
Rollup BruteForce(const std::vector<Point>& points) {
  if (points.empty()) return Rollup{};
  const Point& p0 = points.front();
  Rollup r{0, p0.v, p0.v, 0.0, p0.t, p0.v, p0.t, p0.v};
  for (const auto& p : points) {
    ++r.count;
    r.sum += p.v;
    if (TotalLess(p.v, r.min)) r.min = p.v;
    if (TotalLess(r.max, p.v)) r.max = p.v;
    if (p.t < r.first_us || (p.t == r.first_us && TotalLess(p.v, r.first))) {
      r.first_us = p.t;
      r.first = p.v;
    }
    if (p.t > r.last_us || (p.t == r.last_us && TotalLess(r.last, p.v))) {
      r.last_us = p.t;
      r.last = p.v;
    }
  }
  return r;
}

std::vector<RollupSlot> BruteForceSlots(const std::vector<Point>& points) {
  std::map<std::uint32_t, std::vector<Point>> by_slot;
  for (const auto& p : points) by_slot[p.slot].push_back(p);
  std::vector<RollupSlot> slots;
  for (const auto& [slot, in_slot] : by_slot) slots.emplace_back(slot, BruteForce(in_slot));
  return slots;
}

std::vector<Point> RandomPoints(std::size_t n, std::mt19937_64& rng) {
  const double values[] = {0.0, -0.0, 1.5, -1.5, INFINITY, -INFINITY, 7.0};
  std::vector<Point> points;
  for (std::size_t i = 0; i < n; ++i) {
    const auto slot = static_cast<std::uint32_t>(rng() % 60);
    // Few timestamps per slot, so ties of first and last are common.
    const std::int64_t t =
        kT0 + std::int64_t{slot} * 60'000'000 + static_cast<std::int64_t>(rng() % 3);
    const double v = (rng() & 1) ? values[rng() % 7] : static_cast<double>(rng() % 1000) / 8;
    points.push_back({slot, t, v});
  }
  return points;
}

std::string Encode(const std::vector<Point>& points) {
  std::map<std::uint32_t, Rollup> slots;
  for (const auto& p : points) AddSample(slots[p.slot], p.t, p.v);
  const std::vector<RollupSlot> list(slots.begin(), slots.end());
  return EncodeRollupSlots(list);
}

std::vector<RollupSlot> Decode(std::string_view bytes) {
  std::vector<RollupSlot> out;
  const auto status = DecodeRollupSlots(bytes, &out);
  EXPECT_TRUE(status) << status.error().ToString();
  return out;
}

TEST(RollupCodecTest, NumericValueCountsNumbersOnly) {
  EXPECT_EQ(NumericValue(true), 1.0);
  EXPECT_EQ(NumericValue(false), 0.0);
  EXPECT_EQ(NumericValue(std::int64_t{-3}), -3.0);
  EXPECT_EQ(NumericValue(std::numeric_limits<std::uint64_t>::max()), 0x1p64);
  EXPECT_EQ(NumericValue(2.5), 2.5);
  EXPECT_EQ(NumericValue(kInf), kInf);
  EXPECT_EQ(NumericValue(std::nan("")), std::nullopt);
  EXPECT_EQ(NumericValue(std::string("1")), std::nullopt);
}

TEST(RollupCodecTest, AddSampleBreaksTiesByValue) {
  Rollup r;
  AddSample(r, 10, 5.0);
  AddSample(r, 10, 3.0);
  AddSample(r, 20, 1.0);
  AddSample(r, 20, 4.0);
  AddSample(r, 15, std::nan(""));  // not counted
  EXPECT_EQ(r, (Rollup{4, 1.0, 5.0, 13.0, 10, 3.0, 20, 4.0}));
  Rollup zeros_a, zeros_b;
  AddSample(zeros_a, 1, 0.0);
  AddSample(zeros_a, 1, -0.0);
  AddSample(zeros_b, 1, -0.0);
  AddSample(zeros_b, 1, 0.0);
  ExpectSameRollup(zeros_a, zeros_b);
  EXPECT_TRUE(std::signbit(zeros_a.first));
  EXPECT_FALSE(std::signbit(zeros_a.last));
}

TEST(RollupCodecTest, MergingWithAnEmptyRollupIsIdentity) {
  Rollup r;
  AddSample(r, 3, 2.0);
  const Rollup copy = r;
  MergeRollup(r, Rollup{});
  EXPECT_EQ(r, copy);
  Rollup empty;
  MergeRollup(empty, copy);
  EXPECT_EQ(empty, copy);
}

TEST(RollupCodecTest, MergeInAnyOrderMatchesBruteForce) {
  std::mt19937_64 rng(31);
  for (int round = 0; round < 50; ++round) {
    auto points = RandomPoints(1 + rng() % 400, rng);
    const auto expected = BruteForceSlots(points);
    // Split into operands, fold them in a random order.
    std::shuffle(points.begin(), points.end(), rng);
    std::vector<std::string> operands;
    for (std::size_t i = 0; i < points.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 40, points.size() - i);
      operands.push_back(Encode({points.begin() + i, points.begin() + i + n}));
      i += n;
    }
    std::vector<RollupSlot> all;
    for (const auto& operand : operands) ASSERT_TRUE(DecodeRollupSlots(operand, &all));
    std::shuffle(all.begin(), all.end(), rng);
    const std::string merged = EncodeRollupSlots(all);
    ExpectSameSlots(Decode(merged), expected);
  }
}

TEST(RollupCodecTest, SlotsRoundTripExactly) {
  const double nan_payload = std::bit_cast<double>(std::uint64_t{0x7FF0'0000'0000'0042});
  const std::vector<RollupSlot> slots = {
      {0, Rollup{1, -0.0, -0.0, -0.0, kMin, -0.0, kMin, -0.0}},  // one sample: the short form
      {1, Rollup{1, 2.0, 2.0, 3.0, 5, 2.0, 5, 2.0}},             // count 1, not a single sample
      {59, Rollup{7, -INFINITY, INFINITY, nan_payload, kMin, 1.0, kMax, -1.0}},
      {1000, Rollup{std::numeric_limits<std::uint64_t>::max(), 1, 2, 3, kMax, 4, kMin, 5}},
      {std::numeric_limits<std::uint32_t>::max(), Rollup{2, 1, 2, 3, 0, 1, 0, 2}},
  };
  const std::string bytes = EncodeRollupSlots(slots);
  const auto decoded = Decode(bytes);
  ASSERT_EQ(decoded.size(), slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ(decoded[i].first, slots[i].first);
    EXPECT_EQ(std::memcmp(&decoded[i].second, &slots[i].second, sizeof(Rollup)), 0) << i;
  }
  EXPECT_EQ(EncodeRollupSlots(decoded), bytes);
  // An end index stops before the first slot at or past it, and ignores what follows.
  for (const std::uint32_t end : {0u, 1u, 2u, 59u, 60u, 1001u}) {
    std::vector<RollupSlot> prefix;
    ASSERT_TRUE(DecodeRollupSlots(bytes + "junk", &prefix, end)) << end;
    const auto expected = static_cast<std::size_t>(
        std::count_if(slots.begin(), slots.end(), [end](auto& s) { return s.first < end; }));
    EXPECT_EQ(prefix.size(), expected) << end;
  }
  // A begin index steps over the slots before it; the ones after decode as before.
  for (const std::uint32_t begin : {0u, 1u, 2u, 30u, 59u, 60u, 1000u}) {
    for (const std::uint32_t end : {1u, 31u, 60u, 1001u}) {
      std::vector<RollupSlot> middle;
      ASSERT_TRUE(DecodeRollupSlots(bytes, &middle, end, begin)) << begin << " " << end;
      std::vector<RollupSlot> expected;
      for (const auto& slot : decoded) {
        if (slot.first >= begin && slot.first < end) expected.push_back(slot);
      }
      ASSERT_EQ(middle.size(), expected.size()) << begin << " " << end;
      for (std::size_t i = 0; i < middle.size(); ++i) {
        EXPECT_EQ(middle[i].first, expected[i].first);
        EXPECT_EQ(std::memcmp(&middle[i].second, &expected[i].second, sizeof(Rollup)), 0);
      }
    }
  }
  // Stepping over still checks: a value cut inside a slot before the begin index fails.
  for (std::size_t size = 2; size + 1 < bytes.size(); size += 7) {
    std::vector<RollupSlot> out;
    EXPECT_FALSE(
        DecodeRollupSlots(std::string_view(bytes).substr(0, size), &out, UINT64_MAX, UINT64_MAX))
        << size;
  }
  std::vector<RollupSlot> none;
  ASSERT_TRUE(DecodeRollupSlots(EncodeRollupSlots({}), &none));
  EXPECT_TRUE(none.empty());
}

TEST(RollupCodecTest, EncodingMergesDuplicateSlotsAndDropsEmptyOnes) {
  Rollup a, b;
  AddSample(a, 1, 1.0);
  AddSample(b, 2, 2.0);
  const std::vector<RollupSlot> messy = {{5, b}, {3, Rollup{}}, {5, a}, {4, a}};
  Rollup both = a;
  MergeRollup(both, b);
  ExpectSameSlots(Decode(EncodeRollupSlots(messy)), {{4, a}, {5, both}});
}

TEST(RollupCodecTest, RejectsCorruptValuesWithPosition) {
  std::mt19937_64 rng(2);
  const std::string bytes = Encode(RandomPoints(100, rng));
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    std::vector<RollupSlot> out;
    const auto status = DecodeRollupSlots(std::string_view(bytes).substr(0, size), &out);
    ASSERT_FALSE(status) << size;
    EXPECT_EQ(status.error().code(), Errc::kStorage);
    EXPECT_THAT(status.error().message(), StartsWith("rollup value: "));
    EXPECT_THAT(status.error().message(), HasSubstr(" at byte "));
  }
  std::vector<RollupSlot> out;
  const auto trailing = DecodeRollupSlots(bytes + "x", &out);
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().message(),
            "rollup value: bytes after the last slot at byte " + std::to_string(bytes.size()));
  // Random bytes never crash; most are refused.
  std::size_t failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string random(rng() % 80, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    if (!random.empty()) random[0] = 1;
    std::vector<RollupSlot> slots;
    if (!DecodeRollupSlots(random, &slots)) ++failures;
  }
  EXPECT_GT(failures, 2500u);
}

class RollupMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.merge_operator = NewRollupMergeOperator();
    rocksdb::DB* db = nullptr;
    const auto status = rocksdb::DB::Open(options, (dir_.path() / "db").string(), &db);
    ASSERT_TRUE(status.ok()) << status.ToString();
    db_.reset(db);
  }
  std::vector<RollupSlot> Get(const std::string& key) {
    std::string value;
    const auto status = db_->Get(rocksdb::ReadOptions(), key, &value);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return Decode(value);
  }

  test_support::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(RollupMergeTest, CombinesSlotsInAnyOrder) {
  std::mt19937_64 rng(41);
  const auto points = RandomPoints(300, rng);
  const auto expected = BruteForceSlots(points);
  std::vector<std::string> operands;
  for (std::size_t i = 0; i < points.size(); i += 75)
    operands.push_back(Encode({points.begin() + i, points.begin() + i + 75}));
  std::vector<std::size_t> order = {0, 1, 2, 3};
  std::vector<std::string> keys;
  do {
    keys.push_back("k" + std::to_string(keys.size()));
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i == 2) {
        ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
      }
      ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), keys.back(), operands[order[i]]).ok());
    }
  } while (std::next_permutation(order.begin(), order.end()));
  for (const auto& key : keys) ExpectSameSlots(Get(key), expected);
  ASSERT_TRUE(db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  for (const auto& key : keys) ExpectSameSlots(Get(key), expected);
}

TEST_F(RollupMergeTest, ReportsCorruptOperands) {
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "k", Encode({{1, 5, 1.0}})).ok());
  ASSERT_TRUE(db_->Merge(rocksdb::WriteOptions(), "k", "\x01\x05").ok());
  std::string value;
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &value).IsCorruption());
}

TEST(RollupMergeOperatorTest, PartialMergeCombinesSlots) {
  const auto op = NewRollupMergeOperator();
  EXPECT_STREQ(op->Name(), "canvoy.rollup.v1");
  const std::string a = Encode({{1, 10, 1.0}, {2, 20, 2.0}});
  const std::string b = Encode({{2, 15, 3.0}});
  std::string merged;
  ASSERT_TRUE(op->PartialMerge("k", a, b, &merged, nullptr));
  ExpectSameSlots(Decode(merged), BruteForceSlots({{1, 10, 1.0}, {2, 20, 2.0}, {2, 15, 3.0}}));
  ASSERT_TRUE(op->PartialMergeMulti("k", {b, a}, &merged, nullptr));
  ExpectSameSlots(Decode(merged), BruteForceSlots({{1, 10, 1.0}, {2, 20, 2.0}, {2, 15, 3.0}}));
  EXPECT_FALSE(op->PartialMerge("k", a, "\x07", &merged, nullptr));
}

}  // namespace
}  // namespace canvoy::fleet_store::storage
