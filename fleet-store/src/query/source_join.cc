// SourceReader's joins: rows of several signals at equal timestamps, built as a frame (Join) or,
// for two signals, folded into the groups where they lie (FoldJoined).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "query/source.h"

namespace canvoy::fleet_store::query {
namespace {

// pass[i] = num[i] op number (`first`), or pass[i] &= it.
template <Op kOp>
void Mark(const double* num, std::size_t n, double number, bool first, std::uint8_t* pass) {
  if (first) {
    for (std::size_t i = 0; i < n; ++i) pass[i] = Passes(kOp, num[i], number) ? 1 : 0;
  } else {
    for (std::size_t i = 0; i < n; ++i) pass[i] &= Passes(kOp, num[i], number) ? 1 : 0;
  }
}

}  // namespace

// An inner join on equal timestamps: at a timestamp where every signal has samples, the j-th
// sample of each signal makes the j-th row (ties are ordered by value by the store).
void SourceReader::Join() {
  const std::size_t n = buffers_.size();
  // The usual case, every signal sampled at the same times (one message, one reading): the
  // buffers are the rows. The chunk is empty here (Flush cleared it).
  bool same = true;
  for (std::size_t k = 1; k < n && same; ++k) same = buffers_[k].t == buffers_[0].t;
  if (same) {
    chunk_.t.swap(buffers_[0].t);
    for (std::size_t k = 0; k < n; ++k) std::swap(chunk_.columns[k], buffers_[k].values);
    return;
  }
  at_.assign(n, 0);
  joined_.resize(n);
  for (auto& rows : joined_) rows.clear();
  if (n == 2) {
    JoinTwo();
  } else {
    JoinMany();
  }
  for (std::size_t k = 0; k < n; ++k) chunk_.columns[k].Gather(buffers_[k].values, joined_[k]);
}

// Two signals: a merge of two sorted timestamp lists. The rows are at most the shorter list, so
// the outputs are sized once and written through pointers.
void SourceReader::JoinTwo() {
  const std::int64_t* a = buffers_[0].t.data();
  const std::int64_t* b = buffers_[1].t.data();
  const std::size_t na = buffers_[0].t.size();
  const std::size_t nb = buffers_[1].t.size();
  const std::size_t most = std::min(na, nb);
  chunk_.t.resize(most);
  joined_[0].resize(most);
  joined_[1].resize(most);
  std::int64_t* t_out = chunk_.t.data();
  std::uint32_t* ia = joined_[0].data();
  std::uint32_t* ib = joined_[1].data();
  std::size_t rows = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < na && j < nb) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      const std::int64_t t = a[i];
      std::size_t i_end = i + 1;
      while (i_end < na && a[i_end] == t) ++i_end;
      std::size_t j_end = j + 1;
      while (j_end < nb && b[j_end] == t) ++j_end;
      const std::size_t ties = std::min(i_end - i, j_end - j);
      for (std::size_t r = 0; r < ties; ++r, ++rows) {
        t_out[rows] = t;
        ia[rows] = static_cast<std::uint32_t>(i + r);
        ib[rows] = static_cast<std::uint32_t>(j + r);
      }
      i = i_end;
      j = j_end;
    }
  }
  chunk_.t.resize(rows);
  joined_[0].resize(rows);
  joined_[1].resize(rows);
}

namespace {

constexpr std::size_t kBlock = 8;
// A block's pass marks, one byte per pair, when all pass.
constexpr std::uint64_t kAllPass = 0x0101010101010101;
static_assert(kBlock == sizeof kAllPass);

// Whether a[0, kBlock) and b[0, kBlock) are equal, one by one (without a branch per pair).
bool SameTimes(const std::int64_t* a, const std::int64_t* b) {
  std::uint64_t diff = 0;
  for (std::size_t k = 0; k < kBlock; ++k)
    diff |= static_cast<std::uint64_t>(a[k]) ^ static_cast<std::uint64_t>(b[k]);
  return diff == 0;
}

}  // namespace

