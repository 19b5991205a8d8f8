// Ingest's front door under attack and at its limits, against the shared broker: canvoy-ingest
// runs as its own process (so SIGHUP is real), vehicles are TLS test clients, and every refusal
// must also show in /metrics. Waits are on conditions with deadlines; the only sleep paces a
// client that trickles bytes, which is the behaviour under test.
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

namespace canvoy {
namespace {

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

std::string Labelled(const std::string& name, const std::string& label, const std::string& value) {
  return name + "{" + label + "=\"" + value + "\"}";
}
std::string Handshakes(const std::string& result) {
  return Labelled("canvoy_ingest_handshakes_total", "result", result);
}
std::string Rejects(const std::string& reason) { return Labelled("canvoy_ingest_rejects_total", "reason", reason); }
std::string Timeouts(const std::string& kind) { return Labelled("canvoy_ingest_timeouts_total", "kind", kind); }
std::string TlsReloads(const std::string& result) {
  return Labelled("canvoy_ingest_tls_reloads_total", "result", result);
}

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Zstd(const std::string& data) {
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

// --- Handshakes -------------------------------------------------------------------------------

TEST_F(IngestSecurityTest, CertificateFromAnotherCaIsRefusedAsUnknownCa) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--init", "--vin", kVinA}, dir_ / "other"));
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  ExpectRefused(VehicleOptions(kVinA, dir_ / "other"), "unknown_ca");
  EXPECT_EQ(Metric(Handshakes("ok")), 0) << metrics_text_;
}

TEST_F(IngestSecurityTest, ExpiredCertificateIsRefusedAsExpired) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--vin", kVinExpired, "--not-before=-2d", "--not-after=-1d"}));
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  ExpectRefused(VehicleOptions(kVinExpired), "expired");
  EXPECT_EQ(Metric(Handshakes("ok")), 0) << metrics_text_;
}

TEST_F(IngestSecurityTest, RevokedCertificateIsRefusedAsRevokedAndOthersGetIn) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string(), "--revoke", Certificate(kVinB).string()}));
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--crl", Crl().string()}));
  ExpectRefused(VehicleOptions(kVinB), "revoked");
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  const auto batch = a.NextBatch();
  ASSERT_TRUE(a.Send(batch));
  EXPECT_TRUE(a.ExpectAck(batch.seq()));
}

TEST_F(IngestSecurityTest, Tls12ClientIsRefusedAsProtocolVersion) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  auto options = VehicleOptions(kVinA);
  options.max_version = TLS1_2_VERSION;
  ExpectRefused(options, "protocol_version");
  EXPECT_EQ(Metric(Handshakes("ok")), 0) << metrics_text_;
}

TEST_F(IngestSecurityTest, ClientWithoutCertificateIsRefusedAsNoCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  auto options = VehicleOptions(kVinA);
  options.cert.clear();
  options.key.clear();
  ExpectRefused(options, "no_certificate");
  EXPECT_EQ(Metric(Handshakes("ok")), 0) << metrics_text_;
}

TEST_F(IngestSecurityTest, ClientThatNeverStartsTlsIsClosedAtTheHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--handshake-timeout", "1"}));
  TlsTestClient client(VehicleOptions(kVinA));
  ASSERT_FALSE(client.ConnectTcp(port_));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.WaitTcpClosed(8s)) << "still open long after --handshake-timeout 1";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  EXPECT_EQ(WaitMetric(Handshakes("timeout"), 1), 1) << metrics_text_;
}

