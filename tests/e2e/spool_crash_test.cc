// The agent's disk spool against crashes, on real parts: the Kafka broker, ingest and the agent
// as separate processes over real TLS, replaying the RAV4 powertrain log.
//
// SpoolCrashTest.AgentKilledTwentyTimesLosesNoSpooledBatch kills the agent with SIGKILL at random
// moments, restarting it on the same spool each time; every batch seen in the spool after a kill
// must reach Kafka with the same bytes (duplicates allowed), and no seq may ever name two
// different batches. Ingest acknowledges within milliseconds, so in every other run it is paused
// (SIGSTOP) until the kill: the spool then holds a backlog of unacknowledged batches, some of
// them sent, that the next run must resend. SpoolCrashTest.CorruptSpoolTailIsCutReportedAndNotSent
// damages the spool of a killed agent and checks that the restarted agent cuts and reports it and
// never sends it.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "spool/spool_format.h"
#include "uplink/batch_codec.h"
#include "support/kafka_fixture.h"
#include "support/process.h"
#include "support/topics.h"

namespace canvoy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ReadFirstLine;
using testing::WaitUntil;

const fs::path kData = CANVOY_SHARED_DATA_DIR;
constexpr const char* kVin = "CNVYK000000000007";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The `spool opened` line of an agent log: stream id, next seq, bytes cut.
struct SpoolOpened {
  std::string stream_id;
  std::uint64_t next_seq = 0;
  std::uint64_t corrupt_bytes_cut = 0;
};
// The value of ` key=` in a logfmt line, or "".
std::string Field(const std::string& line, const std::string& key) {
  const auto at = line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const auto begin = at + key.size() + 2;
  return line.substr(begin, line.find(' ', begin) - begin);
}

std::optional<SpoolOpened> FindSpoolOpened(const fs::path& log) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("msg=\"spool opened\"") == std::string::npos) continue;
    const std::string next_seq = Field(line, "next_seq"), cut = Field(line, "corrupt_bytes_cut");
    if (next_seq.empty() || cut.empty()) return std::nullopt;
    return SpoolOpened{Field(line, "stream_id"), std::stoull(next_seq), std::stoull(cut)};
  }
  return std::nullopt;
}

// Every batch in the telemetry topic: seq -> the distinct contents stored under it, for one stream.
using StoredBatches = std::map<std::uint64_t, std::set<std::string>>;

::testing::AssertionResult ReadTelemetry(const std::string& bootstrap, const std::string& topic,
                                         const std::string& stream_id_hex, StoredBatches* out) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "group.id", testing::UniqueName("spool-crash-reader").c_str(), error,
                    sizeof error);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", error, sizeof error);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (rk == nullptr) return ::testing::AssertionFailure() << "rd_kafka_new: " << error;
  const std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> consumer(rk, rd_kafka_destroy);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(assignment, topic.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  const rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR)
    return ::testing::AssertionFailure() << rd_kafka_err2str(assigned);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline)
      return ::testing::AssertionFailure() << "reading " << topic << " timed out";
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 200);
    if (message == nullptr) continue;
    const std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        message, rd_kafka_message_destroy);
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ::testing::AssertionFailure() << "consume: " << rd_kafka_message_errstr(message);
    }
    telemetry::v1::TelemetryRecord record;
    telemetry::v1::Batch batch;
    if (!record.ParseFromArray(message->payload, static_cast<int>(message->len)) ||
        !batch.ParseFromString(record.batch())) {
      return ::testing::AssertionFailure()
             << "a record at offset " << message->offset << " is not a TelemetryRecord";
    }
    if (ToHex(batch.stream_id()) == stream_id_hex) (*out)[batch.seq()].insert(record.batch());
  }
  rd_kafka_consumer_close(rk);
  return ::testing::AssertionSuccess();
}

class SpoolCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / testing::UniqueName("canvoy-spool-crash");
    fs::create_directories(dir_);
    bootstrap_ = testing::KafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    telemetry_topic_ = testing::UniqueName("spool.telemetry");
    catalog_topic_ = testing::UniqueName("spool.catalog");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, telemetry_topic_, 1, false), "");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, catalog_topic_, 1, true), "");
    ChildProcess pki(CANVOY_PKI_BIN, {"--dir", (dir_ / "pki").string(), "--init", "--vin", kVin},
                     dir_ / "pki.log");
    ASSERT_EQ(pki.WaitFor(60s), 0) << pki.LogTail();
  }
  void TearDown() override {
    if (ingest_) {
      ingest_->Signal(SIGCONT);
      ingest_->Signal(SIGTERM);
      EXPECT_EQ(ingest_->WaitFor(60s), 0) << ingest_->LogTail();
    }
    if (!HasFailure() && std::getenv("CANVOY_KEEP_TEST_DIRS") == nullptr)
      fs::remove_all(dir_);
    else
      std::cerr << "kept " << dir_ << " for inspection\n";
  }

  void StartIngest() {
    const fs::path pki = dir_ / "pki";
    ingest_ = std::make_unique<ChildProcess>(
        CANVOY_INGEST_BIN,
        std::vector<std::string>{
            "--port", "0", "--port-file", (dir_ / "ingest.port").string(), "--metrics-port", "0",
            "--ca", (pki / "ca.crt").string(), "--cert", (pki / "server.crt").string(), "--key",
            (pki / "server.key").string(), "--bootstrap", bootstrap_, "--telemetry-topic",
            telemetry_topic_, "--catalog-topic", catalog_topic_},
        dir_ / "ingest.log");
    ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "ingest.port").empty(); }, 60s))
        << ingest_->LogTail();
  }

  // `canvoy-agent run` on the test's spool; paced by default so that a run lasts a few seconds.
  std::vector<std::string> AgentArgs(const std::string& ingest, const fs::path& summary,
                                     const std::string& segment_bytes = "262144",
                                     const std::string& speed = "15") {
    const fs::path pki = dir_ / "pki";
    return {"run",
            "--dbc",
            (kData / "can/dbc/opendbc_toyota_new_mc_pt_generated.dbc").string(),
            "--log",
            (kData / "can/logs/comma2k19_rav4_2017_seg40_can0_pt.log").string(),
            "--ca",
            (pki / "ca.crt").string(),
            "--cert",
            (pki / "vehicles" / (std::string(kVin) + ".crt")).string(),
            "--key",
            (pki / "vehicles" / (std::string(kVin) + ".key")).string(),
            "--ingest",
            ingest,
            "--spool-dir",
            (dir_ / "spool").string(),
            "--spool-segment-bytes",
            segment_bytes,
            "--replay-speed",
            speed,
            "--summary",
            summary.string()};
  }

  std::string IngestAddress() const { return "127.0.0.1:" + ReadFirstLine(dir_ / "ingest.port"); }

  fs::path dir_;
  std::string bootstrap_, telemetry_topic_, catalog_topic_;
  std::unique_ptr<ChildProcess> ingest_;
};

// Batches in the spool directory (read without changing it), checked against their own (stream
// id, seq) and added to *ever; a seq seen before with other bytes fails the test.
void CollectSpooled(const fs::path& spool_dir, const std::string& stream_id_hex,
                    std::map<std::uint64_t, std::string>* ever, std::uint64_t* max_seq,
                    std::size_t* unacked) {
  auto contents = agent::spool::ReadSpoolDirectory(spool_dir);
  ASSERT_TRUE(contents) << contents.error().message();
  *unacked += contents.value().batches.size() - contents.value().acked.size();
  for (const auto& [seq, frame] : contents.value().batches) {
    // The spool holds the batch as it travels (a BatchFrame, zstd-compressed); Kafka holds the
    // serialized Batch inside it.
    auto unwrapped = agent::UnwrapBatchFrame(frame, 64u << 20);
    ASSERT_TRUE(unwrapped) << "spooled seq " << seq << ": " << unwrapped.error().message();
    const std::string& payload = unwrapped.value();
    telemetry::v1::Batch batch;
    ASSERT_TRUE(batch.ParseFromString(payload)) << "spooled seq " << seq << " is not a Batch";
    ASSERT_EQ(batch.seq(), seq);
    ASSERT_EQ(ToHex(batch.stream_id()), stream_id_hex);
    auto [it, inserted] = ever->emplace(seq, payload);
    ASSERT_TRUE(inserted || it->second == payload)
        << "seq " << seq << " was given to two different batches";
    *max_seq = std::max(*max_seq, seq);
  }
}

