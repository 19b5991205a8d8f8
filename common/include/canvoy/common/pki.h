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

// The vehicle certificate for `vin`: CN=<vin> and SAN URI urn:canvoy:vin:<vin>, written to
// <ca_dir>/vehicles/<vin>.{crt,key}.
Status IssueVehicle(const std::filesystem::path& ca_dir, const std::string& vin);

}  // namespace canvoy::pki
