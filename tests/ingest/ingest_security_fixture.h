// The fixture of the ingest security tests (handshake_security_test.cc, frame_security_test.cc): ingest as its
// own process, vehicles as TLS test clients, and /metrics read after every refusal.
#pragma once

#include <signal.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "canvoy/common/catalog_hash.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "canvoy/uplink/v1/uplink.pb.h"
#include "support/http_client.h"
#include "support/kafka_fixture.h"
#include "support/kafka_reader.h"
#include "support/metrics_scrape.h"
#include "support/process.h"
#include "support/tls_client.h"
#include "support/topics.h"

namespace canvoy::ingest_security {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ReadFirstLine;
using testing::TlsTestClient;
using testing::WaitUntil;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;

constexpr const char* kVinA = "CNVYS000000000101";
constexpr const char* kVinB = "CNVYS000000000102";
constexpr const char* kVinExpired = "CNVYS000000000103";

inline std::string Labelled(const std::string& name, const std::string& label, const std::string& value) {
  return name + "{" + label + "=\"" + value + "\"}";
}
inline std::string Handshakes(const std::string& result) {
  return Labelled("canvoy_ingest_handshakes_total", "result", result);
}
inline std::string Rejects(const std::string& reason) { return Labelled("canvoy_ingest_rejects_total", "reason", reason); }
inline std::string Timeouts(const std::string& kind) { return Labelled("canvoy_ingest_timeouts_total", "kind", kind); }
inline std::string TlsReloads(const std::string& result) {
  return Labelled("canvoy_ingest_tls_reloads_total", "result", result);
}

inline std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// A vehicle speaking the uplink protocol over a TLS test client.
class Vehicle {
 public:
  Vehicle(TlsTestClient::Options options, std::string vin) : client_(std::move(options)), vin_(std::move(vin)) {
    std::random_device rd;
    for (int i = 0; i < 16; ++i) stream_id_.push_back(static_cast<char>(rd()));
    auto* signal = catalog_.add_signals();
    signal->set_id(1);
    signal->set_name("Vehicle.Speed");
    signal->set_type(telemetry::v1::SIGNAL_TYPE_INT64);
    signal->set_unit("km/h");
    signal->mutable_policy()->mutable_every_sample();
    catalog_hash_ = CatalogHash(catalog_);
  }

  TlsTestClient& client() { return client_; }

