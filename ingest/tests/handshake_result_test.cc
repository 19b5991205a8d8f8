#include "handshake_result.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <gtest/gtest.h>

namespace canvoy::ingest {
namespace {

boost::system::error_code SslError(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), boost::asio::error::get_ssl_category()};
}

TEST(HandshakeResultTest, NamesTheTlsFailures) {
  EXPECT_EQ(HandshakeFailureLabel(boost::beast::error::timeout, X509_V_OK), "timeout");
  EXPECT_EQ(HandshakeFailureLabel(SslError(SSL_R_UNSUPPORTED_PROTOCOL), X509_V_OK), "protocol_version");
  EXPECT_EQ(HandshakeFailureLabel(SslError(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE), X509_V_OK),
            "no_certificate");
  EXPECT_EQ(HandshakeFailureLabel(SslError(SSL_R_WRONG_VERSION_NUMBER), X509_V_OK), "other");
  EXPECT_EQ(HandshakeFailureLabel(boost::asio::error::eof, X509_V_OK), "other");
}

TEST(HandshakeResultTest, NamesCertificateFailuresFromTheVerifyResult) {
  const auto failed = SslError(SSL_R_CERTIFICATE_VERIFY_FAILED);
  EXPECT_EQ(HandshakeFailureLabel(failed, X509_V_ERR_CERT_HAS_EXPIRED), "expired");
  EXPECT_EQ(HandshakeFailureLabel(failed, X509_V_ERR_CERT_REVOKED), "revoked");
  EXPECT_EQ(HandshakeFailureLabel(failed, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), "unknown_ca");
  EXPECT_EQ(HandshakeFailureLabel(failed, X509_V_ERR_CERT_SIGNATURE_FAILURE), "unknown_ca");
  EXPECT_EQ(HandshakeFailureLabel(failed, X509_V_ERR_CRL_HAS_EXPIRED), "other");
}

}  // namespace
}  // namespace canvoy::ingest
