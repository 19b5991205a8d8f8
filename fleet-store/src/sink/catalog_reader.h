// Reads the compacted catalog topic into the store, on demand: a plain consumer that assigns
// itself every partition from the beginning and never joins a group or commits.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/metrics.h"
#include "canvoy/fleet_store/sink.h"
#include "canvoy/fleet_store/store_writer.h"
#include "sink/kafka.h"

namespace canvoy::fleet_store::sink {

// Used by the consumer thread only.
class CatalogReader {
 public:
  static Result<std::unique_ptr<CatalogReader>> Create(const SinkOptions& options);
  ~CatalogReader();

  // Reads catalog records into `writer` until it knows every hash of `wanted`, `deadline` passes or
  // `stop` is set; keeps its position for the next call. Returns the hashes still unknown.
  Result<std::vector<std::string>> ReadUntilKnown(std::vector<std::string> wanted,
                                                  StoreWriter& writer, SinkMetrics& metrics,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  const std::atomic<bool>& stop);

 private:
  CatalogReader(const SinkOptions& options, KafkaPtr consumer);
  // Assigns every partition of the topic once; Errc::kUnavailable while the topic is not there.
  Status EnsureAssigned(std::chrono::milliseconds timeout);
  void Read(const rd_kafka_message_t& message, StoreWriter& writer, SinkMetrics& metrics);

  std::string topic_;
  std::chrono::milliseconds poll_timeout_;
  KafkaPtr consumer_;
  bool assigned_ = false;
};

}  // namespace canvoy::fleet_store::sink
