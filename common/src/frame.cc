#include "canvoy/common/frame.h"

namespace canvoy {

void AppendFrame(const google::protobuf::MessageLite& message, std::string* out) {
  const std::size_t size = message.ByteSizeLong();
  const std::size_t start = out->size();
  out->resize(start + kFrameHeaderSize + size);
  auto* p = reinterpret_cast<std::uint8_t*>(out->data() + start);
  p[0] = static_cast<std::uint8_t>(size >> 24);
  p[1] = static_cast<std::uint8_t>(size >> 16);
  p[2] = static_cast<std::uint8_t>(size >> 8);
  p[3] = static_cast<std::uint8_t>(size);
  message.SerializeWithCachedSizesToArray(p + kFrameHeaderSize);
}

Result<std::uint32_t> DecodeFrameHeader(const std::uint8_t header[kFrameHeaderSize],
                                        std::uint32_t max_bytes) {
  const std::uint32_t size = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                             (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (size == 0) return Error(Errc::kParse, "frame header: empty frame");
  if (size > max_bytes) {
    return Error(Errc::kParse, "frame header: length " + std::to_string(size) +
                                   " exceeds the limit of " + std::to_string(max_bytes));
  }
  return size;
}

}  // namespace canvoy
