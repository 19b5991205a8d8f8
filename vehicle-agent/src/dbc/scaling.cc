// Raw to physical values: exact integers where the DBC allows, one rounding otherwise.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

#include "dbc/message_plan.h"

namespace canvoy::agent {
namespace dbc {
namespace {

constexpr int kMaxExactPowerOfTen = 22;  // 10^22 is the largest power of ten a double holds exactly
constexpr std::int64_t kMaxNumerator = std::int64_t{1} << 62;

struct RawRange {
  Int128 min;
  Int128 max;
};

RawRange RawRangeOf(const DbcSignal& signal) {
  const int bits = signal.length;
  if (signal.is_signed) {
    const Int128 half = Int128{1} << (bits - 1);
    return {-half, half - 1};
  }
  return {0, (Int128{1} << bits) - 1};
}

// value * 10^exponent as an int64 of magnitude below kMaxNumerator, if it is one.
std::optional<std::int64_t> Rescale(std::int64_t mantissa, int exponent) {
  Int128 value = mantissa;
  for (int i = 0; i < exponent; ++i) {
    value *= 10;
    if (value >= kMaxNumerator || value <= -kMaxNumerator) return std::nullopt;
  }
  if (value >= kMaxNumerator || value <= -kMaxNumerator) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

// Common denominator 10^k for factor and offset, so that the physical value is one division of
// an exact integer: 0.1 * 3 gives 0.3, and 0.5 * 5 - 2.5 gives exactly 0.
bool MakeDecimal(const DbcSignal& signal, Scaling* scaling) {
  const DbcNumber& f = signal.factor;
  const DbcNumber& o = signal.offset;
  if (!f.exact || !o.exact) return false;
  const int k = std::max({0, -f.exponent, -o.exponent});
  if (k > kMaxExactPowerOfTen) return false;
  const auto numerator_factor = Rescale(f.mantissa, f.exponent + k);
  const auto numerator_offset = Rescale(o.mantissa, o.exponent + k);
  if (!numerator_factor || !numerator_offset) return false;
  scaling->decimal = true;
  scaling->numerator_factor = *numerator_factor;
  scaling->numerator_offset = *numerator_offset;
  const RawRange range = RawRangeOf(signal);
  const Int128 largest_raw = std::max(-range.min, range.max);
  const Int128 factor_magnitude =
      *numerator_factor < 0 ? -Int128{*numerator_factor} : Int128{*numerator_factor};
  const Int128 offset_magnitude =
      *numerator_offset < 0 ? -Int128{*numerator_offset} : Int128{*numerator_offset};
  // |raw| < 2^64 and factor < 2^62, so the product cannot overflow 128 bits.
  scaling->decimal_fits_int64 =
      largest_raw * factor_magnitude + offset_magnitude <= std::numeric_limits<std::int64_t>::max();
  scaling->denominator = std::pow(10.0, k);  // exact for k <= 22
  return true;
}

}  // namespace

Scaling MakeScaling(const DbcSignal& signal) {
  Scaling scaling;
  scaling.kind = PhysicalKindOf(signal);
  scaling.value_type = signal.value_type;
  scaling.factor = signal.factor.value;
  scaling.offset = signal.offset.value;
  if (scaling.kind != PhysicalKind::kDouble) {
    scaling.int_factor = static_cast<std::uint64_t>(static_cast<std::int64_t>(signal.factor.value));
    scaling.int_offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(signal.offset.value));
  } else if (signal.value_type == ValueType::kInteger) {
    MakeDecimal(signal, &scaling);
  }
  return scaling;
}

PhysicalValue Scale(const Scaling& scaling, std::uint64_t raw, bool is_signed) {
  switch (scaling.kind) {
    case PhysicalKind::kInt64:
      return static_cast<std::int64_t>(raw * scaling.int_factor + scaling.int_offset);
    case PhysicalKind::kUint64:
      return raw * scaling.int_factor + scaling.int_offset;
    case PhysicalKind::kDouble:
      break;
  }
  double value = 0;
  switch (scaling.value_type) {
    case ValueType::kFloat32:
      value = std::bit_cast<float>(static_cast<std::uint32_t>(raw));
      break;
    case ValueType::kFloat64:
      value = std::bit_cast<double>(raw);
      break;
    case ValueType::kInteger:
      if (scaling.decimal) {
        if (scaling.decimal_fits_int64) {
          // Wrapping arithmetic on the bits, which the range check makes exact; int64 to double
          // rounds exactly as the 128-bit conversion below would.
          const std::uint64_t numerator =
              raw * static_cast<std::uint64_t>(scaling.numerator_factor) +
              static_cast<std::uint64_t>(scaling.numerator_offset);
          return static_cast<double>(static_cast<std::int64_t>(numerator)) / scaling.denominator;
        }
        const Int128 wide = is_signed ? Int128{static_cast<std::int64_t>(raw)} : Int128{raw};
        const Int128 numerator = wide * scaling.numerator_factor + scaling.numerator_offset;
        return static_cast<double>(numerator) / scaling.denominator;
      }
      value = is_signed ? static_cast<double>(static_cast<std::int64_t>(raw))
                        : static_cast<double>(raw);
      break;
  }
  if (scaling.factor == 1 && scaling.offset == 0) return value;
  return std::fma(value, scaling.factor, scaling.offset);
}

}  // namespace dbc

PhysicalKind PhysicalKindOf(const DbcSignal& signal) {
  if (signal.value_type != ValueType::kInteger || !signal.factor.IsInteger() ||
      !signal.offset.IsInteger() || signal.length < 1 || signal.length > 64) {
    return PhysicalKind::kDouble;
  }
  const auto range = dbc::RawRangeOf(signal);
  const auto factor = static_cast<dbc::Int128>(signal.factor.value);
  const auto offset = static_cast<dbc::Int128>(signal.offset.value);
  const dbc::Int128 a = range.min * factor + offset;
  const dbc::Int128 b = range.max * factor + offset;
  const dbc::Int128 low = std::min(a, b);
  const dbc::Int128 high = std::max(a, b);
  if (low >= std::numeric_limits<std::int64_t>::min() &&
      high <= std::numeric_limits<std::int64_t>::max()) {
    return PhysicalKind::kInt64;
  }
  if (low >= 0 && high <= dbc::Int128{std::numeric_limits<std::uint64_t>::max()}) {
    return PhysicalKind::kUint64;
  }
  return PhysicalKind::kDouble;
}

}  // namespace canvoy::agent