// The join of the two buffers, as JoinTwo pairs them: emit(t, i, j, passes(i, j)) for each pair
// of sample i of the first and sample j of the second, except that a pair that does not pass may
// be left out. Timestamps of signals read from one message mostly agree, so the usual step is a
// block of pairs whose timestamps agree one by one (left out when none passes, emitted with a
// constant 1 when all do, or handed whole to block(i, j, all pass) when `block` is not nullptr),
// then both sides at once. A block pairs as the general merge does: i and j start no run of ties
// the merge has begun (it passes a whole run, or a timestamp below the other side's), so a run
// that starts in the block starts at the same place on both sides, and what a run has past the
// block is paired by the steps after it.
template <class Passes, class Emit, class Block>
void SourceReader::MergeTwo(Passes passes, Emit&& emit, Block&& block) {
  const std::int64_t* a = buffers_[0].t.data();
  const std::int64_t* b = buffers_[1].t.data();
  const std::size_t na = buffers_[0].t.size();
  const std::size_t nb = buffers_[1].t.size();
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < na && j < nb) {
    while (i + kBlock <= na && j + kBlock <= nb && SameTimes(a + i, b + j)) {
      const std::uint64_t marks = passes.Block(i, j);
      if constexpr (!std::is_same_v<std::decay_t<Block>, std::nullptr_t>) {
        if (marks != 0) block(i, j, marks == kAllPass);
      } else if (marks == kAllPass) {
        for (std::size_t k = 0; k < kBlock; ++k) emit(a[i + k], i + k, j + k, 1U);
      } else if (marks != 0) {
        for (std::size_t k = 0; k < kBlock; ++k) emit(a[i + k], i + k, j + k, passes(i + k, j + k));
      }
      i += kBlock;
      j += kBlock;
    }
    // Then a block's worth of single steps while the timestamps agree and are not tied.
    bool tied = false;
    for (std::size_t step = 0; step < kBlock && i + 1 < na && j + 1 < nb; ++step) {
      const std::int64_t t = a[i];
      if (t == b[j] && a[i + 1] != t && b[j + 1] != t) {
        emit(t, i, j, passes(i, j));
        ++i;
        ++j;
      } else if (t < b[j]) {
        ++i;
      } else if (b[j] < t) {
        ++j;
      } else {
        tied = true;
        break;
      }
    }
    if (!tied && i + 1 < na && j + 1 < nb) continue;
    if (i == na || j == nb) break;
    // A tie, or the last sample of a side: one timestamp of the general merge.
    const std::int64_t t = a[i];
    if (t == b[j]) {
      std::size_t i_end = i + 1;
      while (i_end < na && a[i_end] == t) ++i_end;
      std::size_t j_end = j + 1;
      while (j_end < nb && b[j_end] == t) ++j_end;
      const std::size_t ties = std::min(i_end - i, j_end - j);
      for (std::size_t r = 0; r < ties; ++r) emit(t, i + r, j + r, passes(i + r, j + r));
      i = i_end;
      j = j_end;
    } else if (t < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
}

// The pairs of two buffers on grids: a slot where both have a sample pairs them. A word of 64
// slots where both have every sample goes as MergeTwo's blocks of equal timestamps go; other
// words a slot at a time, counting each side's samples.
template <class Passes, class Emit, class Block>
void SourceReader::GridTwo(Passes passes, Emit&& emit, Block&& block) {
  const std::uint64_t* words_a = grid_.words[0].data();
  const std::uint64_t* words_b = grid_.words[1].data();
  const std::size_t words = grid_.words[0].size();
  const auto start = static_cast<std::uint64_t>(grid_.start_us);
  const std::uint64_t unit = grid_.unit;
  std::size_t i = grid_.rank[0];
  std::size_t j = grid_.rank[1];
  for (std::size_t w = 0; w < words; ++w) {
    const std::uint64_t a = words_a[w];
    const std::uint64_t b = words_b[w];
    const std::uint64_t slot = 64 * w;
    const auto time = [&](std::uint64_t s) {
      return static_cast<std::int64_t>(start + (slot + s) * unit);
    };
    if ((a & b) == ~std::uint64_t{0}) {
      for (std::size_t k = 0; k < 64; k += kBlock, i += kBlock, j += kBlock) {
        const std::uint64_t marks = passes.Block(i, j);
        if constexpr (!std::is_same_v<std::decay_t<Block>, std::nullptr_t>) {
          if (marks != 0) block(i, j, marks == kAllPass);
        } else if (marks == kAllPass) {
          for (std::size_t q = 0; q < kBlock; ++q) emit(time(k + q), i + q, j + q, 1U);
        } else if (marks != 0) {
          for (std::size_t q = 0; q < kBlock; ++q)
            emit(time(k + q), i + q, j + q, passes(i + q, j + q));
        }
      }
      continue;
    }
    // A byte of slots where the two agree (the usual case: readings lost whole) pairs its
    // samples in order; one where a signal alone has a sample, a slot at a time.
    for (unsigned byte = 0; byte < 64; byte += 8) {
      const auto byte_a = static_cast<unsigned>((a >> byte) & 0xFF);
      const auto byte_b = static_cast<unsigned>((b >> byte) & 0xFF);
      if (byte_a == byte_b) {
        for (unsigned m = byte_a; m != 0; m &= m - 1, ++i, ++j)
          emit(time(byte + static_cast<unsigned>(std::countr_zero(m))), i, j, passes(i, j));
        continue;
      }
      for (unsigned any = byte_a | byte_b; any != 0; any &= any - 1) {
        const auto s = static_cast<unsigned>(std::countr_zero(any));
        const std::size_t in_a = (byte_a >> s) & 1;
        const std::size_t in_b = (byte_b >> s) & 1;
        if ((in_a & in_b) != 0) emit(time(byte + s), i, j, passes(i, j));
        i += in_a;
        j += in_b;
      }
    }
  }
}

template <class Passes, class Emit, class Block>
void SourceReader::PairTwo(Passes passes, Emit&& emit, Block&& block) {
  if (grid_.on) {
    GridTwo(passes, std::forward<Emit>(emit), std::forward<Block>(block));
  } else {
    MergeTwo(passes, std::forward<Emit>(emit), std::forward<Block>(block));
  }
}

namespace {

// 64 slots of a grid from slot `pos` on: bit k set when slot pos + k (< slots) has a sample.
std::uint64_t SlotBits(const StoreView::GridPlace& g, std::uint64_t pos) {
  if (pos >= g.slots) return 0;
  const std::uint64_t left = g.slots - pos;
  const std::uint64_t in = left >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << left) - 1;
  if (g.bitmap.empty()) return in;
  const std::size_t at = static_cast<std::size_t>(pos / 8);
  const auto shift = static_cast<unsigned>(pos % 8);
  unsigned char bytes[9] = {};
  const std::size_t have = g.bitmap.size() - at;
  if (have >= 9) {
    std::memcpy(bytes, g.bitmap.data() + at, 9);
  } else {
    std::memcpy(bytes, g.bitmap.data() + at, have);
  }
  std::uint64_t low = 0;
  std::memcpy(&low, bytes, sizeof low);
  if constexpr (std::endian::native == std::endian::big) low = __builtin_bswap64(low);
  const std::uint64_t high = shift == 0 ? 0 : std::uint64_t{bytes[8]} << (64 - shift);
  return ((low >> shift) | high) & in;
}

}  // namespace

