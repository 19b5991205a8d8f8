#include "canvoy/common/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>

namespace canvoy::tls {
namespace {

namespace ssl = boost::asio::ssl;
constexpr std::string_view kVinUriPrefix = "urn:canvoy:vin:";
// Resumed sessions must come from this application's handshakes (OpenSSL refuses to resume a
// session with client authentication without one).
constexpr std::string_view kSessionIdContext = "canvoy-uplink-v1";

Status CheckReadable(const std::filesystem::path& path, std::string_view what) {
  if (path.empty()) return Error(Errc::kInvalidArgument, std::string(what) + ": no file given");
  std::ifstream in(path);
  if (!in) {
    return Error(Errc::kIo, std::string(what) + " '" + path.string() + "': cannot be read");
  }
  return OkStatus();
}

Status LoadCommon(ssl::context& ctx, const Files& files) {
  CANVOY_RETURN_IF_ERROR(CheckReadable(files.ca, "CA certificate"));
  CANVOY_RETURN_IF_ERROR(CheckReadable(files.cert, "certificate"));
  CANVOY_RETURN_IF_ERROR(CheckReadable(files.key, "private key"));
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Error(Errc::kTls, "cannot restrict the context to TLS 1.3: " + LastOpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(native, files.cert.c_str()) != 1) {
    return Error(Errc::kTls, "certificate '" + files.cert.string() + "': " + LastOpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(native, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error(Errc::kTls, "private key '" + files.key.string() + "': " + LastOpenSslError());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Error(Errc::kTls, "private key '" + files.key.string() +
                                 "' does not match certificate '" + files.cert.string() + "'");
  }
  if (SSL_CTX_load_verify_locations(native, files.ca.c_str(), nullptr) != 1) {
    return Error(Errc::kTls, "CA certificate '" + files.ca.string() + "': " + LastOpenSslError());
  }
  return OkStatus();
}

std::string TimeText(const ASN1_TIME* time) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || ASN1_TIME_print(bio.get(), time) != 1) return "an unreadable time";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Loads `crl` into the context's store (which already holds the CA) and turns on revocation
// checks of peer certificates. The CRL must be signed by a CA of that store and be current.
Status LoadCrl(SSL_CTX* native, const std::filesystem::path& crl_path) {
  CANVOY_RETURN_IF_ERROR(CheckReadable(crl_path, "CRL"));
  const std::string what = "CRL '" + crl_path.string() + "'";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(crl_path.c_str(), "r"), &BIO_free);
  if (!bio) return Error(Errc::kIo, what + ": cannot be read");
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
      PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr), &X509_CRL_free);
  if (!crl) {
    return Error(Errc::kTls, what + ": not a PEM certificate revocation list: " + LastOpenSslError());
  }
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  bool signed_by_ca = false;
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects) && !signed_by_ca; ++i) {
    X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
    signed_by_ca = ca != nullptr &&
                   X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl.get())) == 0 &&
                   X509_CRL_verify(crl.get(), X509_get0_pubkey(ca)) == 1;
  }
  ERR_clear_error();
  if (!signed_by_ca) return Error(Errc::kTls, what + ": not signed by the vehicles' CA");
  if (X509_cmp_current_time(X509_CRL_get0_lastUpdate(crl.get())) > 0) {
    return Error(Errc::kTls, what + ": not valid before " + TimeText(X509_CRL_get0_lastUpdate(crl.get())));
  }
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      next != nullptr && X509_cmp_current_time(next) < 0) {
    return Error(Errc::kTls, what + ": expired at " + TimeText(next) + " (its nextUpdate)");
  }
  if (X509_STORE_add_crl(store, crl.get()) != 1 ||
      X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) != 1) {
    return Error(Errc::kTls, what + ": " + LastOpenSslError());
  }
  return OkStatus();
}

}  // namespace

std::string LastOpenSslError() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

Result<ssl::context> MakeServerContext(const Files& files, const std::filesystem::path& crl) {
  ssl::context ctx(ssl::context::tls_server);
  CANVOY_RETURN_IF_ERROR(LoadCommon(ctx, files));
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Name the peer's CA list in the CertificateRequest so clients pick the right certificate.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str())) {
    SSL_CTX_set_client_CA_list(native, names);
  }
  if (!crl.empty()) CANVOY_RETURN_IF_ERROR(LoadCrl(native, crl));
  SSL_CTX_clear_options(native, SSL_OP_NO_TICKET);
  if (SSL_CTX_set_session_id_context(native, reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                     static_cast<unsigned>(kSessionIdContext.size())) != 1) {
    return Error(Errc::kTls, "session id context: " + LastOpenSslError());
  }
  return ctx;
}

Status ShareTicketKeys(SSL_CTX* from, SSL_CTX* to) {
  // Name (16 bytes), HMAC key (32) and AES key (32), as SSL_CTX_get_tlsext_ticket_keys documents.
  unsigned char keys[80];
  const bool ok = SSL_CTX_get_tlsext_ticket_keys(from, keys, sizeof(keys)) == 1 &&
                  SSL_CTX_set_tlsext_ticket_keys(to, keys, sizeof(keys)) == 1;
  OPENSSL_cleanse(keys, sizeof(keys));
  if (!ok) return Error(Errc::kTls, "session ticket keys: " + LastOpenSslError());
  return OkStatus();
}

int VerifyClientCertificate(SSL_CTX* ctx, X509* cert) {
  if (cert == nullptr) return X509_V_ERR_UNSPECIFIED;
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify(X509_STORE_CTX_new(),
                                                                       &X509_STORE_CTX_free);
  if (!verify || X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx), cert, nullptr) != 1) {
    ERR_clear_error();
    return X509_V_ERR_UNSPECIFIED;
  }
  // As OpenSSL verifies a client's certificate in a full handshake.
  X509_STORE_CTX_set_default(verify.get(), "ssl_client");
  X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(verify.get()), SSL_CTX_get0_param(ctx));
  const int result = X509_verify_cert(verify.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(verify.get());
  ERR_clear_error();
  return result;
}

Result<ssl::context> MakeClientContext(const Files& files) {
  ssl::context ctx(ssl::context::tls_client);
  CANVOY_RETURN_IF_ERROR(LoadCommon(ctx, files));
  SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::string VinUri(const Vin& vin) { return std::string(kVinUriPrefix) + vin.str(); }

Result<Vin> VinFromCertificate(X509* cert) {
  if (cert == nullptr) return Error(Errc::kTls, "no peer certificate");
  using Names = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;
  Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
              &GENERAL_NAMES_free);
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_URI) continue;
      const auto* data = ASN1_STRING_get0_data(name->d.uniformResourceIdentifier);
      std::string_view uri(reinterpret_cast<const char*>(data),
                           static_cast<std::size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
      if (uri.substr(0, kVinUriPrefix.size()) == kVinUriPrefix) {
        return Vin::Parse(uri.substr(kVinUriPrefix.size()));
      }
    }
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return Error(Errc::kTls, "certificate has neither a VIN URI nor a subject CN");
  ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                        static_cast<std::size_t>(ASN1_STRING_length(cn)));
  return Vin::Parse(text);
}

}  // namespace canvoy::tls
