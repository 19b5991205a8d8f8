// "${name}" parameters of query documents (the CLI's --param name=value).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "canvoy/fleet_store/query.h"
#include "query/json.h"

namespace canvoy::fleet_store {
namespace {

namespace json = boost::json;

// The value of a string that is exactly one parameter: a number when the text is one.
json::value Typed(const std::string& text) {
  std::int64_t i = 0;
  auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (!text.empty() && iec == std::errc() && iend == text.data() + text.size()) return i;
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (!text.empty() && dec == std::errc() && dend == text.data() + text.size()) return d;
  return json::string(text);
}

Status Substitute(json::value& v, const std::map<std::string, std::string>& params) {
  if (v.is_array()) {
    for (auto& e : v.get_array()) CANVOY_RETURN_IF_ERROR(Substitute(e, params));
    return OkStatus();
  }
  if (v.is_object()) {
    for (auto& [key, e] : v.get_object()) {
      (void)key;
      CANVOY_RETURN_IF_ERROR(Substitute(e, params));
    }
    return OkStatus();
  }
  if (!v.is_string()) return OkStatus();
  const std::string text(v.get_string());
  std::string out;
  bool whole = false;
  std::string whole_value;
  for (std::size_t i = 0; i < text.size();) {
    const auto open = text.find("${", i);
    if (open == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    const auto close = text.find('}', open);
    if (close == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    const std::string name = text.substr(open + 2, close - open - 2);
    auto it = params.find(name);
    if (it == params.end()) {
      return Error(Errc::kInvalidArgument,
                   "parameter '" + name + "' has no value (give --param " + name + "=VALUE)");
    }
    out.append(text, i, open - i);
    out += it->second;
    whole = open == 0 && close + 1 == text.size();
    whole_value = it->second;
    i = close + 1;
  }
  v = whole ? Typed(whole_value) : json::value(json::string(out));
  return OkStatus();
}

}  // namespace

Result<std::string> SubstituteParams(std::string_view document,
                                     const std::map<std::string, std::string>& params) {
  boost::system::error_code ec;
  auto value = query::ParseJson(document, ec);
  if (ec) return Error(Errc::kInvalidArgument, "query: " + ec.message());
  CANVOY_RETURN_IF_ERROR(Substitute(value, params));
  return json::serialize(value);
}

}  // namespace canvoy::fleet_store
