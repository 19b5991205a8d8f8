// A Kafka producer for tests that write a known workload themselves: idempotent (so per-partition
// order is the order of Produce calls, and retries add no duplicates), with the partition and
// offset of every delivered record reported back by the caller's tag.
// Single-threaded: one test thread calls it; delivery reports are served inside its calls.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace canvoy::testing {

// Where one record went; `error` is empty once it was delivered.
struct Delivery {
  bool done = false;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string error;
};

class TestProducer {
 public:
  // Adds to *error and returns nullptr when the producer cannot be created.
  static std::unique_ptr<TestProducer> Create(const std::string& bootstrap, std::string* error) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::pair<const char*, const char*> settings[] = {
        {"bootstrap.servers", bootstrap.c_str()},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "5"},
        {"compression.type", "lz4"},
        {"message.timeout.ms", "60000"},
    };
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        *error = std::string(name) + ": " + err;
        rd_kafka_conf_destroy(conf);
        return nullptr;
      }
    }
    std::unique_ptr<TestProducer> producer(new TestProducer());
    rd_kafka_conf_set_opaque(conf, producer.get());
    rd_kafka_conf_set_dr_msg_cb(conf, &TestProducer::OnDelivery);
    producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (producer->rk_ == nullptr) {
      *error = err;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
    return producer;
  }
  ~TestProducer() {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  TestProducer(const TestProducer&) = delete;
  TestProducer& operator=(const TestProducer&) = delete;

  // Queues a record and returns its tag (an index into deliveries()). `partition` -1 lets
  // librdkafka's partitioner choose by key. Returns "" or the error.
  std::string Produce(const std::string& topic, const std::string& key, const std::string& value,
                      std::int32_t partition = -1, std::size_t* tag = nullptr) {
    const std::size_t index = deliveries_.size();
    deliveries_.emplace_back();
    for (;;) {
      const rd_kafka_resp_err_t err =
          rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                            RD_KAFKA_V_KEY(key.data(), key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(index)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return rd_kafka_err2str(err);
      rd_kafka_poll(rk_, 100);  // serves delivery reports, which frees queue space
    }
    rd_kafka_poll(rk_, 0);
    if (tag != nullptr) *tag = index;
    return "";
  }

  // Waits until every queued record is delivered; "" or the first delivery error.
  std::string Flush(std::chrono::milliseconds timeout) {
    if (const auto err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return std::string("flush: ") + rd_kafka_err2str(err);
    }
    for (std::size_t i = 0; i < deliveries_.size(); ++i) {
      if (!deliveries_[i].done) return "record " + std::to_string(i) + " has no delivery report";
      if (!deliveries_[i].error.empty())
        return "record " + std::to_string(i) + ": " + deliveries_[i].error;
    }
    return "";
  }

  // By tag, in the order of Produce calls.
  const std::vector<Delivery>& deliveries() const { return deliveries_; }

 private:
  TestProducer() = default;

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<TestProducer*>(opaque);
    const auto index = reinterpret_cast<std::size_t>(message->_private);
    if (index >= self->deliveries_.size()) return;
    Delivery& d = self->deliveries_[index];
    d.done = true;
    d.partition = message->partition;
    d.offset = message->offset;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) d.error = rd_kafka_err2str(message->err);
  }

  rd_kafka_t* rk_ = nullptr;
  std::vector<Delivery> deliveries_;
};

}  // namespace canvoy::testing
