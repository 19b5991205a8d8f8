// The ingest service's Prometheus metrics. Counters are thread-safe.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace canvoy::ingest {

class IngestMetrics {
  // Declared first: every member below is registered in it.
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();

 public:
  IngestMetrics();

  prometheus::Registry& registry() { return *registry_; }

  prometheus::Counter& Handshake(const std::string& result);
  prometheus::Counter& Reject(const std::string& reason);

  prometheus::Gauge& connections;
  prometheus::Counter& connections_refused;  // over the connection cap
  prometheus::Counter& batches_in;
  prometheus::Counter& batches_acked;
  prometheus::Counter& signals_in;
  prometheus::Counter& catalogs_produced;
  prometheus::Gauge& unacked_batches;  // produced, waiting for Kafka's delivery report
  prometheus::Histogram& produce_latency_seconds;

 private:
  prometheus::Family<prometheus::Counter>& handshakes_;
  prometheus::Family<prometheus::Counter>& rejects_;
};

}  // namespace canvoy::ingest
