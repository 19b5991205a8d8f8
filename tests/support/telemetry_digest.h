// What a telemetry topic holds, by content: per VIN, the digest of every sample of every distinct
// batch (a batch is identified by (stream_id, seq); resends are counted once). Chaos tests compare
// it with the digests the agents report for what they spooled: equal means nothing was lost.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "canvoy/common/sample_digest.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::testing {

struct TopicContent {
  std::map<std::string, SampleDigest> by_vin;
  std::uint64_t records = 0;
  std::uint64_t duplicates = 0;  // records whose (stream_id, seq) was already seen
  std::string error;             // non-empty when the topic could not be read whole
};

// Reads every partition of `topic` from the beginning up to its high watermark at the time of
// the call (records acknowledged to agents before the call are below it).
inline TopicContent ReadTelemetryTopic(const std::string& bootstrap, const std::string& topic,
                                       std::chrono::seconds timeout = std::chrono::seconds(120)) {
  TopicContent content;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "canvoy-test-reader", err, sizeof(err));  // assign() only, no commits
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) {
    content.error = err;
    return content;
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, handle, &metadata, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      metadata->topic_cnt != 1 || metadata->topics[0].partition_cnt == 0) {
    content.error = "no metadata for topic " + topic;
  }
  rd_kafka_topic_destroy(handle);
  std::map<int, std::int64_t> end;  // partition -> high watermark
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(8);
  if (content.error.empty()) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      const int p = metadata->topics[0].partitions[i].id;
      std::int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        content.error = "no watermarks for partition " + std::to_string(p);
        break;
      }
      if (high > low) {
        end[p] = high;
        rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      }
    }
  }
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  if (content.error.empty() && !end.empty()) rd_kafka_assign(rk, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);

  std::set<std::pair<std::string, std::uint64_t>> seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (content.error.empty() && !end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      content.error = "timed out with " + std::to_string(end.size()) + " partition(s) unread";
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      telemetry::v1::TelemetryRecord record;
      telemetry::v1::Batch batch;
      if (!record.ParseFromArray(m->payload, static_cast<int>(m->len)) || !batch.ParseFromString(record.batch())) {
        content.error = "record at offset " + std::to_string(m->offset) + " is not a TelemetryRecord";
      } else {
        ++content.records;
        if (seen.emplace(batch.stream_id(), batch.seq()).second) content.by_vin[record.vin()].Add(batch);
        else ++content.duplicates;
      }
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      content.error = rd_kafka_message_errstr(m);
    }
    const int partition = m->partition;
    const std::int64_t next = m->offset + (m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? 1 : 0);
    rd_kafka_message_destroy(m);
    if (auto it = end.find(partition); it != end.end() && next >= it->second) end.erase(it);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return content;
}

}  // namespace canvoy::testing
