// Checks of a vehicle's batch before it goes to Kafka.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
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
  std::string reason;   // metric label: "vin", "stream", "seq", "catalog", "shape", "time", "size"
  std::string message;  // names the series and sample where it applies
};

// What a batch is checked against: the connection's certificate VIN, and its hello.
struct Connection {
  const Vin& vin;
  const std::string& stream_id;
  const std::string& catalog_hash;
};

// Returns the number of samples, or why the batch is invalid. A batch must name the
// certificate's VIN (an empty vin is refused too); the message quotes what it claimed, escaped.
Result<std::size_t> ValidateBatch(const telemetry::v1::Batch& batch, const Connection& connection,
                                  const BatchLimits& limits, Rejection* rejection);

// `text` for a log line or an error message: at most `max_chars` characters of it, each byte
// outside printable ASCII (and quotes, backslashes) as \xNN, "..." when cut.
std::string Printable(std::string_view text, std::size_t max_chars = 40);

}  // namespace canvoy::ingest
