// The local broker from scripts/kafka.sh behaves like the Kafka that ingest and fleet-store rely
// on: an idempotent, acks=all, zstd producer gets every record acknowledged, a consumer reads the
// same records back in per-key order, and the broker really stores zstd batches compressed.
// Every run uses its own random key prefix (and its own topics where disk usage is measured), so
// runs against a broker that already holds data count only their own records.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "support/kafka_fixture.h"

namespace canvoy::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeliveryTimeout = std::chrono::seconds(60);
constexpr auto kConsumeTimeout = std::chrono::seconds(60);
constexpr auto kAdminTimeout = std::chrono::seconds(30);

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct Record {
  std::string key;
  std::string value;
};

// Milliseconds left until `deadline`, at least 0, as librdkafka's int timeouts want them.
int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// 8 random hex digits: keys (and topics) of this run.
std::string RunPrefix() {
  std::random_device random;
  std::uniform_int_distribution<std::uint32_t> digits;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string prefix;
  for (std::uint32_t bits = digits(random); prefix.size() < 8; bits >>= 4) {
    prefix += kHex[bits & 0xF];
  }
  return prefix;
}

// 17 characters of [0-9A-F], like a VIN (which never uses I, O or Q).
std::string VinLike(const std::string& prefix, int vehicle) {
  std::string number = std::to_string(vehicle);
  return prefix + std::string(9 - number.size(), '0') + number;
}

// FNV-1a over key and value; summed over records it is a checksum independent of order.
std::uint64_t RecordHash(const Record& record) {
  std::uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](const std::string& bytes) {
    for (const unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ULL;
  };
  mix(record.key);
  hash = (hash ^ 0xFF) * 1099511628211ULL;  // separator: ("ab","c") != ("a","bc")
  mix(record.value);
  return hash;
}

std::uint64_t Checksum(const std::vector<Record>& records) {
  std::uint64_t sum = 0;
  for (const Record& record : records) sum += RecordHash(record);
  return sum;
}

// A client configured with `properties`; adds a test failure and returns null on a bad setting.
KafkaHandle NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& properties,
                      void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr,
                      void* opaque = nullptr) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      ADD_FAILURE() << name << "=" << value << ": " << error;
      return nullptr;
    }
  }
  if (on_delivery != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof error);  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    ADD_FAILURE() << "rd_kafka_new: " << error;
  }
  return KafkaHandle(rk);
}

// Delivery reports; librdkafka calls OnDelivery from rd_kafka_poll/flush on the test's thread.
struct DeliveryTally {
  std::size_t persisted = 0;
  std::size_t failed = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* tally = static_cast<DeliveryTally*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_message_status(message) == RD_KAFKA_MSG_STATUS_PERSISTED) {
    ++tally->persisted;
  } else if (++tally->failed == 1) {
    tally->first_error = rd_kafka_err2str(message->err);
  }
}

// Produces `records` with an idempotent acks=all producer using `codec`, and waits for the
// delivery report of each one.
::testing::AssertionResult ProduceAll(const std::string& bootstrap, const std::string& topic,
                                      const std::string& codec,
                                      const std::vector<Record>& records) {
  DeliveryTally tally;
  KafkaHandle producer = NewClient(RD_KAFKA_PRODUCER,
                                   {{"bootstrap.servers", bootstrap},
                                    {"enable.idempotence", "true"},
                                    {"acks", "all"},
                                    {"compression.codec", codec},
                                    {"linger.ms", "20"}},
                                   OnDelivery, &tally);
  if (!producer) return ::testing::AssertionFailure() << "no producer";
  const auto deadline = Clock::now() + kDeliveryTimeout;
  for (const Record& record : records) {
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || Clock::now() > deadline) {
        return ::testing::AssertionFailure() << "produce to " << topic << ": "
                                             << rd_kafka_err2str(err);
      }
      rd_kafka_poll(producer.get(), 50);  // serves delivery reports, which frees the queue
    }
    rd_kafka_poll(producer.get(), 0);
  }
  if (rd_kafka_flush(producer.get(), MillisLeft(deadline)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ::testing::AssertionFailure()
           << rd_kafka_outq_len(producer.get()) << " records still unacknowledged after "
           << kDeliveryTimeout.count() << " s";
  }
  if (tally.failed != 0 || tally.persisted != records.size()) {
    return ::testing::AssertionFailure()
           << tally.persisted << " of " << records.size() << " persisted, " << tally.failed
           << " failed (first: " << tally.first_error << ")";
  }
  return ::testing::AssertionSuccess();
}