TEST_F(IngestSecurityTest, GarbageInsteadOfTlsIsRefusedAsOther) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  TlsTestClient client(VehicleOptions(kVinA));
  ASSERT_FALSE(client.ConnectTcp(port_));
  ASSERT_FALSE(client.WriteTcp("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(client.WaitTcpClosed(15s));
  EXPECT_EQ(WaitMetric(Handshakes("other"), 1), 1) << metrics_text_;
}

TEST_F(IngestSecurityTest, SecondConnectionResumesTheFirstsTls13Session) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  testing::SslSession session(nullptr, &SSL_SESSION_free);
  {
    Vehicle first(VehicleOptions(kVinA), kVinA);
    ASSERT_TRUE(first.Join(port_));  // reading hello_ack also takes in the session tickets
    EXPECT_EQ(first.client().Version(), "TLSv1.3");
    EXPECT_FALSE(first.client().SessionReused());
    session = first.client().Session();
    ASSERT_TRUE(session);
    ASSERT_EQ(SSL_SESSION_is_resumable(session.get()), 1) << "ingest sent no session ticket";
  }
  auto options = VehicleOptions(kVinA);
  options.resume = session.get();
  Vehicle second(options, kVinA);
  ASSERT_TRUE(second.Join(port_));
  EXPECT_TRUE(second.client().SessionReused());
  // The resumed connection is the certificate's vehicle: its batches are accepted.
  const auto batch = second.NextBatch();
  ASSERT_TRUE(second.Send(batch));
  EXPECT_TRUE(second.ExpectAck(batch.seq()));
  EXPECT_EQ(WaitMetric("canvoy_ingest_handshakes_resumed_total", 1), 1) << metrics_text_;
  EXPECT_EQ(Metric(Handshakes("ok")), 2) << metrics_text_;
}

// --- Revocation and SIGHUP --------------------------------------------------------------------

TEST_F(IngestSecurityTest, RevokedAfterSighupIsRefusedWhileAnotherVehicleKeepsGettingAcks) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string()}));  // an empty list
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--crl", Crl().string()}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  Vehicle b(VehicleOptions(kVinB), kVinB);
  ASSERT_TRUE(b.Join(port_));
  auto batch = a.NextBatch();
  ASSERT_TRUE(a.Send(batch));
  ASSERT_TRUE(a.ExpectAck(batch.seq()));

  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string(), "--revoke", Certificate(kVinB).string()}));
  ASSERT_NO_FATAL_FAILURE(Reload("ok"));
  // B's open connection is closed; its new handshakes are refused.
  EXPECT_TRUE(b.client().WaitClosed(15s));
  EXPECT_EQ(WaitMetric("canvoy_ingest_connections_revoked_total", 1), 1) << metrics_text_;
  ExpectRefused(VehicleOptions(kVinB), "revoked");
  // A's connection, the same one, keeps getting acks.
  for (int i = 0; i < 3; ++i) {
    batch = a.NextBatch();
    ASSERT_TRUE(a.Send(batch));
    EXPECT_TRUE(a.ExpectAck(batch.seq()));
  }
  EXPECT_EQ(Metric(Handshakes("ok")), 2) << "A reconnected\n" << metrics_text_;
}

TEST_F(IngestSecurityTest, SessionsResumeAcrossSighupExceptTheRevokedVehicles) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string()}));
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--crl", Crl().string()}));
  auto session_of = [&](const char* vin) {
    Vehicle v(VehicleOptions(vin), vin);
    EXPECT_TRUE(v.Join(port_));
    return v.client().Session();
  };
  testing::SslSession session_a = session_of(kVinA);
  testing::SslSession session_b = session_of(kVinB);
  ASSERT_TRUE(session_a && session_b);
  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string(), "--revoke", Certificate(kVinB).string()}));
  ASSERT_NO_FATAL_FAILURE(Reload("ok"));

  auto options_a = VehicleOptions(kVinA);
  options_a.resume = session_a.get();
  Vehicle a(options_a, kVinA);
  ASSERT_TRUE(a.Join(port_));
  EXPECT_TRUE(a.client().SessionReused()) << "a reload must not end the sessions of ingest's tickets";

  // B resumes its session (no certificate is sent), and ingest checks it against the new CRL.
  auto options_b = VehicleOptions(kVinB);
  options_b.resume = session_b.get();
  ExpectRefused(options_b, "revoked");
  EXPECT_EQ(Metric("canvoy_ingest_handshakes_resumed_total"), 1) << metrics_text_;
}

