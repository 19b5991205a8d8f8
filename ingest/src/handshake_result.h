// Names a refused TLS handshake for the metric canvoy_ingest_handshakes_total{result}.
#pragma once

#include <string_view>

#include <boost/system/error_code.hpp>

namespace canvoy::ingest {

// The label of a certificate verification failure (an X509_V_ERR_* code): unknown_ca (no chain
// to the vehicles' CA), expired, revoked, or other.
std::string_view VerifyFailureLabel(long verify_result);

// The label of a handshake that ended with `ec`, where `verify_result` is the X509 result of the
// peer's certificate (SSL_get_verify_result): timeout, protocol_version (the client offered no
// TLS 1.3), no_certificate, one of VerifyFailureLabel's, or other.
std::string_view HandshakeFailureLabel(const boost::system::error_code& ec, long verify_result);

}  // namespace canvoy::ingest