// Reads every partition of `topic` from the beginning to its end, keeping records whose key
// starts with `prefix`. The records were acknowledged before, so they all lie before the end.
::testing::AssertionResult ReadBack(const std::string& bootstrap, const std::string& topic,
                                    const std::string& prefix, std::vector<Record>* records) {
  KafkaHandle consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                       {"group.id", "canvoy-broker-test-" + prefix},
                                                       {"enable.auto.commit", "false"},
                                                       {"enable.partition.eof", "true"}});
  if (!consumer) return ::testing::AssertionFailure() << "no consumer";
  rd_kafka_poll_set_consumer(consumer.get());
  const auto deadline = Clock::now() + kConsumeTimeout;

  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer.get(), topic.c_str(), nullptr);
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(consumer.get(), 0, handle, &metadata, MillisLeft(deadline));
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || metadata->topic_cnt != 1 ||
      metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    return ::testing::AssertionFailure() << "metadata of " << topic << ": " << rd_kafka_err2str(err);
  }
  const int partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);

  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  const rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer.get(), assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ::testing::AssertionFailure() << "assign: " << rd_kafka_err2str(assigned);
  }

  std::set<std::int32_t> at_end;
  while (static_cast<int>(at_end.size()) < partitions) {
    if (Clock::now() > deadline) {
      return ::testing::AssertionFailure() << "only " << at_end.size() << " of " << partitions
                                           << " partitions read to the end in time";
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer.get(), 100);
    if (message == nullptr) continue;
    const std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        message, rd_kafka_message_destroy);
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(message->partition);
    } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ::testing::AssertionFailure() << "consume: " << rd_kafka_message_errstr(message);
    } else {
      std::string key(static_cast<const char*>(message->key), message->key_len);
      if (key.starts_with(prefix)) {
        records->push_back({std::move(key), std::string(static_cast<const char*>(message->payload),
                                                        message->len)});
      }
    }
  }
  rd_kafka_consumer_close(consumer.get());
  return ::testing::AssertionSuccess();
}

