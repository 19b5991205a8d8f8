#include "canvoy/common/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace canvoy {

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    std::abort();  // SHA-256 cannot fail on a working OpenSSL
  }
  return out;
}

}  // namespace canvoy
