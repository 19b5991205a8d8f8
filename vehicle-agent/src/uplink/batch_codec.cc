#include "uplink/batch_codec.h"

#include <zstd.h>

namespace canvoy::agent {

BatchEncoder::BatchEncoder(BatchCompression options)
    : options_(options), context_(options.enabled ? ZSTD_createCCtx() : nullptr) {
  if (context_ != nullptr) {
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, options_.level);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 0);  // the spool and TLS check integrity
  }
}

BatchEncoder::~BatchEncoder() { ZSTD_freeCCtx(context_); }

std::string BatchEncoder::Encode(const telemetry::v1::Batch& batch) {
  uplink::v1::BatchFrame frame;
  batch.SerializeToString(&scratch_);
  frame.set_uncompressed_size(static_cast<std::uint32_t>(scratch_.size()));
  if (context_ != nullptr && scratch_.size() >= options_.min_bytes) {
    std::string* compressed = frame.mutable_batch();
    compressed->resize(ZSTD_compressBound(scratch_.size()));
    const std::size_t n =
        ZSTD_compress2(context_, compressed->data(), compressed->size(), scratch_.data(), scratch_.size());
    if (!ZSTD_isError(n) && n < scratch_.size()) {
      compressed->resize(n);
      frame.set_compression(uplink::v1::COMPRESSION_ZSTD);
      return frame.SerializeAsString();
    }
  }
  frame.set_compression(uplink::v1::COMPRESSION_NONE);
  frame.set_batch(scratch_);
  return frame.SerializeAsString();
}

Result<std::string> UnwrapBatchFrame(const std::string& bytes, std::size_t max_bytes) {
  uplink::v1::BatchFrame frame;
  if (!frame.ParseFromString(bytes)) return Error(Errc::kInvalidArgument, "batch frame: not a BatchFrame");
  if (frame.compression() == uplink::v1::COMPRESSION_NONE) return std::move(*frame.mutable_batch());
  if (frame.compression() != uplink::v1::COMPRESSION_ZSTD) {
    return Error(Errc::kInvalidArgument, "batch frame: unknown compression " + std::to_string(frame.compression()));
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.batch().data(), frame.batch().size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN ||
      declared != frame.uncompressed_size() || declared > max_bytes) {
    return Error(Errc::kInvalidArgument, "batch frame: zstd content size missing, over the limit or not as declared");
  }
  std::string plain(static_cast<std::size_t>(declared), '\0');
  const std::size_t n = ZSTD_decompress(plain.data(), plain.size(), frame.batch().data(), frame.batch().size());
  if (ZSTD_isError(n) || n != plain.size()) {
    return Error(Errc::kInvalidArgument,
                 std::string("batch frame: zstd: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short content"));
  }
  return plain;
}

Result<telemetry::v1::Batch> DecodeBatchFrame(const std::string& bytes, std::size_t max_bytes) {
  CANVOY_ASSIGN_OR_RETURN(const std::string serialized, UnwrapBatchFrame(bytes, max_bytes));
  telemetry::v1::Batch batch;
  if (!batch.ParseFromString(serialized)) return Error(Errc::kInvalidArgument, "batch frame: not a telemetry Batch");
  return batch;
}

}  // namespace canvoy::agent
