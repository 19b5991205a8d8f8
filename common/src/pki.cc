#include "canvoy/common/pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "canvoy/common/ids.h"
#include "canvoy/common/tls.h"

namespace canvoy::pki {
namespace {

namespace fs = std::filesystem;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using File = std::unique_ptr<FILE, decltype(&fclose)>;

Result<Key> NewKey() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!key) return Error(Errc::kTls, "key generation: " + tls::LastOpenSslError());
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return Error(Errc::kTls, "extension '" + value + "': " + tls::LastOpenSslError());
  }
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return Error(Errc::kTls, "extension '" + value + "': " + tls::LastOpenSslError());
  return OkStatus();
}

Result<Cert> NewCert(EVP_PKEY* subject_key, const std::string& cn, const CertificateSpec& validity) {
  Cert cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(validity.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.not_after.count()));
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Canvoy"), -1, -1, 0);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return Error(Errc::kTls, "common name '" + cn + "': " + tls::LastOpenSslError());
  }
  return cert;
}

Status WritePem(const fs::path& path, EVP_PKEY* key, X509* cert) {
  File f(std::fopen(path.c_str(), "w"), &fclose);
  if (!f) return Error(Errc::kIo, "'" + path.string() + "': cannot be written");
  const int ok = key != nullptr
                     ? PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_X509(f.get(), cert);
  if (ok != 1) return Error(Errc::kIo, "'" + path.string() + "': " + tls::LastOpenSslError());
  if (key != nullptr) fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return OkStatus();
}

Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    return Error(Errc::kTls, "signing: " + tls::LastOpenSslError());
  }
  return OkStatus();
}

}  // namespace

Status CreateCa(const fs::path& dir, const std::string& common_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Errc::kIo, "'" + dir.string() + "': " + ec.message());
  CANVOY_ASSIGN_OR_RETURN(Key key, NewKey());
  CertificateSpec validity;
  validity.not_after = std::chrono::hours(24 * 3650);
  CANVOY_ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), common_name, validity));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  CANVOY_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  CANVOY_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  CANVOY_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  CANVOY_RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  CANVOY_RETURN_IF_ERROR(WritePem(dir / "ca.key", key.get(), nullptr));
  return WritePem(dir / "ca.crt", nullptr, cert.get());
}

Status Issue(const fs::path& ca_dir, const CertificateSpec& spec, const fs::path& stem) {
  File ca_key_file(std::fopen((ca_dir / "ca.key").c_str(), "r"), &fclose);
  File ca_cert_file(std::fopen((ca_dir / "ca.crt").c_str(), "r"), &fclose);
  if (!ca_key_file || !ca_cert_file) {
    return Error(Errc::kIo, "CA in '" + ca_dir.string() + "': ca.key or ca.crt cannot be read");
  }
  Key ca_key(PEM_read_PrivateKey(ca_key_file.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  Cert ca_cert(PEM_read_X509(ca_cert_file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!ca_key || !ca_cert) {
    return Error(Errc::kTls, "CA in '" + ca_dir.string() + "': " + tls::LastOpenSslError());
  }
  CANVOY_ASSIGN_OR_RETURN(Key key, NewKey());
  CANVOY_ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), spec.common_name, spec));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509* c = cert.get();
  X509* issuer = ca_cert.get();
  CANVOY_RETURN_IF_ERROR(AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  CANVOY_RETURN_IF_ERROR(AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature"));
  CANVOY_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"));
  CANVOY_RETURN_IF_ERROR(AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  std::string san;
  for (const auto& n : spec.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + n;
  for (const auto& n : spec.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + n;
  for (const auto& n : spec.uris) san += (san.empty() ? "" : ",") + std::string("URI:") + n;
  if (!san.empty()) CANVOY_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_alt_name, san));
  CANVOY_RETURN_IF_ERROR(Sign(c, ca_key.get()));
  std::error_code ec;
  if (stem.has_parent_path()) fs::create_directories(stem.parent_path(), ec);
  CANVOY_RETURN_IF_ERROR(WritePem(fs::path(stem.string() + ".key"), key.get(), nullptr));
  return WritePem(fs::path(stem.string() + ".crt"), nullptr, c);
}

Status IssueVehicle(const fs::path& ca_dir, const std::string& vin_text) {
  CANVOY_ASSIGN_OR_RETURN(Vin vin, Vin::Parse(vin_text));
  CertificateSpec spec;
  spec.common_name = vin.str();
  spec.uris = {tls::VinUri(vin)};
  return Issue(ca_dir, spec, ca_dir / "vehicles" / vin.str());
}

}  // namespace canvoy::pki
