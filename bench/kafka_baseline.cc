// canvoy_kafka_baseline: what librdkafka alone gets into the broker, as the baseline for ingest's
// throughput. It produces the records ingest would produce for the load generator's batches
// (TelemetryRecord{batch, vin, ingest_node, received_time_us}, the same RAV4 batch templates, one
// stream per vehicle with growing seqs, keyed by VIN) with ingest's producer settings (copied from
// ingest/src/kafka_producer.cc; keep them in step), as fast as delivery reports allow, with at
// most as many records in flight as ingest would have (connections x window). No TLS, no parsing,
// no validation: the difference to ingest's figure is ingest's own cost. Prints `key=value` lines.
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "canvoy/common/ids.h"
#include "canvoy/common/options.h"
#include "canvoy/common/time.h"
#include "uplink/batch_source.h"

namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
const std::string kCan = CANVOY_SHARED_DATA_DIR "/can";

struct Options {
  std::string bootstrap;
  std::string topic = "canvoy.telemetry.v1";
  std::string node_name = "ingest-1";
  double seconds = 10;
  double warmup = 1;
  std::size_t vehicles = 1000;
  std::size_t max_in_flight = 32000;  // 1,000 connections x the agent's window of 32
  std::string dbc = kCan + "/dbc/opendbc_toyota_new_mc_pt_generated.dbc";
  std::string log = kCan + "/logs/comma2k19_rav4_2017_seg40_can0_pt.log";
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "canvoy_kafka_baseline: " << what << "\n";
  std::exit(1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Delivery reports, counted. The poll thread writes; the producing thread reads and waits.
struct Deliveries {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> signals{0};
  std::atomic<std::uint64_t> bytes{0};
  std::mutex mu;
  std::condition_variable reported;  // a record left the in-flight set
  std::string first_error;           // GUARDED_BY(mu)
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    d->signals += reinterpret_cast<std::uintptr_t>(message->_private);
    d->bytes += message->len;
    ++d->ok;
  } else {
    std::lock_guard lock(d->mu);
    if (d->first_error.empty()) d->first_error = rd_kafka_err2str(message->err);
    ++d->failed;
  }
  { std::lock_guard lock(d->mu); }  // the producing thread is either waiting or will see the count
  d->reported.notify_one();
}

// ingest/src/kafka_producer.cc's properties.
std::map<std::string, std::string> IngestProducerProperties(const std::string& bootstrap) {
  return {
      {"bootstrap.servers", bootstrap},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.codec", "zstd"},
      {"linger.ms", "5"},
      {"message.timeout.ms", "0"},
      {"queue.buffering.max.kbytes", "262144"},
      {"socket.keepalive.enable", "true"},
  };
}

rd_kafka_t* CreateProducer(const Options& o, Deliveries* deliveries) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : IngestProducerProperties(o.bootstrap)) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      Die("kafka property '" + k + "': " + err);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  rd_kafka_conf_set_opaque(conf, deliveries);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) Die(std::string("creating the producer: ") + err);
  return rk;
}

