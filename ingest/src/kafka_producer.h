// An idempotent librdkafka producer (acks=all) whose delivery reports call back per record.
// Thread-safe: Produce() may be called from any thread; callbacks run on the producer's own poll
// thread and must only hand work off (post to a strand), never block.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "canvoy/common/error.h"

namespace canvoy::ingest {

class KafkaProducer {
 public:
  // Ok, or why the record was not delivered.
  using DeliveryCallback = std::function<void(Status)>;

  // `extra` overrides or adds librdkafka properties.
  static Result<std::unique_ptr<KafkaProducer>> Create(const std::string& bootstrap_servers,
                                                       const std::map<std::string, std::string>& extra = {});
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one record. Errc::kUnavailable means the local queue is full: retry later.
  Status Produce(const std::string& topic, std::string_view key, std::string_view value,
                 DeliveryCallback on_delivery);

  // Waits until every queued record has a delivery report, or the timeout passes.
  Status Flush(std::chrono::milliseconds timeout);

  // Records queued and not yet reported.
  int OutstandingRecords() const;

 private:
  KafkaProducer() = default;
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  rd_kafka_topic_t* Topic(const std::string& name);

  rd_kafka_t* rk_ = nullptr;
  std::mutex topics_mu_;
  std::map<std::string, rd_kafka_topic_t*> topics_;  // GUARDED_BY(topics_mu_)
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace canvoy::ingest
