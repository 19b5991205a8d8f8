// The reading half of chunk formats version 2, 3 and 4 (packed_chunk.h): ParseSections and
// GroupReader, with the unpacking kernels they use. The writing half is packed_chunk.cc.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "storage/bit_stream.h"
#include "storage/encoding.h"
#include "storage/packed_chunk.h"

namespace canvoy::fleet_store::storage::packed {
namespace {

using bits::DoubleKey;
using bits::UnZigZag;

// Decimal groups up to this width decode without unpacking first.
constexpr unsigned kMaxFusedWidth = 24;

[[gnu::always_inline]] inline std::uint64_t Load64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// The number of bits set, without a call (the baseline x86-64 has no popcnt instruction).
inline unsigned Ones(std::uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555;
  x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F;
  return static_cast<unsigned>((x * 0x0101010101010101) >> 56);
}

// Residual j of a width-W group, of the 8 that start at `in` (8 residuals take exactly W bytes).
template <unsigned W, unsigned J>
[[gnu::always_inline]] inline std::uint64_t Extract(const unsigned char* in) {
  constexpr unsigned kByte = J * W / 8, kShift = J * W % 8;
  constexpr std::uint64_t kMask = W == 0 ? 0 : ~std::uint64_t{0} >> (64 - W);
  if constexpr (W == 0) {
    return 0;
  } else if constexpr (W + kShift <= 64) {  // within one 8-byte load
    return (Load64(in + kByte) >> kShift) & kMask;
  } else {  // kShift > 0
    return ((Load64(in + kByte) >> kShift) | (Load64(in + kByte + 8) << (64 - kShift))) & kMask;
  }
}

// Unpacks 64 residuals of W bits, residual j at bit j * W of `in`, which has at least
// 8 * W + 16 readable bytes. A width known at compile time makes every shift a constant.
template <unsigned W>
void UnpackWidth(const unsigned char* in, std::uint64_t* r) {
  for (std::size_t block = 0; block < kGroupSize; block += 8, in += W) {
    [&]<unsigned... J>(std::integer_sequence<unsigned, J...>) {
      ((r[block + J] = Extract<W, J>(in)), ...);
    }
    (std::make_integer_sequence<unsigned, 8>());
  }
}

using UnpackFn = void (*)(const unsigned char*, std::uint64_t*);
constexpr auto kUnpack = []<unsigned... W>(std::integer_sequence<unsigned, W...>) {
  return std::array<UnpackFn, sizeof...(W)>{&UnpackWidth<W>...};
}
(std::make_integer_sequence<unsigned, 65>());

// Two lanes (SSE2 on x86-64; compilers lower them to scalars elsewhere).
using U64x2 = std::uint64_t __attribute__((vector_size(16)));
using F64x2 = double __attribute__((vector_size(16)));

// Decimal doubles of a group whose integers n all lie in [-2^51, 2^51), two at a time: such an
// n converts exactly by adding it to the bits of 2^52 + 2^51 and subtracting that double (SSE2
// has no int64-to-double conversion of its own), and divides two at a time. With e = 0
// (kDivide false: integers, most signals with a bus factor of 1) the division by 1 is left out.
template <bool kDivide>
class DecimalPairs {
 public:
  DecimalPairs(std::uint64_t n, double scale) : carry_{n, n}, divisor_{scale, scale} {}
  std::uint64_t last() const { return carry_[0]; }

  // n += each unzigzagged residual of z in turn; raw[0, 2) = the bits of n / scale.
  [[gnu::always_inline]] void Next(U64x2 z, std::uint64_t* raw) {
    constexpr double kMagic = 0x1.8p52;
    constexpr auto kMagicBits = std::bit_cast<std::uint64_t>(kMagic);
    U64x2 d = (z >> 1) ^ (0 - (z & 1));
    d += U64x2{0, d[0]};
    const U64x2 n = carry_ + d;
    carry_ = U64x2{n[1], n[1]};
    F64x2 q = std::bit_cast<F64x2>(n + U64x2{kMagicBits, kMagicBits}) - F64x2{kMagic, kMagic};
    if constexpr (kDivide) q /= divisor_;
    std::memcpy(raw, &q, sizeof q);
  }

