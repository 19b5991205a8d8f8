// JSON with exact numbers, for tests that compare doubles bit for bit. Boost.JSON before 1.83
// parses doubles imprecisely (the result may be 1 ulp off the text's correctly rounded value), so
// this parses every number as the string of its text, and ExactNumber() converts it with
// std::from_chars, which rounds correctly.
#pragma once

#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace canvoy::testing {

// `text` parsed with every number outside strings turned into a JSON string of its text;
// a null value when the text is not JSON.
inline boost::json::value ParseJsonNumbersAsText(std::string_view text) {
  std::string quoted;
  quoted.reserve(text.size() + text.size() / 4);
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      quoted += c;
      if (c == '\\' && i + 1 < text.size()) {
        quoted += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      quoted += c;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i + 1;
      while (end < text.size() &&
             std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos)
        ++end;
      quoted += '"';
      quoted.append(text.substr(i, end - i));
      quoted += '"';
      i = end - 1;
    } else {
      quoted += c;
    }
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(quoted, ec);
  return ec ? boost::json::value() : value;
}

// The number a value of ParseJsonNumbersAsText holds, correctly rounded; nullopt when it is not
// a number's text.
inline std::optional<double> ExactNumber(const boost::json::value& value) {
  if (!value.is_string()) return std::nullopt;
  const boost::json::string& s = value.get_string();
  double out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return out;
}

}  // namespace canvoy::testing
