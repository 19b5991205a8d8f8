// TLS 1.3 contexts for the uplink (mutual authentication) and vehicle identity from certificates.
#pragma once

#include <filesystem>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <openssl/x509.h>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"

namespace canvoy::tls {

struct Files {
  std::filesystem::path ca;    // the CA that peers' certificates must chain to (pinned)
  std::filesystem::path cert;  // our certificate chain, PEM
  std::filesystem::path key;   // our private key, PEM
};

// TLS 1.3 only, peer certificate required and verified against files.ca alone.
Result<boost::asio::ssl::context> MakeServerContext(const Files& files);
// TLS 1.3 only; the server must chain to files.ca (no system roots). The caller checks the
// server name per connection (SSL_set1_host).
Result<boost::asio::ssl::context> MakeClientContext(const Files& files);

// The VIN a certificate carries: a SAN URI "urn:canvoy:vin:<VIN>" if present, else the subject CN.
Result<Vin> VinFromCertificate(X509* cert);

// The SAN URI form used for vehicle certificates.
std::string VinUri(const Vin& vin);

// The last OpenSSL error as text (and clears the queue).
std::string LastOpenSslError();

}  // namespace canvoy::tls
