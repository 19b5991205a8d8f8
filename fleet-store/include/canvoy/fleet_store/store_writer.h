// The write path: applies one poll round of telemetry records, and the next offsets of the
// partitions it read, to the store in one atomic RocksDB WriteBatch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/types.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::fleet_store {

// What one Apply did. Every record of the round is counted in exactly one of the last five fields.
struct ApplyStats {
  std::uint64_t records = 0;          // records in the round
  std::uint64_t samples_written = 0;  // samples of the applied batches
  std::uint64_t batches_applied = 0;
  std::uint64_t duplicates_dropped =
      0;  // (VIN, stream_id, seq) already applied, or twice in the round
  std::uint64_t records_rejected = 0;         // malformed; kept in the `rejected` column family
  std::uint64_t records_already_applied = 0;  // offset below the partition's stored next offset
};

// Samples of one signal from another source than Kafka (the CSV import).
struct ImportedSeries {
  std::string signal;  // non-empty, without NUL
  std::string unit;
  std::vector<Sample> samples;
};

// A batch from another source than Kafka. It is de-duplicated by (vin, stream, seq) exactly like
// an agent's batch, so importing the same input twice stores it once.
struct ImportedBatch {
  Vin vin;
  StreamId stream;
  std::uint64_t seq = 0;
  std::int64_t received_time_us = 0;  // becomes the vehicle's last_seen_us
  std::vector<ImportedSeries> series;
};

// The one writer of a Store. Not thread-safe: one thread (the consumer thread) calls it, and a
// Store has at most one StoreWriter at a time, because Apply reads, modifies and writes per-vehicle
// counts and latest values. `store` must outlive it.
class StoreWriter {
 public:
  explicit StoreWriter(Store& store);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Stores a catalog under its hash (idempotent). Errc::kRejected when the hash is not the
  // SHA-256 of the catalog's deterministic serialization.
  Status PutCatalog(const telemetry::v1::CatalogRecord& record);
  Result<bool> HasCatalog(const std::string& hash);

  // Catalog hashes that records of `records` refer to and that the store does not know.
  // Malformed records are skipped here (Apply rejects them).
  Result<std::vector<std::string>> MissingCatalogs(const std::vector<ConsumedRecord>& records);

  // Applies a poll round atomically: all its batches, per-vehicle counts, latest values, the
  // de-duplication keys and, for each partition in `records`, the offset after its last record.
  // Errc::kUnavailable when a batch refers to a catalog the store does not know: then nothing of
  // the round is written and the caller retries the round once it has read the catalog.
  // Errc::kStorage when RocksDB fails. Malformed records do not fail the round.
  Result<ApplyStats> Apply(const std::vector<ConsumedRecord>& records);

  // Applies imported batches atomically, through the same path as Apply (history blocks, rollups,
  // latest values, counts, de-duplication). Errc::kInvalidArgument for an empty signal name or
  // one containing NUL (nothing is written then).
  Result<ApplyStats> ApplyImported(std::vector<ImportedBatch> batches);

  // Replaces the attributes of each listed vehicle, atomically.
  Status PutAttributes(const std::vector<std::pair<Vin, Attributes>>& vehicles);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canvoy::fleet_store
