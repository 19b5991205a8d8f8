// The JSON shapes of the query API (Boost.JSON keeps int64 and uint64 exact).
#pragma once

#include <boost/json/value.hpp>

#include "canvoy/fleet_store/types.h"

namespace canvoy::fleet_store::query {

// int64 and uint64 as JSON integers, doubles as numbers, except NaN and the infinities, which JSON
// cannot express: those become the strings "NaN", "Infinity" and "-Infinity" (as in protobuf's
// JSON mapping).
boost::json::value ToJson(const SignalValue& value);

// {"vin", "sample_count", "batch_count", "last_seen_us"}
boost::json::object ToJson(const VehicleSummary& vehicle);

// ToJson(vehicle) plus "signals": [{"name", "type", "unit", "timestamp_us", "value"}]
boost::json::object ToJson(const VehicleLatest& latest);

}  // namespace canvoy::fleet_store::query