 private:
  U64x2 carry_;
  F64x2 divisor_;
};

// Decimal doubles from unpacked residuals r; v (the previous n) moves to the last n.
template <bool kDivide>
void SmallDecimals(const std::uint64_t* r, std::uint64_t& v, double scale, std::uint64_t* raw) {
  DecimalPairs<kDivide> pairs(v, scale);
  for (std::size_t i = 0; i < kGroupSize; i += 2) {
    U64x2 z;
    std::memcpy(&z, r + i, sizeof z);
    pairs.Next(z, raw + i);
  }
  v = pairs.last();
}

// SmallDecimals straight from a group of width W without exceptions: no residual is stored.
template <unsigned W, bool kDivide>
void PackedDecimals(const unsigned char* in, std::uint64_t& v, double scale, std::uint64_t* raw) {
  DecimalPairs<kDivide> pairs(v, scale);
  for (std::size_t block = 0; block < kGroupSize; block += 8, in += W) {
    [&]<unsigned... P>(std::integer_sequence<unsigned, P...>) {
      (pairs.Next(U64x2{Extract<W, 2 * P>(in), Extract<W, 2 * P + 1>(in)}, raw + block + 2 * P),
       ...);
    }
    (std::make_integer_sequence<unsigned, 4>());
  }
  v = pairs.last();
}

using PackedDecimalsFn = void (*)(const unsigned char*, std::uint64_t&, double, std::uint64_t*);
template <bool kDivide>
constexpr auto kPackedDecimals = []<unsigned... W>(std::integer_sequence<unsigned, W...>) {
  return std::array<PackedDecimalsFn, sizeof...(W)>{&PackedDecimals<W, kDivide>...};
}
(std::make_integer_sequence<unsigned, kMaxFusedWidth + 1>());

// Writes the m > 0 timestamps time + delta, time + 2 delta, ... to t and moves time to the
// last; returns 1 unless they rise strictly from prev (without passing the largest int64).
unsigned Steps(std::uint64_t& time, std::uint64_t delta, std::int64_t prev, std::int64_t* t,
               std::size_t m) {
  const auto step = static_cast<std::int64_t>(delta);
  std::int64_t span = 0, last = 0;
  const bool rising = step > 0 && static_cast<std::int64_t>(time + delta) > prev &&
                      !__builtin_mul_overflow(step, static_cast<std::int64_t>(m), &span) &&
                      !__builtin_add_overflow(static_cast<std::int64_t>(time), span, &last);
  for (std::size_t i = 0; i < m; ++i) t[i] = static_cast<std::int64_t>(time += delta);
  return rising ? 0 : 1;
}

// The unsigned key whose order is the values' order, as CanonicalLess (kind as GroupReader's).
std::uint64_t OrderKey(std::uint8_t kind, std::uint64_t raw) {
  if (kind == kInt64) return raw ^ (std::uint64_t{1} << 63);
  return kind == kDouble || kind == kXorDouble ? DoubleKey(raw) : raw;
}

// Whether the g samples follow (prev_t, prev_key) in canonical order, which moves to the last.
// Only for groups whose timestamps do not simply rise.
bool InOrder(std::uint8_t kind, const std::int64_t* t, const std::uint64_t* raw, std::size_t g,
             std::int64_t& prev_t, std::uint64_t& prev_key) {
  std::int64_t pt = prev_t;
  std::uint64_t pk = prev_key;
  unsigned bad = 0;
  for (std::size_t i = 0; i < g; ++i) {
    const std::uint64_t k = OrderKey(kind, raw[i]);
    bad |= static_cast<unsigned>(t[i] < pt) |
           (static_cast<unsigned>(t[i] == pt) & static_cast<unsigned>(k < pk));
    pt = t[i];
    pk = k;
  }
  prev_t = pt;
  prev_key = pk;
  return bad == 0;
}

}  // namespace

Result<Sections> ParseSections(std::uint8_t version, std::uint8_t type, std::uint64_t count,
                               std::uint64_t span, std::string_view rest, std::size_t at) {
  Reader r(rest);
  const auto pos = [&] { return at + rest.size() - r.rest().size(); };
  Sections s;
  if (version == kVersionUnit || version == kVersionGrid) {
    const auto unit = r.Varint();
    if (!unit) return Corrupt("truncated timestamp unit", at);
    if (*unit < (version == kVersionGrid ? 1U : 2U))
      return Corrupt(version == kVersionGrid ? "timestamp unit 0" : "timestamp unit below 2", at);
    s.unit = *unit;
  }
  if (version == kVersionGrid) {
    if (span % s.unit != 0) return Corrupt("time span not a multiple of the unit", at);
    if (span / s.unit == std::numeric_limits<std::uint64_t>::max())
      return Corrupt("grid of more than 2^64 slots", at);
    s.grid = true;
    s.slots = span / s.unit + 1;
    const std::size_t bitmap_at = pos();
    const auto bitmap = r.LengthPrefixed();
    if (!bitmap) return Corrupt("truncated slot bitmap", bitmap_at);
    s.bitmap = *bitmap;
    const std::size_t bits_at = pos() - bitmap->size();
    if (bitmap->empty()) {
      if (count != s.slots) return Corrupt("grid without a bitmap but with empty slots", bitmap_at);
    } else {
      const std::uint64_t bytes = s.slots / 8 + (s.slots % 8 != 0 ? 1 : 0);
      if (bitmap->size() != bytes) return Corrupt("slot bitmap of the wrong length", bitmap_at);
      const auto* b = reinterpret_cast<const unsigned char*>(bitmap->data());
      std::uint64_t set = 0;
      std::size_t i = 0;
      for (; i + 8 <= bitmap->size(); i += 8) set += Ones(Load64(b + i));
      for (; i < bitmap->size(); ++i) set += Ones(b[i]);
      if ((b[0] & 1) == 0) return Corrupt("grid whose first slot is empty", bits_at);
      const std::uint64_t last = s.slots - 1;
      if (((b[last / 8] >> (last % 8)) & 1) == 0)
        return Corrupt("grid whose last slot is empty", bits_at + last / 8);
      if ((b[last / 8] >> (last % 8)) > 1) return Corrupt("nonzero padding", bits_at + last / 8);
      if (set != count) return Corrupt("slot bitmap without one slot per sample", bits_at);
    }
  } else {
    const auto times = r.LengthPrefixed();
    if (!times) return Corrupt("truncated timestamp section", at);
    s.times = *times;
    s.times_at = pos() - times->size();
  }
  const std::size_t scheme_at = pos();
  if (type == kDouble) {
    const auto scheme = r.Byte();
    if (!scheme) return Corrupt("truncated value section", scheme_at);
    if (*scheme != kDecimal && *scheme != kXor)
      return Corrupt("unknown double scheme " + std::to_string(*scheme), scheme_at);
    s.scheme = *scheme;
    if (s.scheme == kDecimal) {
      const auto e = r.Byte();
      if (!e) return Corrupt("truncated value section", scheme_at + 1);
      if (*e > kMaxExponent) return Corrupt("decimal exponent over 18", scheme_at + 1);
      s.exponent = *e;
    }
  }
  s.values = r.rest();
  s.values_at = pos();
  // Every group takes at least 2 bytes in each section, and xor double groups one more.
  const std::uint64_t groups = count / kGroupSize + (count % kGroupSize != 0 ? 1 : 0);
  const std::size_t min_value_group = type == kDouble && s.scheme == kXor ? 3 : 2;
  if ((!s.grid && groups > s.times.size() / 2) || groups > s.values.size() / min_value_group)
    return Corrupt("more samples than the body holds", at);
  return s;
}

GroupReader::GroupReader(std::uint8_t type, std::uint64_t count, std::int64_t first_us,
                         std::int64_t last_us, const Sections& s)
    : kind_(type == kDouble && s.scheme == kXor ? std::uint8_t{kXorDouble} : type),
      remaining_(count),
      first_us_(first_us),
      last_us_(last_us),
      scale_(kPow10[std::min<unsigned>(s.exponent, kMaxExponent)]),
      unit_(s.unit),
      times_{reinterpret_cast<const unsigned char*>(s.times.data()), s.times.size(), s.times_at},
      values_{reinterpret_cast<const unsigned char*>(s.values.data()), s.values.size(),
              s.values_at},
      grid_(s.grid),
      bitmap_(s.bitmap),
      t_(static_cast<std::uint64_t>(first_us)),
      order_t_(std::numeric_limits<std::int64_t>::min()) {}

bool GroupReader::Fail(const char* what, std::size_t at) {
  error_ = what;
  error_at_ = at;
  return false;
}

bool GroupReader::ReadGroup(Cursor& in, std::size_t g) {
  const std::size_t start = in.pos;
  if (in.size - start < 2) return Fail("truncated group", in.at + start);
  const unsigned w = in.data[start], x = in.data[start + 1];
  if (w > 64) return Fail("group width over 64 bits", in.at + start);
  if (x > g) return Fail("more exceptions than samples in a group", in.at + start + 1);
  const std::size_t bits = g * w, bytes = (bits + 7) / 8, packed_at = start + 2;
  if (in.size - packed_at < bytes) return Fail("truncated group", in.at + packed_at);
  group_.packed = in.data + packed_at;
  if (bits % 8 != 0 && (group_.packed[bytes - 1] >> (bits % 8)) != 0)
    return Fail("nonzero padding", in.at + packed_at + bytes - 1);
  if (w != 0 && in.size - packed_at < 8 * w + kSlack) {  // near the end: a zero-padded copy
    std::memcpy(buffer_, group_.packed, bytes);
    std::memset(buffer_ + bytes, 0, 8 * w + kSlack - bytes);  // <= sizeof buffer_
    group_.packed = buffer_;
  }
  group_.width = group_.bits = w;
  group_.exceptions = x;
  std::size_t pos = packed_at + bytes;
  std::size_t next_index = 0;
  for (unsigned k = 0; k < x; ++k) {
    const std::size_t at = in.at + pos;
    if (pos >= in.size) return Fail("truncated exception", at);
    const std::size_t index = in.data[pos++];
    if (index >= g) return Fail("exception index past the group", at);
    if (index < next_index) return Fail("exception indexes not increasing", at);
    next_index = index + 1;
    std::uint64_t high = 0;
    if (pos < in.size && in.data[pos] < 0x80) {  // the usual one-byte varint
      high = in.data[pos++];
    } else {
      for (unsigned shift = 0;; shift += 7) {
        if (pos >= in.size || shift > 63) return Fail("truncated exception", at + 1);
        const unsigned b = in.data[pos++];
        if (shift == 63 && b > 1) return Fail("exception wider than 64 bits", at + 1);
        high |= static_cast<std::uint64_t>(b & 0x7F) << shift;
        if ((b & 0x80) == 0) break;
      }
    }
    if (high == 0) return Fail("zero exception", at + 1);
    const unsigned width = w + static_cast<unsigned>(std::bit_width(high));
    if (width > 64) return Fail("exception wider than 64 bits", at + 1);
    group_.index[k] = static_cast<std::uint8_t>(index);
    group_.residual[k] = high << w;
    group_.bits = std::max(group_.bits, width);
  }
  in.pos = pos;
  return true;
}

void GroupReader::Residuals(std::size_t g, std::uint64_t* r) const {
  kUnpack[group_.width](group_.packed, r);
  std::fill(r + g, r + kGroupSize, 0);
  for (unsigned k = 0; k < group_.exceptions; ++k) r[group_.index[k]] |= group_.residual[k];
}

bool GroupReader::DecodeValues(std::size_t g, std::uint64_t* r, std::uint64_t* raw) {
  const std::size_t at = values_.at + values_.pos;
  unsigned shift = 0;
  if (kind_ == kXorDouble) {
    if (values_.pos >= values_.size) return Fail("truncated group", at);
    shift = values_.data[values_.pos++];
    if (shift > 63) return Fail("xor shift over 63", at);
  }
  if (!ReadGroup(values_, g)) return false;
  std::uint64_t v = prev_, any = 0;
  // A decimal group that starts below 2^50 in magnitude with residuals of at most 45 bits (each
  // moves n by at most 2^44) stays in [-2^51, 2^51): no need to check each n.
  const std::uint64_t sign = 0 - (v >> 63);
  const bool small =
      kind_ == kDouble && group_.bits <= 45 && ((v ^ sign) - sign) < (std::uint64_t{1} << 50);
  // A chunk's last group may hold fewer than 64: its lanes past g read the bytes after its bits
  // (ReadGroup keeps 8 * width + kSlack of them readable), and their values go unused.
  if (small && group_.exceptions == 0 && group_.width <= kMaxFusedWidth) {
    (scale_ == 1 ? kPackedDecimals<false> : kPackedDecimals<true>)[group_.width](
        group_.packed, prev_, scale_, raw);
    return true;
  }
  Residuals(g, r);
  switch (kind_) {
    case kBool:
      for (std::size_t i = 0; i < g; ++i) any |= raw[i] = r[i];
      if (any > 1) return Fail("bool value not 0 or 1", at);
      break;
    case kInt64:
    case kUint64:
      for (std::size_t i = 0; i < g; ++i) raw[i] = v += UnZigZag(r[i]);
      break;
    case kDouble:
      if (small) {
        if (scale_ == 1) {
          SmallDecimals<false>(r, v, scale_, raw);
        } else {
          SmallDecimals<true>(r, v, scale_, raw);
        }
        break;
      }
      // Residuals past g are zero, so n repeats there.
      for (std::size_t i = 0; i < kGroupSize; ++i) raw[i] = v += UnZigZag(r[i]);
      if (std::any_of(raw, raw + kGroupSize, [](std::uint64_t n) {
            return n + kMaxDecimal > 2 * std::uint64_t{kMaxDecimal};
          }))
        return Fail("decimal value out of range", at);
      for (std::size_t i = 0; i < kGroupSize; ++i) {
        const double n = static_cast<double>(static_cast<std::int64_t>(raw[i]));
        raw[i] = std::bit_cast<std::uint64_t>(n / scale_);
      }
      break;
    default:
      for (std::size_t i = 0; i < g; ++i) any |= r[i];
      if (shift > 0 && (any >> (64 - shift)) != 0) return Fail("xor past 64 bits", at);
      if (any == 0 ? shift != 0 : (any & 1) == 0) return Fail("xor shift not minimal", at);
      for (std::size_t i = 0; i < g; ++i) raw[i] = v ^= r[i] << shift;
  }
  prev_ = v;
  return true;
}

void GroupReader::GridTimes(std::size_t g, std::int64_t* t) {
  const auto first = static_cast<std::uint64_t>(first_us_);
  const std::uint64_t unit = unit_;
  if (bitmap_.empty()) {  // every slot
    for (std::size_t i = 0; i < g; ++i) t[i] = static_cast<std::int64_t>(first + (next_slot_ + i) * unit);
    next_slot_ += g;
    t_ = static_cast<std::uint64_t>(t[g - 1]);
    return;
  }
  // ParseSections counted the bitmap's slots: the next g are there.
  const auto* bytes = reinterpret_cast<const unsigned char*>(bitmap_.data());
  std::uint64_t word = word_, slot = word_slot_;
  for (std::size_t i = 0; i < g; ++i) {
    while (word == 0) {
      const std::size_t at = next_slot_ / 8;
      if (bitmap_.size() - at >= 8) {
        word = Load64(bytes + at);
      } else {
        unsigned char tail[8] = {};
        std::memcpy(tail, bytes + at, bitmap_.size() - at);
        word = Load64(tail);
      }
      slot = next_slot_;
      next_slot_ += 64;
    }
    t[i] = static_cast<std::int64_t>(first + (slot + static_cast<unsigned>(std::countr_zero(word))) * unit);
    word &= word - 1;
  }
  word_ = word;
  word_slot_ = slot;
  t_ = static_cast<std::uint64_t>(t[g - 1]);
}

Result<std::size_t> GroupReader::NextValues(std::uint64_t* raw) {
  const auto g = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kGroupSize));
  alignas(64) std::uint64_t r[kGroupSize];
  if (!DecodeValues(g, r, raw)) return Corrupt(error_, error_at_);
  remaining_ -= g;
  return g;
}

