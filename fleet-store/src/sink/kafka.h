// Thin RAII over librdkafka's C API, and its configuration.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"

namespace canvoy::fleet_store::sink {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// A configuration with librdkafka's logs routed to spdlog as logfmt lines.
ConfPtr NewConf();
// Errc::kInvalidArgument naming the property.
Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);
// Creates a consumer from `conf` (taken on success) and serves its events from consumer polls.
Result<KafkaPtr> NewConsumer(ConfPtr& conf);

// "kafka: <what>: <librdkafka's message>"
Error KafkaError(rd_kafka_resp_err_t err, std::string_view what);
Error KafkaError(const rd_kafka_error_t* error, std::string_view what);

}  // namespace canvoy::fleet_store::sink
