#include "canvoy/fleet_store/store_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "canvoy/common/catalog_hash.h"
#include "sink/batch_decoder.h"
#include "sink/catalog_index.h"
#include "storage/database.h"
#include "storage/encoding.h"
#include "storage/history_block.h"
#include "storage/keys.h"
#include "storage/rollup_codec.h"
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
  Result<ApplyStats> ApplyImported(std::vector<ImportedBatch> batches);
  Status PutAttributes(const std::vector<std::pair<Vin, Attributes>>& vehicles);

 private:
  const sink::CatalogIndex* Cache(const std::string& hash, const telemetry::v1::Catalog& catalog) {
    if (catalogs_.size() >= kCatalogCacheLimit) catalogs_.clear();
    return &catalogs_.try_emplace(hash, catalog).first->second;
  }

  storage::Database& db_;
  std::unordered_map<std::string, sink::CatalogIndex> catalogs_;
};

namespace {

constexpr std::size_t kMinutesPerHour = 60;
constexpr std::size_t kHoursPerDay = 24;

// The rollup slots of one key: a minute-rollup key holds an hour's 60 minutes, an hour-rollup key
// a day's 24 hours. Empty slots have count 0.
template <std::size_t N>
using Slots = std::array<Rollup, N>;

template <std::size_t N>
std::string EncodeSlots(const Slots<N>& slots) {
  std::vector<std::pair<std::uint32_t, Rollup>> used;
  for (std::size_t i = 0; i < N; ++i) {
    if (slots[i].count > 0) used.emplace_back(static_cast<std::uint32_t>(i), slots[i]);
  }
  return storage::EncodeRollupSlots(used);
}

// What one round has written so far, so that later records of the round see earlier ones:
// a WriteBatch cannot be read back. Samples, rollups and dedup ranges are gathered per key and
// written once at Commit: one history chunk per (vehicle, signal, hour) and round, however many
// batches of the round it came in.
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
  Result<bool> IsDuplicate(const Vin& vin, const StreamId& stream, std::uint64_t seq) {
    CANVOY_ASSIGN_OR_RETURN(auto dedup, Dedup(vin, stream));
    return dedup.Contains(seq);
  }

  // Applies one batch that is not a duplicate: its series, the vehicle's counts, its dedup seq.
  Status AddBatch(const Vin& vin, const StreamId& stream, std::uint64_t seq,
                  std::int64_t received_time_us, const std::vector<sink::DecodedSeries>& series,
                  ApplyStats& stats) {
    CANVOY_ASSIGN_OR_RETURN(auto* vehicle, Vehicle(vin));
    for (const auto& s : series) {
      AddSamples(vin, s.signal->name, s.samples);
      CANVOY_RETURN_IF_ERROR(UpdateLatest(vin, s.signal->name, s.signal->unit, s.newest));
      vehicle->sample_count += s.sample_count;
      stats.samples_written += s.sample_count;
    }
    vehicle->batch_count += 1;
    vehicle->last_seen_us = std::max(vehicle->last_seen_us, received_time_us);
    CANVOY_ASSIGN_OR_RETURN(auto dedup, Dedup(vin, stream));
    dedup.Insert(seq, received_time_us);
    stats.batches_applied += 1;
    return OkStatus();
  }

  void PutAttributes(const Vin& vin, const Attributes& attributes) {
    batch_.Put(db_.cf(Cf::kAttributes), storage::AttributeKey(vin),
               storage::EncodeAttributes(attributes));
  }

  void Reject(const ConsumedRecord& record, const std::string& reason) {
    rejections_.push_back("record=" + Where(record) + " reason=\"" + reason + "\"");
    batch_.Put(db_.cf(Cf::kRejected),
               storage::RejectedKey(record.topic, record.partition, record.offset),
               storage::EncodeRejected(reason, record.key, record.value));
  }

