#include "canvoy/fleet_store/store.h"

#include <algorithm>

#include "canvoy/fleet_store/store_view.h"
#include "storage/database.h"
#include "storage/store_view.h"
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
  return std::unique_ptr<Store>(new Store(std::move(db), options.retention));
}

Store::Store(std::unique_ptr<storage::Database> db, const RetentionOptions& retention)
    : db_(std::move(db)), retention_(retention) {}

std::unique_ptr<StoreView> Store::View() const {
  return storage::NewStoreView(*db_, retention_);
}
Store::~Store() = default;

namespace {

Result<VehicleSummary> ReadVehicle(const storage::Database& db, const Vin& vin,
                                   const rocksdb::Snapshot* snapshot) {
  CANVOY_ASSIGN_OR_RETURN(auto bytes, db.Get(Cf::kVehicles, storage::VehicleKey(vin), snapshot));
  if (!bytes) return Error(Errc::kNotFound, "vehicle '" + vin.str() + "': not found");
  CANVOY_ASSIGN_OR_RETURN(auto record, storage::DecodeVehicle(*bytes));
  return VehicleSummary{vin, record.sample_count, record.batch_count, record.last_seen_us};
}

std::string_view AsView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

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
    auto name = AsView(it->key()).substr(prefix.size());
    auto record = storage::DecodeLatest(AsView(it->value()));
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
    if (it->Valid() && AsView(it->key()) == query.after->str()) it->Next();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && out.size() < query.limit; it->Next()) {
    auto key = AsView(it->key());
    auto vin = Vin::Parse(key);
    if (!vin) return Error(Errc::kStorage, "vehicles: corrupt key '" + ToHex(key) + "'");
    auto decoded = storage::DecodeVehicle(AsView(it->value()));
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
  std::vector<Sample> out;
  CANVOY_RETURN_IF_ERROR(View()->ScanSamples(vin, signal, from_us, to_us, [&](const Sample& s) {
    out.push_back(s);
    return true;
  }));
  return out;
}

Status Store::Compact() { return db_->CompactAll(); }

Result<std::vector<std::pair<std::string, std::uint64_t>>> Store::DiskUsage() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t i = 0; i < storage::kCfCount; ++i) {
    const auto cf = static_cast<Cf>(i);
    std::uint64_t bytes = 0;
    if (!db_->db().GetIntProperty(db_->cf(cf), "rocksdb.total-sst-files-size", &bytes))
      return Error(Errc::kStorage, "disk usage of " + std::string(storage::CfName(cf)));
    out.emplace_back(std::string(storage::CfName(cf)), bytes);
  }
  return out;
}

Result<std::vector<std::tuple<std::string, std::int32_t, std::int64_t>>> Store::ListOffsets()
    const {
  std::vector<std::tuple<std::string, std::int32_t, std::int64_t>> out;
  auto it = db_->NewIterator(Cf::kOffsets, rocksdb::ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto parts = storage::ParseOffsetKey(AsView(it->key()));
    if (!parts) return Error(Errc::kStorage, "offsets: corrupt key '" + ToHex(AsView(it->key())) + "'");
    CANVOY_ASSIGN_OR_RETURN(auto next, storage::DecodeOffset(AsView(it->value())));
    out.emplace_back(std::move(parts->topic), parts->partition, next);
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan offsets");
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
    auto parts = storage::ParseRejectedKey(AsView(it->key()));
    if (!parts)
      return Error(Errc::kStorage, "rejected: corrupt key '" + ToHex(AsView(it->key())) + "'");
    CANVOY_ASSIGN_OR_RETURN(auto reason, storage::DecodeRejectedReason(AsView(it->value())));
    out.push_back(RejectedRecord{std::move(parts->topic), parts->partition, parts->offset,
                                 std::move(reason)});
  }
  if (!it->status().ok()) return storage::StorageError(it->status(), "scan rejected");
  return out;
}

}  // namespace canvoy::fleet_store
