#include "canvoy/common/ids.h"

#include <openssl/rand.h>

#include <cstring>

namespace canvoy {

Result<Vin> Vin::Parse(std::string_view text) {
  if (text.size() != kLength) {
    return Error(Errc::kInvalidArgument, "VIN '" + std::string(text) + "': length " +
                                             std::to_string(text.size()) + ", expected 17");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    const bool letter = c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q';
    if (!digit && !letter) {
      return Error(Errc::kInvalidArgument, "VIN '" + std::string(text) + "': character " +
                                               std::to_string(i + 1) +
                                               " is not one of 0-9, A-Z less I, O, Q");
    }
  }
  return Vin(std::string(text));
}

StreamId StreamId::Random() {
  StreamId id;
  if (RAND_bytes(id.bytes_.data(), static_cast<int>(id.bytes_.size())) != 1) {
    // OpenSSL's CSPRNG failing means the process cannot create identities at all.
    std::abort();
  }
  return id;
}

Result<StreamId> StreamId::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return Error(Errc::kInvalidArgument,
                 "stream id: " + std::to_string(bytes.size()) + " bytes, expected 16");
  }
  StreamId id;
  std::memcpy(id.bytes_.data(), bytes.data(), kSize);
  return id;
}

std::string StreamId::Hex() const { return ToHex(bytes()); }

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

}  // namespace canvoy
