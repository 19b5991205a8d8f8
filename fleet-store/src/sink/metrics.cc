#include "canvoy/fleet_store/metrics.h"

namespace canvoy::fleet_store {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

SinkMetrics::SinkMetrics(prometheus::Registry& registry)
    : records_consumed(NewCounter(registry, "canvoy_fleet_store_records_consumed_total",
                                  "Telemetry records of applied poll rounds")),
      batches_applied(
          NewCounter(registry, "canvoy_fleet_store_batches_applied_total", "Batches written")),
      duplicates_dropped(
          NewCounter(registry, "canvoy_fleet_store_duplicates_dropped_total",
                     "Batches dropped because (VIN, stream_id, seq) was applied before")),
      samples_written(
          NewCounter(registry, "canvoy_fleet_store_samples_written_total", "Samples written")),
      records_rejected(NewCounter(registry, "canvoy_fleet_store_records_rejected_total",
                                  "Malformed records kept in the rejected column family")),
      poll_rounds(NewCounter(registry, "canvoy_fleet_store_poll_rounds_total",
                             "Poll rounds written to RocksDB, each in one WriteBatch")),
      rounds_deferred(NewCounter(registry, "canvoy_fleet_store_rounds_deferred_total",
                                 "Poll rounds not applied because a batch's catalog was unknown")),
      catalogs_read(NewCounter(registry, "canvoy_fleet_store_catalog_records_read_total",
                               "Records read from the catalog topic")),
      assigned_partitions(prometheus::BuildGauge()
                              .Name("canvoy_fleet_store_assigned_partitions")
                              .Help("Telemetry partitions this consumer owns")
                              .Register(registry)
                              .Add({})),
      consumer_lag(prometheus::BuildGauge()
                       .Name("canvoy_fleet_store_consumer_lag_records")
                       .Help("Telemetry records in a partition not yet applied to the store")
                       .Register(registry)) {}

void SinkMetrics::SetLag(std::int32_t partition, std::int64_t records) {
  consumer_lag.Add({{"partition", std::to_string(partition)}}).Set(static_cast<double>(records));
}

void SinkMetrics::Add(const ApplyStats& stats) {
  records_consumed.Increment(static_cast<double>(stats.records));
  batches_applied.Increment(static_cast<double>(stats.batches_applied));
  duplicates_dropped.Increment(static_cast<double>(stats.duplicates_dropped));
  samples_written.Increment(static_cast<double>(stats.samples_written));
  records_rejected.Increment(static_cast<double>(stats.records_rejected));
  poll_rounds.Increment();
}

}  // namespace canvoy::fleet_store