TEST_F(SpoolCrashTest, AgentKilledTwentyTimesLosesNoSpooledBatch) {
  StartIngest();
  std::mt19937 rng(std::random_device{}());
  std::map<std::uint64_t, std::string> ever_spooled;
  std::uint64_t max_spooled_seq = 0;
  std::string stream_id;
  std::uint64_t cut_bytes = 0;
  std::size_t unacked = 0;
  for (int run = 0; run < 20; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const fs::path log = dir_ / ("agent-" + std::to_string(run) + ".log");
    ChildProcess agent(CANVOY_AGENT_BIN, AgentArgs(IngestAddress(), dir_ / "summary.json"), log);
    std::optional<SpoolOpened> opened;
    ASSERT_TRUE(WaitUntil([&] { return (opened = FindSpoolOpened(log)).has_value(); }, 60s, 20ms))
        << "the spool did not open\n"
        << agent.LogTail();
    if (stream_id.empty()) stream_id = opened->stream_id;
    EXPECT_EQ(opened->stream_id, stream_id) << "the stream id survives restarts";
    EXPECT_GT(opened->next_seq, max_spooled_seq) << "a seq in use before the kill would be reused";
    cut_bytes += opened->corrupt_bytes_cut;
    // A random moment of the run (60 s of log at 15x: 4 s): while appending, sending, acking,
    // rolling or deleting segments.
    const bool paused = run % 2 == 1;
    if (paused) ingest_->Signal(SIGSTOP);
    const auto moment =
        std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 3000)(rng));
    EXPECT_FALSE(agent.WaitFor(moment).has_value()) << "the agent ended before it was killed\n"
                                                    << agent.LogTail();
    agent.Signal(SIGKILL);
    ASSERT_EQ(agent.WaitFor(30s), 128 + SIGKILL);
    if (paused) ingest_->Signal(SIGCONT);
    CollectSpooled(dir_ / "spool", stream_id, &ever_spooled, &max_spooled_seq, &unacked);
    if (HasFatalFailure()) return;
  }
  // The last run goes to the end: it resends what the spool holds and drains it.
  const fs::path log = dir_ / "agent-final.log";
  ChildProcess agent(CANVOY_AGENT_BIN, AgentArgs(IngestAddress(), dir_ / "summary.json"), log);
  ASSERT_EQ(agent.WaitFor(300s), 0) << agent.LogTail();
  const std::optional<SpoolOpened> opened = FindSpoolOpened(log);
  ASSERT_TRUE(opened);
  EXPECT_GT(opened->next_seq, max_spooled_seq);
  const json::value summary = json::parse(ReadAll(dir_ / "summary.json"));
  EXPECT_GE(summary.at("batches_acked").to_number<std::uint64_t>(),
            summary.at("batches").to_number<std::uint64_t>());
  EXPECT_EQ(summary.at("spool_evicted_batches").to_number<std::uint64_t>(), 0u);
  ASSERT_GE(unacked, 20u)
      << "the kills must leave unacknowledged batches in the spool to be resent";

  StoredBatches stored;
  ASSERT_TRUE(ReadTelemetry(bootstrap_, telemetry_topic_, stream_id, &stored));
  std::size_t missing = 0;
  for (const auto& [seq, payload] : ever_spooled) {
    const auto it = stored.find(seq);
    if (it == stored.end() || !it->second.count(payload)) {
      if (++missing <= 5)
        ADD_FAILURE() << "spooled seq " << seq << " is not in Kafka with its bytes";
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << ever_spooled.size() << " batches seen in the spool";
  for (const auto& [seq, contents] : stored) {
    EXPECT_EQ(contents.size(), 1u)
        << "seq " << seq << " names " << contents.size() << " different batches in Kafka";
  }
  std::cerr << "batches seen in the spool: " << ever_spooled.size()
            << " (unacknowledged at a kill: " << unacked << "), seqs in Kafka: " << stored.size()
            << ", torn bytes cut on restarts: " << cut_bytes << "\n";
}

TEST_F(SpoolCrashTest, CorruptSpoolTailIsCutReportedAndNotSent) {
  // No ingest yet: batches pile up in the spool.
  const fs::path spool_dir = dir_ / "spool";
  {
    ChildProcess agent(CANVOY_AGENT_BIN,
                       AgentArgs("127.0.0.1:1", dir_ / "unused.json", "16384", "0"),
                       dir_ / "agent-offline.log");
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto contents = agent::spool::ReadSpoolDirectory(spool_dir);
          return contents && contents.value().segments.size() >= 3;
        },
        120s, 50ms))
        << agent.LogTail();
    ASSERT_TRUE(WaitUntil(
        [&] {
          return ReadAll(dir_ / "agent-offline.log").find("log replayed") != std::string::npos;
        },
        120s))
        << agent.LogTail();
    agent.Signal(SIGKILL);
    ASSERT_EQ(agent.WaitFor(30s), 128 + SIGKILL);
  }
  auto before = agent::spool::ReadSpoolDirectory(spool_dir);
  ASSERT_TRUE(before);
  ASSERT_GE(before.value().segments.size(), 3u);
  const std::string stream_id = ToHex(before.value().segments.begin()->second.stream_id.bytes());
  // Damage two segments: the first one loses half of its last record, the second gets a bit flipped
  // in its last record's payload.
  auto seg = before.value().segments.begin();
  const fs::path truncated = agent::spool::SegmentPath(spool_dir, seg->first);
  const agent::spool::ScannedRecord torn = seg->second.records.back();
  ASSERT_EQ(torn.type, agent::spool::RecordType::kBatch);
  const std::uint64_t torn_cut = agent::spool::kRecordHeaderSize + torn.payload_size / 2;
  fs::resize_file(truncated, torn.offset + torn_cut);
  ++seg;
  const fs::path flipped = agent::spool::SegmentPath(spool_dir, seg->first);
  const agent::spool::ScannedRecord bad = seg->second.records.back();
  ASSERT_EQ(bad.type, agent::spool::RecordType::kBatch);
  {
    std::fstream f(flipped, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(bad.offset + agent::spool::kRecordHeaderSize +
                                                bad.payload_size / 2);
    f.seekg(at);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(at);
    f.write(&c, 1);
    ASSERT_TRUE(f.good());
  }
  const std::uint64_t expected_cut = torn_cut + agent::spool::kRecordHeaderSize + bad.payload_size;

  StartIngest();
  const fs::path log = dir_ / "agent-restarted.log";
  ChildProcess agent(CANVOY_AGENT_BIN, AgentArgs(IngestAddress(), dir_ / "summary.json"), log);
  ASSERT_EQ(agent.WaitFor(300s), 0) << agent.LogTail();
  const std::string text = ReadAll(log);
  EXPECT_NE(text.find("file=" + truncated.string() + " offset=" + std::to_string(torn.offset)),
            std::string::npos)
      << text.substr(0, 4000);
  EXPECT_NE(text.find("file=" + flipped.string() + " offset=" + std::to_string(bad.offset)),
            std::string::npos)
      << text.substr(0, 4000);
  const json::value summary = json::parse(ReadAll(dir_ / "summary.json"));
  EXPECT_EQ(summary.at("spool_corrupt_bytes_cut").to_number<std::uint64_t>(), expected_cut);

  StoredBatches stored;
  ASSERT_TRUE(ReadTelemetry(bootstrap_, telemetry_topic_, stream_id, &stored));
  EXPECT_FALSE(stored.count(torn.seq)) << "the torn batch was sent";
  EXPECT_FALSE(stored.count(bad.seq)) << "the corrupt batch was sent";
  // Everything else the killed agent had spooled is in Kafka, byte for byte.
  for (const auto& [seq, frame] : before.value().batches) {
    if (seq == torn.seq || seq == bad.seq) continue;
    auto payload = agent::UnwrapBatchFrame(frame, 64u << 20);
    ASSERT_TRUE(payload) << "spooled seq " << seq << ": " << payload.error().message();
    const auto it = stored.find(seq);
    EXPECT_TRUE(it != stored.end() && it->second.count(payload.value()))
        << "spooled seq " << seq << " is missing";
  }
  for (const auto& [seq, contents] : stored) EXPECT_EQ(contents.size(), 1u) << "seq " << seq;
}

}  // namespace
}  // namespace canvoy
