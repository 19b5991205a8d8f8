#include "uplink/vehicle_pool.h"

#include <openssl/decoder.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "canvoy/common/pki.h"
#include "canvoy/common/tls.h"
#include "uplink/batch_source.h"

namespace canvoy::bench {
namespace {

namespace fs = std::filesystem;
using File = std::unique_ptr<FILE, decltype(&fclose)>;

std::shared_ptr<X509> ReadCert(const fs::path& path) {
  File f(std::fopen(path.c_str(), "r"), &fclose);
  if (!f) return nullptr;
  return {PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free};
}

// Reads PEM EC private keys with one decoder context: OpenSSL 3.0 builds a decoder chain for
// every PEM_read_PrivateKey, about ten times the cost of the decoding itself, which adds up over
// ten thousand vehicles. Not thread-safe: one per thread.
class KeyReader {
 public:
  KeyReader()
      : ctx_(OSSL_DECODER_CTX_new_for_pkey(&key_, "PEM", nullptr, "EC", OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr,
                                           nullptr)) {}
  ~KeyReader() { OSSL_DECODER_CTX_free(ctx_); }
  KeyReader(const KeyReader&) = delete;
  KeyReader& operator=(const KeyReader&) = delete;

  std::shared_ptr<EVP_PKEY> Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in || ctx_ == nullptr) return nullptr;
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
    std::size_t size = pem.size();
    key_ = nullptr;
    if (OSSL_DECODER_from_data(ctx_, &data, &size) != 1 || key_ == nullptr) {
      EVP_PKEY_free(key_);
      return nullptr;
    }
    return {key_, &EVP_PKEY_free};
  }

 private:
  EVP_PKEY* key_ = nullptr;  // where the decoder puts each key
  OSSL_DECODER_CTX* ctx_;
};

// Runs work(i) for i in [0, n) on up to `threads` threads.
template <class Work>
void Parallel(std::size_t n, Work work) {
  const unsigned threads = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads && t < n; ++t) {
    workers.emplace_back([&] {
      KeyReader keys;
      for (std::size_t i = next++; i < n; i = next++) work(i, keys);
    });
  }
  for (auto& w : workers) w.join();
}

}  // namespace

Result<VehiclePool> VehiclePool::Load(const fs::path& pki_dir, std::size_t count, std::size_t* issued) {
  if (!fs::exists(pki_dir / "ca.crt") || !fs::exists(pki_dir / "ca.key")) {
    return Error(Errc::kNotFound, "'" + pki_dir.string() + "': no ca.crt and ca.key (run canvoy-pki --dir " +
                                      pki_dir.string() + " --init)");
  }
  VehiclePool pool;
  pool.vehicles_.resize(count);
  std::vector<std::optional<Error>> errors(count);
  std::atomic<std::size_t> issued_now{0};
  // Issuing is a key generation and a signature each; loading is PEM decoding: both spread over
  // the cores. Certificates are issued on the first run only.
  Parallel(count, [&](std::size_t i, KeyReader& keys) {
    Vehicle& v = pool.vehicles_[i];
    v.vin = BenchVin(i);
    const std::string stem = (pki_dir / "vehicles" / v.vin).string();
    v.cert = ReadCert(stem + ".crt");
    v.key = keys.Read(stem + ".key");
    if (v.cert && v.key) return;
    if (auto s = pki::IssueVehicle(pki_dir, v.vin); !s) {
      errors[i] = s.error();
      return;
    }
    ++issued_now;
    v.cert = ReadCert(stem + ".crt");
    v.key = keys.Read(stem + ".key");
    if (!v.cert || !v.key) errors[i] = Error(Errc::kTls, "'" + stem + ".crt': cannot be read back");
  });
  for (const auto& e : errors) {
    if (e) return *e;
  }
  *issued = issued_now;
  return pool;
}

Status VehiclePool::Apply(SSL* ssl, std::size_t i) const {
  const Vehicle& v = vehicles_[i % vehicles_.size()];
  if (SSL_use_certificate(ssl, v.cert.get()) != 1 || SSL_use_PrivateKey(ssl, v.key.get()) != 1) {
    return Error(Errc::kTls, "vehicle " + v.vin + ": " + tls::LastOpenSslError());
  }
  return OkStatus();
}

}  // namespace canvoy::bench
