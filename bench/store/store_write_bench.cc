// The fleet store's write path from Kafka, side by side with its baseline, and bytes on disk per
// sample. Prints figures; asserts nothing about time.
//
//   canvoy_store_write_bench --bootstrap HOST:PORT --db DIR [--profile slow|noisy]
//       [--vehicles 1000] [--batches 40] [--signals 20] [--samples 100] [--partitions 4]
//
// 1. produces vehicles x batches telemetry records (each a batch of `signals` series of
//    `samples` samples at 10 Hz: an agent's ten-second batch) to a new topic;
// 2. baseline: a bare librdkafka consumer reads every record and parses its TelemetryRecord and
//    Batch protobufs (the least any consumer must do);
// 3. the store: a Sink (consumer, StoreWriter, RocksDB) from the same topic into a fresh DB;
// 4. compacts the DB and prints SST bytes per sample per column family.
// slow: values change by one step every 30 s (a temperature, a state of charge); noisy: every
// value is random (8 bytes of entropy per sample).
#include <librdkafka/rdkafka.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "canvoy/common/catalog_hash.h"
#include "canvoy/fleet_store/metrics.h"
#include "canvoy/fleet_store/sink.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "support/topics.h"

namespace {

namespace po = boost::program_options;
namespace tv1 = canvoy::telemetry::v1;
using Clock = std::chrono::steady_clock;

struct Config {
  std::string bootstrap, db, profile = "slow";
  int vehicles = 1000, batches = 40, signals = 20, samples = 100, partitions = 4;
};

// `prefix` followed by i in `digits` zero-padded digits.
std::string Padded(std::string prefix, int i, std::size_t digits) {
  const std::string n = std::to_string(i);
  return prefix + std::string(digits > n.size() ? digits - n.size() : 0, '0') + n;
}

std::string VinOf(int i) { return Padded("CNVBENCH", i, 9); }

tv1::Catalog MakeCatalog(int signals) {
  tv1::Catalog catalog;
  for (int s = 0; s < signals; ++s) {
    auto* signal = catalog.add_signals();
    signal->set_id(static_cast<std::uint32_t>(s + 1));
    signal->set_name("Bench.Signal" + std::to_string(s));
    signal->set_type(tv1::SIGNAL_TYPE_DOUBLE);
    signal->set_unit("u");
  }
  return catalog;
}

void Check(bool ok, const std::string& what) {
  if (ok) return;
  std::cerr << "store_write_bench: " << what << "\n";
  std::exit(1);
}

// Produces every record; returns the number of samples.
std::uint64_t Produce(const Config& c, const std::string& topic, const std::string& catalog_topic,
                      const tv1::Catalog& catalog) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", c.bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf, "compression.type", "lz4", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  Check(producer != nullptr, err);
  auto send = [&](const std::string& t, const std::string& key, const std::string& value) {
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(t.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
  };
  tv1::CatalogRecord catalog_record;
  *catalog_record.mutable_catalog() = catalog;
  const std::string hash = canvoy::CatalogHash(catalog);
  catalog_record.set_catalog_hash(hash);
  send(catalog_topic, hash, catalog_record.SerializeAsString());

  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(50, 20);
  const std::int64_t t0 = 1'767'225'600'000'000;  // 2026-01-01
  const std::int64_t step = 100'000;               // 10 Hz
  std::uint64_t total = 0;
  for (int b = 0; b < c.batches; ++b) {
    for (int v = 0; v < c.vehicles; ++v) {
      tv1::Batch batch;
      batch.set_stream_id(Padded("stream", v, 10));
      batch.set_seq(static_cast<std::uint64_t>(b));
      batch.set_catalog_hash(hash);
      const std::int64_t base = t0 + static_cast<std::int64_t>(b) * c.samples * step;
      batch.set_base_time_us(base);
      for (int s = 0; s < c.signals; ++s) {
        auto* series = batch.add_series();
        series->set_signal_id(static_cast<std::uint32_t>(s + 1));
        for (int i = 0; i < c.samples; ++i) {
          series->add_time_deltas_us(i == 0 ? 0 : step);
          const std::int64_t t = base + i * step;
          const double value = c.profile == "slow"
                                   ? 20.0 + 0.5 * static_cast<double>((t / 30'000'000 + s + v) % 7)
                                   : noise(rng);
          series->mutable_doubles()->add_values(value);
        }
        total += static_cast<std::uint64_t>(c.samples);
      }
      tv1::TelemetryRecord record;
      record.set_vin(VinOf(v));
      record.set_batch(batch.SerializeAsString());
      record.set_received_time_us(base);
      record.set_ingest_node("bench");
      send(topic, record.vin(), record.SerializeAsString());
    }
  }
  Check(rd_kafka_flush(producer, 120'000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush timed out");
  rd_kafka_destroy(producer);
  return total;
}

// The baseline: consume and parse every record; returns samples/s.
double Baseline(const Config& c, const std::string& topic, std::uint64_t total) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", c.bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", ("baseline-" + topic).c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  Check(consumer != nullptr, err);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(c.partitions);
  for (int p = 0; p < c.partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::uint64_t samples = 0;
  const auto start = Clock::now();
  while (samples < total) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      tv1::TelemetryRecord record;
      tv1::Batch batch;
      Check(record.ParseFromArray(m->payload, static_cast<int>(m->len)) &&
                batch.ParseFromString(record.batch()),
            "baseline: unparsable record");
      for (const auto& s : batch.series()) samples += static_cast<std::uint64_t>(s.time_deltas_us_size());
    }
    rd_kafka_message_destroy(m);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return static_cast<double>(samples) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  po::options_description desc("store_write_bench");
  // clang-format off
  desc.add_options()
      ("bootstrap", po::value(&c.bootstrap)->required(), "Kafka HOST:PORT")
      ("db", po::value(&c.db)->required(), "a directory for the store (emptied first)")
      ("profile", po::value(&c.profile)->default_value(c.profile), "slow or noisy")
      ("vehicles", po::value(&c.vehicles)->default_value(c.vehicles), "vehicles")
      ("batches", po::value(&c.batches)->default_value(c.batches), "batches per vehicle")
      ("signals", po::value(&c.signals)->default_value(c.signals), "series per batch")
      ("samples", po::value(&c.samples)->default_value(c.samples), "samples per series (10 Hz)")
      ("partitions", po::value(&c.partitions)->default_value(c.partitions), "topic partitions");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "store_write_bench: " << e.what() << "\n" << desc;
    return 2;
  }
  Check(c.profile == "slow" || c.profile == "noisy", "--profile is slow or noisy");
  const std::string suffix = std::to_string(std::random_device{}());
  const std::string topic = "bench.telemetry." + suffix, catalog_topic = "bench.catalog." + suffix;
  Check(canvoy::testing::CreateTopic(c.bootstrap, topic, c.partitions, false).empty(), "create topic");
  Check(canvoy::testing::CreateTopic(c.bootstrap, catalog_topic, 1, false).empty(), "create topic");

  const auto catalog = MakeCatalog(c.signals);
  const auto produce_start = Clock::now();
  const std::uint64_t total = Produce(c, topic, catalog_topic, catalog);
  std::printf("produced      %llu samples in %d records in %.1f s\n",
              static_cast<unsigned long long>(total), c.vehicles * c.batches,
              std::chrono::duration<double>(Clock::now() - produce_start).count());

  const double baseline = Baseline(c, topic, total);
  std::printf("baseline      %.2f M samples/s (librdkafka consume + protobuf parse)\n",
              baseline / 1e6);

  std::filesystem::remove_all(c.db);
  canvoy::fleet_store::StoreOptions store_options;
  store_options.path = c.db;
  auto store = canvoy::fleet_store::Store::Open(store_options);
  Check(static_cast<bool>(store), store ? "" : store.error().ToString());
  prometheus::Registry registry;
  canvoy::fleet_store::SinkMetrics metrics(registry);
  canvoy::fleet_store::SinkOptions options;
  options.bootstrap = c.bootstrap;
  options.group_id = "store-bench-" + suffix;
  options.telemetry_topic = topic;
  options.catalog_topic = catalog_topic;
  std::atomic<std::uint64_t> written{0};
  std::unique_ptr<canvoy::fleet_store::Sink> sink;
  auto created = canvoy::fleet_store::Sink::Create(
      options, *store.value(), metrics, [&](const canvoy::fleet_store::ApplyStats& stats) {
        written += stats.samples_written;
        if (written.load() >= total) sink->Stop();
      });
  Check(static_cast<bool>(created), created ? "" : created.error().ToString());
  sink = std::move(created).value();
  const auto start = Clock::now();
  auto status = sink->Run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Check(static_cast<bool>(status), status ? "" : status.error().ToString());
  Check(written.load() == total, "the store wrote " + std::to_string(written.load()) +
                                     " samples, expected " + std::to_string(total));
  const double rate = static_cast<double>(total) / seconds;
  std::printf("store         %.2f M samples/s (Kafka -> RocksDB, exactly once), %.2fx the baseline\n",
              rate / 1e6, rate / baseline);

  Check(static_cast<bool>(store.value()->Compact()), "compact");
  auto usage = store.value()->DiskUsage();
  Check(static_cast<bool>(usage), "disk usage");
  std::uint64_t all = 0;
  for (const auto& [cf, bytes] : usage.value()) {
    all += bytes;
    if (bytes > 0)
      std::printf("  %-12s %12llu bytes  %6.3f bytes/sample\n", cf.c_str(),
                  static_cast<unsigned long long>(bytes),
                  static_cast<double>(bytes) / static_cast<double>(total));
  }
  std::printf("bytes/sample  %.3f in all (%s values, 10 Hz)\n",
              static_cast<double>(all) / static_cast<double>(total), c.profile.c_str());
  return 0;
}
