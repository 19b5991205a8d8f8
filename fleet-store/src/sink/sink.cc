#include "canvoy/fleet_store/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <optional>

#include "sink/catalog_reader.h"
#include "sink/kafka.h"

namespace canvoy::fleet_store {

Status SinkOptions::Validate() const {
  auto invalid = [](const std::string& what) {
    return Error(Errc::kInvalidArgument, "sink: " + what);
  };
  if (bootstrap.empty()) return invalid("bootstrap servers are empty");
  if (group_id.empty()) return invalid("group id is empty");
  if (telemetry_topic.empty()) return invalid("telemetry topic is empty");
  if (catalog_topic.empty()) return invalid("catalog topic is empty");
  if (telemetry_topic == catalog_topic)
    return invalid("telemetry and catalog topic are both '" + catalog_topic + "'");
  for (auto p : partitions) {
    if (p < 0) return invalid("partition " + std::to_string(p) + " is negative");
  }
  if (max_poll_records == 0) return invalid("max poll records is 0");
  if (poll_round_time.count() <= 0) return invalid("poll round time must be positive");
  if (catalog_wait.count() <= 0) return invalid("catalog wait must be positive");
  if (poll_timeout.count() <= 0) return invalid("poll timeout must be positive");
  return OkStatus();
}

namespace {

using Clock = std::chrono::steady_clock;
using sink::ErrorPtr;
using sink::KafkaError;
using sink::MessagePtr;
using sink::PartitionList;

constexpr int kSeekTimeoutMs = 10000;

class KafkaSink final : public Sink {
 public:
  KafkaSink(SinkOptions options, Store& store, SinkMetrics& metrics, RoundObserver observer)
      : options_(std::move(options)),
        store_(store),
        metrics_(metrics),
        observer_(std::move(observer)),
        writer_(store) {}
  ~KafkaSink() override { Close(); }

  Status Init();
  Status Run() override;
  void Stop() override { stop_.store(true); }

 private:
  static void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void OnAssign(rd_kafka_topic_partition_list_t* partitions);
  void OnRevoke(rd_kafka_topic_partition_list_t* partitions);
  bool Cooperative() const {
    const char* protocol = rd_kafka_rebalance_protocol(consumer_.get());
    return protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
  }
  // Sets each partition's offset to its stored next offset, or the beginning when none is stored.
  Status SetStoredOffsets(rd_kafka_topic_partition_list_t* partitions);
  void UpdateAssignedGauge();
  void UpdateLag();

  Status Start();
  Status Loop();
  void CollectRound();
  void HandleConsumerError(const rd_kafka_message_t& message);
  Status ApplyRound();
  Status Rewind();
  void CommitToKafka();
  void Close();

  const SinkOptions options_;
  Store& store_;
  SinkMetrics& metrics_;
  const RoundObserver observer_;
  StoreWriter writer_;
  sink::KafkaPtr consumer_;
  std::unique_ptr<sink::CatalogReader> catalogs_;
  std::atomic<bool> stop_{false};
  std::optional<Error> fatal_;         // set on the consumer thread, also from callbacks
  std::vector<ConsumedRecord> round_;  // the round being collected
};

Status KafkaSink::Init() {
  auto conf = sink::NewConf();
  auto* c = conf.get();
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "bootstrap.servers", options_.bootstrap));
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "group.id", options_.group_id));
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "client.id", "canvoy-fleet-store"));
  // Offsets live in RocksDB, written with the data; Kafka's are informational only.
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "enable.auto.commit", "false"));
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "enable.auto.offset.store", "false"));
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "auto.offset.reset", "earliest"));
  CANVOY_RETURN_IF_ERROR(sink::Set(c, "enable.partition.eof", "false"));
  for (const auto& [name, value] : options_.kafka_config)
    CANVOY_RETURN_IF_ERROR(sink::Set(c, name, value));
  rd_kafka_conf_set_rebalance_cb(c, &KafkaSink::RebalanceCallback);
  rd_kafka_conf_set_opaque(c, this);
  CANVOY_ASSIGN_OR_RETURN(consumer_, sink::NewConsumer(conf));
  CANVOY_ASSIGN_OR_RETURN(catalogs_, sink::CatalogReader::Create(options_));
  return OkStatus();
}

void KafkaSink::RebalanceCallback(rd_kafka_t*, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->OnAssign(partitions);
  } else {
    self->OnRevoke(partitions);
  }
}

Status KafkaSink::SetStoredOffsets(rd_kafka_topic_partition_list_t* partitions) {
  for (int i = 0; i < partitions->cnt; ++i) {
    auto& p = partitions->elems[i];
    CANVOY_ASSIGN_OR_RETURN(auto next, store_.NextOffset(p.topic, p.partition));
    p.offset = next ? *next : RD_KAFKA_OFFSET_BEGINNING;
  }
  return OkStatus();
}

