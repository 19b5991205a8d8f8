// libFuzzer target: the fleet store's history block and rollup value parsers, which read bytes
// from RocksDB. Besides not crashing, they must agree with each other: a block that DecodeBlock
// accepts has its samples in canonical order, reads the same through DecodeBlockRange and
// DecodeBlockColumns (filtered to the range), compacts to exactly the same samples, counts one
// chunk per type once compacted, and re-encodes (EncodeChunk, V1, V2) to the same samples, doubles
// bit for bit. A rollup value that DecodeRollupSlots accepts reads the same slots, bit for bit,
// through a [begin, end) index window and after EncodeRollupSlots.
//
// Input: [from][to][begin][end] selector bytes, then the bytes, read both as a history block and
// as a rollup value. A time selector's top two bits pick: 0 a fixed time (low 3 bits: min, max,
// 0, min + 1, max - 1, -1, 1, 2023-11-14), 1 the timestamp of DecodeBlock's sample number
// (low 6 bits % count), 2 that plus 1, 3 that minus 1 (wrapping). An index selector's top two
// bits pick: 0 the low 6 bits (61: 2^32 - 1, 62: 2^32, 63: 2^64 - 1), 1 the index of the decoded
// slot number (low 6 bits % count), 2 that plus 1, 3 that minus 1 (wrapping). With no decoded
// samples or slots, kinds 1-3 fall back to kind 0. See history_block_seeds.cc.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "canvoy/fleet_store/types.h"
#include "storage/history_block.h"
#include "storage/rollup_codec.h"

namespace {

using namespace canvoy::fleet_store;
using namespace canvoy::fleet_store::storage;

constexpr std::size_t kSelectorBytes = 4;
constexpr std::size_t kStringType = 4;  // SignalValue's index of std::string

void Require(bool property) {
  if (!property) std::abort();
}

std::uint64_t Bits(double d) { return std::bit_cast<std::uint64_t>(d); }

std::int64_t Wrap(std::int64_t t, std::uint64_t add) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(t) + add);
}

std::int64_t PickTime(std::uint8_t sel, const std::vector<Sample>& samples) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kFixed[] = {kMin,     kMax, 0, kMin + 1,
                                     kMax - 1, -1,   1, 1'700'000'000'000'000};
  const unsigned kind = sel >> 6;
  if (kind == 0 || samples.empty()) return kFixed[sel & 7];
  const std::int64_t t = samples[(sel & 0x3F) % samples.size()].timestamp_us;
  return kind == 1 ? t : kind == 2 ? Wrap(t, 1) : Wrap(t, ~std::uint64_t{0});
}

std::uint64_t PickIndex(std::uint8_t sel, const std::vector<RollupSlot>& slots) {
  const unsigned kind = sel >> 6;
  const unsigned low = sel & 0x3F;
  if (kind == 0 || slots.empty()) {
    if (low == 61) return std::numeric_limits<std::uint32_t>::max();
    if (low == 62) return std::uint64_t{1} << 32;
    if (low == 63) return std::numeric_limits<std::uint64_t>::max();
    return low;
  }
  const std::uint64_t index = slots[low % slots.size()].first;
  return kind == 1 ? index : kind == 2 ? index + 1 : index - 1;
}

// Equal timestamps and values, doubles bit for bit (NaN payloads and the sign of zero count).
bool Same(const Sample& a, const Sample& b) {
  if (a.timestamp_us != b.timestamp_us || a.value.index() != b.value.index()) return false;
  if (const double* d = std::get_if<double>(&a.value))
    return Bits(*d) == Bits(std::get<double>(b.value));
  return a.value == b.value;
}

bool SameSamples(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), Same);
}

bool SameSlot(const RollupSlot& a, const RollupSlot& b) {
  const Rollup& x = a.second;
  const Rollup& y = b.second;
  return a.first == b.first && x.count == y.count && Bits(x.min) == Bits(y.min) &&
         Bits(x.max) == Bits(y.max) && Bits(x.sum) == Bits(y.sum) && x.first_us == y.first_us &&
         Bits(x.first) == Bits(y.first) && x.last_us == y.last_us && Bits(x.last) == Bits(y.last);
}

std::vector<Sample> MustDecode(std::string_view block) {
  std::vector<Sample> out;
  Require(static_cast<bool>(DecodeBlock(block, &out)));
  return out;
}

// DecodeBlockColumns' value column: bools 0/1, integers converted, doubles as they are.
double AsDouble(const SignalValue& value) {
  return std::visit(
      [](const auto& v) -> double {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          std::abort();
        } else {
          return static_cast<double>(v);
        }
      },
      value);
}

