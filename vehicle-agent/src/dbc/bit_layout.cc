#include "dbc/bit_layout.h"

#include <algorithm>

#include "canvoy/agent/can_frame.h"

namespace canvoy::agent::dbc {
namespace {

constexpr std::uint32_t kMaxBit = kMaxFdLen * 8;

std::uint8_t Mask(std::uint32_t bits) { return static_cast<std::uint8_t>((1U << bits) - 1); }

}  // namespace

std::variant<BitLayout, std::string> ComputeBitLayout(std::uint32_t start_bit, std::uint32_t length,
                                                      ByteOrder order) {
  if (length < 1 || length > 64) return "signal length " + std::to_string(length) + " is not 1..64";
  if (start_bit >= kMaxBit) return "start bit " + std::to_string(start_bit) + " is past byte 63";
  BitLayout layout;
  layout.length = static_cast<std::uint8_t>(length);
  std::uint32_t bit = start_bit;
  std::uint32_t remaining = length;
  std::uint32_t placed = 0;  // Intel: bits of the value already placed, from the bottom
  while (remaining > 0) {
    if (bit >= kMaxBit) return std::string("signal runs past byte 63");
    if (layout.count == layout.chunks.size()) return std::string("signal spans more than 9 bytes");
    const std::uint32_t byte = bit / 8;
    const std::uint32_t pos = bit % 8;
    BitChunk& chunk = layout.chunks[layout.count++];
    chunk.byte = static_cast<std::uint8_t>(byte);
    if (order == ByteOrder::kLittleEndian) {
      const std::uint32_t n = std::min(8 - pos, remaining);
      chunk.rshift = static_cast<std::uint8_t>(pos);
      chunk.mask = Mask(n);
      chunk.lshift = static_cast<std::uint8_t>(placed);
      placed += n;
      remaining -= n;
      bit += n;
    } else {
      // Motorola: from the MSB down through this byte, then on at bit 7 of the next byte.
      const std::uint32_t n = std::min(pos + 1, remaining);
      remaining -= n;
      chunk.rshift = static_cast<std::uint8_t>(pos + 1 - n);
      chunk.mask = Mask(n);
      chunk.lshift = static_cast<std::uint8_t>(remaining);
      bit = (byte + 1) * 8 + 7;
    }
    layout.bytes_needed =
        std::max<std::uint8_t>(layout.bytes_needed, static_cast<std::uint8_t>(byte + 1));
  }
  return layout;
}

}  // namespace canvoy::agent::dbc
