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

}  // namespace

IngestMetrics::IngestMetrics()
    : connections(Gauge(*registry_, "canvoy_ingest_connections", "Open vehicle connections")),
      connections_refused(Counter(*registry_, "canvoy_ingest_connections_refused_total",
                                  "Connections closed at accept because of the connection cap")),
      batches_in(Counter(*registry_, "canvoy_ingest_batches_in_total", "Batches received and valid")),
      batches_acked(Counter(*registry_, "canvoy_ingest_batches_acked_total",
                            "Batches acknowledged after Kafka's delivery report")),
      signals_in(Counter(*registry_, "canvoy_ingest_signals_in_total", "Samples in valid batches")),
      catalogs_produced(Counter(*registry_, "canvoy_ingest_catalogs_produced_total",
                                "Catalogs written to the catalog topic")),
      unacked_batches(Gauge(*registry_, "canvoy_ingest_unacked_batches",
                            "Batches produced and not yet reported by Kafka")),
      produce_latency_seconds(BuildHistogram()
                                  .Name("canvoy_ingest_produce_latency_seconds")
                                  .Help("From produce to Kafka's delivery report")
                                  .Register(*registry_)
                                  .Add({}, prometheus::Histogram::BucketBoundaries{
                                               0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2,
                                               0.5, 1, 2, 5, 10, 30})),
      handshakes_(BuildCounter()
                      .Name("canvoy_ingest_handshakes_total")
                      .Help("TLS handshakes by result")
                      .Register(*registry_)),
      rejects_(BuildCounter()
                   .Name("canvoy_ingest_rejects_total")
                   .Help("Frames and batches rejected, by reason")
                   .Register(*registry_)) {}

prometheus::Counter& IngestMetrics::Handshake(const std::string& result) {
  return handshakes_.Add({{"result", result}});
}

prometheus::Counter& IngestMetrics::Reject(const std::string& reason) {
  return rejects_.Add({{"reason", reason}});
}

}  // namespace canvoy::ingest
