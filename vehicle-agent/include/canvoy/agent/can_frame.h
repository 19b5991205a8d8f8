// One CAN or CAN FD frame as the agent sees it, whatever source it came from.
#pragma once

#include <array>
#include <cstdint>

namespace canvoy::agent {

// Lengths a CAN FD frame can have (the DLC table of ISO 11898-1).
inline constexpr bool IsValidCanFdLength(unsigned len) {
  return len <= 8 || len == 12 || len == 16 || len == 20 || len == 24 || len == 32 || len == 48 ||
         len == 64;
}

inline constexpr std::uint32_t kMaxStandardId = 0x7FF;
inline constexpr std::uint32_t kMaxExtendedId = 0x1FFFFFFF;
inline constexpr std::size_t kMaxClassicLen = 8;
inline constexpr std::size_t kMaxFdLen = 64;

// A plain value: copy it freely. `data[len..]` is zero for frames the agent's sources produce.
struct CanFrame {
  std::int64_t timestamp_us = 0;  // receive time in microseconds (epoch, or boot time for logs)
  std::uint32_t id = 0;           // 11 or 29 bits, without flags; for error frames the error class
  bool extended = false;          // 29-bit identifier
  bool fd = false;                // CAN FD frame
  bool remote = false;            // remote transmission request (no payload)
  bool error = false;             // error frame reported by the controller
  std::uint8_t len = 0;           // payload bytes (for remote frames: the requested length)
  std::array<std::uint8_t, 64> data{};
  std::uint16_t interface_index = 0;  // index into the source's interface table
  std::uint8_t fd_flags = 0;          // CAN FD flags nibble (0x1 BRS, 0x2 ESI)
};

// Frame id as a hash key that keeps 11-bit and 29-bit ids apart.
inline constexpr std::uint32_t FrameKey(std::uint32_t id, bool extended) {
  return extended ? (id | 0x80000000U) : id;
}

}  // namespace canvoy::agent
