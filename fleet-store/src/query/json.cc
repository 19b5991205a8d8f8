#include "query/json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cmath>

namespace canvoy::fleet_store::query {

boost::json::value ToJson(const SignalValue& value) {
  return std::visit(
      [](const auto& v) -> boost::json::value {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          if (std::isnan(v)) return "NaN";
          if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
          return v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return boost::json::string(v);
        } else {
          return v;
        }
      },
      value);
}

boost::json::object ToJson(const VehicleSummary& vehicle) {
  return boost::json::object{{"vin", vehicle.vin.str()},
                             {"sample_count", vehicle.sample_count},
                             {"batch_count", vehicle.batch_count},
                             {"last_seen_us", vehicle.last_seen_us}};
}

boost::json::object ToJson(const VehicleLatest& latest) {
  auto out = ToJson(latest.vehicle);
  boost::json::array signals;
  signals.reserve(latest.signals.size());
  for (const auto& signal : latest.signals) {
    signals.push_back(boost::json::object{{"name", signal.name},
                                          {"type", TypeName(signal.sample.value)},
                                          {"unit", signal.unit},
                                          {"timestamp_us", signal.sample.timestamp_us},
                                          {"value", ToJson(signal.sample.value)}});
  }
  out["signals"] = std::move(signals);
  return out;
}

}  // namespace canvoy::fleet_store::query