bool SourceReader::PrepareGrid(const StoreView::GridPlace* const places[2]) {
  const StoreView::GridPlace& a = *places[0];
  const StoreView::GridPlace& b = *places[1];
  if (a.unit != b.unit) return false;
  const std::uint64_t unit = a.unit;
  const auto first_a = static_cast<std::uint64_t>(a.first_us);
  const auto first_b = static_cast<std::uint64_t>(b.first_us);
  if ((a.first_us >= b.first_us ? first_a - first_b : first_b - first_a) % unit != 0) return false;
  // The slots where both lie: [start, end], in units from each grid's first.
  const std::int64_t start = std::max(a.first_us, b.first_us);
  const std::int64_t end = std::min(static_cast<std::int64_t>(first_a + (a.slots - 1) * unit),
                                    static_cast<std::int64_t>(first_b + (b.slots - 1) * unit));
  grid_.on = true;
  grid_.start_us = start;
  grid_.unit = unit;
  grid_.slots =
      end < start
          ? 0
          : (static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(start)) / unit + 1;
  const std::size_t words = static_cast<std::size_t>((grid_.slots + 63) / 64);
  for (std::size_t k = 0; k < 2; ++k) {
    const StoreView::GridPlace& g = *places[k];
    const std::uint64_t skipped =
        (static_cast<std::uint64_t>(start) - static_cast<std::uint64_t>(g.first_us)) / unit;
    std::size_t rank = 0;
    for (std::uint64_t pos = 0; pos < skipped; pos += 64) {
      std::uint64_t bits = SlotBits(g, pos);
      if (skipped - pos < 64) bits &= (std::uint64_t{1} << (skipped - pos)) - 1;
      rank += static_cast<std::size_t>(std::popcount(bits));
    }
    grid_.rank[k] = rank;
    auto& out = grid_.words[k];
    out.resize(words);
    for (std::size_t w = 0; w < words; ++w) out[w] = SlotBits(g, skipped + 64 * w);
    if (grid_.slots % 64 != 0 && words > 0)
      out[words - 1] &= (std::uint64_t{1} << (grid_.slots % 64)) - 1;
  }
  return true;
}