TEST_F(IngestSecurityTest, BadCrlOnSighupKeepsTheCurrentListAndLogsTheFile) {
  ASSERT_NO_FATAL_FAILURE(Pki({"--crl", Crl().string(), "--revoke", Certificate(kVinB).string()}));
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--crl", Crl().string()}));
  std::ofstream(Crl(), std::ios::trunc) << "-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n";
  ASSERT_NO_FATAL_FAILURE(Reload("error"));
  const std::string log = ingest_->LogTail(200);
  EXPECT_NE(log.find("TLS reload failed"), std::string::npos) << log;
  EXPECT_NE(log.find(Crl().string()), std::string::npos) << "the error must name the file\n" << log;
  ExpectRefused(VehicleOptions(kVinB), "revoked");  // the list loaded before still applies
  Vehicle a(VehicleOptions(kVinA), kVinA);
  EXPECT_TRUE(a.Join(port_));
}

// --- Frames and batches -----------------------------------------------------------------------

TEST_F(IngestSecurityTest, BatchClaimingAnotherOrNoVinIsRejectedWithTheReason) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  auto other = a.NextBatch();
  other.set_vin(kVinB);
  ASSERT_TRUE(a.Send(other));
  uplink::v1::Error error;
  ASSERT_TRUE(a.ExpectError(uplink::v1::ERROR_CODE_INVALID_BATCH, &error));
  EXPECT_EQ(error.seq(), other.seq());
  EXPECT_FALSE(error.fatal());
  EXPECT_NE(error.message().find(kVinB), std::string::npos) << error.message();
  EXPECT_NE(error.message().find(std::string("not the certificate's, ") + kVinA), std::string::npos)
      << error.message();

  auto none = a.NextBatch();
  none.clear_vin();
  ASSERT_TRUE(a.Send(none));
  ASSERT_TRUE(a.ExpectError(uplink::v1::ERROR_CODE_INVALID_BATCH, &error));
  EXPECT_EQ(error.seq(), none.seq());
  EXPECT_NE(error.message().find("no vin"), std::string::npos) << error.message();

  // Not fatal: the connection goes on, and only the valid batch reaches Kafka.
  const auto good = a.NextBatch();
  ASSERT_TRUE(a.Send(good));
  EXPECT_TRUE(a.ExpectAck(good.seq()));
  EXPECT_EQ(WaitMetric(Rejects("vin"), 2), 2) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_batches_in_total"), 1) << metrics_text_;
  const auto records = testing::ReadRecords(bootstrap_, telemetry_topic_, 1, 30s);
  ASSERT_EQ(records.size(), 1u);
  telemetry::v1::TelemetryRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].value));
  telemetry::v1::Batch stored;
  ASSERT_TRUE(stored.ParseFromString(record.batch()));
  EXPECT_EQ(stored.seq(), good.seq());
  EXPECT_EQ(record.vin(), kVinA);
}

TEST_F(IngestSecurityTest, FrameOverTheSizeLimitIsRefusedAndTheConnectionClosed) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--max-frame-bytes", "4096"}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  ASSERT_FALSE(a.client().Write(std::string("\x00\x00\x10\x01", 4)));  // 4097 bytes announced
  uplink::v1::Error error;
  ASSERT_TRUE(a.ExpectError(uplink::v1::ERROR_CODE_FRAME_TOO_LARGE, &error));
  EXPECT_TRUE(error.fatal());
  EXPECT_NE(error.message().find("4097"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("4096"), std::string::npos) << error.message();
  EXPECT_TRUE(a.client().WaitClosed(15s));
  EXPECT_EQ(WaitMetric(Rejects("frame_size"), 1), 1) << metrics_text_;
}

