// Where a signal's bits sit in a payload, precomputed once so that decoding is a few shifts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>

#include "canvoy/agent/dbc.h"

namespace canvoy::agent::dbc {

// Bits (data[byte] >> rshift) & mask are bits lshift.. of the raw value.
struct BitChunk {
  std::uint8_t byte = 0;
  std::uint8_t rshift = 0;
  std::uint8_t mask = 0;
  std::uint8_t lshift = 0;
};

struct BitLayout {
  std::array<BitChunk, 9> chunks{};  // a 64-bit value spans at most 9 bytes
  std::uint8_t count = 0;
  std::uint8_t bytes_needed = 0;  // 1 + the highest byte index the signal touches
  std::uint8_t length = 0;
};

// The layout of `length` bits starting at `start_bit` (LSB for Intel, MSB for Motorola); a string
// error when they do not fit in 64 bytes or the length is not 1..64.
std::variant<BitLayout, std::string> ComputeBitLayout(std::uint32_t start_bit, std::uint32_t length,
                                                      ByteOrder order);

inline std::uint64_t ExtractBits(const BitLayout& layout, const std::uint8_t* data) {
  std::uint64_t value = 0;
  for (std::uint8_t i = 0; i < layout.count; ++i) {
    const BitChunk& c = layout.chunks[i];
    value |= static_cast<std::uint64_t>((data[c.byte] >> c.rshift) & c.mask) << c.lshift;
  }
  return value;
}

// Writes the low `length` bits of `raw`; other bits of `data` are kept.
inline void InsertBits(const BitLayout& layout, std::uint64_t raw, std::uint8_t* data) {
  for (std::uint8_t i = 0; i < layout.count; ++i) {
    const BitChunk& c = layout.chunks[i];
    const auto bits = static_cast<std::uint8_t>((raw >> c.lshift) & c.mask);
    data[c.byte] =
        static_cast<std::uint8_t>((data[c.byte] & ~(c.mask << c.rshift)) | (bits << c.rshift));
  }
}

// Sign-extends the low `length` bits of `raw`.
inline std::int64_t SignExtend(std::uint64_t raw, std::uint8_t length) {
  if (length >= 64) return static_cast<std::int64_t>(raw);
  const std::uint64_t sign = std::uint64_t{1} << (length - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

}  // namespace canvoy::agent::dbc
