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

// TLS 1.3 only, peer certificate required and verified against files.ca alone. With `crl` (a
// PEM certificate revocation list that files.ca signed, current at load time), peer
// certificates are also checked against it; the error names the file when it is unreadable,
// signed by another CA, expired or not yet valid. Session tickets are on (stateless TLS 1.3
// resumption), and a resumed session keeps its peer certificate.
Result<boost::asio::ssl::context> MakeServerContext(const Files& files,
                                                    const std::filesystem::path& crl = {});

// Gives `to` the session ticket keys of `from`, so that tickets `from` issued resume on `to`
// (a server that replaces its context, e.g. to load a new CRL, keeps its clients' sessions).
Status ShareTicketKeys(SSL_CTX* from, SSL_CTX* to);

// Verifies `cert` as a client certificate against the trust store and revocation list of `ctx`;
// X509_V_OK or an X509_V_ERR_* code. OpenSSL does not verify the certificate of a resumed
// session again, so a server calls this for those. Thread-safe.
int VerifyClientCertificate(SSL_CTX* ctx, X509* cert);
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
