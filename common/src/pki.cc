#include "canvoy/common/pki.h"

#include <openssl/err.h>
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

struct Ca {
  Key key{nullptr, &EVP_PKEY_free};
  Cert cert{nullptr, &X509_free};
};

Result<Ca> ReadCa(const fs::path& ca_dir) {
  File key_file(std::fopen((ca_dir / "ca.key").c_str(), "r"), &fclose);
  File cert_file(std::fopen((ca_dir / "ca.crt").c_str(), "r"), &fclose);
  if (!key_file || !cert_file) {
    return Error(Errc::kIo, "CA in '" + ca_dir.string() + "': ca.key or ca.crt cannot be read");
  }
  Ca ca;
  ca.key.reset(PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
  ca.cert.reset(PEM_read_X509(cert_file.get(), nullptr, nullptr, nullptr));
  if (!ca.key || !ca.cert) {
    return Error(Errc::kTls, "CA in '" + ca_dir.string() + "': " + tls::LastOpenSslError());
  }
  return ca;
}

using Crl = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;
using Time = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;
using Integer = std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)>;

// The CRL at `path` if it exists (it must be the CA's), else a new, empty one of the CA's.
Result<Crl> ReadOrNewCrl(const fs::path& path, const Ca& ca) {
  const std::string what = "CRL '" + path.string() + "'";
  if (!fs::exists(path)) {
    Crl crl(X509_CRL_new(), &X509_CRL_free);
    if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get())) != 1) {
      return Error(Errc::kTls, what + ": " + tls::LastOpenSslError());
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca.cert.get(), nullptr, nullptr, crl.get(), 0);
    X509_EXTENSION* aki = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    const bool added = aki != nullptr && X509_CRL_add_ext(crl.get(), aki, -1) == 1;
    X509_EXTENSION_free(aki);
    if (!added) return Error(Errc::kTls, what + ": authority key id: " + tls::LastOpenSslError());
    return crl;
  }
  File f(std::fopen(path.c_str(), "r"), &fclose);
  if (!f) return Error(Errc::kIo, what + ": cannot be read");
  Crl crl(PEM_read_X509_CRL(f.get(), nullptr, nullptr, nullptr), &X509_CRL_free);
  if (!crl) return Error(Errc::kTls, what + ": not a PEM certificate revocation list: " + tls::LastOpenSslError());
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.cert.get())) != 0 ||
      X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.cert.get())) != 1) {
    ERR_clear_error();
    return Error(Errc::kTls, what + ": not signed by this CA");
  }
  return crl;
}

Status AddRevoked(X509_CRL* crl, const Ca& ca, const fs::path& cert_path, ASN1_TIME* now) {
  File f(std::fopen(cert_path.c_str(), "r"), &fclose);
  if (!f) return Error(Errc::kIo, "certificate '" + cert_path.string() + "': cannot be read");
  Cert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    return Error(Errc::kTls, "certificate '" + cert_path.string() + "': " + tls::LastOpenSslError());
  }
  if (X509_check_issued(ca.cert.get(), cert.get()) != X509_V_OK ||
      X509_verify(cert.get(), X509_get0_pubkey(ca.cert.get())) != 1) {
    ERR_clear_error();
    return Error(Errc::kInvalidArgument, "certificate '" + cert_path.string() + "': not issued by this CA");
  }
  X509_REVOKED* already = nullptr;
  if (X509_CRL_get0_by_serial(crl, &already, X509_get0_serialNumber(cert.get())) == 1) return OkStatus();
  X509_REVOKED* revoked = X509_REVOKED_new();
  if (revoked == nullptr || X509_REVOKED_set_serialNumber(revoked, X509_get_serialNumber(cert.get())) != 1 ||
      X509_REVOKED_set_revocationDate(revoked, now) != 1 ||
      X509_CRL_add0_revoked(crl, revoked) != 1) {
    X509_REVOKED_free(revoked);
    return Error(Errc::kTls, "revoking '" + cert_path.string() + "': " + tls::LastOpenSslError());
  }
  return OkStatus();
}

// Sets the CRL number to one more than it was (1 for a new CRL).
Status BumpCrlNumber(X509_CRL* crl) {
  Integer number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)),
                 &ASN1_INTEGER_free);
  std::int64_t value = 0;
  if (number && ASN1_INTEGER_get_int64(&value, number.get()) != 1) value = 0;
  Integer next(ASN1_INTEGER_new(), &ASN1_INTEGER_free);
  if (!next || ASN1_INTEGER_set_int64(next.get(), value + 1) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, next.get(), 0, X509V3_ADD_REPLACE) != 1) {
    return Error(Errc::kTls, "CRL number: " + tls::LastOpenSslError());
  }
  return OkStatus();
}

}  // namespace

Status Revoke(const fs::path& ca_dir, const std::vector<fs::path>& certificates, const fs::path& crl_path,
              std::chrono::seconds valid_for) {
  CANVOY_ASSIGN_OR_RETURN(Ca ca, ReadCa(ca_dir));
  CANVOY_ASSIGN_OR_RETURN(Crl crl, ReadOrNewCrl(crl_path, ca));
  Time now(X509_gmtime_adj(nullptr, 0), &ASN1_TIME_free);
  Time next(X509_gmtime_adj(nullptr, static_cast<long>(valid_for.count())), &ASN1_TIME_free);
  if (!now || !next) return Error(Errc::kTls, "time: " + tls::LastOpenSslError());
  for (const auto& cert : certificates) CANVOY_RETURN_IF_ERROR(AddRevoked(crl.get(), ca, cert, now.get()));
  CANVOY_RETURN_IF_ERROR(BumpCrlNumber(crl.get()));
  if (X509_CRL_set1_lastUpdate(crl.get(), now.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1 ||
      X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), ca.key.get(), EVP_sha256()) == 0) {
    return Error(Errc::kTls, "signing CRL '" + crl_path.string() + "': " + tls::LastOpenSslError());
  }
  std::error_code ec;
  if (crl_path.has_parent_path()) fs::create_directories(crl_path.parent_path(), ec);
  const fs::path temporary = crl_path.string() + ".tmp";
  {
    File f(std::fopen(temporary.c_str(), "w"), &fclose);
    if (!f || PEM_write_X509_CRL(f.get(), crl.get()) != 1 || std::fflush(f.get()) != 0) {
      return Error(Errc::kIo, "'" + temporary.string() + "': cannot be written");
    }
  }
  fs::rename(temporary, crl_path, ec);
  if (ec) return Error(Errc::kIo, "'" + crl_path.string() + "': " + ec.message());
  return OkStatus();
}

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
  CANVOY_ASSIGN_OR_RETURN(Ca ca, ReadCa(ca_dir));
  Key& ca_key = ca.key;
  Cert& ca_cert = ca.cert;
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

Status IssueVehicle(const fs::path& ca_dir, const std::string& vin_text, const Validity& validity) {
  CANVOY_ASSIGN_OR_RETURN(Vin vin, Vin::Parse(vin_text));
  CertificateSpec spec;
  spec.common_name = vin.str();
  spec.not_before = validity.not_before;
  spec.not_after = validity.not_after;
  spec.uris = {tls::VinUri(vin)};
  return Issue(ca_dir, spec, ca_dir / "vehicles" / vin.str());
}

}  // namespace canvoy::pki
