// Paced replay of recorded frames: as fast as possible, or at the pace they were recorded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "canvoy/agent/frame_source.h"

namespace canvoy::agent {

// Time for paced replay. An interface so tests can drive ReplaySource with a fake clock and
// never sleep.
class ReplayClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~ReplayClock() = default;
  virtual TimePoint Now() = 0;
  // Returns at or after `deadline` (by Now()).
  virtual void SleepUntil(TimePoint deadline) = 0;
};

// steady_clock and std::this_thread::sleep_until. Stateless; safe from any thread.
ReplayClock& SteadyReplayClock();

struct ReplayOptions {
  // 0: as fast as possible (no pacing). Otherwise frames are released at
  // start + (t - t_first) / speed: 1 is real time, 2 twice as fast, 0.5 half speed.
  double speed = 0;
  // How a reader that drains its socket on each wake-up behaves: when a frame is not due yet,
  // sleep until it is due plus this long, so that the frames due meanwhile come without a sleep
  // each. Frames are then released up to this late; 0 releases each frame at its own time.
  std::chrono::microseconds wake_interval{0};
};

// Wraps another FrameSource (e.g. a CandumpLogReader) and releases its frames at their recorded
// pace. Frames are returned unchanged (timestamps stay log time). A frame whose timestamp is
// earlier than an already released one is released at once. Owns the inner source; borrows the
// clock, which must outlive it. Not thread-safe, like every FrameSource.
class ReplaySource : public FrameSource {
 public:
  // Fails when speed is negative or not finite.
  [[nodiscard]] static Result<ReplaySource> Create(std::unique_ptr<FrameSource> inner,
                                                   ReplayOptions options,
                                                   ReplayClock* clock = &SteadyReplayClock());

  [[nodiscard]] Result<bool> Next(CanFrame* frame) override;

  FrameSource& inner() { return *inner_; }

 private:
  ReplaySource(std::unique_ptr<FrameSource> inner, ReplayOptions options, ReplayClock* clock);

  std::unique_ptr<FrameSource> inner_;
  ReplayOptions options_;
  ReplayClock* clock_;
  bool started_ = false;
  std::int64_t first_timestamp_us_ = 0;
  ReplayClock::TimePoint start_;
};

}  // namespace canvoy::agent
