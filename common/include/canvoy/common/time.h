#pragma once

#include <chrono>
#include <cstdint>

namespace canvoy {

// Microseconds since the Unix epoch: the unit of every timestamp in Canvoy.
inline std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace canvoy