Result<std::size_t> GroupReader::Next(std::int64_t* t, std::uint64_t* raw) {
  const auto g = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kGroupSize));
  if (grid_) {  // rising strictly by construction: no order check
    GridTimes(g, t);
    return NextValues(raw);
  }
  alignas(64) std::uint64_t r[kGroupSize];
  const std::size_t times_at = times_.at + times_.pos;
  if (!ReadGroup(times_, g)) return Corrupt(error_, error_at_);
  if (group_.width != 0) Residuals(g, r);
  if (times_at == times_.at &&
      (group_.width == 0 ? group_.exceptions > 0 && group_.index[0] == 0 : r[0] != 0))
    return Corrupt("first timestamp residual not zero", times_at);
  // Timestamps, noting whether they rise strictly (then values need no order check).
  std::uint64_t time = t_, delta = t_delta_;  // delta counts units
  const std::uint64_t unit = unit_;           // a local: the stores to t could alias a member
  std::int64_t prev = order_t_;
  unsigned not_rising = 0;
  if (group_.width == 0) {  // constant steps, the step changing only at the exceptions
    std::size_t i = 0;
    for (unsigned k = 0; k <= group_.exceptions; ++k) {
      const std::size_t end = k < group_.exceptions ? group_.index[k] : g;
      if (i < end) {
        not_rising |= Steps(time, delta * unit, prev, t + i, end - i);
        prev = t[end - 1];
        i = end;
      }
      if (i == g) break;
      delta += UnZigZag(group_.residual[k]);
      time += delta * unit;
      not_rising |= static_cast<unsigned>(static_cast<std::int64_t>(time) <= prev);
      t[i++] = prev = static_cast<std::int64_t>(time);
    }
  } else {
#pragma GCC unroll 4
    for (std::size_t i = 0; i < g; ++i) {
      delta += UnZigZag(r[i]);
      time += delta * unit;
      not_rising |= static_cast<unsigned>(static_cast<std::int64_t>(time) <= prev);
      t[i] = prev = static_cast<std::int64_t>(time);
    }
  }
  t_ = time;
  t_delta_ = delta;
  const std::size_t values_at = values_.at + values_.pos;
  if (!DecodeValues(g, r, raw)) return Corrupt(error_, error_at_);
  if (not_rising == 0) {
    order_t_ = t[g - 1];
    order_key_ = OrderKey(kind_, raw[g - 1]);
  } else if (!InOrder(kind_, t, raw, g, order_t_, order_key_)) {
    return Corrupt("samples out of order", values_at);
  }
  // In order, so t[g - 1] is the group's latest: a reader that stops early (at the end of its
  // range) still never hands out a sample outside the header's span.
  if (t[g - 1] > last_us_) return Corrupt("timestamp past the header's last", times_at);
  remaining_ -= g;
  return g;
}

Status GroupReader::Finish() const {
  if (grid_) {  // the bitmap was checked whole, its last slot being the header's last timestamp
    if (values_.pos != values_.size)
      return Corrupt("bytes after the value section", values_.at + values_.pos);
    return OkStatus();
  }
  if (times_.pos != times_.size)
    return Corrupt("bytes after the timestamp section", times_.at + times_.pos);
  if (values_.pos != values_.size)
    return Corrupt("bytes after the value section", values_.at + values_.pos);
  if (static_cast<std::int64_t>(t_) != last_us_)
    return Corrupt("last timestamp differs from the header", times_.at);
  return OkStatus();
}

}  // namespace canvoy::fleet_store::storage::packed
