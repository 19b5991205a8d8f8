// How a sealed batch travels: a serialized uplink BatchFrame holding the serialized telemetry
// Batch, zstd-compressed when that makes it smaller. The spool stores these bytes as they are,
// so a batch is compressed once, at seal time, and the spool holds the small form.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "canvoy/common/error.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "canvoy/uplink/v1/uplink.pb.h"

struct ZSTD_CCtx_s;

namespace canvoy::agent {

struct BatchCompression {
  bool enabled = true;
  // zstd's own default level: cellular bytes cost more than the agent's CPU at batch sizes of a
  // few kilobytes (canvoy_agent_load_bench reports both).
  int level = 3;
  // Batches smaller than this go uncompressed: zstd's frame overhead would eat the gain.
  std::size_t min_bytes = 128;
};

// Encodes batches; keeps one compression context so encoding allocates no context per batch.
// Not thread-safe: one per collecting thread.
class BatchEncoder {
 public:
  explicit BatchEncoder(BatchCompression options = {});
  ~BatchEncoder();
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // Returns the serialized BatchFrame. The batch is stored uncompressed when compression is off,
  // when it is under min_bytes, or when compressing would not make it smaller.
  std::string Encode(const telemetry::v1::Batch& batch);

 private:
  BatchCompression options_;
  ZSTD_CCtx_s* context_ = nullptr;
  std::string scratch_;
};

// The inverse, for tests and tools: the serialized Batch inside a serialized BatchFrame, byte for
// byte as it was sealed. Refuses anything that would decompress to more than `max_bytes` or to
// another size than the frame declares.
Result<std::string> UnwrapBatchFrame(const std::string& frame, std::size_t max_bytes);
// The same, parsed.
Result<telemetry::v1::Batch> DecodeBatchFrame(const std::string& frame, std::size_t max_bytes);

}  // namespace canvoy::agent
