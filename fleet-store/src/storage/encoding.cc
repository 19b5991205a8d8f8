#include "storage/encoding.h"

namespace canvoy::fleet_store::storage {

namespace {
constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
}

void AppendBe32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void AppendBe64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void AppendOrderedInt64(std::string& out, std::int64_t v) {
  AppendBe64(out, static_cast<std::uint64_t>(v) ^ kSignBit);
}

void AppendVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void AppendLengthPrefixed(std::string& out, std::string_view bytes) {
  AppendVarint(out, bytes.size());
  out.append(bytes);
}

std::optional<std::string_view> Reader::Bytes(std::size_t n) {
  if (in_.size() < n) return std::nullopt;
  auto head = in_.substr(0, n);
  in_.remove_prefix(n);
  return head;
}

std::optional<std::uint8_t> Reader::Byte() {
  auto b = Bytes(1);
  if (!b) return std::nullopt;
  return static_cast<std::uint8_t>((*b)[0]);
}

std::optional<std::uint32_t> Reader::Be32() {
  auto b = Bytes(4);
  if (!b) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : *b) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

std::optional<std::uint64_t> Reader::Be64() {
  auto b = Bytes(8);
  if (!b) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : *b) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

std::optional<std::int64_t> Reader::OrderedInt64() {
  auto v = Be64();
  if (!v) return std::nullopt;
  return static_cast<std::int64_t>(*v ^ kSignBit);
}

std::optional<std::uint64_t> Reader::Varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    auto b = Byte();
    if (!b) return std::nullopt;
    v |= static_cast<std::uint64_t>(*b & 0x7F) << shift;
    if ((*b & 0x80) == 0) return v;
  }
  return std::nullopt;
}

std::optional<std::string_view> Reader::LengthPrefixed() {
  auto n = Varint();
  if (!n) return std::nullopt;
  return Bytes(static_cast<std::size_t>(*n));
}

}  // namespace canvoy::fleet_store::storage
