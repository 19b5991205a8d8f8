// Vehicle certificates for the load generator: one per simulated vehicle, issued once into a
// cache directory with the pki library and loaded into memory, so that each connection can
// present its own vehicle's certificate (ingest takes the VIN from it).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "canvoy/common/error.h"

namespace canvoy::bench {

// Immutable once loaded; Apply may be called from any thread.
class VehiclePool {
 public:
  // <pki_dir> must hold ca.crt and ca.key (canvoy-pki --init). Vehicles BenchVin(0..count-1) get
  // <pki_dir>/vehicles/<VIN>.{crt,key}; the missing ones are issued now (*issued counts them).
  [[nodiscard]] static Result<VehiclePool> Load(const std::filesystem::path& pki_dir, std::size_t count,
                                                std::size_t* issued);

  std::size_t size() const { return vehicles_.size(); }
  const std::string& vin(std::size_t i) const { return vehicles_[i % vehicles_.size()].vin; }
  // Makes `ssl` present vehicle i's certificate and key.
  [[nodiscard]] Status Apply(SSL* ssl, std::size_t i) const;

 private:
  struct Vehicle {
    std::string vin;
    std::shared_ptr<X509> cert;
    std::shared_ptr<EVP_PKEY> key;
  };
  std::vector<Vehicle> vehicles_;
};

}  // namespace canvoy::bench
