// Reads the records of one topic partition from its beginning, for tests that check what a
// component wrote to Kafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace canvoy::testing {

struct KafkaRecord {
  std::string key;
  std::string value;
};

// Up to `count` records of `topic` partition `partition`, from offset 0, waiting at most
// `timeout` for them; fewer when the deadline passes.
inline std::vector<KafkaRecord> ReadRecords(const std::string& bootstrap, const std::string& topic,
                                            std::size_t count, std::chrono::milliseconds timeout,
                                            int partition = 0) {
  std::vector<KafkaRecord> records;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", ("test-reader-" + topic).c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)), &rd_kafka_destroy);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return records;
  }
  rd_kafka_poll_set_consumer(rk.get());
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(assignment, topic.c_str(), partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk.get(), assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk.get(), 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      KafkaRecord record;
      if (message->key != nullptr) record.key.assign(static_cast<const char*>(message->key), message->key_len);
      if (message->payload != nullptr) {
        record.value.assign(static_cast<const char*>(message->payload), message->len);
      }
      records.push_back(std::move(record));
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(rk.get());
  return records;
}

}  // namespace canvoy::testing
