// Creates Kafka topics of the test's own (librdkafka admin API), so that each cross-component
// test reads only what it wrote although every test shares one broker.
#pragma once

#include <librdkafka/rdkafka.h>

#include <random>
#include <string>

namespace canvoy::testing {

// "" on success, else the error.
inline std::string CreateTopic(const std::string& bootstrap, const std::string& name, int partitions,
                               bool compacted) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return err;
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof(err));
  if (compacted) rd_kafka_NewTopic_set_config(topic, "cleanup.policy", "compact");
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, nullptr, queue);
  std::string result = "timed out";
  if (rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000)) {
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = rd_kafka_event_error_string(ev);
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      result = (n == 1 && rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
                   ? rd_kafka_topic_result_error_string(results[0])
                   : "";
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  rd_kafka_destroy(rk);
  return result;
}

// A name no earlier run used.
inline std::string UniqueName(const std::string& prefix) {
  std::random_device rd;
  return prefix + "-" + std::to_string(rd()) + std::to_string(rd());
}

}  // namespace canvoy::testing
