// Byte encodings for keys and values: big-endian integers (byte order is numeric order), an
// order-preserving int64, and varint length prefixes.
#pragma once

#include <cstdint>
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
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::optional<std::uint8_t> Byte();
  std::optional<std::uint32_t> Be32();
  std::optional<std::uint64_t> Be64();
  std::optional<std::int64_t> OrderedInt64();
  std::optional<std::uint64_t> Varint();
  std::optional<std::string_view> LengthPrefixed();
  std::optional<std::string_view> Bytes(std::size_t n);
  std::string_view rest() const { return in_; }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace canvoy::fleet_store::storage
