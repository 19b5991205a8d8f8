#pragma once

#include <string>
#include <string_view>

namespace canvoy {

// SHA-256 of `data`, 32 raw bytes (OpenSSL).
std::string Sha256(std::string_view data);

}  // namespace canvoy