  Status Commit() {
    for (const auto& [key, samples] : history_) {
      // One chunk per value type (a signal's type may change with its catalog).
      batch_.Merge(db_.cf(Cf::kHistory), key, storage::EncodeChunk(samples));
    }
    for (const auto& [key, slots] : minutes_)
      batch_.Merge(db_.cf(Cf::kRollups1m), key, EncodeSlots(slots));
    for (const auto& [key, slots] : hours_)
      batch_.Merge(db_.cf(Cf::kRollups1h), key, EncodeSlots(slots));
    for (const auto& [key, latest] : latest_)
      batch_.Put(db_.cf(Cf::kLatest), key, storage::EncodeLatest(latest));
    for (const auto& [key, vehicle] : vehicles_)
      batch_.Put(db_.cf(Cf::kVehicles), key, storage::EncodeVehicle(vehicle));
    for (const auto& [key, dedup] : dedup_) {
      if (dedup.dirty) batch_.Put(db_.cf(Cf::kDedup), key, storage::EncodeDedup(dedup.record));
    }
    for (const auto& [key, next] : next_offsets_)
      batch_.Put(db_.cf(Cf::kOffsets), key, storage::EncodeOffset(next));
    if (batch_.Count() == 0) return OkStatus();
    CANVOY_RETURN_IF_ERROR(db_.Write(batch_));
    // Logged once written, so that a round that is retried does not log them twice.
    for (const auto& rejection : rejections_) spdlog::error("msg=\"record rejected\" {}", rejection);
    return OkStatus();
  }

 private:
  struct DedupEntry {
    storage::DedupRecord record;
    bool dirty = false;
  };
  // A DedupRecord handle that marks its entry dirty when written through.
  struct DedupRef {
    DedupEntry* entry;
    bool Contains(std::uint64_t seq) const { return entry->record.Contains(seq); }
    void Insert(std::uint64_t seq, std::int64_t received_time_us) {
      entry->record.Insert(seq);
      entry->record.updated_us = std::max(entry->record.updated_us, received_time_us);
      entry->dirty = true;
    }
  };

  void AddSamples(const Vin& vin, const std::string& signal, const std::vector<Sample>& samples) {
    const std::string prefix = storage::SeriesPrefix(vin, signal);
    std::int64_t bucket = 0, hour = 0, day = 0;
    std::vector<Sample>* history = nullptr;
    Slots<kMinutesPerHour>* minutes = nullptr;
    Slots<kHoursPerDay>* hours = nullptr;
    auto key = [&](std::int64_t start) {
      std::string k = prefix;
      storage::AppendOrderedInt64(k, start);
      return k;
    };
    for (const auto& sample : samples) {
      const std::int64_t t = sample.timestamp_us;
      if (history == nullptr || storage::FloorTo(t, storage::kHistoryBucketUs) != bucket) {
        bucket = storage::FloorTo(t, storage::kHistoryBucketUs);
        history = &history_[key(bucket)];
      }
      history->push_back(sample);
      const auto value = storage::NumericValue(sample.value);
      if (!value) continue;
      if (minutes == nullptr || storage::FloorTo(t, storage::kHourUs) != hour) {
        hour = storage::FloorTo(t, storage::kHourUs);
        minutes = &minutes_[key(hour)];
      }
      if (hours == nullptr || storage::FloorTo(t, storage::kDayUs) != day) {
        day = storage::FloorTo(t, storage::kDayUs);
        hours = &hours_[key(day)];
      }
      storage::AddSample((*minutes)[static_cast<std::size_t>((t - hour) / storage::kMinuteUs)], t,
                         *value);
      storage::AddSample((*hours)[static_cast<std::size_t>((t - day) / storage::kHourUs)], t,
                         *value);
    }
  }