namespace {

// Whether a pair passes: both samples' marks are 1 (a side without predicates passes all).
template <bool kMaskA, bool kMaskB>
struct Marked {
  const std::uint8_t* a;
  const std::uint8_t* b;
  unsigned operator()(std::size_t i, std::size_t j) const {
    unsigned p = 1;
    if constexpr (kMaskA) p &= a[i];
    if constexpr (kMaskB) p &= b[j];
    return p;
  }
  // The marks of pairs (i + k, j + k) for k < kBlock, a byte each.
  std::uint64_t Block(std::size_t i, std::size_t j) const {
    std::uint64_t p = kAllPass;
    if constexpr (kMaskA) p &= Load(a + i);
    if constexpr (kMaskB) p &= Load(b + j);
    return p;
  }
  static std::uint64_t Load(const std::uint8_t* at) {
    std::uint64_t word;
    std::memcpy(&word, at, sizeof word);
    return word;
  }
};

// A JoinLane's running sum and count, in registers while a merge runs. The buffers hold no NaN
// (the source skips it) and a lane's number of the vehicle is not null, so every passing row
// is folded.
struct LaneSum {
  explicit LaneSum(const JoinLane& lane)
      : num(lane.num), side(lane.side), mask(lane.mask), sum(lane.sum), count(lane.count) {}
  [[gnu::always_inline]] void Add(std::size_t i, std::size_t j, unsigned pass) {
    if (pass == 0) return;
    sum += num[(side != 0 ? j : i) & mask];
    count += 1;
  }
  // Pairs (i + k, j + k), k < kBlock, whose marks are `all` or passes(i + k, j + k), added as
  // one sum of the passing numbers (failing ones count as +0): the same sum as Add's one by one
  // when every partial sum is exact (see Exact).
  template <class Passes>
  [[gnu::always_inline]] void AddBlock(std::size_t i, std::size_t j, bool all,
                                       const Passes& passes) {
    const std::size_t at = side != 0 ? j : i;
    double part[kBlock];
    unsigned n = 0;
    for (std::size_t k = 0; k < kBlock; ++k) {
      const unsigned p = all ? 1U : passes(i + k, j + k);
      const auto bits = std::bit_cast<std::uint64_t>(num[(at + k) & mask]);
      part[k] = std::bit_cast<double>(bits & (0 - std::uint64_t{p}));
      n += p;
    }
    sum +=
        ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    count += n;
  }
  void Store(JoinLane& lane) const {
    lane.sum = sum;
    lane.count = count;
  }
  const double* num;
  std::uint32_t side;
  std::uint32_t mask;
  double sum;
  std::uint64_t count;
};

// Whether a lane's sum stays exact in any order over at most `pairs` pairs of these buffers:
// its numbers and its sum so far are whole, and they add up to at most 2^53 in magnitude, so
// that every partial sum is a whole double, exactly.
bool Exact(const JoinLane& lane, const Column* const* columns, std::size_t pairs) {
  constexpr double kExact = 0x1p53;
  if (!lane.integral || lane.sum != std::trunc(lane.sum)) return false;
  // At least the largest magnitude the lane reads: the bits of its numbers or'd together,
  // without the sign, are at least those of each as integers, so as a double at least each
  // magnitude (or not a number, which fails the test).
  std::uint64_t bits = 0;
  if (lane.mask == 0) {
    bits = std::bit_cast<std::uint64_t>(lane.num[0]);
  } else {
    for (const double v : columns[lane.side]->num) bits |= std::bit_cast<std::uint64_t>(v);
  }
  const double most = std::bit_cast<double>(bits & ~(std::uint64_t{1} << 63));
  return most <= kExact / static_cast<double>(pairs + 1) &&
         std::fabs(lane.sum) <= kExact - most * static_cast<double>(pairs);
}

}  // namespace