// The columns of a successful DecodeBlockColumns against the samples DecodeBlockRange read.
void CheckColumns(const std::optional<std::uint8_t>& type, const std::vector<std::int64_t>& t,
                  const std::vector<double>& num, const std::vector<std::uint64_t>& bits,
                  const std::vector<Sample>& range) {
  if (!type) {
    Require(t.empty() && num.empty() && bits.empty());
    return;
  }
  Require(*type < kStringType);
  const bool exact = *type == 1 || *type == 2;
  Require(t.size() == range.size() && num.size() == range.size());
  Require(bits.size() == (exact ? range.size() : 0));
  for (std::size_t i = 0; i < range.size(); ++i) {
    const Sample& s = range[i];
    Require(s.value.index() == *type);
    Require(t[i] == s.timestamp_us);
    Require(Bits(num[i]) == Bits(AsDouble(s.value)));
    if (*type == 1) Require(bits[i] == static_cast<std::uint64_t>(std::get<1>(s.value)));
    if (*type == 2) Require(bits[i] == std::get<2>(s.value));
  }
}

std::size_t TypeCount(const std::vector<Sample>& samples) {
  bool seen[kStringType + 1] = {};
  for (const Sample& s : samples) seen[s.value.index()] = true;
  return static_cast<std::size_t>(std::count(std::begin(seen), std::end(seen), true));
}

// Properties of a block that DecodeBlock accepted with `all`, for the range [from, to).
void CheckValidBlock(std::string_view block, const std::vector<Sample>& all, std::int64_t from,
                     std::int64_t to) {
  Require(std::is_sorted(all.begin(), all.end(), CanonicalLess));

  std::vector<Sample> expected;
  for (const Sample& s : all) {
    if (from <= s.timestamp_us && s.timestamp_us < to) expected.push_back(s);
  }
  std::vector<Sample> range;
  Require(static_cast<bool>(DecodeBlockRange(block, from, to, &range)));
  Require(SameSamples(range, expected));

  std::vector<std::int64_t> t;
  std::vector<double> num;
  std::vector<std::uint64_t> bits;
  const auto columns = DecodeBlockColumns(block, from, to, {&t, &num, &bits});
  Require(static_cast<bool>(columns));
  CheckColumns(columns.value(), t, num, bits, range);

  const auto chunks = CountChunks(block);
  Require(chunks && (all.empty() ? chunks.value() == 0 : chunks.value() >= TypeCount(all)));
  const auto numeric = BlockIsNumeric(block);
  const bool has_strings = std::any_of(
      all.begin(), all.end(), [](const Sample& s) { return s.value.index() == kStringType; });
  Require(numeric && numeric.value() == !has_strings);

  // Compaction keeps every sample, gives one chunk per type, and the same multiset gives the
  // same bytes whatever chunks it came in.
  const auto compacted = CompactBlock(block);
  Require(static_cast<bool>(compacted));
  Require(SameSamples(MustDecode(compacted.value()), all));
  const auto compacted_chunks = CountChunks(compacted.value());
  Require(compacted_chunks && compacted_chunks.value() == TypeCount(all));
  const auto again = CompactBlock(compacted.value());
  Require(again && again.value() == compacted.value());

  // A compacted block of one numeric type reads as columns whenever something is in range.
  if (TypeCount(all) == 1 && !has_strings && !expected.empty()) {
    std::vector<std::int64_t> ct;
    std::vector<double> cnum;
    std::vector<std::uint64_t> cbits;
    const auto ccolumns = DecodeBlockColumns(compacted.value(), from, to, {&ct, &cnum, &cbits});
    Require(ccolumns && ccolumns.value().has_value());
    CheckColumns(ccolumns.value(), ct, cnum, cbits, expected);
  }

  // A block that is one grid chunk in range reads without timestamps: the column values, at
  // slots that are the columns' timestamps.
  {
    Cells<std::int64_t> gt;
    Cells<double> gnum;
    Cells<std::uint64_t> gbits;
    const auto grid = DecodeGridColumns(block, from, to, {&gt, &gnum, &gbits});
    Require(static_cast<bool>(grid) && gt.empty());
    if (grid.value()) {
      const GridColumns& g = *grid.value();
      Require(columns.value() == g.type && gnum.size() == num.size() && gnum.size() == t.size());
      std::size_t i = 0;
      for (std::uint64_t k = 0; k < g.slots && i <= t.size(); ++k) {
        if (!g.bitmap.empty() &&
            ((static_cast<unsigned char>(g.bitmap[k / 8]) >> (k % 8)) & 1) == 0)
          continue;
        Require(i < t.size() &&
                t[i] == static_cast<std::int64_t>(static_cast<std::uint64_t>(g.first_us) +
                                                  k * g.unit) &&
                std::bit_cast<std::uint64_t>(gnum[i]) == std::bit_cast<std::uint64_t>(num[i]));
        ++i;
      }
      Require(i == t.size());
      Require(std::equal(gbits.begin(), gbits.end(), bits.begin(), bits.end()));
    } else {
      Require(gnum.empty());
    }
  }

  // Every encoder's output decodes back to the same samples.
  Require(SameSamples(MustDecode(EncodeChunk(all)), all));
  const std::string v1 = EncodeChunkV1(all);
  Require(SameSamples(MustDecode(v1), all));
  Require(SameSamples(MustDecode(EncodeChunkV2(all)), all));
  Require(SameSamples(MustDecode(EncodeChunkV3(all)), all));
  const auto from_v1 = CompactBlock(v1);
  Require(from_v1 && from_v1.value() == compacted.value());
}

