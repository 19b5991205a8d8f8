// A development PKI: a CA, server certificates for ingest, and per-vehicle client certificates.
// Uses OpenSSL's library; keys are ECDSA P-256. Not for production key custody.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "canvoy/common/error.h"

namespace canvoy::pki {

struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> uris;
  bool server = false;  // extendedKeyUsage serverAuth, else clientAuth
  // Validity relative to now; tests set these to make expired or not-yet-valid certificates.
  std::chrono::seconds not_before{-std::chrono::hours(1)};
  std::chrono::seconds not_after{std::chrono::hours(24 * 825)};
};

// Creates <dir>/ca.key and <dir>/ca.crt (self-signed, CA:TRUE) named `common_name`.
Status CreateCa(const std::filesystem::path& dir, const std::string& common_name);

// Issues a certificate signed by <ca_dir>/ca.{crt,key}; writes <stem>.key and <stem>.crt.
Status Issue(const std::filesystem::path& ca_dir, const CertificateSpec& spec,
             const std::filesystem::path& stem);

// A certificate's validity, relative to now.
struct Validity {
  std::chrono::seconds not_before{-std::chrono::hours(1)};
  std::chrono::seconds not_after{std::chrono::hours(24 * 825)};
};

// The vehicle certificate for `vin`: CN=<vin> and SAN URI urn:canvoy:vin:<vin>, written to
// <ca_dir>/vehicles/<vin>.{crt,key}. Tests pass a validity in the past to make an expired one.
Status IssueVehicle(const std::filesystem::path& ca_dir, const std::string& vin,
                    const Validity& validity = {});

// Adds each certificate (PEM, issued by the CA in ca_dir) to the certificate revocation list
// `crl` (PEM) and signs the list again with the CA: created when absent; lastUpdate now,
// nextUpdate now + `valid_for`, CRL number one more. An empty list creates or refreshes the CRL.
// The file is replaced by a rename, so a reader never sees half of it.
Status Revoke(const std::filesystem::path& ca_dir, const std::vector<std::filesystem::path>& certificates,
              const std::filesystem::path& crl, std::chrono::seconds valid_for = std::chrono::hours(24 * 30));

}  // namespace canvoy::pki
