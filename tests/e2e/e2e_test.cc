// The thin end-to-end path on real parts: broker, ingest, fleet store and an agent as separate
// processes, over real TLS, replaying the real RAV4 powertrain log.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/json_file.h"
#include "support/kafka_fixture.h"
#include "support/process.h"
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
constexpr const char* kVin = "CNVYS000000000042";

// Exact comparison of two JSON numbers that came from int64, uint64 or double.
bool SameNumber(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) return a.is_double() && b.is_double() && a.as_double() == b.as_double();
  if (a.is_int64() && b.is_int64()) return a.as_int64() == b.as_int64();
  if (a.is_uint64() && b.is_uint64()) return a.as_uint64() == b.as_uint64();
  const auto as_u = [](const json::value& v) -> std::optional<std::uint64_t> {
    if (v.is_uint64()) return v.as_uint64();
    if (v.is_int64() && v.as_int64() >= 0) return static_cast<std::uint64_t>(v.as_int64());
    return std::nullopt;
  };
  return as_u(a) && as_u(b) && *as_u(a) == *as_u(b);
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / testing::UniqueName("canvoy-e2e");
    fs::create_directories(dir_);
    bootstrap_ = testing::KafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    telemetry_topic_ = testing::UniqueName("e2e.telemetry");
    catalog_topic_ = testing::UniqueName("e2e.catalog");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, telemetry_topic_, 4, false), "");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, catalog_topic_, 1, true), "");
    ChildProcess pki(CANVOY_PKI_BIN, {"--dir", (dir_ / "pki").string(), "--init", "--vin", kVin},
                     dir_ / "pki.log");
    ASSERT_EQ(pki.WaitFor(60s), 0) << pki.LogTail();
  }
  void TearDown() override {
    if (!HasFailure() && std::getenv("CANVOY_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_);
    else std::cerr << "kept " << dir_ << " for inspection\n";
  }

  std::unique_ptr<ChildProcess> StartStore() {
    return std::make_unique<ChildProcess>(
        CANVOY_FLEET_STORE_BIN,
        std::vector<std::string>{"serve", "--db", (dir_ / "db").string(), "--bootstrap", bootstrap_,
                                 "--group", testing::UniqueName("e2e-store"), "--telemetry-topic",
                                 telemetry_topic_, "--catalog-topic", catalog_topic_, "--http-port", "0",
                                 "--http-port-file", (dir_ / "store.port").string()},
        dir_ / "store.log");
  }

  std::unique_ptr<ChildProcess> StartIngest() {
    const fs::path pki = dir_ / "pki";
    return std::make_unique<ChildProcess>(
        CANVOY_INGEST_BIN,
        std::vector<std::string>{"--port", "0", "--port-file", (dir_ / "ingest.port").string(),
                                 "--metrics-port", "0", "--metrics-port-file",
                                 (dir_ / "ingest-metrics.port").string(), "--ca", (pki / "ca.crt").string(),
                                 "--cert", (pki / "server.crt").string(), "--key", (pki / "server.key").string(),
                                 "--bootstrap", bootstrap_, "--telemetry-topic", telemetry_topic_,
                                 "--catalog-topic", catalog_topic_},
        dir_ / "ingest.log");
  }

  std::vector<std::string> AgentArgs(const std::string& ingest_port, const std::string& vin) {
    const fs::path pki = dir_ / "pki";
    return {"run",
            "--dbc", (kData / "can/dbc/opendbc_toyota_new_mc_pt_generated.dbc").string(),
            "--log", (kData / "can/logs/comma2k19_rav4_2017_seg40_can0_pt.log").string(),
            "--ca", (pki / "ca.crt").string(),
            "--cert", (pki / "vehicles" / (vin + ".crt")).string(),
            "--key", (pki / "vehicles" / (vin + ".key")).string(),
            "--ingest", "127.0.0.1:" + ingest_port,
            "--spool-dir", (dir_ / ("spool-" + vin)).string(),
            "--summary", (dir_ / "summary.json").string()};
  }

  fs::path dir_;
  std::string bootstrap_, telemetry_topic_, catalog_topic_;
};

TEST_F(EndToEndTest, StoreHoldsExactlyEverySampleTheAgentDecoded) {
  auto store = StartStore();
  auto ingest = StartIngest();
  ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "ingest.port").empty(); }, 60s)) << ingest->LogTail();
  ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "store.port").empty(); }, 60s)) << store->LogTail();
  const auto store_port = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(dir_ / "store.port")));

  ChildProcess agent(CANVOY_AGENT_BIN, AgentArgs(ReadFirstLine(dir_ / "ingest.port"), kVin), dir_ / "agent.log");
  ASSERT_EQ(agent.WaitFor(300s), 0) << agent.LogTail();

  const json::value summary = ReadJson(dir_ / "summary.json");
  ASSERT_TRUE(summary.is_object()) << "no summary written";
  const std::int64_t decoded = summary.at("samples").to_number<std::int64_t>();
  ASSERT_GT(decoded, 100'000) << "the RAV4 powertrain log decodes to far more samples";
  EXPECT_EQ(summary.at("batches_acked"), summary.at("batches"));

  json::value latest;
  const bool complete = WaitUntil(
      [&] {
        auto [status, body] = testing::HttpGet(store_port, std::string("/v1/vehicles/") + kVin + "/latest");
        if (status != 200) return false;
        latest = json::parse(body);
        return latest.at("sample_count").to_number<std::int64_t>() >= decoded;
      },
      120s, 200ms);
  ASSERT_TRUE(complete) << "store holds " << (latest.is_object() ? json::serialize(latest.at("sample_count")) : "nothing")
                        << " of " << decoded << " samples\n" << store->LogTail();
  EXPECT_EQ(latest.at("sample_count").to_number<std::int64_t>(), decoded);

  // Every signal's latest value and time in the store equals the last one the agent decoded.
  std::map<std::string, json::object> stored;
  for (const auto& s : latest.at("signals").as_array()) stored[json::value_to<std::string>(s.at("name"))] = s.as_object();
  const auto& expected = summary.at("latest").as_array();
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(stored.size(), expected.size());
  for (const auto& e : expected) {
    const auto name = json::value_to<std::string>(e.at("name"));
    ASSERT_TRUE(stored.count(name)) << name << " missing from the store";
    EXPECT_EQ(stored[name].at("timestamp_us"), e.at("timestamp_us")) << name;
    EXPECT_TRUE(SameNumber(stored[name].at("value"), e.at("value")))
        << name << ": store " << json::serialize(stored[name].at("value")) << ", agent "
        << json::serialize(e.at("value"));
  }

  ingest->Signal(SIGTERM);
  store->Signal(SIGTERM);
  EXPECT_EQ(ingest->WaitFor(60s), 0) << ingest->LogTail();
  EXPECT_EQ(store->WaitFor(60s), 0) << store->LogTail();
}