TEST_F(IngestSecurityTest, GarbageFrameIsRefusedAndTheConnectionClosed) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  ASSERT_FALSE(a.client().Write(TlsTestClient::Frame(std::string(64, '\xff'))));
  uplink::v1::Error error;
  ASSERT_TRUE(a.ExpectError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, &error));
  EXPECT_TRUE(error.fatal());
  EXPECT_NE(error.message().find("not an AgentFrame"), std::string::npos) << error.message();
  EXPECT_TRUE(a.client().WaitClosed(15s));
  EXPECT_EQ(WaitMetric(Rejects("malformed"), 1), 1) << metrics_text_;
}

TEST_F(IngestSecurityTest, ClientSendingOneByteASecondIsClosedAtTheFrameTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--frame-timeout", "3"}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  const auto batch = a.NextBatch(20);
  const std::string frame = TlsTestClient::Frame(Vehicle::BatchFrame(batch.SerializeAsString(),
                                                                     uplink::v1::COMPRESSION_NONE, 0)
                                                     .SerializeAsString());
  ASSERT_GT(frame.size(), 40u) << "the frame must take far longer than the timeout at one byte a second";
  // One TLS record of one byte per second: each read makes progress, none completes a frame.
  for (std::size_t i = 0; i < 6; ++i) {
    if (a.client().Write(frame.substr(i, 1))) break;  // ingest closed the connection
    std::this_thread::sleep_for(1s);  // the pacing under test
  }
  EXPECT_TRUE(a.client().WaitClosed(10s)) << "a frame trickling in for 6 s outlived --frame-timeout 3";
  EXPECT_EQ(WaitMetric(Timeouts("frame"), 1), 1) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_batches_in_total"), 0) << metrics_text_;
}

TEST_F(IngestSecurityTest, IdleConnectionIsClosedAtTheIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--idle-timeout", "2"}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  EXPECT_TRUE(a.client().WaitClosed(10s)) << "an idle connection outlived --idle-timeout 2";
  EXPECT_EQ(WaitMetric(Timeouts("idle"), 1), 1) << metrics_text_;
  EXPECT_TRUE(WaitUntil([&] { return Metric("canvoy_ingest_connections") == 0; }, 30s)) << metrics_text_;
}

TEST_F(IngestSecurityTest, ConnectionsOverTheCapAreClosedAtAcceptAndCounted) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--max-connections", "2"}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  Vehicle b(VehicleOptions(kVinB), kVinB);
  ASSERT_TRUE(b.Join(port_));
  TlsTestClient third(VehicleOptions(kVinA));
  if (!third.Connect(port_)) {
    EXPECT_TRUE(third.WaitClosed(15s));
  }
  EXPECT_EQ(WaitMetric("canvoy_ingest_connections_refused_total", 1), 1) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_connections_accepted_total"), 2) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_connections"), 2) << metrics_text_;
  const auto batch = a.NextBatch();
  ASSERT_TRUE(a.Send(batch));
  EXPECT_TRUE(a.ExpectAck(batch.seq()));
}

TEST_F(IngestSecurityTest, ReadingStopsAtMaxUnackedBatchesWhileKafkaHasNotTakenThem) {
  // A topic that does not exist (the broker does not create topics): the records wait in the
  // producer, so no batch is acked and the window stays full.
  telemetry_topic_ = testing::UniqueName("security.absent");
  stop_ingest_at_end_ = false;  // its shutdown would wait for those records
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--max-unacked-batches", "2"}));
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.Send(a.NextBatch()));
  EXPECT_EQ(WaitMetric("canvoy_ingest_window_full_total", 1), 1) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_batches_in_total"), 2) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_unacked_batches"), 2) << metrics_text_;
  EXPECT_EQ(Metric("canvoy_ingest_batches_acked_total"), 0) << metrics_text_;
}

// --- Compression ------------------------------------------------------------------------------

