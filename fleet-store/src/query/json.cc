#include "query/json.h"

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

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

namespace {

// Builds the value as Boost.JSON's own parser does, on a value_stack, but converts each double
// from its text with std::from_chars, which rounds correctly.
class ExactHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  using ec_t = boost::system::error_code;
  using sv = boost::json::string_view;

  bool on_document_begin(ec_t&) {
    stack_.reset();
    return true;
  }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t n, ec_t&) {
    stack_.push_array(n);
    return true;
  }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) {
    stack_.push_object(n);
    return true;
  }
  bool on_string_part(sv s, std::size_t, ec_t&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(sv s, std::size_t, ec_t&) {
    stack_.push_string(s);
    return true;
  }
  bool on_key_part(sv s, std::size_t, ec_t&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(sv s, std::size_t, ec_t&) {
    stack_.push_key(s);
    return true;
  }
  bool on_number_part(sv s, ec_t&) {
    digits_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, sv, ec_t&) {
    digits_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, sv, ec_t&) {
    digits_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, sv s, ec_t&) {
    digits_.append(s.data(), s.size());
    double exact = 0;
    const char* end = digits_.data() + digits_.size();
    // Beyond the doubles' range from_chars refuses, and Boost.JSON's value stands.
    if (auto [at, e] = std::from_chars(digits_.data(), end, exact); e == std::errc() && at == end)
      d = exact;
    digits_.clear();
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, ec_t&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(ec_t&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }

  boost::json::value release() { return stack_.release(); }

 private:
  boost::json::value_stack stack_;
  std::string digits_;  // the text of the number being read
};

}  // namespace

boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec,
                             std::size_t* used) {
  boost::json::basic_parser<ExactHandler> parser{boost::json::parse_options{}};
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = boost::json::error::extra_data;
  if (used != nullptr) *used = n;
  if (ec) return nullptr;
  return parser.handler().release();
}

}  // namespace canvoy::fleet_store::query
