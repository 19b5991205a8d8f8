// Ingest's limits on what authenticated vehicles send, against the shared broker: another VIN,
// oversized and garbage frames, slow and idle clients, the connection cap, the unacked window,
// compression, and that /metrics shows each. Waits are on conditions with deadlines; the only
// sleep paces a client that trickles bytes, which is the behaviour under test.
#include "ingest_security_fixture.h"

namespace canvoy::ingest_security {
namespace {

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
}  // namespace canvoy::ingest_security
