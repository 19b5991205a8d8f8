// Typed identifiers. A Vin is always valid once constructed (use Vin::Parse).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"

namespace canvoy {

// A vehicle identification number: 17 characters of ISO 3779's alphabet (digits and upper-case
// letters other than I, O and Q).
class Vin {
 public:
  static constexpr std::size_t kLength = 17;
  // The error names the offending position, e.g. "VIN 'ABC': character 3 ...".
  static Result<Vin> Parse(std::string_view text);

  const std::string& str() const { return value_; }
  auto operator<=>(const Vin&) const = default;

 private:
  explicit Vin(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// The identity of an agent's batch stream: 16 random bytes created once with its spool.
class StreamId {
 public:
  static constexpr std::size_t kSize = 16;
  static StreamId Random();
  static Result<StreamId> FromBytes(std::string_view bytes);

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  std::string Hex() const;
  auto operator<=>(const StreamId&) const = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

using SignalId = std::uint32_t;

// Lower-case hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace canvoy