// The joined pairs that pass, folded into one or two lanes as they are found; returns their
// number. Lanes whose sums are exact in any order (Exact) add a block of pairs as one sum.
template <class Passes>
std::size_t SourceReader::FoldLanes(Passes passes, std::vector<JoinLane>& lanes) {
  const std::uint64_t before = lanes[0].count;
  const Column* const columns[2] = {&buffers_[0].values, &buffers_[1].values};
  const std::size_t pairs = std::min(buffers_[0].values.size(), buffers_[1].values.size());
  bool exact = true;
  for (const JoinLane& lane : lanes) exact = exact && Exact(lane, columns, pairs);
  const auto run = [&](auto&... x) {
    const auto each = [&x...](std::int64_t, std::size_t i, std::size_t j, unsigned pass) {
      (x.Add(i, j, pass), ...);
    };
    if (exact) {
      PairTwo(passes, each, [&x..., &passes](std::size_t i, std::size_t j, bool all) {
        (x.AddBlock(i, j, all, passes), ...);
      });
    } else {
      PairTwo(passes, each, nullptr);
    }
  };
  if (lanes.size() == 1) {
    LaneSum x(lanes[0]);
    run(x);
    x.Store(lanes[0]);
  } else {
    LaneSum x(lanes[0]);
    LaneSum y(lanes[1]);
    run(x, y);
    x.Store(lanes[0]);
    y.Store(lanes[1]);
  }
  return static_cast<std::size_t>(lanes[0].count - before);  // every passing row counts
}