TEST_F(IngestSecurityTest, ZstdBatchIsAckedAndItsRecordCarriesTheUncompressedBatch) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  const auto batch = a.NextBatch(2000);
  ASSERT_TRUE(a.Send(batch, uplink::v1::COMPRESSION_ZSTD));
  ASSERT_TRUE(a.ExpectAck(batch.seq()));
  const auto records = testing::ReadRecords(bootstrap_, telemetry_topic_, 1, 30s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, kVinA);
  telemetry::v1::TelemetryRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].value));
  EXPECT_EQ(record.batch(), batch.SerializeAsString());
  EXPECT_EQ(record.vin(), kVinA);
  EXPECT_EQ(WaitMetric("canvoy_ingest_signals_acked_total", 2000), 2000) << metrics_text_;
}

TEST_F(IngestSecurityTest, ZstdBombIsRefusedWhateverSizeItDeclares) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--max-frame-bytes", "65536"}));
  // 256 MiB of zeros in a few kilobytes.
  const std::string bomb = Zstd(std::string(256u << 20, '\0'));
  ASSERT_LT(bomb.size(), 65536u);
  struct Case {
    std::uint32_t declared;
    const char* why;
  };
  for (const Case& c : {Case{256u << 20, "exceeds the limit"}, Case{1000, "differs from uncompressed_size 1000"}}) {
    Vehicle a(VehicleOptions(kVinA), kVinA);
    ASSERT_TRUE(a.Join(port_));
    ASSERT_FALSE(a.client().WriteFrame(Vehicle::BatchFrame(bomb, uplink::v1::COMPRESSION_ZSTD, c.declared)));
    uplink::v1::Error error;
    ASSERT_TRUE(a.ExpectError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, &error));
    EXPECT_NE(error.message().find(c.why), std::string::npos) << error.message();
    EXPECT_TRUE(a.client().WaitClosed(15s));
  }
  EXPECT_EQ(WaitMetric(Rejects("compression"), 2), 2) << metrics_text_;
  // Ingest is unharmed: the next vehicle's batch is acked.
  Vehicle b(VehicleOptions(kVinB), kVinB);
  ASSERT_TRUE(b.Join(port_));
  const auto batch = b.NextBatch();
  ASSERT_TRUE(b.Send(batch, uplink::v1::COMPRESSION_ZSTD));
  EXPECT_TRUE(b.ExpectAck(batch.seq()));
}

// --- Metrics ----------------------------------------------------------------------------------

TEST_F(IngestSecurityTest, MetricsEndpointExposesEveryIngestMetricAndHealthzAnswers) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  Vehicle a(VehicleOptions(kVinA), kVinA);
  ASSERT_TRUE(a.Join(port_));
  const auto batch = a.NextBatch();
  ASSERT_TRUE(a.Send(batch));
  ASSERT_TRUE(a.ExpectAck(batch.seq()));
  EXPECT_EQ(WaitMetric("canvoy_ingest_produce_latency_seconds_count", 1), 1) << metrics_text_;
  for (const char* name :
       {"canvoy_ingest_connections", "canvoy_ingest_connections_accepted_total",
        "canvoy_ingest_connections_refused_total", "canvoy_ingest_connections_revoked_total",
        "canvoy_ingest_handshakes_total", "canvoy_ingest_handshakes_resumed_total",
        "canvoy_ingest_window_full_total", "canvoy_ingest_batches_in_total", "canvoy_ingest_batches_acked_total",
        "canvoy_ingest_batches_undelivered_total", "canvoy_ingest_signals_in_total",
        "canvoy_ingest_signals_acked_total", "canvoy_ingest_catalogs_produced_total",
        "canvoy_ingest_unacked_batches", "canvoy_ingest_kafka_queue_records",
        "canvoy_ingest_produce_latency_seconds"}) {
    EXPECT_NE(metrics_text_.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(Metric("canvoy_ingest_batches_acked_total"), 1);
  EXPECT_EQ(Metric("canvoy_ingest_signals_in_total"), 3);
  EXPECT_EQ(Metric(Handshakes("ok")), 1);
  EXPECT_EQ(testing::HttpGet(metrics_port_, "/healthz").first, 200u);
}

}  // namespace
}  // namespace canvoy