// Creates `topic` with one partition, waiting for the controller's answer.
::testing::AssertionResult CreateTopic(const std::string& bootstrap, const std::string& topic) {
  KafkaHandle admin = NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  if (!admin) return ::testing::AssertionFailure() << "no admin client";
  char error[512];
  rd_kafka_NewTopic_t* request = rd_kafka_NewTopic_new(topic.c_str(), 1, 1, error, sizeof error);
  if (request == nullptr) return ::testing::AssertionFailure() << topic << ": " << error;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateTopics(admin.get(), &request, 1, nullptr, queue);
  rd_kafka_NewTopic_destroy(request);
  rd_kafka_event_t* event =
      rd_kafka_queue_poll(queue, static_cast<int>(std::chrono::milliseconds(kAdminTimeout).count()));
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  if (event == nullptr) {
    result = ::testing::AssertionFailure() << "no answer to CreateTopics " << topic;
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = ::testing::AssertionFailure() << "CreateTopics: " << rd_kafka_event_error_string(event);
  } else {
    std::size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    if (count != 1 || rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = ::testing::AssertionFailure()
               << "create " << topic << ": "
               << (count == 1 ? rd_kafka_topic_result_error_string(topics[0]) : "no result");
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  return result;
}

// Bytes in the log segments (*.log) of partition 0 of `topic` in the broker's data directory.
std::uintmax_t SegmentBytes(const std::string& topic) {
  const std::filesystem::path partition = KafkaDir() / "data" / (topic + "-0");
  std::error_code error;
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(partition, error)) {
    if (entry.path().extension() == ".log") bytes += entry.file_size();
  }
  if (error) ADD_FAILURE() << partition << ": " << error.message();
  return bytes;
}

TEST(KafkaBrokerTest, IdempotentZstdProducerRecordsReadBackInKeyOrder) {
  const std::string bootstrap = KafkaBootstrap();
  ASSERT_FALSE(bootstrap.empty());
  const std::string prefix = RunPrefix();
  constexpr int kVehicles = 40;
  constexpr int kPerVehicle = 25;
  std::vector<Record> produced;
  for (int seq = 0; seq < kPerVehicle; ++seq) {
    for (int vehicle = 0; vehicle < kVehicles; ++vehicle) {
      produced.push_back({VinLike(prefix, vehicle),
                          std::to_string(seq) + ";speed_kmh=" + std::to_string(vehicle * 7 + seq) +
                              ";soc_pct=" + std::to_string(100 - seq)});
    }
  }

  ASSERT_TRUE(ProduceAll(bootstrap, TelemetryTopic(), "zstd", produced));
  std::vector<Record> consumed;
  ASSERT_TRUE(ReadBack(bootstrap, TelemetryTopic(), prefix, &consumed));

  ASSERT_EQ(consumed.size(), produced.size());
  EXPECT_EQ(Checksum(consumed), Checksum(produced));
  std::map<std::string, int> next_seq;  // one key stays in one partition, so in order
  for (const Record& record : consumed) {
    const int seq = std::stoi(record.value.substr(0, record.value.find(';')));
    EXPECT_EQ(seq, next_seq[record.key]++) << record.key << " out of order";
  }
}

TEST(KafkaBrokerTest, BrokerStoresZstdBatchesCompressed) {
  const std::string bootstrap = KafkaBootstrap();
  ASSERT_FALSE(bootstrap.empty());
  const std::string prefix = RunPrefix();
  const std::string zstd_topic = "canvoy.test.zstd-" + prefix;
  const std::string plain_topic = "canvoy.test.plain-" + prefix;  // control: same bytes, no codec
  ASSERT_TRUE(CreateTopic(bootstrap, zstd_topic));
  ASSERT_TRUE(CreateTopic(bootstrap, plain_topic));

  std::vector<Record> records;
  std::uintmax_t raw_bytes = 0;
  std::string repetitive;
  while (repetitive.size() < 1000) repetitive += "Vehicle.Speed=88.5;Vehicle.Cabin.Door.IsOpen=0;";
  for (int i = 0; i < 2000; ++i) {
    records.push_back({VinLike(prefix, i % 50), std::to_string(i) + ";" + repetitive});
    raw_bytes += records.back().key.size() + records.back().value.size();
  }
  ASSERT_TRUE(ProduceAll(bootstrap, zstd_topic, "zstd", records));
  ASSERT_TRUE(ProduceAll(bootstrap, plain_topic, "none", records));

  // Acknowledged records are in the segment files already (written, if not yet fsynced).
  const std::uintmax_t plain_bytes = SegmentBytes(plain_topic);
  const std::uintmax_t zstd_bytes = SegmentBytes(zstd_topic);
  EXPECT_GE(plain_bytes, raw_bytes) << "the measurement does not see the stored records";
  EXPECT_GT(zstd_bytes, 0U);
  EXPECT_LT(zstd_bytes * 10, raw_bytes)
      << "zstd batches take " << zstd_bytes << " bytes on disk for " << raw_bytes << " raw bytes";
}

}  // namespace
}  // namespace canvoy::testing
