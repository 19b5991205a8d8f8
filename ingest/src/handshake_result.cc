#include "handshake_result.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace canvoy::ingest {

std::string_view VerifyFailureLabel(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return "unknown_ca";
    default: return "other";
  }
}

std::string_view HandshakeFailureLabel(const boost::system::error_code& ec, long verify_result) {
  if (ec == boost::beast::error::timeout) return "timeout";
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const unsigned long code = static_cast<unsigned int>(ec.value());
    switch (ERR_GET_REASON(code)) {
      case SSL_R_UNSUPPORTED_PROTOCOL: return "protocol_version";
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return "no_certificate";
      default: break;
    }
  }
  if (verify_result != X509_V_OK) return VerifyFailureLabel(verify_result);
  return "other";
}

}  // namespace canvoy::ingest
