// The writing half of chunk formats version 2, 3 and 4 (packed_chunk.h): AppendChunk and the group
// packing it uses. The reading half is packed_reader.cc.
#include "storage/packed_chunk.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "storage/bit_stream.h"
#include "storage/encoding.h"

namespace canvoy::fleet_store::storage::packed {
namespace {

using bits::VarintLength;
using bits::ZigZag;

// The width that makes a group smallest (the smallest such width on a tie), from the
// histogram of its residuals' bit widths.
unsigned BestWidth(std::span<const std::uint64_t> r) {
  std::array<std::size_t, 66> above{};  // above[b]: residuals wider than b bits
  unsigned max_bits = 0;
  for (const std::uint64_t v : r) {
    const auto b = static_cast<unsigned>(std::bit_width(v));
    if (b > 0) ++above[b - 1];
    max_bits = std::max(max_bits, b);
  }
  for (unsigned b = 63; b-- > 0;) above[b] += above[b + 1];
  std::size_t best_cost = std::numeric_limits<std::size_t>::max();
  unsigned best = 0;
  for (unsigned w = 0; w <= max_bits; ++w) {
    // A residual of b > w bits costs an index byte and ceil((b - w) / 7) varint bytes: one
    // for each k = w, w + 7, ... below b.
    std::size_t cost = (r.size() * w + 7) / 8 + above[w];
    for (unsigned k = w; k < 64; k += 7) cost += above[k];
    if (cost < best_cost) {
      best_cost = cost;
      best = w;
    }
  }
  return best;
}

// Appends one group: width, exception count, the packed low bits, the exceptions.
void AppendGroup(std::span<const std::uint64_t> r, std::string& out) {
  const unsigned w = BestWidth(r);
  const std::uint64_t mask = w == 0 ? 0 : ~std::uint64_t{0} >> (64 - w);
  const auto high = [w](std::uint64_t v) { return w == 64 ? 0 : v >> w; };
  const auto exceptions = std::count_if(r.begin(), r.end(), [&](auto v) { return high(v) != 0; });
  out.push_back(static_cast<char>(w));
  out.push_back(static_cast<char>(exceptions));
  std::uint64_t acc = 0;  // pending bits, fill < 8 of them between values
  unsigned fill = 0;
  for (const std::uint64_t v : r) {
    const std::uint64_t low = v & mask;
    acc |= low << fill;
    unsigned total = fill + w;
    if (total >= 64) {
      for (unsigned i = 0; i < 8; ++i) out.push_back(static_cast<char>(acc >> (8 * i)));
      acc = fill == 0 ? 0 : low >> (64 - fill);
      total -= 64;
    }
    for (; total >= 8; total -= 8, acc >>= 8) out.push_back(static_cast<char>(acc));
    fill = total;
  }
  if (fill > 0) out.push_back(static_cast<char>(acc));
  for (std::size_t j = 0; j < r.size(); ++j) {
    if (high(r[j]) == 0) continue;
    out.push_back(static_cast<char>(j));
    AppendVarint(out, high(r[j]));
  }
}

void AppendGroups(std::span<const std::uint64_t> r, std::string& out) {
  for (std::size_t i = 0; i < r.size(); i += kGroupSize)
    AppendGroup(r.subspan(i, std::min(kGroupSize, r.size() - i)), out);
}

// n with static_cast<double>(n) / 10^e == d bit for bit and |n| <= kMaxDecimal, if there is
// one. Range first: NaN, infinities and huge values never reach llround.
std::optional<std::int64_t> DecimalOf(std::uint64_t bits, unsigned e) {
  const double d = std::bit_cast<double>(bits);
  const double scaled = d * kPow10[e];
  if (!(std::fabs(scaled) <= static_cast<double>(kMaxDecimal))) return std::nullopt;
  const std::int64_t n = std::llround(scaled);
  if (n > kMaxDecimal || n < -kMaxDecimal) return std::nullopt;
  if (std::bit_cast<std::uint64_t>(static_cast<double>(n) / kPow10[e]) != bits) return std::nullopt;
  return n;
}

// The smallest e for which every value is decimal, if there is one.
std::optional<unsigned> DecimalExponent(std::span<const std::uint64_t> raw) {
  // e rises only past exponents that some value does not fit, so none below fits the chunk.
  unsigned e = 0;
  for (const std::uint64_t v : raw) {
    while (e <= kMaxExponent && !DecimalOf(v, e)) ++e;
    if (e > kMaxExponent) return std::nullopt;
  }
  for (; e <= kMaxExponent; ++e) {
    if (std::all_of(raw.begin(), raw.end(), [e](auto v) { return DecimalOf(v, e).has_value(); }))
      return e;
  }
  return std::nullopt;
}

void AppendDoubles(std::span<const std::uint64_t> raw, std::vector<std::uint64_t>& r,
                   std::string& out) {
  if (const auto e = DecimalExponent(raw)) {
    out.push_back(static_cast<char>(kDecimal));
    out.push_back(static_cast<char>(*e));
    std::uint64_t prev = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto n = static_cast<std::uint64_t>(*DecimalOf(raw[i], *e));
      r[i] = ZigZag(n - prev);
      prev = n;
    }
    AppendGroups(r, out);
    return;
  }
  out.push_back(static_cast<char>(kXor));
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < raw.size(); i += kGroupSize) {
    const std::size_t g = std::min(kGroupSize, raw.size() - i);
    unsigned shift = 64;
    for (std::size_t j = 0; j < g; ++j) {
      r[j] = raw[i + j] ^ prev;
      prev = raw[i + j];
      if (r[j] != 0) shift = std::min(shift, static_cast<unsigned>(std::countr_zero(r[j])));
    }
    if (shift == 64) shift = 0;
    for (std::size_t j = 0; j < g; ++j) r[j] >>= shift;
    out.push_back(static_cast<char>(shift));
    AppendGroup(std::span(r).first(g), out);
  }
}

}  // namespace