  Result<DedupRef> Dedup(const Vin& vin, const StreamId& stream) {
    auto key = storage::DedupKey(vin, stream);
    if (auto it = dedup_.find(key); it != dedup_.end()) return DedupRef{&it->second};
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kDedup, key));
    DedupEntry entry;
    if (bytes) {
      CANVOY_ASSIGN_OR_RETURN(entry.record, storage::DecodeDedup(*bytes));
    }
    return DedupRef{&dedup_.emplace(std::move(key), std::move(entry)).first->second};
  }

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

  Status UpdateLatest(const Vin& vin, const std::string& signal, const std::string& unit,
                      const Sample& newest) {
    auto key = storage::LatestKey(vin, signal);
    auto it = latest_.find(key);
    if (it == latest_.end()) {
      CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kLatest, key));
      if (bytes) {
        CANVOY_ASSIGN_OR_RETURN(auto stored, storage::DecodeLatest(*bytes));
        if (newest.timestamp_us < stored.sample.timestamp_us) return OkStatus();
      }
      latest_.emplace(std::move(key), storage::LatestRecord{unit, newest});
      return OkStatus();
    }
    if (newest.timestamp_us >= it->second.sample.timestamp_us) {
      it->second = storage::LatestRecord{unit, newest};
    }
    return OkStatus();
  }

  storage::Database& db_;
  rocksdb::WriteBatch batch_;
  std::unordered_map<std::string, std::vector<Sample>> history_;
  std::unordered_map<std::string, Slots<kMinutesPerHour>> minutes_;
  std::unordered_map<std::string, Slots<kHoursPerDay>> hours_;
  std::unordered_map<std::string, DedupEntry> dedup_;
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
    CANVOY_ASSIGN_OR_RETURN(bool duplicate,
                            round.IsDuplicate(decoded.vin, decoded.stream, decoded.seq));
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
    CANVOY_RETURN_IF_ERROR(round.AddBatch(decoded.vin, decoded.stream, decoded.seq,
                                          decoded.received_time_us, series.value(), stats));
  }
  CANVOY_RETURN_IF_ERROR(round.Commit());
  return stats;
}

Result<ApplyStats> StoreWriter::Impl::ApplyImported(std::vector<ImportedBatch> batches) {
  ApplyStats stats;
  stats.records = batches.size();
  Round round(db_);
  std::vector<sink::SignalInfo> infos;
  std::vector<sink::DecodedSeries> series;
  for (auto& batch : batches) {
    CANVOY_ASSIGN_OR_RETURN(bool duplicate, round.IsDuplicate(batch.vin, batch.stream, batch.seq));
    if (duplicate) {
      ++stats.duplicates_dropped;
      continue;
    }
    infos.clear();
    infos.reserve(batch.series.size());
    series.clear();
    for (auto& s : batch.series) {
      if (s.signal.empty() || s.signal.find('\0') != std::string::npos) {
        return Error(Errc::kInvalidArgument,
                     "vin=" + batch.vin.str() + ": a signal name is empty or contains NUL");
      }
      if (s.samples.empty()) continue;
      infos.push_back(sink::SignalInfo{s.signal, {}, s.unit, false});
      sink::DecodedSeries decoded;
      decoded.signal = &infos.back();
      decoded.first_us = s.samples.front().timestamp_us;
      decoded.sample_count = s.samples.size();
      decoded.newest = s.samples.front();
      for (const auto& sample : s.samples) {
        if (sample.timestamp_us >= decoded.newest.timestamp_us) decoded.newest = sample;
      }
      decoded.samples = std::move(s.samples);
      series.push_back(std::move(decoded));
    }
    CANVOY_RETURN_IF_ERROR(round.AddBatch(batch.vin, batch.stream, batch.seq,
                                          batch.received_time_us, series, stats));
  }
  CANVOY_RETURN_IF_ERROR(round.Commit());
  return stats;
}

Status StoreWriter::Impl::PutAttributes(const std::vector<std::pair<Vin, Attributes>>& vehicles) {
  Round round(db_);
  for (const auto& [vin, attributes] : vehicles) round.PutAttributes(vin, attributes);
  return round.Commit();
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

Result<ApplyStats> StoreWriter::ApplyImported(std::vector<ImportedBatch> batches) {
  return impl_->ApplyImported(std::move(batches));
}

Status StoreWriter::PutAttributes(const std::vector<std::pair<Vin, Attributes>>& vehicles) {
  return impl_->PutAttributes(vehicles);
}

}  // namespace canvoy::fleet_store
