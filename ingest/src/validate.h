// Checks of a vehicle's batch before it goes to Kafka.
#pragma once

#include <cstdint>
#include <string>

#include "canvoy/common/error.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::ingest {

struct BatchLimits {
  std::int64_t now_us = 0;
  std::int64_t max_age_us = 0;
  std::int64_t max_skew_us = 0;
  std::size_t max_samples = 0;
};

// Why a batch was rejected: a short label for metrics and a message for the agent.
struct Rejection {
  std::string reason;   // metric label: "stream", "seq", "catalog", "shape", "time", "size"
  std::string message;  // names the series and sample where it applies
};

// Returns the number of samples, or why the batch is invalid. `stream_id` and `catalog_hash`
// are the connection's, from its hello.
Result<std::size_t> ValidateBatch(const telemetry::v1::Batch& batch, const std::string& stream_id,
                                  const std::string& catalog_hash, const BatchLimits& limits,
                                  Rejection* rejection);

}  // namespace canvoy::ingest