void KafkaSink::UpdateAssignedGauge() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionList assignment(raw);
  metrics_.assigned_partitions.Set(assignment->cnt);
}

void KafkaSink::OnAssign(rd_kafka_topic_partition_list_t* partitions) {
  if (auto status = SetStoredOffsets(partitions); !status) {
    // Never start from a guessed offset: stop instead, and let the restart read them again.
    fatal_ = status.error().WithContext("read stored offsets on assignment");
    return;
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    const auto& p = partitions->elems[i];
    spdlog::info("msg=\"partition assigned\" topic={} partition={} offset={}", p.topic, p.partition,
                 p.offset == RD_KAFKA_OFFSET_BEGINNING ? std::string("beginning")
                                                       : std::to_string(p.offset));
  }
  if (Cooperative()) {
    if (ErrorPtr error(rd_kafka_incremental_assign(consumer_.get(), partitions)); error) {
      fatal_ = KafkaError(error.get(), "incremental assign");
    }
  } else if (auto err = rd_kafka_assign(consumer_.get(), partitions);
             err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fatal_ = KafkaError(err, "assign");
  }
  UpdateAssignedGauge();
}

void KafkaSink::OnRevoke(rd_kafka_topic_partition_list_t* partitions) {
  // Records of a revoked partition that are not applied yet belong to its next owner, which
  // starts from the stored offsets; applying them here would apply them twice.
  auto revoked = [partitions](const ConsumedRecord& r) {
    return rd_kafka_topic_partition_list_find(partitions, r.topic.c_str(), r.partition) != nullptr;
  };
  const auto before = round_.size();
  round_.erase(std::remove_if(round_.begin(), round_.end(), revoked), round_.end());
  spdlog::info("msg=\"partitions revoked\" count={} unapplied_records_dropped={}", partitions->cnt,
               before - round_.size());
  if (Cooperative()) {
    ErrorPtr error(rd_kafka_incremental_unassign(consumer_.get(), partitions));
  } else {
    rd_kafka_assign(consumer_.get(), nullptr);
  }
  UpdateAssignedGauge();
}

Status KafkaSink::Start() {
  if (options_.partitions.empty()) {
    PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), options_.telemetry_topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer_.get(), topics.get());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(err, "subscribe to '" + options_.telemetry_topic + "'");
    }
    spdlog::info("msg=\"subscribed\" topic={} group={}", options_.telemetry_topic,
                 options_.group_id);
    return OkStatus();
  }
  PartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.partitions.size())));
  for (auto p : options_.partitions) {
    rd_kafka_topic_partition_list_add(list.get(), options_.telemetry_topic.c_str(), p);
  }
  OnAssign(list.get());
  if (fatal_) return *fatal_;
  return OkStatus();
}

Status KafkaSink::Run() {
  auto status = Start();
  if (status) status = Loop();
  Close();
  return status;
}

Status KafkaSink::Loop() {
  auto next_lag_update = Clock::now();
  while (!stop_.load()) {
    CollectRound();
    if (fatal_) return *fatal_;
    CANVOY_RETURN_IF_ERROR(ApplyRound());
    if (Clock::now() >= next_lag_update) {
      UpdateLag();
      next_lag_update = Clock::now() + std::chrono::seconds(1);
    }
  }
  return OkStatus();
}

void KafkaSink::UpdateLag() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionList assignment(raw);
  for (int i = 0; i < assignment->cnt; ++i) {
    const auto& p = assignment->elems[i];
    std::int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_.get(), p.topic, p.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
      continue;
    // What the store has applied, not the consumer's position: a partition that was applied to
    // its end before a restart has no position until a new record arrives.
    auto next = store_.NextOffset(p.topic, p.partition);
    if (!next) continue;
    const std::int64_t applied = next.value().value_or(low);
    metrics_.SetLag(p.partition, std::max<std::int64_t>(0, high - applied));
  }
}

void KafkaSink::CollectRound() {
  std::optional<Clock::time_point> round_end;
  while (!stop_.load() && !fatal_ && round_.size() < options_.max_poll_records) {
    auto timeout = options_.poll_timeout;
    if (round_end) {
      const auto now = Clock::now();
      if (now >= *round_end) break;
      timeout = std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(*round_end - now));
    }
    MessagePtr message(rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(timeout.count())));
    // Idle: return, so that Loop() keeps the lag gauges fresh while nothing arrives.
    if (!message) {
      if (round_.empty()) return;
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      HandleConsumerError(*message);
      continue;
    }
    if (!round_end) round_end = Clock::now() + options_.poll_round_time;
    ConsumedRecord record;
    record.topic = rd_kafka_topic_name(message->rkt);
    record.partition = message->partition;
    record.offset = message->offset;
    if (message->key != nullptr)
      record.key.assign(static_cast<const char*>(message->key), message->key_len);
    if (message->payload != nullptr) {
      record.value.assign(static_cast<const char*>(message->payload), message->len);
    }
    round_.push_back(std::move(record));
  }
}

