// Chaos on real parts: ingest killed with SIGKILL while a fleet streams, and the broker stopped
// for 30 s and restarted. "Nothing lost" is checked by content: per VIN, the digest of the samples
// the agents spooled equals the digest of the distinct batches Kafka holds (resends allowed).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/json_file.h"
#include "support/kafka_fixture.h"
#include "support/process.h"
#include "support/telemetry_digest.h"
#include "support/topics.h"

namespace canvoy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ReadJson;
using testing::ReadFirstLine;
using testing::WaitUntil;

const fs::path kData = CANVOY_SHARED_DATA_DIR;

// A Prometheus counter's value from a /metrics page; -1 when absent.
double Metric(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / testing::UniqueName("canvoy-chaos");
    fs::create_directories(dir_);
    ChildProcess pki(CANVOY_PKI_BIN, {"--dir", (dir_ / "pki").string(), "--init", "--vin", "CNVYC000000000001"},
                     dir_ / "pki.log");
    ASSERT_EQ(pki.WaitFor(60s), 0) << pki.LogTail();
    telemetry_topic_ = testing::UniqueName("chaos.telemetry");
    catalog_topic_ = testing::UniqueName("chaos.catalog");
  }
  void TearDown() override {
    if (!HasFailure() && std::getenv("CANVOY_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_);
    else std::cerr << "kept " << dir_ << " for inspection\n";
  }

  void CreateTopics() {
    ASSERT_EQ(testing::CreateTopic(bootstrap_, telemetry_topic_, 4, false), "");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, catalog_topic_, 1, true), "");
  }

  // Ingest on `port` (0: any); its port file is ingest-<n>.port.
  std::unique_ptr<ChildProcess> StartIngest(const std::string& port, int n) {
    const fs::path pki = dir_ / "pki";
    return std::make_unique<ChildProcess>(
        CANVOY_INGEST_BIN,
        std::vector<std::string>{"--port", port, "--port-file", (dir_ / ("ingest-" + std::to_string(n) + ".port")).string(),
                                 "--metrics-port", "0", "--metrics-port-file",
                                 (dir_ / ("metrics-" + std::to_string(n) + ".port")).string(),
                                 "--ca", (pki / "ca.crt").string(), "--cert", (pki / "server.crt").string(),
                                 "--key", (pki / "server.key").string(), "--bootstrap", bootstrap_,
                                 "--telemetry-topic", telemetry_topic_, "--catalog-topic", catalog_topic_},
        dir_ / ("ingest-" + std::to_string(n) + ".log"));
  }

  std::string WaitPort(const std::string& file, ChildProcess& process) {
    EXPECT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / file).empty(); }, 60s)) << process.LogTail();
    return ReadFirstLine(dir_ / file);
  }

  // `vehicles` agents replaying the RAV4 powertrain log at `speed` times real time.
  std::unique_ptr<ChildProcess> StartFleet(int vehicles, const std::string& speed, const std::string& ingest_port) {
    return std::make_unique<ChildProcess>(
        CANVOY_FLEET_SIM_BIN,
        std::vector<std::string>{"--vehicles", std::to_string(vehicles), "--vin-prefix", "CNVYC",
                                 "--pki", (dir_ / "pki").string(),
                                 "--dbc", (kData / "can/dbc/opendbc_toyota_new_mc_pt_generated.dbc").string(),
                                 "--log", (kData / "can/logs/comma2k19_rav4_2017_seg40_can0_pt.log").string(),
                                 "--replay-speed", speed, "--io-threads", "2",
                                 "--ingest", "127.0.0.1:" + ingest_port, "--summary", (dir_ / "fleet.json").string()},
        dir_ / "fleet.log");
  }

  // Every vehicle's spooled samples are in Kafka: same count and digest per VIN.
  void ExpectKafkaHoldsEverySpooledSample(std::size_t vehicles) {
    const json::value summary = ReadJson(dir_ / "fleet.json");
    ASSERT_TRUE(summary.is_object()) << "the fleet wrote no summary";
    std::map<std::string, SampleDigest> spooled;
    for (const auto& v : summary.at("vehicles").as_array()) {
      const auto& d = v.at("spooled_digest");
      spooled[json::value_to<std::string>(v.at("vin"))] =
          SampleDigest{d.at("count").to_number<std::uint64_t>(), d.at("sum").to_number<std::uint64_t>()};
    }
    ASSERT_EQ(spooled.size(), vehicles);
    const testing::TopicContent kafka = testing::ReadTelemetryTopic(bootstrap_, telemetry_topic_);
    ASSERT_EQ(kafka.error, "");
    std::uint64_t total = 0;
    for (const auto& [vin, digest] : spooled) {
      ASSERT_GT(digest.count, 0u) << vin << " spooled nothing: the test proves nothing";
      total += digest.count;
      const auto it = kafka.by_vin.find(vin);
      ASSERT_NE(it, kafka.by_vin.end()) << vin << ": nothing in Kafka";
      EXPECT_EQ(it->second.count, digest.count) << vin << ": samples in Kafka vs spooled";
      EXPECT_EQ(it->second.sum, digest.sum) << vin << ": sample digest in Kafka vs spooled";
    }
    EXPECT_EQ(kafka.by_vin.size(), vehicles) << "Kafka holds batches of vehicles that were not in the fleet";
    std::cerr << "kafka: " << kafka.records << " records, " << kafka.duplicates << " resent duplicates, "
              << total << " samples of " << vehicles << " vehicles, all present\n";
  }

  fs::path dir_;
  std::string bootstrap_, telemetry_topic_, catalog_topic_;
};