  // Handshake, hello, and the catalog when ingest asks for it.
  ::testing::AssertionResult Join(std::uint16_t port) {
    if (auto ec = client_.Connect(port)) return ::testing::AssertionFailure() << "handshake: " << ec.message();
    AgentFrame hello;
    hello.mutable_hello()->set_agent_version("ingest-security-test");
    hello.mutable_hello()->set_stream_id(stream_id_);
    hello.mutable_hello()->set_catalog_hash(catalog_hash_);
    if (auto ec = client_.WriteFrame(hello)) return ::testing::AssertionFailure() << "hello: " << ec.message();
    IngestFrame answer;
    if (auto r = Read(&answer); !r) return r;
    if (!answer.has_hello_ack()) {
      return ::testing::AssertionFailure() << "expected hello_ack: " << answer.ShortDebugString();
    }
    if (!answer.hello_ack().catalog_needed()) return ::testing::AssertionSuccess();
    AgentFrame upload;
    *upload.mutable_catalog()->mutable_catalog() = catalog_;
    if (auto ec = client_.WriteFrame(upload)) return ::testing::AssertionFailure() << "catalog: " << ec.message();
    if (auto r = Read(&answer); !r) return r;
    if (!answer.has_catalog_ack()) {
      return ::testing::AssertionFailure() << "expected catalog_ack: " << answer.ShortDebugString();
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Read(IngestFrame* frame) {
    std::string body;
    if (auto ec = client_.ReadFrame(&body)) return ::testing::AssertionFailure() << "read: " << ec.message();
    if (!frame->ParseFromString(body)) return ::testing::AssertionFailure() << "not an IngestFrame";
    return ::testing::AssertionSuccess();
  }

  // The next batch, `samples` samples of signal 1, claiming the vehicle's VIN.
  telemetry::v1::Batch NextBatch(int samples = 3) {
    telemetry::v1::Batch batch;
    batch.set_vin(vin_);
    batch.set_stream_id(stream_id_);
    batch.set_seq(next_seq_++);
    batch.set_catalog_hash(catalog_hash_);
    batch.set_base_time_us(NowMicros() - 10'000'000);
    auto* series = batch.add_series();
    series->set_signal_id(1);
    for (int i = 0; i < samples; ++i) {
      series->add_time_deltas_us(i == 0 ? 0 : 1000);
      series->mutable_int64s()->add_values(i % 130);
    }
    return batch;
  }

  static AgentFrame BatchFrame(const std::string& serialized, uplink::v1::Compression compression,
                               std::uint32_t uncompressed_size) {
    AgentFrame frame;
    frame.mutable_batch()->set_batch(serialized);
    frame.mutable_batch()->set_compression(compression);
    frame.mutable_batch()->set_uncompressed_size(uncompressed_size);
    return frame;
  }

  ::testing::AssertionResult Send(const telemetry::v1::Batch& batch,
                                  uplink::v1::Compression compression = uplink::v1::COMPRESSION_NONE) {
    const std::string serialized = batch.SerializeAsString();
    const auto size = static_cast<std::uint32_t>(serialized.size());
    const AgentFrame frame = compression == uplink::v1::COMPRESSION_ZSTD
                                 ? BatchFrame(Zstd(serialized), compression, size)
                                 : BatchFrame(serialized, compression, size);
    if (auto ec = client_.WriteFrame(frame)) return ::testing::AssertionFailure() << "batch: " << ec.message();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult ExpectAck(std::uint64_t seq) {
    IngestFrame answer;
    if (auto r = Read(&answer); !r) return r;
    if (!answer.has_ack() || answer.ack().seq() != seq) {
      return ::testing::AssertionFailure() << "expected the ack of seq " << seq << ": " << answer.ShortDebugString();
    }
    return ::testing::AssertionSuccess();
  }

  // The next frame, which must be an error with `code`.
  ::testing::AssertionResult ExpectError(uplink::v1::ErrorCode code, uplink::v1::Error* error) {
    IngestFrame answer;
    if (auto r = Read(&answer); !r) return r;
    if (!answer.has_error() || answer.error().code() != code) {
      return ::testing::AssertionFailure() << "expected error " << uplink::v1::ErrorCode_Name(code) << ": "
                                           << answer.ShortDebugString();
    }
    *error = answer.error();
    return ::testing::AssertionSuccess();
  }

 private:
  TlsTestClient client_;
  std::string vin_;
  std::string stream_id_;
  telemetry::v1::Catalog catalog_;
  std::string catalog_hash_;
  std::uint64_t next_seq_ = 1;
};

class IngestSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / testing::UniqueName("canvoy-ingest-security");
    fs::create_directories(dir_);
    bootstrap_ = testing::KafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty());
    telemetry_topic_ = testing::UniqueName("security.telemetry");
    catalog_topic_ = testing::UniqueName("security.catalog");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, telemetry_topic_, 1, false), "");
    ASSERT_EQ(testing::CreateTopic(bootstrap_, catalog_topic_, 1, true), "");
    ASSERT_NO_FATAL_FAILURE(Pki({"--init", "--vin", kVinA, kVinB}));
  }

  void TearDown() override {
    if (ingest_ && stop_ingest_at_end_) {
      ingest_->Signal(SIGTERM);
      EXPECT_EQ(ingest_->WaitFor(60s), 0) << "ingest did not stop cleanly\n" << ingest_->LogTail();
    }
    ingest_.reset();
    if (!HasFailure() && std::getenv("CANVOY_KEEP_TEST_DIRS") == nullptr) {
      fs::remove_all(dir_);
    } else {
      std::cerr << "kept " << dir_ << " for inspection\n";
    }
  }

  // canvoy-pki on the test's PKI directory (or `dir`).
  void Pki(std::vector<std::string> args, const fs::path& dir = {}) {
    args.insert(args.begin(), {"--dir", (dir.empty() ? Pki() : dir).string()});
    ChildProcess pki(CANVOY_PKI_BIN, args, dir_ / "pki.log");
    ASSERT_EQ(pki.WaitFor(60s), 0) << pki.LogTail();
  }
  fs::path Pki() const { return dir_ / "pki"; }
  fs::path Crl() const { return dir_ / "vehicles.crl"; }
  fs::path Certificate(const std::string& vin) const { return Pki() / "vehicles" / (vin + ".crt"); }

  // Starts ingest with the test's PKI and topics, plus `extra` options; waits for its ports.
  void StartIngest(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "--port", "0", "--port-file", (dir_ / "ingest.port").string(), "--metrics-port", "0",
        "--metrics-port-file", (dir_ / "metrics.port").string(), "--ca", (Pki() / "ca.crt").string(),
        "--cert", (Pki() / "server.crt").string(), "--key", (Pki() / "server.key").string(),
        "--bootstrap", bootstrap_, "--telemetry-topic", telemetry_topic_, "--catalog-topic", catalog_topic_};
    args.insert(args.end(), extra.begin(), extra.end());
    ingest_ = std::make_unique<ChildProcess>(CANVOY_INGEST_BIN, args, dir_ / "ingest.log");
    ASSERT_TRUE(WaitUntil(
        [&] { return !ReadFirstLine(dir_ / "ingest.port").empty() && !ReadFirstLine(dir_ / "metrics.port").empty(); },
        60s))
        << ingest_->LogTail();
    port_ = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(dir_ / "ingest.port")));
    metrics_port_ = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(dir_ / "metrics.port")));
  }

  TlsTestClient::Options VehicleOptions(const std::string& vin, const fs::path& pki = {}) const {
    const fs::path from = pki.empty() ? Pki() : pki;
    TlsTestClient::Options options;
    options.ca = Pki() / "ca.crt";
    options.cert = from / "vehicles" / (vin + ".crt");
    options.key = from / "vehicles" / (vin + ".key");
    return options;
  }

  double Metric(const std::string& series) {
    metrics_text_ = testing::HttpGet(metrics_port_, "/metrics").second;
    return testing::MetricValue(metrics_text_, series).value_or(0);
  }
  // Waits until `series` reaches `at_least`; the value then (compare it exactly).
  double WaitMetric(const std::string& series, double at_least) {
    return testing::WaitForMetric(metrics_port_, series, at_least, 30s, &metrics_text_);
  }

  // SIGHUP, then waits until ingest counts the reload under `result`.
  void Reload(const std::string& result) {
    const double before = Metric(TlsReloads(result));
    ingest_->Signal(SIGHUP);
    ASSERT_EQ(WaitMetric(TlsReloads(result), before + 1), before + 1) << metrics_text_ << ingest_->LogTail();
  }

  // A client with `options` is refused at the handshake, and ingest counts it under `result`.
  void ExpectRefused(const TlsTestClient::Options& options, const std::string& result) {
    const double before = Metric(Handshakes(result));
    TlsTestClient client(options);
    // TLS 1.3: the client may finish its side before ingest checks its certificate; then the
    // refusal shows as the connection closing.
    if (!client.Connect(port_)) {
      EXPECT_TRUE(client.WaitClosed(15s)) << "ingest kept the connection of a client it should refuse";
    }
    EXPECT_EQ(WaitMetric(Handshakes(result), before + 1), before + 1) << metrics_text_ << ingest_->LogTail();
  }

  fs::path dir_;
  std::string bootstrap_, telemetry_topic_, catalog_topic_;
  std::unique_ptr<ChildProcess> ingest_;
  bool stop_ingest_at_end_ = true;
  std::uint16_t port_ = 0, metrics_port_ = 0;
  std::string metrics_text_;
};

}  // namespace canvoy::ingest_security
