#include "kafka_producer.h"

#include <spdlog/spdlog.h>

namespace canvoy::ingest {

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const std::string& bootstrap_servers, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", bootstrap_servers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.codec", "zstd"},
      {"linger.ms", "5"},
      // Never give up on a record: while Kafka is away the window fills and reading stops
      // (backpressure); the agent's spool holds the rest.
      {"message.timeout.ms", "0"},
      {"queue.buffering.max.kbytes", "262144"},
      {"socket.keepalive.enable", "true"},
  };
  for (const auto& [k, v] : extra) props[k] = v;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error(Errc::kInvalidArgument, "kafka property '" + k + "': " + err);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (producer->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error(Errc::kKafka, std::string("creating the producer: ") + err);
  }
  KafkaProducer* self = producer.get();
  producer->poller_ = std::thread([self] {
    while (!self->stop_.load(std::memory_order_relaxed)) rd_kafka_poll(self->rk_, 100);
  });
  return producer;
}

KafkaProducer::~KafkaProducer() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (rk_ != nullptr) {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_poll(rk_, 0);  // run the last callbacks
    // Records still queued are not delivered; their callbacks report that on purge.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);
    for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk_);
  }
}

rd_kafka_topic_t* KafkaProducer::Topic(const std::string& name) {
  std::lock_guard lock(topics_mu_);
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  topics_.emplace(name, topic);
  return topic;
}

Status KafkaProducer::Produce(const std::string& topic, std::string_view key, std::string_view value,
                              DeliveryCallback on_delivery) {
  auto* callback = new DeliveryCallback(std::move(on_delivery));
  const int rc = rd_kafka_produce(Topic(topic), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                  const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                  callback);
  if (rc != 0) {
    delete callback;
    const rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Error(Errc::kUnavailable, "kafka producer queue is full");
    }
    return Error(Errc::kKafka, "produce to '" + topic + "': " + rd_kafka_err2str(err));
  }
  return OkStatus();
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<DeliveryCallback> callback(static_cast<DeliveryCallback*>(message->_private));
  if (!callback) return;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (*callback)(Error(Errc::kKafka, std::string("delivery: ") + rd_kafka_err2str(message->err)));
  } else {
    (*callback)(OkStatus());
  }
}

Status KafkaProducer::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(Errc::kUnavailable, std::to_string(rd_kafka_outq_len(rk_)) +
                                         " records still not delivered after flush");
  }
  return OkStatus();
}

int KafkaProducer::OutstandingRecords() const { return rd_kafka_outq_len(rk_); }

}  // namespace canvoy::ingest
