// Per-signal collection policies that decide sample by sample: every sample, at most one per
// interval, on change beyond a deadband. Pre-sized; Offer never allocates.
#pragma once

#include <cstdint>

#include "canvoy/agent/decoder.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {

// The state of one signal's policy. Time is the sample timestamp (log time when replaying).
class PolicyState {
 public:
  enum class Kind : std::uint8_t { kEverySample, kMinInterval, kOnChange, kOnTrigger };

  PolicyState() = default;
  explicit PolicyState(const telemetry::v1::CollectionPolicy& policy);

  Kind kind() const { return kind_; }

  // True when the sample is to be collected; it then becomes the last emitted sample.
  // - every sample: always;
  // - min interval: the first sample, then one whose time is at least interval_us after the last
  //   emitted one (earlier timestamps, from reordered frames, are dropped);
  // - on change: the first sample, then one that differs from the last emitted value by more than
  //   the deadband (integers compared exactly; a double that turns NaN or back counts as a change);
  // - on trigger: never here (the Collector's capture windows decide).
  bool Offer(std::int64_t timestamp_us, const PhysicalValue& value);

 private:
  bool Changed(const PhysicalValue& value) const;

  Kind kind_ = Kind::kEverySample;
  std::int64_t interval_us_ = 0;
  double deadband_ = 0;
  bool emitted_ = false;
  std::int64_t last_time_us_ = 0;
  PhysicalValue last_value_;
};

}  // namespace canvoy::agent