Options Parse(int argc, char** argv) {
  Options o;
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()
      ("bootstrap", po::value(&o.bootstrap)->required(), "Kafka bootstrap servers")
      ("topic", po::value(&o.topic)->default_value(o.topic), "topic (ingest's telemetry topic)")
      ("node-name", po::value(&o.node_name)->default_value(o.node_name), "ingest_node written into each record")
      ("seconds", po::value(&o.seconds)->default_value(o.seconds), "measured duration")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "seconds before measuring")
      ("vehicles", po::value(&o.vehicles)->default_value(o.vehicles), "VINs (record keys), one stream each")
      ("max-in-flight", po::value(&o.max_in_flight)->default_value(o.max_in_flight),
       "records produced and not yet reported, at most (ingest: connections x window)")
      ("dbc", po::value(&o.dbc)->default_value(o.dbc), "DBC file")
      ("log", po::value(&o.log)->default_value(o.log), "candump log the batches are made from");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(argc, argv, desc, vm, "usage: canvoy_kafka_baseline --bootstrap HOST:PORT [options]");
  if (!parsed) Die(parsed.error().message());
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) std::exit(0);
  if (o.vehicles == 0 || o.max_in_flight == 0 || o.seconds <= 0) Die("--vehicles, --max-in-flight, --seconds: positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  auto templates = canvoy::bench::BatchTemplates::Load(o.dbc, o.log);
  if (!templates) Die(templates.error().message());
  canvoy::bench::BatchStamper stamper(templates.value(), false);
  struct Vehicle {
    std::string vin;
    std::string stream_id;
    std::uint64_t seq = 0;
  };
  std::vector<Vehicle> vehicles;
  for (std::size_t i = 0; i < o.vehicles; ++i) {
    vehicles.push_back({canvoy::bench::BenchVin(i), std::string(canvoy::StreamId::Random().bytes()), 0});
  }

  Deliveries deliveries;
  rd_kafka_t* rk = CreateProducer(o, &deliveries);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  std::atomic<bool> stop_polling{false};
  std::thread poller([&] {
    while (!stop_polling.load(std::memory_order_relaxed)) rd_kafka_poll(rk, 100);
  });

  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::uint64_t produced = 0, queue_full = 0, ok0 = 0, signals0 = 0, bytes0 = 0;
  double cpu0 = 0;
  bool measuring = false;
  for (std::size_t k = 0;; ++k) {
    const auto now = Clock::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      ok0 = deliveries.ok;
      signals0 = deliveries.signals;
      bytes0 = deliveries.bytes;
      cpu0 = CpuSeconds();
    }
    if (now >= end) break;
    {
      std::unique_lock lock(deliveries.mu);
      deliveries.reported.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return produced - deliveries.ok - deliveries.failed < o.max_in_flight;
      });
      if (produced - deliveries.ok - deliveries.failed >= o.max_in_flight) continue;
    }
    Vehicle& v = vehicles[k % vehicles.size()];
    const std::size_t template_index = k / vehicles.size() + k % vehicles.size() * 7;
    const auto& batch = stamper.Stamp(template_index, {v.vin, v.stream_id, ++v.seq, canvoy::NowMicros()});
    canvoy::telemetry::v1::TelemetryRecord record;
    record.set_batch(batch.SerializeAsString());
    record.set_vin(v.vin);
    record.set_ingest_node(o.node_name);
    record.set_received_time_us(canvoy::NowMicros());
    const std::string value = record.SerializeAsString();
    auto* samples = reinterpret_cast<void*>(static_cast<std::uintptr_t>(templates.value().at(template_index).samples));
    while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()),
                            value.size(), v.vin.data(), v.vin.size(), samples) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      ++queue_full;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ++produced;
  }
  const std::uint64_t ok1 = deliveries.ok, signals1 = deliveries.signals, bytes1 = deliveries.bytes;
  const double cpu1 = CpuSeconds();
  const double wall = o.seconds + std::chrono::duration<double>(Clock::now() - end).count();
  rd_kafka_flush(rk, 30000);
  stop_polling = true;
  poller.join();
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk, 0);
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);

  const double records = static_cast<double>(ok1 - ok0);
  std::printf("baseline vehicles=%zu max_in_flight=%zu seconds=%.1f records_per_s=%.0f signals_per_s=%.0f "
              "value_mb_per_s=%.2f mean_record_bytes=%.0f failed=%llu queue_full=%llu cpu_cores=%.2f\n",
              o.vehicles, o.max_in_flight, wall, records / wall, static_cast<double>(signals1 - signals0) / wall,
              static_cast<double>(bytes1 - bytes0) / wall / 1e6,
              records > 0 ? static_cast<double>(bytes1 - bytes0) / records : 0.0,
              static_cast<unsigned long long>(deliveries.failed.load()), static_cast<unsigned long long>(queue_full),
              (cpu1 - cpu0) / wall);
  std::lock_guard lock(deliveries.mu);
  if (!deliveries.first_error.empty()) std::printf("first_error=\"%s\"\n", deliveries.first_error.c_str());
  return deliveries.failed == 0 && ok1 > ok0 ? 0 : 1;
}
