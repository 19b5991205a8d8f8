// The fleet store's RocksDB database: column families, key layout (see README.md) and queries.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/types.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::fleet_store {

namespace storage {
class Database;
}
class StoreView;

// How long each kind of data is kept, measured against the wall clock; zero keeps it forever.
// Expired data is hidden from queries at once and deleted by RocksDB's compactions.
struct RetentionOptions {
  std::chrono::seconds history{0};     // raw samples (history blocks)
  std::chrono::seconds rollups_1m{0};  // minute rollups
  std::chrono::seconds rollups_1h{0};  // hour rollups
  // De-duplication ranges of a stream that has sent nothing for this long. A resend older than
  // this would be applied again, so keep it well above the longest time a vehicle can be offline
  // with unacknowledged batches.
  std::chrono::seconds dedup{0};
};

struct StoreOptions {
  std::filesystem::path path;     // the RocksDB directory; created when missing
  bool create_if_missing = true;  // false: opening a directory without a database fails
  bool read_only = false;         // for inspection (export, offsets) beside no running writer
  RetentionOptions retention;
  std::size_t block_cache_bytes = std::size_t{256} << 20;  // shared by every column family
};

struct VehicleListQuery {
  std::optional<Vin> after;  // start after this VIN (VINs are listed in byte order)
  std::size_t limit = 1000;  // at most this many vehicles
};

// Owns the database and its column families. Queries are const and may be called from any
// number of threads at once, also while a StoreWriter writes; each query reads one snapshot.
// Closing (the destructor) requires that no query and no StoreWriter is still using it.
class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Errc::kNotFound when the store has applied no batch of `vin`.
  Result<VehicleSummary> GetVehicle(const Vin& vin) const;
  // The vehicle's counts and the newest value of each of its signals. Errc::kNotFound as above.
  Result<VehicleLatest> GetLatest(const Vin& vin) const;
  Result<std::vector<VehicleSummary>> ListVehicles(const VehicleListQuery& query) const;
  // A read view over one snapshot of the store; see store_view.h.
  std::unique_ptr<StoreView> View() const;

  // Samples of one signal with from_us <= timestamp < to_us, in StoreView::ScanSamples order.
  Result<std::vector<Sample>> ReadSamples(const Vin& vin, std::string_view signal,
                                          std::int64_t from_us, std::int64_t to_us) const;

  // The offset of the next record to consume from (topic, partition); nullopt when none was
  // applied yet.
  Result<std::optional<std::int64_t>> NextOffset(std::string_view topic,
                                                 std::int32_t partition) const;
  Result<std::optional<telemetry::v1::Catalog>> GetCatalog(std::string_view hash) const;
  // Flushes and compacts every column family: applies retention now, folds history operands.
  Status Compact();

  // Bytes of SST files per column family (after Compact(), what the data takes on disk).
  Result<std::vector<std::pair<std::string, std::uint64_t>>> DiskUsage() const;

  // Every stored next offset: (topic, partition) -> offset.
  Result<std::vector<std::tuple<std::string, std::int32_t, std::int64_t>>> ListOffsets() const;
  // Records that were rejected as malformed, oldest key first.
  Result<std::vector<RejectedRecord>> ListRejected(std::size_t limit) const;

 private:
  friend class StoreWriter;
  Store(std::unique_ptr<storage::Database> db, const RetentionOptions& retention);
  std::unique_ptr<storage::Database> db_;
  RetentionOptions retention_;
};

}  // namespace canvoy::fleet_store