Error Corrupt(std::string_view what, std::size_t at) {
  return Error(Errc::kStorage,
               "history block: " + std::string(what) + " at byte " + std::to_string(at));
}

void AppendChunk(std::span<const Sample* const> samples, std::string& out, bool unit_allowed,
                 bool grid_allowed) {
  const auto type = static_cast<std::uint8_t>(samples.front()->value.index());
  const std::size_t n = samples.size();
  // Values as raw 64-bit words: bools 0/1, integers' two's complement bits, doubles' bits.
  std::vector<std::int64_t> t(n);
  std::vector<std::uint64_t> raw(n), r(n);
  for (std::size_t i = 0; i < n; ++i) {
    t[i] = samples[i]->timestamp_us;
    raw[i] = std::visit(
        [](const auto& v) -> std::uint64_t {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            return std::bit_cast<std::uint64_t>(v);
          } else if constexpr (std::is_integral_v<T>) {
            return static_cast<std::uint64_t>(v);
          } else {
            return 0;  // strings are never packed
          }
        },
        samples[i]->value);
  }
  std::string times, values;
  // The timestamps' unit: the greatest common divisor of their gaps (sorted, so none is
  // negative; 0 when all are equal).
  std::uint64_t unit = 0;
  for (std::size_t i = 1; i < n && unit != 1 && unit_allowed; ++i)
    unit = std::gcd(unit, static_cast<std::uint64_t>(t[i]) - static_cast<std::uint64_t>(t[i - 1]));
  if (unit == 0) unit = 1;
  std::uint64_t prev = static_cast<std::uint64_t>(t[0]), delta = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto ti = static_cast<std::uint64_t>(t[i]);
    const std::uint64_t d = (ti - prev) / unit;
    r[i] = ZigZag(d - delta);
    delta = d;
    prev = ti;
  }
  times.reserve(n / 2 + 16);
  AppendGroups(r, times);
  values.reserve(n + 16);
  if (type == kDouble) {
    AppendDoubles(raw, r, values);
  } else {
    prev = 0;
    for (std::size_t i = 0; i < n; ++i) {
      r[i] = type == kBool ? raw[i] : ZigZag(raw[i] - prev);
      prev = raw[i];
    }
    AppendGroups(r, values);
  }
  const auto first = static_cast<std::uint64_t>(t[0]);
  const std::uint64_t span = static_cast<std::uint64_t>(t[n - 1]) - first;
  // A grid (version 4) when the timestamps rise strictly and its bitmap (none for every slot)
  // takes no more bytes than the timestamp section; the bitmap is sized before it is built.
  bool rising = unit_allowed && grid_allowed;
  for (std::size_t i = 1; i < n && rising; ++i) rising = t[i] > t[i - 1];
  const std::size_t times_bytes =
      (unit > 1 ? VarintLength(unit) : 0) + VarintLength(times.size()) + times.size();
  if (rising && span / unit < std::numeric_limits<std::uint64_t>::max()) {
    const std::uint64_t slots = span / unit + 1;
    const std::uint64_t bitmap = slots == n ? 0 : slots / 8 + (slots % 8 != 0 ? 1 : 0);
    if (bitmap + VarintLength(unit) + VarintLength(bitmap) <= times_bytes) {
      std::string bits(bitmap, '\0');
      for (std::size_t i = 0; i < n && bitmap != 0; ++i) {
        const std::uint64_t k = (static_cast<std::uint64_t>(t[i]) - first) / unit;
        bits[k / 8] = static_cast<char>(bits[k / 8] | (1 << (k % 8)));
      }
      out.push_back(static_cast<char>(kVersionGrid));
      out.push_back(static_cast<char>(type));
      AppendVarint(out, n);
      AppendVarint(out, 8 + VarintLength(span) + VarintLength(unit) + VarintLength(bitmap) +
                            bits.size() + values.size());
      AppendBe64(out, first);
      AppendVarint(out, span);
      AppendVarint(out, unit);
      AppendLengthPrefixed(out, bits);
      out.append(values);
      return;
    }
  }
  out.push_back(static_cast<char>(unit > 1 ? kVersionUnit : kVersion));
  out.push_back(static_cast<char>(type));
  AppendVarint(out, n);
  AppendVarint(out, 8 + VarintLength(span) + times_bytes + values.size());
  AppendBe64(out, first);
  AppendVarint(out, span);
  if (unit > 1) AppendVarint(out, unit);
  AppendLengthPrefixed(out, times);
  out.append(values);
}

}  // namespace canvoy::fleet_store::storage::packed
