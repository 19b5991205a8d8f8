// Byte encodings for keys and values: big-endian integers (byte order is numeric order), an
// order-preserving int64, and varint length prefixes.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace canvoy::fleet_store::storage {

void AppendBe32(std::string& out, std::uint32_t v);
void AppendBe64(std::string& out, std::uint64_t v);
// Big-endian with the sign bit flipped: byte order equals numeric order, negatives first.
void AppendOrderedInt64(std::string& out, std::int64_t v);
void AppendVarint(std::string& out, std::uint64_t v);
void AppendLengthPrefixed(std::string& out, std::string_view bytes);

// Reads from the front of `in` and advances it; nullopt when `in` is too short or malformed.
// Inline: value decoders (rollup slots, dedup ranges) call these in their inner loops.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::optional<std::uint8_t> Byte() {
    if (in_.empty()) return std::nullopt;
    const auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  std::optional<std::uint32_t> Be32() {
    if (in_.size() < 4) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return v;
  }
  // Steps over n bytes; false (moving nothing) when fewer are left.
  bool Skip(std::size_t n) {
    if (in_.size() < n) return false;
    in_.remove_prefix(n);
    return true;
  }
  std::optional<std::uint64_t> Be64() {
    if (in_.size() < 8) return std::nullopt;
    std::uint64_t v = 0;
    std::memcpy(&v, in_.data(), 8);  // one load, not eight
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    in_.remove_prefix(8);
    return v;
  }
  std::optional<std::int64_t> OrderedInt64() {
    auto v = Be64();
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(*v ^ (std::uint64_t{1} << 63));
  }
  std::optional<std::uint64_t> Varint() {
    std::uint64_t v = 0;
    const std::size_t n = in_.size() < 10 ? in_.size() : 10;
    for (std::size_t i = 0; i < n; ++i) {
      const auto b = static_cast<std::uint8_t>(in_[i]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        in_.remove_prefix(i + 1);
        return v;
      }
    }
    return std::nullopt;
  }
  std::optional<std::string_view> LengthPrefixed() {
    auto n = Varint();
    if (!n) return std::nullopt;
    return Bytes(static_cast<std::size_t>(*n));
  }
  std::optional<std::string_view> Bytes(std::size_t n) {
    if (in_.size() < n) return std::nullopt;
    auto head = in_.substr(0, n);
    in_.remove_prefix(n);
    return head;
  }
  std::string_view rest() const { return in_; }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace canvoy::fleet_store::storage
