// The catalog hashes this ingest process knows are in Kafka. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>

namespace canvoy::ingest {

class CatalogRegistry {
 public:
  bool Known(const std::string& hash) const {
    std::lock_guard lock(mu_);
    return known_.count(hash) != 0;
  }
  void Add(const std::string& hash) {
    std::lock_guard lock(mu_);
    known_.insert(hash);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> known_;  // GUARDED_BY(mu_)
};

}  // namespace canvoy::ingest
