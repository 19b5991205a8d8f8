// Realistic batches for the ingest benchmarks: the RAV4 powertrain log decoded with its DBC and
// batched as the agent batches them (a batch closes at 5,000 samples or when its first sample is
// 1 s old), kept as templates. Each use stamps a template with one vehicle's identity (VIN,
// stream id, seq) and moves its timestamps to end at the current time, so that ingest's time
// window accepts it whenever the benchmark runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {
class BatchEncoder;
}

namespace canvoy::bench {

struct BatchTemplate {
  telemetry::v1::Batch batch;  // series only; identity fields unset
  std::int64_t span_us = 0;    // newest sample time - base_time_us
  std::size_t samples = 0;
};

// Immutable once loaded: any number of threads may read it.
class BatchTemplates {
 public:
  // Decodes `log_file` with `dbc_file` (every signal, every sample, as the agent's default catalog).
  [[nodiscard]] static Result<BatchTemplates> Load(const std::string& dbc_file, const std::string& log_file);

  const telemetry::v1::Catalog& catalog() const { return catalog_; }
  const std::string& catalog_hash() const { return catalog_hash_; }  // 32 raw bytes
  std::size_t size() const { return templates_.size(); }
  const BatchTemplate& at(std::size_t i) const { return templates_[i % templates_.size()]; }
  double mean_samples() const;

 private:
  telemetry::v1::Catalog catalog_;
  std::string catalog_hash_;
  std::vector<BatchTemplate> templates_;
};

// Who sends a batch, and which one it is.
struct BatchIdentity {
  std::string_view vin;
  std::string_view stream_id;  // 16 bytes
  std::uint64_t seq = 0;
  std::int64_t now_us = 0;  // the batch's newest sample gets this time
};

// Stamps templates with identities and encodes them. Keeps its own mutable copies of the
// templates, so stamping copies nothing. Not thread-safe: one per thread.
class BatchStamper {
 public:
  // `zstd`: frames are compressed as the agent compresses them (BatchEncoder, level 3).
  BatchStamper(const BatchTemplates& templates, bool zstd);
  ~BatchStamper();
  BatchStamper(const BatchStamper&) = delete;
  BatchStamper& operator=(const BatchStamper&) = delete;

  // The template `index` with `identity` applied; valid until the next call.
  const telemetry::v1::Batch& Stamp(std::size_t index, const BatchIdentity& identity);
  // Appends the uplink wire frame (4-byte length, AgentFrame{batch: BatchFrame}) of the template
  // `index` with `identity` applied, encoded by the agent's BatchEncoder.
  void AppendWireFrame(std::size_t index, const BatchIdentity& identity, std::string* wire);

 private:
  const BatchTemplates& templates_;
  std::string catalog_hash_;
  std::vector<telemetry::v1::Batch> batches_;
  std::unique_ptr<agent::BatchEncoder> encoder_;
};

// Vehicle `index`'s VIN: "CNVYB" and 12 digits.
std::string BenchVin(std::size_t index);

}  // namespace canvoy::bench
