// Ingest's TLS front door under attack, against the shared broker: refusals by reason (another CA,
// expired, revoked, TLS 1.2, no certificate, no TLS), session resumption, and revocation lists
// reloaded on SIGHUP. canvoy-ingest runs as its own process so SIGHUP is real; every refusal must
// also show in /metrics. Waits are on conditions with deadlines.
#include "ingest_security_fixture.h"

namespace canvoy::ingest_security {
namespace {

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

}  // namespace
}  // namespace canvoy::ingest_security