// The passing pairs into chunk_.t and joined_, which hold the shorter buffer's size; returns
// their number. Every pair is written and only a passing one kept.
template <class Passes>
std::size_t SourceReader::JoinPassing(Passes passes) {
  const std::size_t most = std::min(buffers_[0].values.size(), buffers_[1].values.size());
  chunk_.t.resize(most);
  joined_.resize(2);
  joined_[0].resize(most);
  joined_[1].resize(most);
  std::int64_t* t_out = chunk_.t.data();
  std::uint32_t* ia = joined_[0].data();
  std::uint32_t* ib = joined_[1].data();
  std::size_t rows = 0;
  PairTwo(
      passes,
      [&](std::int64_t t, std::size_t i, std::size_t j, unsigned pass) {
        t_out[rows] = t;
        ia[rows] = static_cast<std::uint32_t>(i);
        ib[rows] = static_cast<std::uint32_t>(j);
        rows += pass;
      },
      nullptr);
  return rows;
}

Status SourceReader::FoldJoined() {
  const std::vector<const Column*> columns = {&buffers_[0].values, &buffers_[1].values};
  // Calls that keep a sum and a count, one or two of them: folded as the merge meets each pair.
  const bool lanes = direct_->JoinLanes(columns, lanes_) && !lanes_.empty() && lanes_.size() <= 2;
  passes_.resize(2);
  bool masked[2] = {false, false};
  for (const SourcePredicate& p : source_.prefilter) {
    const Column& c = buffers_[p.signal].values;
    auto& pass = passes_[p.signal];
    const std::size_t n = c.size();
    if (!masked[p.signal]) pass.resize(n);
    const bool first = !masked[p.signal];
    masked[p.signal] = true;
    switch (p.op) {
      case Op::kLt:
        Mark<Op::kLt>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kLe:
        Mark<Op::kLe>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kGt:
        Mark<Op::kGt>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kGe:
        Mark<Op::kGe>(c.num.data(), n, p.number, first, pass.data());
        break;
      default:
        Mark<Op::kEq>(c.num.data(), n, p.number, first, pass.data());
    }
  }
  // Pairs that pass fold into the lanes as they are met, or are written out and folded after.
  const auto fold = [&](auto passes) -> Status {
    if (lanes) return direct_->StoreLanes(lanes_, FoldLanes(passes, lanes_));
    const std::size_t rows = JoinPassing(passes);
    const std::vector<const std::uint32_t*> at = {joined_[0].data(), joined_[1].data()};
    auto status = direct_->FoldJoined(columns, at, chunk_.t.data(), rows);
    chunk_.t.clear();
    return status;
  };
  const std::uint8_t* a = passes_[0].data();
  const std::uint8_t* b = passes_[1].data();
  if (masked[0] && masked[1]) return fold(Marked<true, true>{a, b});
  if (masked[0]) return fold(Marked<true, false>{a, b});
  if (masked[1]) return fold(Marked<false, true>{a, b});
  return fold(Marked<false, false>{a, b});
}

void SourceReader::JoinMany() {
  const std::size_t n = buffers_.size();
  for (;;) {
    std::int64_t t = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (at_[k] == buffers_[k].t.size()) break;
      t = k == 0 ? buffers_[k].t[at_[k]] : std::max(t, buffers_[k].t[at_[k]]);
    }
    bool all = true;
    bool done = false;
    std::size_t rows = SIZE_MAX;
    for (std::size_t k = 0; k < n && !done; ++k) {
      const auto& times = buffers_[k].t;
      std::size_t& i = at_[k];
      while (i < times.size() && times[i] < t) ++i;
      std::size_t end = i;
      while (end < times.size() && times[end] == t) ++end;
      done = i == times.size();
      if (end == i) all = false;
      rows = std::min(rows, end - i);
    }
    if (done) break;
    if (!all) continue;
    for (std::size_t j = 0; j < rows; ++j) {
      chunk_.t.push_back(t);
      for (std::size_t k = 0; k < n; ++k)
        joined_[k].push_back(static_cast<std::uint32_t>(at_[k] + j));
    }
    for (std::size_t k = 0; k < n; ++k) {
      while (at_[k] < buffers_[k].t.size() && buffers_[k].t[at_[k]] == t) ++at_[k];
    }
  }
}

}  // namespace canvoy::fleet_store::query
