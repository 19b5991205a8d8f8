// The JSON shapes of the query API (Boost.JSON keeps int64 and uint64 exact).
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>

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

// The JSON value of `text`, as boost::json::parse reads it, except that every double is the
// correctly rounded value of its digits: Boost.JSON before 1.83 may be one ulp off, which would
// move a threshold in a query or a number the CLI prints. `used`, when set, receives the bytes
// read (up to the error, if there is one).
boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec,
                             std::size_t* used = nullptr);

}  // namespace canvoy::fleet_store::query
