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

}  // namespace canvoy::fleet_store::storage
