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
  // kDouble from an integer raw value with decimal factor and offset:
  // (raw * numerator_factor + numerator_offset) / denominator, one rounding when exact.
  bool decimal = false;
  // The numerator fits an int64 for every raw value of the signal, so 128-bit arithmetic (and
  // its slow conversion to double) is not needed; the result is the same.
  bool decimal_fits_int64 = false;
  // kInt64 / kUint64: raw * factor + offset in wrapping 64-bit arithmetic, exact because the
  // result is known to fit.
  std::uint64_t int_factor = 1;
  std::uint64_t int_offset = 0;
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

// How a signal's bits are read.
enum class Extract : std::uint8_t {
  kIntelWindow,     // one little-endian 8-byte load at window_byte, shift, mask
  kMotorolaWindow,  // one big-endian 8-byte load at window_byte, shift, mask
  kChunks,          // byte by byte with `layout` (signals of 58..64 bits that straddle a window)
};

// Ordered so that what every decoded value reads comes first.
struct SignalPlan {
  std::uint64_t mask = 0;  // the low `length` bits
  Extract extract = Extract::kChunks;
  std::uint8_t window_byte = 0;  // at most 56, so the 8-byte load stays in CanFrame::data
  std::uint8_t shift = 0;        // right shift of the loaded window
  std::uint8_t sign_shift = 0;   // 64 - length, for sign extension
  std::uint8_t bytes_needed = 0;
  bool is_signed = false;
  bool has_labels = false;
  std::uint32_t signal_index = 0;     // into DbcMessage::signals
  std::int32_t switch_position = -1;  // position in MessagePlan::signals of the selecting switch
  dbc::Scaling scaling;
  const DbcSignal* signal = nullptr;  // labels and switch ranges
  dbc::BitLayout layout;              // for Extract::kChunks
};

struct MessagePlan {
  MessageRef ref;
  const DbcMessage* message = nullptr;
  std::vector<SignalPlan> signals;  // evaluation order: every switch before what it selects
  bool multiplexed = false;         // some signal has a switch
  bool j1939 = false;               // matched by PGN; the source address is reported
};

}  // namespace internal
}  // namespace canvoy::agent
