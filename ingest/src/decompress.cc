#include "decompress.h"

#include <memory>

#include <zstd.h>

namespace canvoy::ingest {
namespace {

Error Refuse(const std::string& message) { return Error(Errc::kRejected, "batch frame: " + message); }

// One decompression context per thread, reused: creating one allocates its tables each time.
ZSTD_DCtx* ThreadContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(),
                                                                             &ZSTD_freeDCtx);
  return context.get();
}

Result<std::string_view> Decompress(const uplink::v1::BatchFrame& frame, std::uint32_t max_bytes,
                                    std::string* storage) {
  const std::string& in = frame.batch();
  const std::uint32_t declared = frame.uncompressed_size();
  if (declared == 0) return Refuse("zstd batch without uncompressed_size");
  if (declared > max_bytes) {
    return Refuse("uncompressed_size " + std::to_string(declared) + " exceeds the limit of " +
                  std::to_string(max_bytes) + " bytes");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Refuse("batch is not a zstd frame");
  if (content == ZSTD_CONTENTSIZE_UNKNOWN) return Refuse("zstd frame does not state its content size");
  if (content != declared) {
    return Refuse("zstd frame's content size " + std::to_string(content) + " differs from uncompressed_size " +
                  std::to_string(declared));
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame_size)) return Refuse(std::string("zstd frame: ") + ZSTD_getErrorName(frame_size));
  if (frame_size != in.size()) {
    return Refuse(std::to_string(in.size() - frame_size) + " bytes follow the zstd frame");
  }
  ZSTD_DCtx* context = ThreadContext();
  if (context == nullptr) return Error(Errc::kInternal, "zstd: cannot create a decompression context");
  // Decompressing into exactly `declared` bytes: a frame that would produce more fails here.
  storage->resize(declared);
  const std::size_t produced = ZSTD_decompressDCtx(context, storage->data(), storage->size(), in.data(), in.size());
  if (ZSTD_isError(produced)) {
    storage->clear();
    return Refuse(std::string("zstd: ") + ZSTD_getErrorName(produced));
  }
  if (produced != declared) {
    storage->clear();
    return Refuse("zstd frame decompressed to " + std::to_string(produced) + " bytes, not the declared " +
                  std::to_string(declared));
  }
  return std::string_view(*storage);
}

}  // namespace

Result<std::string_view> BatchBytes(const uplink::v1::BatchFrame& frame, std::uint32_t max_bytes,
                                    std::string* storage) {
  switch (frame.compression()) {
    case uplink::v1::COMPRESSION_NONE:
      if (frame.uncompressed_size() != 0 && frame.uncompressed_size() != frame.batch().size()) {
        return Refuse("uncompressed batch of " + std::to_string(frame.batch().size()) +
                      " bytes, but uncompressed_size says " + std::to_string(frame.uncompressed_size()));
      }
      return std::string_view(frame.batch());
    case uplink::v1::COMPRESSION_ZSTD:
      return Decompress(frame, max_bytes, storage);
    default:
      return Refuse("unknown compression " + std::to_string(static_cast<int>(frame.compression())));
  }
}

}  // namespace canvoy::ingest
