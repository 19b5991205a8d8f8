// An order-independent digest of telemetry samples: how tests and tools check "every sample
// arrived" by content without keeping the samples. Two sets of samples have the same digest
// when they hold the same samples, whatever the batching and order.
#pragma once

#include <cstdint>

#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy {

struct SampleDigest {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;  // wrapping sum of a 64-bit mix of (signal id, time, value bits)

  // Adds every sample of the batch (one per time delta).
  void Add(const telemetry::v1::Batch& batch);
  // Adds one sample; `value_bits` is the value's bit pattern (double bits, two's complement, 0/1).
  void AddSample(std::uint32_t signal_id, std::int64_t time_us, std::uint64_t value_bits);
  SampleDigest& operator+=(const SampleDigest& other) {
    count += other.count;
    sum += other.sum;
    return *this;
  }
  bool operator==(const SampleDigest&) const = default;
};

}  // namespace canvoy
