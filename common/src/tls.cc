#include "canvoy/common/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>

namespace canvoy::tls {
namespace {

namespace ssl = boost::asio::ssl;
constexpr std::string_view kVinUriPrefix = "urn:canvoy:vin:";

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

Result<ssl::context> MakeServerContext(const Files& files) {
  ssl::context ctx(ssl::context::tls_server);
  CANVOY_RETURN_IF_ERROR(LoadCommon(ctx, files));
  SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  // Name the peer's CA list in the CertificateRequest so clients pick the right certificate.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str())) {
    SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  }
  return ctx;
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
