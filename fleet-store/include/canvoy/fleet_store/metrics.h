// The fleet store's Prometheus metrics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>

#include "canvoy/fleet_store/store_writer.h"

namespace canvoy::fleet_store {

// Counters of the sink, registered in `registry`, which must outlive this object.
// prometheus-cpp metrics are atomic: any thread may update or collect them.
class SinkMetrics {
 public:
  explicit SinkMetrics(prometheus::Registry& registry);

  // Adds one applied round.
  void Add(const ApplyStats& stats);

  prometheus::Counter& records_consumed;  // records of applied rounds
  prometheus::Counter& batches_applied;
  prometheus::Counter& duplicates_dropped;
  prometheus::Counter& samples_written;
  prometheus::Counter& records_rejected;
  prometheus::Counter& poll_rounds;        // rounds applied (rounds without records excluded)
  prometheus::Counter& rounds_deferred;    // rounds not applied because a catalog was unknown
  prometheus::Counter& catalogs_read;      // catalog records read from the catalog topic
  prometheus::Gauge& assigned_partitions;  // telemetry partitions this consumer owns now
  // Records in the partition after the last one applied (high watermark - position), per
  // partition label; refreshed about once a second.
  prometheus::Family<prometheus::Gauge>& consumer_lag;
  void SetLag(std::int32_t partition, std::int64_t records);
};

}  // namespace canvoy::fleet_store
