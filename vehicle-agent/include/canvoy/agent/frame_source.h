// Where frames come from: a log file now, SocketCAN later.
#pragma once

#include "canvoy/agent/can_frame.h"
#include "canvoy/common/error.h"

namespace canvoy::agent {

// A stream of CAN frames. Not thread-safe: one thread pulls frames from a source.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Fills *frame with the next frame and returns true; returns false at the end of the stream.
  // An error means the source itself failed (I/O); bad input lines are skipped, not errors.
  [[nodiscard]] virtual Result<bool> Next(CanFrame* frame) = 0;
};

}  // namespace canvoy::agent
