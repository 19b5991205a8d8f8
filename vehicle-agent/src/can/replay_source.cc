#include "canvoy/agent/replay_source.h"

#include <cmath>
#include <string>
#include <thread>
#include <utility>

namespace canvoy::agent {
namespace {

class SteadyClock final : public ReplayClock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepUntil(TimePoint deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

ReplayClock& SteadyReplayClock() {
  static SteadyClock clock;
  return clock;
}

Result<ReplaySource> ReplaySource::Create(std::unique_ptr<FrameSource> inner,
                                          ReplayOptions options, ReplayClock* clock) {
  if (!std::isfinite(options.speed) || options.speed < 0) {
    return Error(Errc::kInvalidArgument,
                 "replay speed must be 0 (as fast as possible) or positive, got " +
                     std::to_string(options.speed));
  }
  if (inner == nullptr || clock == nullptr) {
    return Error(Errc::kInvalidArgument, "replay needs a source and a clock");
  }
  return ReplaySource(std::move(inner), options, clock);
}

ReplaySource::ReplaySource(std::unique_ptr<FrameSource> inner, ReplayOptions options,
                           ReplayClock* clock)
    : inner_(std::move(inner)), options_(options), clock_(clock) {}

Result<bool> ReplaySource::Next(CanFrame* frame) {
  CANVOY_ASSIGN_OR_RETURN(const bool more, inner_->Next(frame));
  if (!more || options_.speed == 0) return more;
  if (!started_) {
    started_ = true;
    first_timestamp_us_ = frame->timestamp_us;
    start_ = clock_->Now();
    return true;
  }
  const double offset_us =
      static_cast<double>(frame->timestamp_us - first_timestamp_us_) / options_.speed;
  if (offset_us <= 0) return true;
  const auto release =
      start_ + std::chrono::duration_cast<ReplayClock::TimePoint::duration>(
                   std::chrono::duration<double, std::micro>(offset_us));
  if (clock_->Now() < release) clock_->SleepUntil(release + options_.wake_interval);
  return true;
}

}  // namespace canvoy::agent
