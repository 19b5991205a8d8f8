// Accumulates samples into the columnar telemetry Batch the agent spools and sends.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "canvoy/agent/decoder.h"
#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {

// One SignalSeries per signal id, in order of each id's first sample. Timestamps are delta-coded:
// a series' first sample relative to base_time_us (the batch's first sample time), each next one
// relative to the sample before it in the same series (negative when samples arrive out of order).
// Values go to int64s, uint64s or doubles by the catalog's type for the id.
// Not thread-safe: one collector thread owns a builder.
class BatchBuilder {
 public:
  // Types come from `catalog`, which must list every id passed to Add.
  explicit BatchBuilder(const telemetry::v1::Catalog& catalog);

  // Fails (and adds nothing) for an id outside the catalog or a value whose kind differs from
  // the catalog type.
  [[nodiscard]] Status Add(SignalId id, std::int64_t timestamp_us, const PhysicalValue& value);

  // True when the batch holds max_samples samples, or its first sample is max_age_us old at
  // now_us (same clock as the sample timestamps). Never true for an empty batch.
  bool ShouldSeal(std::size_t max_samples, std::int64_t max_age_us, std::int64_t now_us) const;

  // Returns the batch with its identity set and starts an empty one.
  telemetry::v1::Batch Seal(const StreamId& stream_id, std::uint64_t seq,
                            std::string_view catalog_hash);

  std::size_t sample_count() const { return sample_count_; }

 private:
  struct SeriesState {
    std::int32_t position = -1;  // index in batch_.series(), -1 when not in this batch yet
    std::int64_t last_time_us = 0;
  };

  std::vector<telemetry::v1::SignalType> types_;  // by signal id
  std::vector<SeriesState> series_;               // by signal id
  std::vector<SignalId> touched_;                 // ids with a series in this batch
  telemetry::v1::Batch batch_;
  std::size_t sample_count_ = 0;
};

}  // namespace canvoy::agent
