// The RocksDB instance and its column families. Thread-safe like rocksdb::DB itself.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/store.h"

namespace canvoy::fleet_store::storage {

enum class Cf {
  kCatalogs,
  kHistory,
  kLatest,
  kRollups1m,
  kRollups1h,
  kVehicles,
  kAttributes,
  kDedup,
  kOffsets,
  kRejected,
};
inline constexpr std::size_t kCfCount = 10;

// The column family's name in RocksDB, e.g. "samples".
std::string_view CfName(Cf cf);

// "storage: <what>: <rocksdb status>"
Error StorageError(const rocksdb::Status& status, std::string_view what);

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const StoreOptions& options);
  // Releases the column families and closes the database.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* cf(Cf cf) const { return handles_[static_cast<std::size_t>(cf)]; }

  // Applies `batch` atomically. Not synced: a lost tail of the WAL loses data and offsets
  // together, so the consumer re-reads it from Kafka (see README.md).
  Status Write(rocksdb::WriteBatch& batch);
  Status Put(Cf cf, std::string_view key, std::string_view value);
  // Flushes the memtables and compacts every column family (retention, tests, benchmarks).
  Status CompactAll();
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key,
                                         const rocksdb::Snapshot* snapshot = nullptr) const;
  // A snapshot released when the returned object goes away.
  std::unique_ptr<rocksdb::ManagedSnapshot> Snapshot() const;
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, const rocksdb::ReadOptions& options) const;

 private:
  Database() = default;
  Status CheckFormat();

  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> handles_{};
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  bool read_only_ = false;
};

}  // namespace canvoy::fleet_store::storage