void KafkaSink::HandleConsumerError(const rd_kafka_message_t& message) {
  if (message.err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    const auto err = rd_kafka_fatal_error(consumer_.get(), reason, sizeof reason);
    fatal_ = Error(Errc::kKafka,
                   std::string("fatal consumer error: ") + rd_kafka_err2name(err) + ": " + reason);
    return;
  }
  spdlog::warn("msg=\"consumer error\" error=\"{}\"", rd_kafka_message_errstr(&message));
}

Status KafkaSink::ApplyRound() {
  if (round_.empty()) return OkStatus();
  auto applied = writer_.Apply(round_);
  if (!applied && applied.error().code() == Errc::kUnavailable) {
    spdlog::info("msg=\"reading catalogs before applying the round\" reason=\"{}\"",
                 applied.error().message());
    CANVOY_ASSIGN_OR_RETURN(auto missing, writer_.MissingCatalogs(round_));
    CANVOY_ASSIGN_OR_RETURN(auto unknown,
                            catalogs_->ReadUntilKnown(std::move(missing), writer_, metrics_,
                                                      Clock::now() + options_.catalog_wait, stop_));
    for (const auto& hash : unknown) {
      spdlog::warn(
          "msg=\"catalog not found in the catalog topic in time\" topic={} hash={} waited_ms={}",
          options_.catalog_topic, ToHex(hash), options_.catalog_wait.count());
    }
    applied = writer_.Apply(round_);
  }
  if (!applied) {
    if (applied.error().code() != Errc::kUnavailable) return applied.error();
    // Not applied and not committed: the records are read again from the stored offsets.
    metrics_.rounds_deferred.Increment();
    spdlog::warn("msg=\"poll round deferred: a catalog is still unknown\" records={} error=\"{}\"",
                 round_.size(), applied.error().message());
    round_.clear();
    return stop_.load() ? OkStatus() : Rewind();
  }
  const ApplyStats& stats = applied.value();
  metrics_.Add(stats);
  spdlog::debug("msg=\"round applied\" records={} batches={} duplicates={} samples={} rejected={}",
                stats.records, stats.batches_applied, stats.duplicates_dropped,
                stats.samples_written, stats.records_rejected);
  CommitToKafka();
  round_.clear();
  if (observer_) observer_(stats);
  return OkStatus();
}

Status KafkaSink::Rewind() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (auto err = rd_kafka_assignment(consumer_.get(), &raw); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, "read assignment");
  }
  PartitionList assignment(raw);
  if (assignment->cnt == 0) return OkStatus();
  CANVOY_RETURN_IF_ERROR(SetStoredOffsets(assignment.get()));
  // A failed seek would leave the position past records that were not applied: stop instead.
  if (ErrorPtr error(rd_kafka_seek_partitions(consumer_.get(), assignment.get(), kSeekTimeoutMs));
      error) {
    return KafkaError(error.get(), "seek back to stored offsets");
  }
  for (int i = 0; i < assignment->cnt; ++i) {
    const auto& p = assignment->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(p.err, "seek " + std::string(p.topic) + "/" + std::to_string(p.partition));
    }
  }
  return OkStatus();
}

void KafkaSink::CommitToKafka() {
  // For lag monitoring only: on assignment the consumer starts from RocksDB's offsets.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto& r : round_) {
    auto& n = next[{r.topic, r.partition}];
    n = std::max(n, r.offset + 1);
  }
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (const auto& [tp, offset] : next) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  }
  if (auto err = rd_kafka_commit(consumer_.get(), list.get(), 1);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::debug("msg=\"informational offset commit failed\" error=\"{}\"", rd_kafka_err2str(err));
  }
}

void KafkaSink::Close() {
  if (consumer_) {
    if (auto err = rd_kafka_consumer_close(consumer_.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("msg=\"consumer close\" error=\"{}\"", rd_kafka_err2str(err));
    }
    consumer_.reset();
    spdlog::info("msg=\"consumer closed\" topic={}", options_.telemetry_topic);
  }
  catalogs_.reset();
}

}  // namespace

Result<std::unique_ptr<Sink>> Sink::Create(const SinkOptions& options, Store& store,
                                           SinkMetrics& metrics, RoundObserver observer) {
  CANVOY_RETURN_IF_ERROR(options.Validate());
  auto sink = std::make_unique<KafkaSink>(options, store, metrics, std::move(observer));
  CANVOY_RETURN_IF_ERROR(sink->Init());
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace canvoy::fleet_store
