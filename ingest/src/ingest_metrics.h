// The ingest service's Prometheus metrics (the list, with meanings, is in ingest/README.md).
// Counters, gauges and the histogram are thread-safe.
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

  // result: ok, unknown_ca, expired, revoked, no_certificate, protocol_version, timeout, no_vin, other.
  prometheus::Counter& Handshake(const std::string& result);
  prometheus::Counter& Reject(const std::string& reason);
  // kind: idle (no frame started), frame (a frame did not complete in time), write.
  prometheus::Counter& Timeout(const std::string& kind);
  // result: ok, error.
  prometheus::Counter& TlsReload(const std::string& result);

  prometheus::Gauge& connections;            // open vehicle connections, handshaking included
  prometheus::Counter& connections_accepted;
  prometheus::Counter& connections_refused;  // over the connection cap
  prometheus::Counter& connections_revoked;  // open connections closed after a reload revoked them
  prometheus::Counter& handshakes_resumed;   // successful handshakes that resumed a session
  prometheus::Counter& window_full;          // times a connection stopped reading at its window
  prometheus::Counter& batches_in;
  prometheus::Counter& batches_acked;
  prometheus::Counter& batches_undelivered;  // Kafka reported a failure; not acked
  prometheus::Counter& signals_in;
  prometheus::Counter& signals_acked;
  prometheus::Counter& catalogs_produced;
  prometheus::Gauge& unacked_batches;        // produced, waiting for Kafka's delivery report
  prometheus::Gauge& kafka_queue_records;    // librdkafka's queue, set at each scrape
  prometheus::Histogram& produce_latency_seconds;

 private:
  prometheus::Family<prometheus::Counter>& handshakes_;
  prometheus::Family<prometheus::Counter>& rejects_;
  prometheus::Family<prometheus::Counter>& timeouts_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;
};

}  // namespace canvoy::ingest
