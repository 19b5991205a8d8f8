// Value types shared by the fleet store's write path, its queries and its clients.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "canvoy/common/ids.h"

namespace canvoy::fleet_store {

// One sample's value, exactly as the vehicle sent it: integers never pass through a double.
// The alternative's index is the signal's type (see TypeName).
using SignalValue = std::variant<bool, std::int64_t, std::uint64_t, double, std::string>;

// "bool", "int64", "uint64", "double" or "string".
std::string_view TypeName(const SignalValue& value);

struct Sample {
  std::int64_t timestamp_us = 0;  // microseconds since the Unix epoch
  SignalValue value;
  auto operator<=>(const Sample&) const = default;
};

// The newest sample of one signal of one vehicle, with what the catalog said about the signal.
struct LatestValue {
  std::string name;  // e.g. "Vehicle.Speed"
  std::string unit;
  Sample sample;
};

struct VehicleSummary {
  Vin vin;
  std::uint64_t sample_count = 0;  // samples stored, duplicates excluded
  std::uint64_t batch_count = 0;   // batches applied, duplicates excluded
  std::int64_t last_seen_us = 0;   // newest ingest receive time of an applied batch
};

// Vehicle attributes: model, region, fleet, software versions, tags, ... as imported or set.
// Values are strings; queries compare them as numbers where both sides parse as numbers.
using Attributes = std::map<std::string, std::string, std::less<>>;

struct VehicleInfo {
  VehicleSummary summary;  // counts are 0 for a vehicle known only by its attributes
  Attributes attributes;
};

// Statistics of the numeric samples (bool as 0/1; strings and NaN are not counted) of one
// signal in one time bucket. `first` is the value at the smallest timestamp (the smallest value
// on a tie), `last` the value at the largest timestamp (the largest value on a tie), so that a
// rollup does not depend on the order in which its samples arrived.
struct Rollup {
  std::uint64_t count = 0;
  double min = 0;
  double max = 0;
  double sum = 0;
  std::int64_t first_us = 0;
  double first = 0;
  std::int64_t last_us = 0;
  double last = 0;
  bool operator==(const Rollup&) const = default;
};

enum class RollupWidth { kMinute, kHour };

struct VehicleLatest {
  VehicleSummary vehicle;
  std::vector<LatestValue> signals;  // ordered by name
};

// One record as the consumer read it from Kafka. `key` and `value` are the raw bytes.
struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
};

// A record that could never be applied (malformed, or contradicting its catalog). It is kept in
// the store's `rejected` column family instead of being dropped.
struct RejectedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string reason;
};

}  // namespace canvoy::fleet_store
