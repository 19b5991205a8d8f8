// The Kafka side of the fleet store: a consumer that feeds poll rounds to a StoreWriter, and a
// catalog reader that makes sure every batch's catalog is known before the batch is applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/metrics.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_writer.h"

namespace canvoy::fleet_store {

struct SinkOptions {
  std::string bootstrap;                        // required: "host:port[,host:port...]"
  std::string group_id = "canvoy-fleet-store";  // the consumer group of this replica
  std::string telemetry_topic = "canvoy.telemetry.v1";
  std::string catalog_topic = "canvoy.catalog.v1";
  // Partitions of the telemetry topic this instance owns. Empty (the default): the consumer group
  // decides (subscribe + rebalance). Otherwise exactly these, assigned statically without group
  // rebalancing; this is the seam for sharding by partition.
  std::vector<std::int32_t> partitions;
  std::size_t max_poll_records = 1000;              // a round ends after this many records...
  std::chrono::milliseconds poll_round_time{200};   // ...or after this long, whichever is first
  std::chrono::milliseconds catalog_wait{5000};     // how long a round waits for an unknown catalog
  std::chrono::milliseconds poll_timeout{100};      // one rd_kafka poll; bounds Stop()'s latency
  std::map<std::string, std::string> kafka_config;  // extra librdkafka properties, set last

  // The first problem found, naming the field.
  Status Validate() const;
};

// Called on the consumer thread after each applied round (for tests and instrumentation).
using RoundObserver = std::function<void(const ApplyStats&)>;

// Owns the telemetry consumer and the catalog reader, and writes through a StoreWriter.
// Run() is called by one thread, the only one that writes to `store`; Stop() from any thread.
// `store` and `metrics` must outlive the Sink.
class Sink {
 public:
  static Result<std::unique_ptr<Sink>> Create(const SinkOptions& options, Store& store,
                                              SinkMetrics& metrics, RoundObserver observer = {});
  virtual ~Sink() = default;

  // Consumes until Stop(): finishes and commits the round in progress, then closes the consumers.
  // Returns an error only for failures that retrying cannot fix (RocksDB, fatal Kafka errors).
  virtual Status Run() = 0;
  // Asks Run() to return; safe from any thread (not from a signal handler).
  virtual void Stop() = 0;
};

}  // namespace canvoy::fleet_store
