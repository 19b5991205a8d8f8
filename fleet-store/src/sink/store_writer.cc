#include "canvoy/fleet_store/store_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "canvoy/common/catalog_hash.h"
#include "sink/batch_decoder.h"
#include "sink/catalog_index.h"
#include "storage/database.h"
#include "storage/keys.h"
#include "storage/values.h"

namespace canvoy::fleet_store {

using storage::Cf;

namespace {

// Catalogs are few (one per agent software version); the bound only guards memory.
constexpr std::size_t kCatalogCacheLimit = 4096;

std::string Where(const ConsumedRecord& record) {
  return record.topic + "/" + std::to_string(record.partition) + "@" +
         std::to_string(record.offset);
}

}  // namespace

class StoreWriter::Impl {
 public:
  explicit Impl(storage::Database& db) : db_(db) {}

  Status PutCatalog(const telemetry::v1::CatalogRecord& record) {
    const std::string hash = CatalogHash(record.catalog());
    if (hash != record.catalog_hash()) {
      return Error(Errc::kRejected, "catalog record " + ToHex(record.catalog_hash()) +
                                        ": the catalog's SHA-256 is " + ToHex(hash));
    }
    if (catalogs_.contains(hash)) return OkStatus();
    CANVOY_RETURN_IF_ERROR(db_.Put(Cf::kCatalogs, hash, record.catalog().SerializeAsString()));
    Cache(hash, record.catalog());
    return OkStatus();
  }

  // nullptr when the store does not know `hash`.
  Result<const sink::CatalogIndex*> FindCatalog(const std::string& hash) {
    if (auto it = catalogs_.find(hash); it != catalogs_.end()) return &it->second;
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kCatalogs, hash));
    if (!bytes) return static_cast<const sink::CatalogIndex*>(nullptr);
    telemetry::v1::Catalog catalog;
    if (!catalog.ParseFromString(*bytes))
      return Error(Errc::kStorage, "catalogs: corrupt catalog " + ToHex(hash));
    return Cache(hash, catalog);
  }

  Result<ApplyStats> Apply(const std::vector<ConsumedRecord>& records);

 private:
  const sink::CatalogIndex* Cache(const std::string& hash, const telemetry::v1::Catalog& catalog) {
    if (catalogs_.size() >= kCatalogCacheLimit) catalogs_.clear();
    return &catalogs_.try_emplace(hash, catalog).first->second;
  }

  storage::Database& db_;
  std::unordered_map<std::string, sink::CatalogIndex> catalogs_;
};

namespace {

// What one round has written so far, so that later records of the round see earlier ones:
// a WriteBatch cannot be read back.
class Round {
 public:
  explicit Round(storage::Database& db) : db_(db) {}

  // The partition's stored next offset, or -1.
  Result<std::int64_t> StoredNextOffset(const ConsumedRecord& record) {
    const auto key = storage::OffsetKey(record.topic, record.partition);
    if (auto it = stored_offsets_.find(key); it != stored_offsets_.end()) return it->second;
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kOffsets, key));
    std::int64_t next = -1;
    if (bytes) {
      CANVOY_ASSIGN_OR_RETURN(next, storage::DecodeOffset(*bytes));
    }
    stored_offsets_.emplace(key, next);
    return next;
  }

  void Consumed(const ConsumedRecord& record) {
    auto& next = next_offsets_[storage::OffsetKey(record.topic, record.partition)];
    next = std::max(next, record.offset + 1);
  }

  // True when the batch was applied before or earlier in this round.
  Result<bool> IsDuplicate(const std::string& batch_key) {
    if (batch_keys_.contains(batch_key)) return true;
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kBatches, batch_key));
    return bytes.has_value();
  }

  Status AddBatch(const sink::DecodedRecord& record, const std::string& batch_key,
                  const std::vector<sink::DecodedSeries>& series, ApplyStats& stats) {
    CANVOY_ASSIGN_OR_RETURN(auto* vehicle, Vehicle(record.vin));
    for (const auto& s : series) {
      batch_.Put(
          db_.cf(Cf::kSamples),
          storage::SampleKey(record.vin, s.signal->name, s.first_us, record.seq, record.stream),
          s.stored);
      CANVOY_RETURN_IF_ERROR(UpdateLatest(record.vin, s));
      vehicle->sample_count += s.sample_count;
      stats.samples_written += s.sample_count;
    }
    vehicle->batch_count += 1;
    vehicle->last_seen_us = std::max(vehicle->last_seen_us, record.received_time_us);
    batch_.Put(db_.cf(Cf::kBatches), batch_key,
               storage::EncodeBatchMarker(record.received_time_us));
    batch_keys_.insert(batch_key);
    stats.batches_applied += 1;
    return OkStatus();
  }

  void Reject(const ConsumedRecord& record, const std::string& reason) {
    rejections_.push_back("record=" + Where(record) + " reason=\"" + reason + "\"");
    batch_.Put(db_.cf(Cf::kRejected),
               storage::RejectedKey(record.topic, record.partition, record.offset),
               storage::EncodeRejected(reason, record.key, record.value));
  }

  Status Commit() {
    for (const auto& [key, latest] : latest_)
      batch_.Put(db_.cf(Cf::kLatest), key, storage::EncodeLatest(latest));
    for (const auto& [key, vehicle] : vehicles_) {
      batch_.Put(db_.cf(Cf::kVehicles), key, storage::EncodeVehicle(vehicle));
    }
    for (const auto& [key, next] : next_offsets_) {
      batch_.Put(db_.cf(Cf::kOffsets), key, storage::EncodeOffset(next));
    }
    if (batch_.Count() == 0) return OkStatus();
    CANVOY_RETURN_IF_ERROR(db_.Write(batch_));
    // Logged once written, so that a round that is retried does not log them twice.
    for (const auto& rejection : rejections_) spdlog::error("msg=\"record rejected\" {}", rejection);
    return OkStatus();
  }

 private:
  Result<storage::VehicleRecord*> Vehicle(const Vin& vin) {
    auto key = storage::VehicleKey(vin);
    if (auto it = vehicles_.find(key); it != vehicles_.end()) return &it->second;
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kVehicles, key));
    storage::VehicleRecord record;
    if (bytes) {
      CANVOY_ASSIGN_OR_RETURN(record, storage::DecodeVehicle(*bytes));
    }
    return &vehicles_.emplace(std::move(key), record).first->second;
  }

  Status UpdateLatest(const Vin& vin, const sink::DecodedSeries& series) {
    auto key = storage::LatestKey(vin, series.signal->name);
    auto it = latest_.find(key);
    if (it == latest_.end()) {
      CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kLatest, key));
      if (bytes) {
        CANVOY_ASSIGN_OR_RETURN(auto stored, storage::DecodeLatest(*bytes));
        if (series.newest.timestamp_us < stored.sample.timestamp_us) return OkStatus();
      }
      latest_.emplace(std::move(key), storage::LatestRecord{series.signal->unit, series.newest});
      return OkStatus();
    }
    if (series.newest.timestamp_us >= it->second.sample.timestamp_us) {
      it->second = storage::LatestRecord{series.signal->unit, series.newest};
    }
    return OkStatus();
  }

  storage::Database& db_;
  rocksdb::WriteBatch batch_;
  std::unordered_set<std::string> batch_keys_;
  std::map<std::string, storage::LatestRecord> latest_;     // written only if newer than stored
  std::map<std::string, storage::VehicleRecord> vehicles_;  // read-modify-write
  std::map<std::string, std::int64_t> stored_offsets_;      // -1: none stored
  std::map<std::string, std::int64_t> next_offsets_;
  std::vector<std::string> rejections_;  // "record=... reason=..." for the log
};

}  // namespace

