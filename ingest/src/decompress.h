// The serialized Batch inside a BatchFrame, decompressed when the frame says so (zstd).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"
#include "canvoy/uplink/v1/uplink.pb.h"

namespace canvoy::ingest {

// The frame's serialized Batch: a view of frame.batch() when uncompressed, else of *storage,
// into which it was decompressed. Refuses (Errc::kRejected, the message says why) a batch that
// would exceed `max_bytes` uncompressed, whose size differs from frame.uncompressed_size (when
// that is set, and always for zstd), a zstd frame that does not state its content size or is
// followed by more bytes, and an unknown compression. Never allocates more than `max_bytes`
// for the output, whatever the input claims. The view lives as long as `frame` and `storage`.
Result<std::string_view> BatchBytes(const uplink::v1::BatchFrame& frame, std::uint32_t max_bytes,
                                    std::string* storage);

}  // namespace canvoy::ingest