TEST_F(EndToEndTest, SimulatedFleetStoresEveryVehiclesSamplesUnderItsOwnVin) {
  auto store = StartStore();
  auto ingest = StartIngest();
  ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "ingest.port").empty(); }, 60s)) << ingest->LogTail();
  ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "store.port").empty(); }, 60s)) << store->LogTail();
  const auto store_port = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(dir_ / "store.port")));

  ChildProcess fleet(CANVOY_FLEET_SIM_BIN,
                     {"--vehicles", "3", "--vin-prefix", "CNVYF", "--pki", (dir_ / "pki").string(),
                      "--dbc", (kData / "can/dbc/opendbc_toyota_new_mc_pt_generated.dbc").string(),
                      "--log", (kData / "can/logs/comma2k19_rav4_2017_seg40_can0_pt.log").string(),
                      "--ingest", "127.0.0.1:" + ReadFirstLine(dir_ / "ingest.port"),
                      "--summary", (dir_ / "fleet.json").string()},
                     dir_ / "fleet.log");
  ASSERT_EQ(fleet.WaitFor(300s), 0) << fleet.LogTail();
  const json::value summary = ReadJson(dir_ / "fleet.json");
  ASSERT_TRUE(summary.is_object());
  std::map<std::string, std::int64_t> sent;
  for (const auto& v : summary.at("vehicles").as_array()) {
    sent[json::value_to<std::string>(v.at("vin"))] = v.at("samples").to_number<std::int64_t>();
  }
  ASSERT_EQ(sent.size(), 3u);

  std::map<std::string, std::int64_t> stored;
  const bool complete = WaitUntil(
      [&] {
        auto [status, body] = testing::HttpGet(store_port, "/v1/vehicles");
        if (status != 200) return false;
        stored.clear();
        const json::value answer = json::parse(body);
        for (const auto& v : answer.at("vehicles").as_array()) {
          stored[json::value_to<std::string>(v.at("vin"))] = v.at("sample_count").to_number<std::int64_t>();
        }
        return stored == sent;
      },
      120s, 200ms);
  EXPECT_TRUE(complete) << "stored per VIN differs from what each simulated vehicle sent\n" << store->LogTail();
  ingest->Signal(SIGTERM);
  store->Signal(SIGTERM);
  EXPECT_EQ(ingest->WaitFor(60s), 0) << ingest->LogTail();
  EXPECT_EQ(store->WaitFor(60s), 0) << store->LogTail();
}

TEST_F(EndToEndTest, VehicleWithCertificateFromAnotherCaIsRefusedAndCounted) {
  ChildProcess other_pki(CANVOY_PKI_BIN, {"--dir", (dir_ / "other").string(), "--init", "--vin", kVin},
                         dir_ / "other-pki.log");
  ASSERT_EQ(other_pki.WaitFor(60s), 0);
  auto ingest = StartIngest();
  ASSERT_TRUE(WaitUntil([&] { return !ReadFirstLine(dir_ / "ingest-metrics.port").empty(); }, 60s))
      << ingest->LogTail();
  const auto metrics_port = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(dir_ / "ingest-metrics.port")));

  auto args = AgentArgs(ReadFirstLine(dir_ / "ingest.port"), kVin);
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--cert") args[i + 1] = (dir_ / "other/vehicles" / (std::string(kVin) + ".crt")).string();
    if (args[i] == "--key") args[i + 1] = (dir_ / "other/vehicles" / (std::string(kVin) + ".key")).string();
  }
  args.push_back("--max-connect-attempts");
  args.push_back("2");
  ChildProcess agent(CANVOY_AGENT_BIN, args, dir_ / "agent.log");
  const auto code = agent.WaitFor(120s);
  ASSERT_TRUE(code.has_value()) << agent.LogTail();
  EXPECT_NE(*code, 0) << "an agent that was never let in must not report success";

  std::string metrics;
  ASSERT_TRUE(WaitUntil(
      [&] {
        metrics = testing::HttpGet(metrics_port, "/metrics").second;
        return metrics.find("canvoy_ingest_handshakes_total{result=\"unknown_ca\"} 2") != std::string::npos;
      },
      30s))
      << metrics;
  EXPECT_EQ(metrics.find("canvoy_ingest_handshakes_total{result=\"ok\"}"), std::string::npos) << metrics;
  ingest->Signal(SIGTERM);
  EXPECT_EQ(ingest->WaitFor(60s), 0) << ingest->LogTail();
}

}  // namespace
}  // namespace canvoy
