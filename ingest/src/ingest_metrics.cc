#include "ingest_metrics.h"

namespace canvoy::ingest {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Counter& Counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& Gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Family<prometheus::Counter>& Family(prometheus::Registry& r, const std::string& name,
                                                const std::string& help) {
  return BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

IngestMetrics::IngestMetrics()
    : connections(Gauge(*registry_, "canvoy_ingest_connections", "Open vehicle connections")),
      connections_accepted(Counter(*registry_, "canvoy_ingest_connections_accepted_total",
                                   "Connections accepted (below the connection cap)")),
      connections_refused(Counter(*registry_, "canvoy_ingest_connections_refused_total",
                                  "Connections closed at accept because of the connection cap")),
      connections_revoked(Counter(*registry_, "canvoy_ingest_connections_revoked_total",
                                  "Open connections closed because a reloaded CRL revoked their certificate")),
      handshakes_resumed(Counter(*registry_, "canvoy_ingest_handshakes_resumed_total",
                                 "Successful handshakes that resumed a TLS session")),
      window_full(Counter(*registry_, "canvoy_ingest_window_full_total",
                          "Times a connection stopped reading because max_unacked_batches were waiting")),
      batches_in(Counter(*registry_, "canvoy_ingest_batches_in_total", "Batches received, valid, and produced")),
      batches_acked(Counter(*registry_, "canvoy_ingest_batches_acked_total",
                            "Batches acknowledged after Kafka's delivery report")),
      batches_undelivered(Counter(*registry_, "canvoy_ingest_batches_undelivered_total",
                                  "Batches Kafka reported as not delivered (not acked; the agent resends)")),
      signals_in(Counter(*registry_, "canvoy_ingest_signals_in_total", "Samples in batches produced")),
      signals_acked(Counter(*registry_, "canvoy_ingest_signals_acked_total", "Samples in batches acknowledged")),
      catalogs_produced(Counter(*registry_, "canvoy_ingest_catalogs_produced_total",
                                "Catalogs written to the catalog topic")),
      unacked_batches(Gauge(*registry_, "canvoy_ingest_unacked_batches",
                            "Batches produced and not yet reported by Kafka (the queue to Kafka)")),
      kafka_queue_records(Gauge(*registry_, "canvoy_ingest_kafka_queue_records",
                                "Records in the Kafka producer's queue, batches and catalogs")),
      produce_latency_seconds(BuildHistogram()
                                  .Name("canvoy_ingest_produce_latency_seconds")
                                  .Help("From the produce call to Kafka's delivery report")
                                  .Register(*registry_)
                                  .Add({}, prometheus::Histogram::BucketBoundaries{
                                               0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2,
                                               0.5, 1, 2, 5, 10, 30})),
      handshakes_(Family(*registry_, "canvoy_ingest_handshakes_total", "TLS handshakes by result")),
      rejects_(Family(*registry_, "canvoy_ingest_rejects_total", "Frames and batches rejected, by reason")),
      timeouts_(Family(*registry_, "canvoy_ingest_timeouts_total", "Connections closed by a deadline, by kind")),
      tls_reloads_(Family(*registry_, "canvoy_ingest_tls_reloads_total",
                          "Reloads of the TLS files (SIGHUP), by result")) {}

prometheus::Counter& IngestMetrics::Handshake(const std::string& result) {
  return handshakes_.Add({{"result", result}});
}

prometheus::Counter& IngestMetrics::Reject(const std::string& reason) {
  return rejects_.Add({{"reason", reason}});
}

prometheus::Counter& IngestMetrics::Timeout(const std::string& kind) {
  return timeouts_.Add({{"kind", kind}});
}

prometheus::Counter& IngestMetrics::TlsReload(const std::string& result) {
  return tls_reloads_.Add({{"result", result}});
}

}  // namespace canvoy::ingest
