#include "dbc/dbc_number.h"

#include <charconv>
#include <cmath>

namespace canvoy::agent {
namespace dbc {
namespace {

constexpr int kMaxMantissaDigits = 18;  // 10^18 < 2^63

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::uint64_t> ParseUnsigned(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || !IsDigit(text[0])) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> ParseKey(std::string_view text) {
  if (!text.empty() && text[0] == '-') {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
  }
  const auto value = ParseUnsigned(text);
  if (!value) return std::nullopt;
  return static_cast<std::int64_t>(*value);
}

std::optional<DbcNumber> ParseNumber(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  DbcNumber number;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number.value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(number.value)) {
    return std::nullopt;
  }
  // The same text once more, exactly: mantissa digits and a decimal exponent.
  std::size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  std::int64_t mantissa = 0;
  int digits = 0;
  std::int64_t exponent = 0;
  bool exact = true;
  bool in_fraction = false;
  for (; i < text.size() && (IsDigit(text[i]) || text[i] == '.'); ++i) {
    if (text[i] == '.') {
      in_fraction = true;
      continue;
    }
    if (mantissa == 0 && text[i] == '0') {
      if (in_fraction) --exponent;
      continue;
    }
    if (digits == kMaxMantissaDigits) {
      if (text[i] != '0') exact = false;
      if (!in_fraction) ++exponent;
      continue;
    }
    mantissa = mantissa * 10 + (text[i] - '0');
    ++digits;
    if (in_fraction) --exponent;
  }
  if (i < text.size()) {  // exponent part, already validated by from_chars
    std::string_view e = text.substr(i + 1);
    if (!e.empty() && e[0] == '+') e.remove_prefix(1);
    int value = 0;
    const auto [e_end, e_ec] = std::from_chars(e.data(), e.data() + e.size(), value);
    if (e_ec != std::errc() || e_end != e.data() + e.size()) return std::nullopt;
    exponent += value;
  }
  if (mantissa == 0) exponent = 0;
  while (mantissa != 0 && mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  if (exponent < -300 || exponent > 300) exact = false;
  number.mantissa = negative ? -mantissa : mantissa;
  number.exponent = static_cast<std::int32_t>(exponent);
  number.exact = exact;
  return number;
}

}  // namespace dbc

bool DbcNumber::IsInteger() const {
  constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  if (std::fabs(value) > kMaxExactInteger || std::floor(value) != value) return false;
  return !exact || exponent >= 0 || mantissa == 0;
}

}  // namespace canvoy::agent
