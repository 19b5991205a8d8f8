#include "canvoy/fleet_store/store.h"

#include <algorithm>

#include "storage/database.h"
#include "storage/keys.h"
#include "storage/values.h"

namespace canvoy::fleet_store {

using storage::Cf;

std::string_view TypeName(const SignalValue& value) {
  static constexpr std::string_view kNames[] = {"bool", "int64", "uint64", "double", "string"};
  return kNames[value.index()];
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return Error(Errc::kInvalidArgument, "store: database path is empty");
  CANVOY_ASSIGN_OR_RETURN(auto db, storage::Database::Open(options));
  return std::unique_ptr<Store>(new Store(std::move(db)));
}

Store::Store(std::unique_ptr<storage::Database> db) : db_(std::move(db)) {}
Store::~Store() = default;

namespace {

Result<VehicleSummary> ReadVehicle(const storage::Database& db, const Vin& vin,
                                   const rocksdb::Snapshot* snapshot) {
  CANVOY_ASSIGN_OR_RETURN(auto bytes, db.Get(Cf::kVehicles, storage::VehicleKey(vin), snapshot));
  if (!bytes) return Error(Errc::kNotFound, "vehicle '" + vin.str() + "': not found");
  CANVOY_ASSIGN_OR_RETURN(auto record, storage::DecodeVehicle(*bytes));
  return VehicleSummary{vin, record.sample_count, record.batch_count, record.last_seen_us};
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

Result<VehicleSummary> Store::GetVehicle(const Vin& vin) const {
  return ReadVehicle(*db_, vin, nullptr);
}

Result<VehicleLatest> Store::GetLatest(const Vin& vin) const {
  auto snapshot = db_->Snapshot();
  CANVOY_ASSIGN_OR_RETURN(auto vehicle, ReadVehicle(*db_, vin, snapshot->snapshot()));
  VehicleLatest out{std::move(vehicle), {}};

  const std::string prefix = storage::LatestPrefix(vin);
  const std::string end = storage::PrefixEnd(prefix);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot->snapshot();
  read_options.iterate_upper_bound = &upper;
  auto it = db_->NewIterator(Cf::kLatest, read_options);
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    auto name = View(it->key()).substr(prefix.size());
    auto record = storage::DecodeLatest(View(it->value()));
    if (!record)
      return record.error().WithContext("latest '" + vin.str() + "' '" + std::string(name) + "'");
    out.signals.push_back(LatestValue{std::string(name), std::move(record.value().unit),
                                      std::move(record.value().sample)});
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan latest");
  return out;
}

Result<std::vector<VehicleSummary>> Store::ListVehicles(const VehicleListQuery& query) const {
  std::vector<VehicleSummary> out;
  if (query.limit == 0) return out;
  auto it = db_->NewIterator(Cf::kVehicles, rocksdb::ReadOptions());
  if (query.after) {
    it->Seek(query.after->str());
    if (it->Valid() && View(it->key()) == query.after->str()) it->Next();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && out.size() < query.limit; it->Next()) {
    auto key = View(it->key());
    auto vin = Vin::Parse(key);
    if (!vin) return Error(Errc::kStorage, "vehicles: corrupt key '" + ToHex(key) + "'");
    auto decoded = storage::DecodeVehicle(View(it->value()));
    if (!decoded) return decoded.error().WithContext("vehicle '" + std::string(key) + "'");
    const auto& record = decoded.value();
    out.push_back(VehicleSummary{std::move(vin).value(), record.sample_count, record.batch_count,
                                 record.last_seen_us});
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan vehicles");
  return out;
}

Result<std::vector<Sample>> Store::ReadSamples(const Vin& vin, std::string_view signal,
                                               std::int64_t from_us, std::int64_t to_us) const {
  // Keys order series by their first timestamp, but a series may go back in time (the vehicle's
  // clock may step), so every series of the signal is read until time-bucketed blocks arrive.
  const std::string prefix = storage::SamplePrefix(vin, signal);
  const std::string end = storage::PrefixEnd(prefix);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper;
  auto it = db_->NewIterator(Cf::kSamples, read_options);
  std::vector<Sample> out;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    auto samples = storage::DecodeSeries(View(it->value()));
    if (!samples)
      return samples.error().WithContext("samples '" + vin.str() + "' '" + std::string(signal) +
                                         "'");
    for (auto& sample : samples.value()) {
      if (sample.timestamp_us >= from_us && sample.timestamp_us < to_us)
        out.push_back(std::move(sample));
    }
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan samples");
  std::stable_sort(out.begin(), out.end(), [](const Sample& a, const Sample& b) {
    return a.timestamp_us < b.timestamp_us;
  });
  return out;
}

Result<std::optional<std::int64_t>> Store::NextOffset(std::string_view topic,
                                                      std::int32_t partition) const {
  CANVOY_ASSIGN_OR_RETURN(auto bytes, db_->Get(Cf::kOffsets, storage::OffsetKey(topic, partition)));
  if (!bytes) return std::optional<std::int64_t>();
  CANVOY_ASSIGN_OR_RETURN(auto offset, storage::DecodeOffset(*bytes));
  return std::optional<std::int64_t>(offset);
}

Result<std::optional<telemetry::v1::Catalog>> Store::GetCatalog(std::string_view hash) const {
  CANVOY_ASSIGN_OR_RETURN(auto bytes, db_->Get(Cf::kCatalogs, hash));
  if (!bytes) return std::optional<telemetry::v1::Catalog>();
  telemetry::v1::Catalog catalog;
  if (!catalog.ParseFromString(*bytes)) {
    return Error(Errc::kStorage, "catalogs: corrupt catalog " + ToHex(hash));
  }
  return std::optional<telemetry::v1::Catalog>(std::move(catalog));
}

Result<std::vector<RejectedRecord>> Store::ListRejected(std::size_t limit) const {
  std::vector<RejectedRecord> out;
  auto it = db_->NewIterator(Cf::kRejected, rocksdb::ReadOptions());
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    auto parts = storage::ParseRejectedKey(View(it->key()));
    if (!parts)
      return Error(Errc::kStorage, "rejected: corrupt key '" + ToHex(View(it->key())) + "'");
    CANVOY_ASSIGN_OR_RETURN(auto reason, storage::DecodeRejectedReason(View(it->value())));
    out.push_back(RejectedRecord{std::move(parts->topic), parts->partition, parts->offset,
                                 std::move(reason)});
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan rejected");
  return out;
}

}  // namespace canvoy::fleet_store
