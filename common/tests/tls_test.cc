#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "canvoy/common/pki.h"
#include "canvoy/common/tls.h"

namespace canvoy {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("canvoy_tls_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(pki::CreateCa(dir_, "Test CA"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::unique_ptr<X509, decltype(&X509_free)> ReadCert(const fs::path& path) {
    std::unique_ptr<FILE, decltype(&fclose)> f(std::fopen(path.c_str(), "r"), &fclose);
    return {f ? PEM_read_X509(f.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free};
  }

  fs::path dir_;
};

TEST_F(TlsTest, VehicleCertificateCarriesItsVin) {
  ASSERT_TRUE(pki::IssueVehicle(dir_, "CNVYS000000000001"));
  auto cert = ReadCert(dir_ / "vehicles" / "CNVYS000000000001.crt");
  ASSERT_TRUE(cert);
  auto vin = tls::VinFromCertificate(cert.get());
  ASSERT_TRUE(vin) << vin.error().message();
  EXPECT_EQ(vin.value().str(), "CNVYS000000000001");
}

TEST_F(TlsTest, IssueVehicleRejectsInvalidVin) { EXPECT_FALSE(pki::IssueVehicle(dir_, "not-a-vin")); }

TEST_F(TlsTest, ServerContextLoadsIssuedCertificate) {
  pki::CertificateSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  spec.server = true;
  ASSERT_TRUE(pki::Issue(dir_, spec, dir_ / "server"));
  auto ctx = tls::MakeServerContext({dir_ / "ca.crt", dir_ / "server.crt", dir_ / "server.key"});
  EXPECT_TRUE(ctx) << ctx.error().message();
}

TEST_F(TlsTest, MissingKeyFileIsNamedInTheError) {
  auto ctx = tls::MakeClientContext({dir_ / "ca.crt", dir_ / "ca.crt", dir_ / "absent.key"});
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("absent.key"), std::string::npos) << ctx.error().message();
}

TEST_F(TlsTest, MismatchedKeyIsRejected) {
  ASSERT_TRUE(pki::IssueVehicle(dir_, "CNVYS000000000001"));
  ASSERT_TRUE(pki::IssueVehicle(dir_, "CNVYS000000000002"));
  auto ctx = tls::MakeClientContext({dir_ / "ca.crt", dir_ / "vehicles/CNVYS000000000001.crt",
                                     dir_ / "vehicles/CNVYS000000000002.key"});
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message().find("CNVYS000000000002.key"), std::string::npos) << ctx.error().message();
}

}  // namespace
}  // namespace canvoy
