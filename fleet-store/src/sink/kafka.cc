#include "sink/kafka.h"

#include <spdlog/spdlog.h>

namespace canvoy::fleet_store::sink {
namespace {

// librdkafka's syslog levels to spdlog's. Called on librdkafka's threads; spdlog is thread-safe.
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto spd = spdlog::level::debug;
  if (level <= 3) {
    spd = spdlog::level::err;
  } else if (level == 4) {
    spd = spdlog::level::warn;
  } else if (level <= 6) {
    spd = spdlog::level::info;
  }
  spdlog::log(spd, "msg=\"librdkafka\" client={} facility={} detail=\"{}\"", rd_kafka_name(rk),
              facility, message);
}

}  // namespace

ConfPtr NewConf() {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  return conf;
}

Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    return Error(Errc::kInvalidArgument, "kafka property '" + name + "': " + errstr);
  }
  return OkStatus();
}

Result<KafkaPtr> NewConsumer(ConfPtr& conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return Error(Errc::kInvalidArgument, std::string("kafka consumer: ") + errstr);
  conf.release();  // rd_kafka_new took it
  KafkaPtr consumer(rk);
  if (auto err = rd_kafka_poll_set_consumer(rk); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, "poll_set_consumer");
  }
  return consumer;
}

Error KafkaError(rd_kafka_resp_err_t err, std::string_view what) {
  return Error(Errc::kKafka, std::string(what) + ": " + rd_kafka_err2str(err));
}

Error KafkaError(const rd_kafka_error_t* error, std::string_view what) {
  return Error(Errc::kKafka, std::string(what) + ": " + rd_kafka_error_string(error));
}

}  // namespace canvoy::fleet_store::sink
