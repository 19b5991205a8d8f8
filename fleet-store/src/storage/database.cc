#include "storage/database.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/table.h>

#include <chrono>
#include <functional>
#include <vector>

#include "storage/history_block.h"
#include "storage/keys.h"
#include "storage/rollup_codec.h"
#include "storage/values.h"

namespace canvoy::fleet_store::storage {
namespace {

constexpr std::array<std::string_view, kCfCount> kCfNames = {
    "catalogs", "history",    "latest", "rollups_1m", "rollups_1h",
    "vehicles", "attributes", "dedup",  "offsets",    "rejected"};

// Written once into the default column family; a later layout change bumps it.
constexpr std::string_view kFormatKey = "canvoy.fleet_store.format";
constexpr std::string_view kFormatVersion = "2";

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Drops series keys (history blocks, rollups) whose whole span ended before now - retention.
class SpanRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  SpanRetentionFilter(std::int64_t span_us, std::chrono::seconds retention)
      : span_us_(span_us), retention_us_(retention.count() * 1'000'000) {}

  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    return Expired(key);
  }
  bool FilterMergeOperand(int, const rocksdb::Slice& key, const rocksdb::Slice&) const override {
    return Expired(key);
  }
  const char* Name() const override { return "canvoy.span_retention"; }

 private:
  bool Expired(const rocksdb::Slice& key) const {
    auto start = SeriesKeyStart({key.data(), key.size()});
    return start && *start <= NowUs() - retention_us_ - span_us_;
  }
  std::int64_t span_us_;
  std::int64_t retention_us_;
};

// Drops de-duplication ranges of streams silent for longer than the retention.
class DedupRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit DedupRetentionFilter(std::chrono::seconds retention)
      : retention_us_(retention.count() * 1'000'000) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    auto record = DecodeDedup({value.data(), value.size()});
    return record && record.value().updated_us < NowUs() - retention_us_;
  }
  const char* Name() const override { return "canvoy.dedup_retention"; }

 private:
  std::int64_t retention_us_;
};

// RocksDB takes filters through factories so that it owns them (shared_ptr).
template <class Filter, class... Args>
class FilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  explicit FilterFactory(Args... args) : make_([=] { return std::make_unique<Filter>(args...); }) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context&) override {
    return make_();
  }
  const char* Name() const override { return "canvoy.retention_factory"; }

 private:
  std::function<std::unique_ptr<Filter>()> make_;
};

rocksdb::CompressionType Supported(rocksdb::CompressionType wanted) {
  for (auto type : rocksdb::GetSupportedCompressions()) {
    if (type == wanted) return wanted;
  }
  return rocksdb::kSnappyCompression;
}

// The column families' options.
std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const StoreOptions& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.block_size = 16 * 1024;
  rocksdb::ColumnFamilyOptions base;
  base.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  base.compression = Supported(rocksdb::kLZ4Compression);
  base.bottommost_compression = Supported(rocksdb::kZSTD);

  const auto& retention = options.retention;
  std::vector<rocksdb::ColumnFamilyDescriptor> out;
  out.emplace_back(rocksdb::kDefaultColumnFamilyName, base);
  for (std::size_t i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions cf = base;
    auto span_filter = [](std::int64_t span, std::chrono::seconds keep) {
      return keep.count() > 0
                 ? std::make_shared<
                       FilterFactory<SpanRetentionFilter, std::int64_t, std::chrono::seconds>>(
                       span, keep)
                 : nullptr;
    };
    switch (static_cast<Cf>(i)) {
      case Cf::kHistory:
        cf.merge_operator = NewHistoryMergeOperator();
        // Folds a key's operands into one block at write time once this many pile up in the
        // memtable, so that reads of the current hour merge a bounded number of chunks.
        cf.max_successive_merges = 64;
        cf.compaction_filter_factory = span_filter(kHistoryBucketUs, retention.history);
        break;
      case Cf::kRollups1m:
        cf.merge_operator = NewRollupMergeOperator();
        cf.max_successive_merges = 64;
        cf.compaction_filter_factory = span_filter(kHourUs, retention.rollups_1m);
        break;
      case Cf::kRollups1h:
        cf.merge_operator = NewRollupMergeOperator();
        cf.max_successive_merges = 64;
        cf.compaction_filter_factory = span_filter(kDayUs, retention.rollups_1h);
        break;
      case Cf::kDedup:
        if (retention.dedup.count() > 0)
          cf.compaction_filter_factory =
              std::make_shared<FilterFactory<DedupRetentionFilter, std::chrono::seconds>>(
                  retention.dedup);
        break;
      default:
        break;
    }
    out.emplace_back(std::string(kCfNames[i]), cf);
  }
  return out;
}

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<std::size_t>(cf)]; }

Error StorageError(const rocksdb::Status& status, std::string_view what) {
  return Error(Errc::kStorage, std::string(what) + ": " + status.ToString());
}

Result<std::unique_ptr<Database>> Database::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;

  const auto descriptors = Descriptors(options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto status =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options.path.string(), descriptors, &handles,
                                         &raw)
          : rocksdb::DB::Open(db_options, options.path.string(), descriptors, &handles, &raw);
  if (!status.ok()) return StorageError(status, "open '" + options.path.string() + "'");

  std::unique_ptr<Database> db(new Database());
  db->db_.reset(raw);
  db->default_cf_ = handles[0];
  for (std::size_t i = 0; i < kCfCount; ++i) db->handles_[i] = handles[i + 1];
  db->read_only_ = options.read_only;
  if (auto format = db->CheckFormat(); !format) {
    return format.error().WithContext("open '" + options.path.string() + "'");
  }
  return db;
}

Status Database::CheckFormat() {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), default_cf_, ToSlice(kFormatKey), &value);
  if (status.IsNotFound() && !read_only_) {
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

Status Database::CompactAll() {
  for (auto* handle : handles_) {
    auto status = db_->CompactRange(rocksdb::CompactRangeOptions(), handle, nullptr, nullptr);
    if (!status.ok()) return StorageError(status, "compact");
  }
  return OkStatus();
}

std::unique_ptr<rocksdb::ManagedSnapshot> Database::Snapshot() const {
  return std::make_unique<rocksdb::ManagedSnapshot>(db_.get());
}

std::unique_ptr<rocksdb::Iterator> Database::NewIterator(
    Cf cf, const rocksdb::ReadOptions& options) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, this->cf(cf)));
}

}  // namespace canvoy::fleet_store::storage
