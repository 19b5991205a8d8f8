#include "collect/policy.h"

#include <cmath>

namespace canvoy::agent {
namespace {
__extension__ typedef __int128 Int128;  // gcc/clang
}  // namespace

PolicyState::PolicyState(const telemetry::v1::CollectionPolicy& policy) {
  using P = telemetry::v1::CollectionPolicy;
  switch (policy.kind_case()) {
    case P::kMinInterval:
      kind_ = Kind::kMinInterval;
      interval_us_ = policy.min_interval().interval_us();
      break;
    case P::kOnChange:
      kind_ = Kind::kOnChange;
      deadband_ = policy.on_change().deadband();
      break;
    case P::kOnTrigger:
      kind_ = Kind::kOnTrigger;
      break;
    case P::kEverySample:
    case P::KIND_NOT_SET:
      kind_ = Kind::kEverySample;
      break;
  }
}

bool PolicyState::Offer(std::int64_t timestamp_us, const PhysicalValue& value) {
  bool take = false;
  switch (kind_) {
    case Kind::kEverySample: return true;
    case Kind::kOnTrigger: return false;
    case Kind::kMinInterval:
      take = !emitted_ || timestamp_us - last_time_us_ >= interval_us_;
      break;
    case Kind::kOnChange:
      take = !emitted_ || Changed(value);
      break;
  }
  if (take) {
    emitted_ = true;
    last_time_us_ = timestamp_us;
    last_value_ = value;
  }
  return take;
}

bool PolicyState::Changed(const PhysicalValue& value) const {
  if (value.index() != last_value_.index()) return true;
  if (const auto* d = std::get_if<double>(&value)) {
    const double last = std::get<double>(last_value_);
    if (std::isnan(*d) || std::isnan(last)) return std::isnan(*d) != std::isnan(last);
    if (std::isinf(*d) || std::isinf(last)) return *d != last;
    return std::fabs(*d - last) > deadband_;
  }
  // Integers: the exact difference, in 128 bits so that no pair of int64/uint64 overflows.
  Int128 a = 0, b = 0;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    a = *i;
    b = std::get<std::int64_t>(last_value_);
  } else {
    a = std::get<std::uint64_t>(value);
    b = std::get<std::uint64_t>(last_value_);
  }
  if (a == b) return false;
  const Int128 diff = a > b ? a - b : b - a;
  return static_cast<long double>(diff) > static_cast<long double>(deadband_);
}

}  // namespace canvoy::agent
