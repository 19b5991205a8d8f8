#include "sink/catalog_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace canvoy::fleet_store::sink {
namespace {

using Clock = std::chrono::steady_clock;

int MillisUntil(Clock::time_point deadline, std::chrono::milliseconds cap) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp(left, std::chrono::milliseconds(0), cap).count());
}

}  // namespace

Result<std::unique_ptr<CatalogReader>> CatalogReader::Create(const SinkOptions& options) {
  auto conf = NewConf();
  CANVOY_RETURN_IF_ERROR(Set(conf.get(), "bootstrap.servers", options.bootstrap));
  // librdkafka's assign() needs a group.id, but this consumer never subscribes (so it joins no
  // group) and never commits: its position lives only in memory and starts at the beginning.
  CANVOY_RETURN_IF_ERROR(Set(conf.get(), "group.id", options.group_id + ".catalog-reader"));
  CANVOY_RETURN_IF_ERROR(Set(conf.get(), "enable.auto.commit", "false"));
  CANVOY_RETURN_IF_ERROR(Set(conf.get(), "enable.auto.offset.store", "false"));
  CANVOY_RETURN_IF_ERROR(Set(conf.get(), "client.id", "canvoy-fleet-store-catalogs"));
  for (const auto& [name, value] : options.kafka_config)
    CANVOY_RETURN_IF_ERROR(Set(conf.get(), name, value));
  CANVOY_ASSIGN_OR_RETURN(auto consumer, NewConsumer(conf));
  return std::unique_ptr<CatalogReader>(new CatalogReader(options, std::move(consumer)));
}

CatalogReader::CatalogReader(const SinkOptions& options, KafkaPtr consumer)
    : topic_(options.catalog_topic),
      poll_timeout_(options.poll_timeout),
      consumer_(std::move(consumer)) {}

CatalogReader::~CatalogReader() {
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

Status CatalogReader::EnsureAssigned(std::chrono::milliseconds timeout) {
  if (assigned_) return OkStatus();
  rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer_.get(), topic_.c_str(), nullptr);
  if (topic == nullptr) return KafkaError(rd_kafka_last_error(), "catalog topic '" + topic_ + "'");
  const rd_kafka_metadata_t* metadata = nullptr;
  auto err =
      rd_kafka_metadata(consumer_.get(), 0, topic, &metadata, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(topic);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return KafkaError(err, "metadata of catalog topic '" + topic_ + "'");

  PartitionList partitions(rd_kafka_topic_partition_list_new(0));
  Status status = OkStatus();
  if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
      metadata->topics[0].partition_cnt == 0) {
    const auto topic_err =
        metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    status =
        Error(Errc::kUnavailable, "catalog topic '" + topic_ + "': " + rd_kafka_err2str(topic_err));
  } else {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      rd_kafka_topic_partition_list_add(partitions.get(), topic_.c_str(),
                                        metadata->topics[0].partitions[i].id)
          ->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  CANVOY_RETURN_IF_ERROR(status);
  if (auto assign_err = rd_kafka_assign(consumer_.get(), partitions.get());
      assign_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(assign_err, "assign catalog topic '" + topic_ + "'");
  }
  spdlog::info("msg=\"catalog reader assigned\" topic={} partitions={}", topic_, partitions->cnt);
  assigned_ = true;
  return OkStatus();
}

void CatalogReader::Read(const rd_kafka_message_t& message, StoreWriter& writer,
                         SinkMetrics& metrics) {
  metrics.catalogs_read.Increment();
  if (message.payload == nullptr) return;  // a tombstone: catalogs are immutable, nothing to do
  telemetry::v1::CatalogRecord record;
  if (!record.ParseFromArray(message.payload, static_cast<int>(message.len))) {
    spdlog::error("msg=\"catalog record is malformed\" topic={} partition={} offset={}", topic_,
                  message.partition, message.offset);
    return;
  }
  if (auto status = writer.PutCatalog(record); !status) {
    spdlog::error("msg=\"catalog record not stored\" topic={} partition={} offset={} error=\"{}\"",
                  topic_, message.partition, message.offset, status.error().ToString());
  }
}

Result<std::vector<std::string>> CatalogReader::ReadUntilKnown(std::vector<std::string> wanted,
                                                               StoreWriter& writer,
                                                               SinkMetrics& metrics,
                                                               Clock::time_point deadline,
                                                               const std::atomic<bool>& stop) {
  auto still_unknown = [&]() -> Result<bool> {
    std::vector<std::string> unknown;
    for (auto& hash : wanted) {
      CANVOY_ASSIGN_OR_RETURN(bool known, writer.HasCatalog(hash));
      if (!known) unknown.push_back(std::move(hash));
    }
    wanted = std::move(unknown);
    return !wanted.empty();
  };
  CANVOY_ASSIGN_OR_RETURN(bool waiting, still_unknown());
  bool warned = false;
  while (waiting && !stop.load() && Clock::now() < deadline) {
    // The metadata wait is capped so that Stop() is not held up for long.
    if (auto status = EnsureAssigned(
            std::chrono::milliseconds(MillisUntil(deadline, std::chrono::seconds(1))));
        !status) {
      if (!warned)
        spdlog::warn("msg=\"catalog topic not readable yet\" error=\"{}\"",
                     status.error().ToString());
      warned = true;
      // Waits a poll interval (nothing is assigned, so nothing arrives) instead of a tight loop.
      MessagePtr ignored(
          rd_kafka_consumer_poll(consumer_.get(), MillisUntil(deadline, poll_timeout_)));
      continue;
    }
    MessagePtr message(
        rd_kafka_consumer_poll(consumer_.get(), MillisUntil(deadline, poll_timeout_)));
    if (!message) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("msg=\"catalog consumer error\" error=\"{}\"",
                     rd_kafka_message_errstr(message.get()));
      }
      continue;
    }
    Read(*message, writer, metrics);
    CANVOY_ASSIGN_OR_RETURN(waiting, still_unknown());
  }
  return wanted;
}

}  // namespace canvoy::fleet_store::sink