TEST_F(ChaosTest, IngestKilledWhileFiftyAgentsStreamLosesNothing) {
  bootstrap_ = testing::KafkaBootstrap();
  ASSERT_FALSE(bootstrap_.empty());
  CreateTopics();
  auto ingest = StartIngest("0", 1);
  const std::string port = WaitPort("ingest-1.port", *ingest);
  const auto metrics_port = static_cast<std::uint16_t>(std::stoi(WaitPort("metrics-1.port", *ingest)));
  auto fleet = StartFleet(50, "2", port);

  // Kill it once every vehicle is in and batches are flowing, then start another on the same port.
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string page = testing::HttpGet(metrics_port, "/metrics").second;
        return Metric(page, "canvoy_ingest_handshakes_total{result=\"ok\"}") >= 50 &&
               Metric(page, "canvoy_ingest_batches_acked_total") >= 200;
      },
      120s, 100ms))
      << ingest->LogTail();
  ingest->Signal(SIGKILL);
  ASSERT_EQ(ingest->WaitFor(30s), 128 + SIGKILL);
  ASSERT_FALSE(fleet->WaitFor(0s).has_value()) << "the fleet finished before ingest was killed\n" << fleet->LogTail();
  auto second = StartIngest(port, 2);
  WaitPort("ingest-2.port", *second);

  ASSERT_EQ(fleet->WaitFor(600s), 0) << fleet->LogTail() << second->LogTail();
  ExpectKafkaHoldsEverySpooledSample(50);
  second->Signal(SIGTERM);
  EXPECT_EQ(second->WaitFor(60s), 0) << second->LogTail();
}

TEST_F(ChaosTest, BrokerDownThirtySecondsThenBackLosesNothing) {
  // A broker of this test's own: stopping the shared one would fail every other test.
  const fs::path kafka_dir = dir_ / "kafka";
  ChildProcess start("/bin/bash", {CANVOY_KAFKA_SCRIPT, "start", "--dir", kafka_dir.string()}, dir_ / "kafka-start.log");
  ASSERT_EQ(start.WaitFor(180s), 0) << start.LogTail();
  bootstrap_ = ReadFirstLine(kafka_dir / "bootstrap");
  ASSERT_FALSE(bootstrap_.empty());
  struct StopBroker {
    fs::path dir;
    ~StopBroker() {
      ChildProcess stop("/bin/bash", {CANVOY_KAFKA_SCRIPT, "stop", "--dir", dir.string()}, dir / "../kafka-stop.log");
      stop.WaitFor(std::chrono::seconds(60));
    }
  } stop_broker{kafka_dir};
  CreateTopics();
  auto ingest = StartIngest("0", 1);
  const std::string port = WaitPort("ingest-1.port", *ingest);
  const auto metrics_port = static_cast<std::uint16_t>(std::stoi(WaitPort("metrics-1.port", *ingest)));
  auto fleet = StartFleet(10, "1", port);  // a minute of driving, in real time
  const auto acked = [&] {
    return Metric(testing::HttpGet(metrics_port, "/metrics").second, "canvoy_ingest_batches_acked_total");
  };
  ASSERT_TRUE(WaitUntil([&] { return acked() >= 20; }, 120s, 100ms)) << ingest->LogTail();

  ChildProcess stop("/bin/bash", {CANVOY_KAFKA_SCRIPT, "stop", "--dir", kafka_dir.string()}, dir_ / "kafka-stop.log");
  ASSERT_EQ(stop.WaitFor(60s), 0) << stop.LogTail();
  const auto down_since = std::chrono::steady_clock::now();
  // While the broker is down nothing new is acknowledged: what ingest took stays unacked and the
  // agents' spools grow. (A few batches already delivered may still be acked just after the stop.)
  const double acked_at_stop = acked();
  ASSERT_FALSE(WaitUntil([&] { return acked() > acked_at_stop + 64; }, 25s, 500ms))
      << "ingest acknowledged batches Kafka cannot have had";
  EXPECT_FALSE(fleet->WaitFor(0s).has_value()) << "the fleet finished while the broker was down";
  // 30 s down in all (a deadline on wall time, not a wait for work).
  std::this_thread::sleep_until(down_since + 30s);
  ChildProcess restart("/bin/bash", {CANVOY_KAFKA_SCRIPT, "restart", "--dir", kafka_dir.string()},
                       dir_ / "kafka-restart.log");
  ASSERT_EQ(restart.WaitFor(180s), 0) << restart.LogTail();

  ASSERT_EQ(fleet->WaitFor(600s), 0) << fleet->LogTail() << ingest->LogTail();
  EXPECT_GT(acked(), acked_at_stop + 64) << "the spooled backlog drained through ingest";
  ExpectKafkaHoldsEverySpooledSample(10);
  ingest->Signal(SIGTERM);
  EXPECT_EQ(ingest->WaitFor(60s), 0) << ingest->LogTail();
}

}  // namespace
}  // namespace canvoy
