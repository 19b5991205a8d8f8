// The development PKI's revocation list and expired certificates, and how the server TLS
// context loads a CRL and verifies client certificates with it.
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "canvoy/common/pki.h"
#include "canvoy/common/tls.h"

namespace canvoy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kVin1 = "CNVYS000000000001";
constexpr const char* kVin2 = "CNVYS000000000002";

class CrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("canvoy_crl_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(pki::CreateCa(dir_, "Test CA"));
    pki::CertificateSpec server;
    server.common_name = "localhost";
    server.server = true;
    ASSERT_TRUE(pki::Issue(dir_, server, dir_ / "server"));
    ASSERT_TRUE(pki::IssueVehicle(dir_, kVin1));
    ASSERT_TRUE(pki::IssueVehicle(dir_, kVin2));
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Vehicle(const char* vin) const { return dir_ / "vehicles" / (std::string(vin) + ".crt"); }
  tls::Files Files() const { return {dir_ / "ca.crt", dir_ / "server.crt", dir_ / "server.key"}; }

  static std::unique_ptr<X509, decltype(&X509_free)> ReadCert(const fs::path& path) {
    std::unique_ptr<FILE, decltype(&fclose)> f(std::fopen(path.c_str(), "r"), &fclose);
    return {f ? PEM_read_X509(f.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free};
  }

  // The verify result of `cert` against a server context that loaded `crl`.
  int Verify(const fs::path& cert, const fs::path& crl) {
    auto ctx = tls::MakeServerContext(Files(), crl);
    EXPECT_TRUE(ctx) << ctx.error().message();
    if (!ctx) return -1;
    auto x509 = ReadCert(cert);
    return tls::VerifyClientCertificate(ctx.value().native_handle(), x509.get());
  }

  fs::path dir_;
};

TEST_F(CrlTest, RevokedCertificateFailsVerificationAndOthersPass) {
  const fs::path crl = dir_ / "vehicles.crl";
  ASSERT_TRUE(pki::Revoke(dir_, {Vehicle(kVin1)}, crl));
  EXPECT_EQ(Verify(Vehicle(kVin1), crl), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(Vehicle(kVin2), crl), X509_V_OK);
}

TEST_F(CrlTest, WithoutCrlNothingIsRevoked) { EXPECT_EQ(Verify(Vehicle(kVin1), {}), X509_V_OK); }

TEST_F(CrlTest, RevokeAddsToAnExistingCrl) {
  const fs::path crl = dir_ / "vehicles.crl";
  ASSERT_TRUE(pki::Revoke(dir_, {}, crl));
  EXPECT_EQ(Verify(Vehicle(kVin1), crl), X509_V_OK);
  ASSERT_TRUE(pki::Revoke(dir_, {Vehicle(kVin1)}, crl));
  ASSERT_TRUE(pki::Revoke(dir_, {Vehicle(kVin2)}, crl));
  ASSERT_TRUE(pki::Revoke(dir_, {Vehicle(kVin2)}, crl));  // twice: listed once
  EXPECT_EQ(Verify(Vehicle(kVin1), crl), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(Vehicle(kVin2), crl), X509_V_ERR_CERT_REVOKED);
  std::unique_ptr<FILE, decltype(&fclose)> f(std::fopen(crl.c_str(), "r"), &fclose);
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> list(PEM_read_X509_CRL(f.get(), nullptr, nullptr, nullptr),
                                                           &X509_CRL_free);
  ASSERT_TRUE(list);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(list.get())), 2);
}

TEST_F(CrlTest, RevokeRefusesACertificateOfAnotherCa) {
  const fs::path other = dir_ / "other";
  ASSERT_TRUE(pki::CreateCa(other, "Other CA"));
  ASSERT_TRUE(pki::IssueVehicle(other, kVin1));
  auto s = pki::Revoke(dir_, {other / "vehicles" / (std::string(kVin1) + ".crt")}, dir_ / "vehicles.crl");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("not issued by this CA"), std::string::npos) << s.error().message();
}

TEST_F(CrlTest, CrlOfAnotherCaIsRefusedNamingTheFile) {
  const fs::path other = dir_ / "other";
  ASSERT_TRUE(pki::CreateCa(other, "Other CA"));
  ASSERT_TRUE(pki::Revoke(other, {}, other / "other.crl"));
  auto ctx = tls::MakeServerContext(Files(), other / "other.crl");
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("other.crl"), std::string::npos) << ctx.error().message();
  EXPECT_NE(ctx.error().message().find("not signed by the vehicles' CA"), std::string::npos)
      << ctx.error().message();
}

TEST_F(CrlTest, GarbageCrlIsRefusedNamingTheFile) {
  std::ofstream(dir_ / "bad.crl") << "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n";
  auto ctx = tls::MakeServerContext(Files(), dir_ / "bad.crl");
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("bad.crl"), std::string::npos) << ctx.error().message();
}

TEST_F(CrlTest, MissingCrlIsRefusedNamingTheFile) {
  auto ctx = tls::MakeServerContext(Files(), dir_ / "absent.crl");
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("absent.crl"), std::string::npos) << ctx.error().message();
}

TEST_F(CrlTest, ExpiredCrlIsRefused) {
  ASSERT_TRUE(pki::Revoke(dir_, {}, dir_ / "old.crl", -1h));
  auto ctx = tls::MakeServerContext(Files(), dir_ / "old.crl");
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("expired"), std::string::npos) << ctx.error().message();
}

TEST_F(CrlTest, ExpiredVehicleCertificateFailsAsExpired) {
  ASSERT_TRUE(pki::IssueVehicle(dir_, "CNVYS000000000003", {-48h, -24h}));
  EXPECT_EQ(Verify(dir_ / "vehicles" / "CNVYS000000000003.crt", {}), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(CrlTest, CertificateOfAnotherCaFailsAsUnknownIssuer) {
  const fs::path other = dir_ / "other";
  ASSERT_TRUE(pki::CreateCa(other, "Other CA"));
  ASSERT_TRUE(pki::IssueVehicle(other, kVin1));
  EXPECT_EQ(Verify(other / "vehicles" / (std::string(kVin1) + ".crt"), {}),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(CrlTest, TicketKeysCanBeShared) {
  auto a = tls::MakeServerContext(Files());
  auto b = tls::MakeServerContext(Files());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(tls::ShareTicketKeys(a.value().native_handle(), b.value().native_handle()));
  unsigned char ka[80], kb[80];
  ASSERT_EQ(SSL_CTX_get_tlsext_ticket_keys(a.value().native_handle(), ka, sizeof(ka)), 1);
  ASSERT_EQ(SSL_CTX_get_tlsext_ticket_keys(b.value().native_handle(), kb, sizeof(kb)), 1);
  EXPECT_EQ(std::memcmp(ka, kb, sizeof(ka)), 0);
}

}  // namespace
}  // namespace canvoy