Result<ApplyStats> StoreWriter::Impl::Apply(const std::vector<ConsumedRecord>& records) {
  ApplyStats stats;
  stats.records = records.size();
  Round round(db_);
  for (const auto& record : records) {
    CANVOY_ASSIGN_OR_RETURN(auto stored_next, round.StoredNextOffset(record));
    if (record.offset < stored_next) {
      ++stats.records_already_applied;
      continue;
    }
    round.Consumed(record);
    auto decoded_or = sink::DecodeRecord(record.value);
    if (!decoded_or) {
      round.Reject(record, decoded_or.error().message());
      ++stats.records_rejected;
      continue;
    }
    const sink::DecodedRecord& decoded = decoded_or.value();
    const auto batch_key = storage::BatchKey(decoded.vin, decoded.stream, decoded.seq);
    CANVOY_ASSIGN_OR_RETURN(bool duplicate, round.IsDuplicate(batch_key));
    if (duplicate) {
      spdlog::debug("msg=\"duplicate batch dropped\" record={} {}", Where(record),
                    decoded.Describe());
      ++stats.duplicates_dropped;
      continue;
    }
    CANVOY_ASSIGN_OR_RETURN(auto* catalog, FindCatalog(decoded.batch.catalog_hash()));
    if (catalog == nullptr) {
      return Error(Errc::kUnavailable, Where(record) + ": " + decoded.Describe() + ": catalog " +
                                           ToHex(decoded.batch.catalog_hash()) + " is not known");
    }
    auto series = sink::DecodeSeries(decoded, *catalog);
    if (!series) {
      round.Reject(record, decoded.Describe() + ": " + series.error().message());
      ++stats.records_rejected;
      continue;
    }
    CANVOY_RETURN_IF_ERROR(round.AddBatch(decoded, batch_key, series.value(), stats));
  }
  CANVOY_RETURN_IF_ERROR(round.Commit());
  return stats;
}

StoreWriter::StoreWriter(Store& store) : impl_(std::make_unique<Impl>(*store.db_)) {}
StoreWriter::~StoreWriter() = default;

Status StoreWriter::PutCatalog(const telemetry::v1::CatalogRecord& record) {
  return impl_->PutCatalog(record);
}

Result<bool> StoreWriter::HasCatalog(const std::string& hash) {
  CANVOY_ASSIGN_OR_RETURN(auto* catalog, impl_->FindCatalog(hash));
  return catalog != nullptr;
}

Result<std::vector<std::string>> StoreWriter::MissingCatalogs(
    const std::vector<ConsumedRecord>& records) {
  std::vector<std::string> missing;
  for (const auto& record : records) {
    auto decoded = sink::DecodeRecord(record.value);
    if (!decoded) continue;
    const auto& hash = decoded.value().batch.catalog_hash();
    CANVOY_ASSIGN_OR_RETURN(auto* catalog, impl_->FindCatalog(hash));
    if (catalog == nullptr && std::find(missing.begin(), missing.end(), hash) == missing.end()) {
      missing.push_back(hash);
    }
  }
  return missing;
}

Result<ApplyStats> StoreWriter::Apply(const std::vector<ConsumedRecord>& records) {
  return impl_->Apply(records);
}

}  // namespace canvoy::fleet_store
