#include "storage/database.h"

#include <vector>

namespace canvoy::fleet_store::storage {
namespace {

constexpr std::array<std::string_view, kCfCount> kCfNames = {
    "catalogs", "samples", "latest", "vehicles", "batches", "offsets", "rejected"};

// Written once into the default column family; a later layout change bumps it.
constexpr std::string_view kFormatKey = "canvoy.fleet_store.format";
constexpr std::string_view kFormatVersion = "1";

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<std::size_t>(cf)]; }

Error StorageError(const rocksdb::Status& status, std::string_view what) {
  return Error(Errc::kStorage, std::string(what) + ": " + status.ToString());
}

Result<std::unique_ptr<Database>> Database::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (auto name : kCfNames)
    descriptors.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(db_options, options.path.string(), descriptors, &handles, &raw);
  if (!status.ok()) return StorageError(status, "open '" + options.path.string() + "'");

  std::unique_ptr<Database> db(new Database());
  db->db_.reset(raw);
  db->default_cf_ = handles[0];
  for (std::size_t i = 0; i < kCfCount; ++i) db->handles_[i] = handles[i + 1];
  if (auto format = db->CheckFormat(); !format) {
    return format.error().WithContext("open '" + options.path.string() + "'");
  }
  return db;
}

Status Database::CheckFormat() {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), default_cf_, ToSlice(kFormatKey), &value);
  if (status.IsNotFound()) {
    status = db_->Put(rocksdb::WriteOptions(), default_cf_, ToSlice(kFormatKey),
                      ToSlice(kFormatVersion));
    if (!status.ok()) return StorageError(status, "write format version");
    return OkStatus();
  }
  if (!status.ok()) return StorageError(status, "read format version");
  if (value != kFormatVersion) {
    return Error(Errc::kStorage,
                 "format version '" + value + "', expected '" + std::string(kFormatVersion) + "'");
  }
  return OkStatus();
}

Database::~Database() {
  if (!db_) return;
  for (auto* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle);
  }
  if (default_cf_ != nullptr) db_->DestroyColumnFamilyHandle(default_cf_);
  db_->Close().PermitUncheckedError();
}

Status Database::Write(rocksdb::WriteBatch& batch) {
  auto status = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) return StorageError(status, "write batch");
  return OkStatus();
}

Status Database::Put(Cf cf, std::string_view key, std::string_view value) {
  auto status = db_->Put(rocksdb::WriteOptions(), this->cf(cf), ToSlice(key), ToSlice(value));
  if (!status.ok()) return StorageError(status, "put into " + std::string(CfName(cf)));
  return OkStatus();
}

Result<std::optional<std::string>> Database::Get(Cf cf, std::string_view key,
                                                 const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  std::string value;
  auto status = db_->Get(read_options, this->cf(cf), ToSlice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return StorageError(status, "get from " + std::string(CfName(cf)));
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<rocksdb::ManagedSnapshot> Database::Snapshot() const {
  return std::make_unique<rocksdb::ManagedSnapshot>(db_.get());
}

std::unique_ptr<rocksdb::Iterator> Database::NewIterator(
    Cf cf, const rocksdb::ReadOptions& options) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, this->cf(cf)));
}

}  // namespace canvoy::fleet_store::storage
