// Uplink framing: a 4-byte big-endian length, then one protobuf message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/message_lite.h>

#include "canvoy/common/error.h"

namespace canvoy {

inline constexpr std::size_t kFrameHeaderSize = 4;
// Default upper bound for one frame's payload; both sides make it configurable.
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 4u << 20;

// Appends the header and the serialized message to *out.
void AppendFrame(const google::protobuf::MessageLite& message, std::string* out);

// Decodes a header; errors when the payload would exceed max_bytes or is empty.
Result<std::uint32_t> DecodeFrameHeader(const std::uint8_t header[kFrameHeaderSize],
                                        std::uint32_t max_bytes);

}  // namespace canvoy