void CheckBlock(std::string_view block, std::uint8_t from_sel, std::uint8_t to_sel) {
  std::vector<Sample> all;
  const bool valid = static_cast<bool>(DecodeBlock(block, &all));
  // On error, `all` holds a prefix of the samples: still good for choosing the range.
  const std::int64_t from = PickTime(from_sel, all);
  const std::int64_t to = PickTime(to_sel, all);
  if (valid) {
    CheckValidBlock(block, all, from, to);
    return;
  }
  // A corrupt block may still read without error (corruption outside the range is not
  // detected); then what it reads is in range and in canonical order. On error the samples
  // appended are not checked: a truncated chunk inside the range appends the samples its
  // zero-padded bit stream gives, past its header's last timestamp, before the error.
  std::vector<Sample> range;
  const bool range_ok = static_cast<bool>(DecodeBlockRange(block, from, to, &range));
  if (range_ok) {
    for (const Sample& s : range) Require(from <= s.timestamp_us && s.timestamp_us < to);
    Require(std::is_sorted(range.begin(), range.end(), CanonicalLess));
  }
  // Then both read the same samples in the same order: a sample past its chunk header's last
  // timestamp is an error as soon as it is read, so the headers' order is the samples' order.
  std::vector<std::int64_t> t;
  std::vector<double> num;
  std::vector<std::uint64_t> bits;
  const auto columns = DecodeBlockColumns(block, from, to, {&t, &num, &bits});
  if (columns && columns.value() && range_ok) {
    Require(t.size() == range.size());
    for (std::size_t i = 0; i < t.size(); ++i) Require(t[i] == range[i].timestamp_us);
  }
  Require(!CompactBlock(block));
  Cells<std::int64_t> gt;
  Cells<double> gnum;
  Cells<std::uint64_t> gbits;
  const auto grid = DecodeGridColumns(block, from, to, {&gt, &gnum, &gbits});
  Require(!grid || !grid.value());  // a grid read whole fails as the block does
  (void)CountChunks(block);
  (void)BlockIsNumeric(block);
}

void CheckRollup(std::string_view bytes, std::uint8_t begin_sel, std::uint8_t end_sel) {
  std::vector<RollupSlot> all;
  const bool valid = static_cast<bool>(DecodeRollupSlots(bytes, &all));
  const std::uint64_t begin = PickIndex(begin_sel, all);
  const std::uint64_t end = PickIndex(end_sel, all);
  std::vector<RollupSlot> window;
  const bool window_ok = static_cast<bool>(DecodeRollupSlots(bytes, &window, end, begin));
  for (const RollupSlot& slot : window) Require(begin <= slot.first && slot.first < end);
  if (!valid) return;

  for (std::size_t i = 0; i < all.size(); ++i) {
    Require(all[i].second.count >= 1);
    if (i > 0) Require(all[i - 1].first < all[i].first);
  }
  std::vector<RollupSlot> expected;
  for (const RollupSlot& slot : all) {
    if (begin <= slot.first && slot.first < end) expected.push_back(slot);
  }
  Require(window_ok);
  Require(std::equal(window.begin(), window.end(), expected.begin(), expected.end(), SameSlot));

  std::vector<RollupSlot> reread;
  Require(static_cast<bool>(DecodeRollupSlots(EncodeRollupSlots(all), &reread)));
  Require(std::equal(reread.begin(), reread.end(), all.begin(), all.end(), SameSlot));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kSelectorBytes) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + kSelectorBytes,
                               size - kSelectorBytes);
  CheckBlock(bytes, data[0], data[1]);
  CheckRollup(bytes, data[2], data[3]);
  return 0;
}
