#include "canvoy/agent/encoder.h"

#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "dbc/bit_layout.h"
#include "dbc/message_plan.h"

namespace canvoy::agent {
namespace {

bool FitsLength(const DbcSignal& signal, std::uint64_t raw) {
  if (signal.length >= 64) return true;
  const std::uint64_t low_bits = raw & ((std::uint64_t{1} << signal.length) - 1);
  if (signal.is_signed && signal.value_type == ValueType::kInteger) {
    return dbc::SignExtend(low_bits, static_cast<std::uint8_t>(signal.length)) ==
           static_cast<std::int64_t>(raw);
  }
  return low_bits == raw;
}

double AsDouble(const PhysicalValue& value) {
  switch (value.index()) {
    case 0:
      return static_cast<double>(std::get<std::int64_t>(value));
    case 1:
      return static_cast<double>(std::get<std::uint64_t>(value));
    default:
      return std::get<double>(value);
  }
}

Error OutOfRange(const DbcSignal& signal) {
  return Error(Errc::kInvalidArgument, "value is outside the raw range of signal " + signal.name);
}

}  // namespace

Status EncodeRaw(const DbcSignal& signal, std::uint64_t raw, std::span<std::uint8_t> payload) {
  auto layout = dbc::ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
  if (const auto* problem = std::get_if<std::string>(&layout)) {
    return Error(Errc::kInvalidArgument, "signal " + signal.name + ": " + *problem);
  }
  const dbc::BitLayout& bits = std::get<dbc::BitLayout>(layout);
  if (bits.bytes_needed > payload.size()) {
    return Error(Errc::kInvalidArgument,
                 "signal " + signal.name + " needs " + std::to_string(bits.bytes_needed) +
                     " bytes, the payload has " + std::to_string(payload.size()));
  }
  if (!FitsLength(signal, raw)) return OutOfRange(signal);
  dbc::InsertBits(bits, raw, payload.data());
  return OkStatus();
}

Result<std::uint64_t> RawFromPhysical(const DbcSignal& signal, const PhysicalValue& physical) {
  const double unscaled = (AsDouble(physical) - signal.offset.value) / signal.factor.value;
  switch (signal.value_type) {
    case ValueType::kFloat32:
      return std::bit_cast<std::uint32_t>(static_cast<float>(unscaled));
    case ValueType::kFloat64:
      return std::bit_cast<std::uint64_t>(unscaled);
    case ValueType::kInteger:
      break;
  }
  const dbc::Scaling scaling = dbc::MakeScaling(signal);
  std::uint64_t raw = 0;
  if (scaling.kind != PhysicalKind::kDouble && physical.index() != 2) {
    // Exact: (physical - offset) / factor in integers.
    const auto value = physical.index() == 0 ? dbc::Int128{std::get<std::int64_t>(physical)}
                                             : dbc::Int128{std::get<std::uint64_t>(physical)};
    const auto factor = static_cast<dbc::Int128>(static_cast<std::int64_t>(scaling.int_factor));
    const auto offset = static_cast<dbc::Int128>(static_cast<std::int64_t>(scaling.int_offset));
    if (factor == 0 || (value - offset) % factor != 0) return OutOfRange(signal);
    const dbc::Int128 exact = (value - offset) / factor;
    const bool is_signed = signal.is_signed;
    if ((is_signed && (exact < std::numeric_limits<std::int64_t>::min() ||
                       exact > std::numeric_limits<std::int64_t>::max())) ||
        (!is_signed && (exact < 0 || exact > dbc::Int128{~std::uint64_t{0}}))) {
      return OutOfRange(signal);
    }
    raw = static_cast<std::uint64_t>(exact);
  } else {
    const double rounded = std::nearbyint(unscaled);
    if (!std::isfinite(rounded) || rounded < -9223372036854775808.0 ||
        rounded >= 18446744073709551616.0) {
      return OutOfRange(signal);
    }
    if (rounded < 0 && !signal.is_signed) return OutOfRange(signal);
    if (signal.is_signed && rounded >= 9223372036854775808.0) return OutOfRange(signal);
    raw = rounded < 0 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(rounded))
                      : static_cast<std::uint64_t>(rounded);
  }
  if (!FitsLength(signal, raw)) return OutOfRange(signal);
  return raw;
}

}  // namespace canvoy::agent
