// Precompiled decoding plans: everything Decode needs, worked out once per message.
#pragma once

#include <cstdint>
#include <vector>

#include "canvoy/agent/decoder.h"
#include "dbc/bit_layout.h"

namespace canvoy::agent {
namespace dbc {

__extension__ typedef __int128 Int128;  // gcc/clang; exact products of 64-bit values

// How a raw value becomes a physical one.
struct Scaling {
  PhysicalKind kind = PhysicalKind::kInt64;
  ValueType value_type = ValueType::kInteger;
  // kInt64 / kUint64: raw * factor + offset in wrapping 64-bit arithmetic, exact because the
  // result is known to fit.
  std::uint64_t int_factor = 1;
  std::uint64_t int_offset = 0;
  // kDouble from an integer raw value with decimal factor and offset:
  // (raw * numerator_factor + numerator_offset) / denominator, one rounding when exact.
  bool decimal = false;
  std::int64_t numerator_factor = 1;
  std::int64_t numerator_offset = 0;
  double denominator = 1;
  // Otherwise: fma(raw, factor, offset).
  double factor = 1;
  double offset = 0;
};

// Fills the fields of Scaling that fit this signal.
Scaling MakeScaling(const DbcSignal& signal);

// The physical value of a raw value (already sign-extended for signed signals).
PhysicalValue Scale(const Scaling& scaling, std::uint64_t raw, bool is_signed);

}  // namespace dbc

namespace internal {

struct SignalPlan {
  dbc::BitLayout layout;
  dbc::Scaling scaling;
  bool is_signed = false;
  std::uint32_t signal_index = 0;     // into DbcMessage::signals
  std::int32_t switch_position = -1;  // position in MessagePlan::signals of the selecting switch
  const DbcSignal* signal = nullptr;  // labels and switch ranges
};

struct MessagePlan {
  MessageRef ref;
  const DbcMessage* message = nullptr;
  std::vector<SignalPlan> signals;  // evaluation order: every switch before what it selects
};

}  // namespace internal
}  // namespace canvoy::agent
