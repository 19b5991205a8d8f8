// The RocksDB StoreView: reads history blocks, rollups, latest values and vehicles under one
// snapshot, and hides what retention has expired but compaction has not yet deleted.
#include "storage/store_view.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <mutex>
#include <vector>

#include "storage/history_block.h"
#include "storage/keys.h"
#include "storage/rollup_codec.h"
#include "storage/values.h"

namespace canvoy::fleet_store::storage {
namespace {

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The oldest timestamp still visible under `keep` (zero: everything).
std::int64_t Cutoff(std::chrono::seconds keep) {
  if (keep.count() <= 0) return std::numeric_limits<std::int64_t>::min();
  return NowUs() - keep.count() * 1'000'000;
}

class RocksStoreView final : public StoreView {
 public:
  RocksStoreView(const Database& db, const RetentionOptions& retention)
      : db_(db), snapshot_(db.Snapshot()), retention_(retention) {}

  Status ForEachVehicle(const std::function<bool(const VehicleInfo&)>& fn,
                        const std::optional<Vin>& after) const override {
    // The union of `vehicles` (vehicles with data) and `attributes`, merged in VIN order.
    auto vehicles = db_.NewIterator(Cf::kVehicles, Options());
    auto attributes = db_.NewIterator(Cf::kAttributes, Options());
    auto seek = [&](rocksdb::Iterator& it) {
      if (!after) return it.SeekToFirst();
      it.Seek(after->str());
      if (it.Valid() && View(it.key()) == after->str()) it.Next();
    };
    seek(*vehicles);
    seek(*attributes);
    Attributes reused;  // moved into each vehicle's info and back: its entries are reused
    while (vehicles->Valid() || attributes->Valid()) {
      std::string_view vkey = vehicles->Valid() ? View(vehicles->key()) : std::string_view();
      std::string_view akey = attributes->Valid() ? View(attributes->key()) : std::string_view();
      const bool take_v = vehicles->Valid() && (!attributes->Valid() || vkey <= akey);
      const bool take_a = attributes->Valid() && (!vehicles->Valid() || akey <= vkey);
      const std::string_view key = take_v ? vkey : akey;
      auto vin = Vin::Parse(key);
      if (!vin) return Error(Errc::kStorage, "vehicles: corrupt key '" + ToHex(key) + "'");
      VehicleInfo info{VehicleSummary{std::move(vin).value(), 0, 0, 0}, std::move(reused)};
      if (take_v) {
        CANVOY_RETURN_IF_ERROR(Fill(info.summary, View(vehicles->value())));
        vehicles->Next();
      }
      if (take_a) {
        auto decoded = DecodeAttributesInto(View(attributes->value()), info.attributes);
        if (!decoded)
          return decoded.error().WithContext("attributes '" + info.summary.vin.str() + "'");
        attributes->Next();
      } else {
        info.attributes.clear();
      }
      const bool more = fn(info);
      reused = std::move(info.attributes);
      if (!more) return OkStatus();
    }
    if (!vehicles->status().ok()) return StorageError(vehicles->status(), "scan vehicles");
    if (!attributes->status().ok()) return StorageError(attributes->status(), "scan attributes");
    return OkStatus();
  }

  Result<std::optional<VehicleInfo>> GetVehicle(const Vin& vin) const override {
    CANVOY_ASSIGN_OR_RETURN(auto vehicle, db_.Get(Cf::kVehicles, VehicleKey(vin), snap()));
    CANVOY_ASSIGN_OR_RETURN(auto attrs, db_.Get(Cf::kAttributes, AttributeKey(vin), snap()));
    if (!vehicle && !attrs) return std::optional<VehicleInfo>();
    VehicleInfo info{VehicleSummary{vin, 0, 0, 0}, {}};
    if (vehicle) CANVOY_RETURN_IF_ERROR(Fill(info.summary, *vehicle));
    if (attrs) {
      auto decoded = DecodeAttributes(*attrs);
      if (!decoded) return decoded.error().WithContext("attributes '" + vin.str() + "'");
      info.attributes = std::move(decoded).value();
    }
    return std::optional<VehicleInfo>(std::move(info));
  }

  Result<std::optional<LatestValue>> GetLatest(const Vin& vin,
                                               std::string_view signal) const override {
    CANVOY_ASSIGN_OR_RETURN(auto bytes, db_.Get(Cf::kLatest, LatestKey(vin, signal), snap()));
    if (!bytes) return std::optional<LatestValue>();
    auto record = DecodeLatest(*bytes);
    if (!record)
      return record.error().WithContext("latest '" + vin.str() + "' '" + std::string(signal) + "'");
    return std::optional<LatestValue>(LatestValue{std::string(signal),
                                                  std::move(record.value().unit),
                                                  std::move(record.value().sample)});
  }

  Status ScanSamples(const Vin& vin, std::string_view signal, std::int64_t from_us,
                     std::int64_t to_us,
                     const std::function<bool(const Sample&)>& fn) const override {
    return ScanSampleSpans(vin, signal, from_us, to_us, [&](std::span<const Sample> samples) {
      for (const auto& sample : samples) {
        if (!fn(sample)) return false;
      }
      return true;
    });
  }

  // A block at a time: each block's samples in range are one span.
  Status ScanSampleSpans(const Vin& vin, std::string_view signal, std::int64_t from_us,
                         std::int64_t to_us,
                         const std::function<bool(std::span<const Sample>)>& fn) const override {
    std::vector<Sample> samples;
    return ForEachBlock(vin, signal, from_us, to_us,
                        [&](std::string_view, std::string_view block) -> Result<bool> {
      samples.clear();
      CANVOY_RETURN_IF_ERROR(DecodeBlockRange(block, from_us, to_us, &samples));
      return samples.empty() || fn(samples);
    });
  }

  Status ScanSampleRuns(const Vin& vin, std::string_view signal, std::int64_t from_us,
                        std::int64_t to_us,
                        const std::function<bool(const SampleRun&)>& fn) const override {
    return ScanRuns(vin, signal, from_us, to_us, nullptr, nullptr, fn);
  }

  // A block is an hour: `skip` is asked about each block before it is decoded.
  Status ScanSampleRunsInto(const Vin& vin, std::string_view signal, std::int64_t from_us,
                            std::int64_t to_us, const HourSkip* skip, RunCells into,
                            const std::function<bool(const SampleRun&)>& fn) const override {
    return ScanRuns(vin, signal, from_us, to_us, skip, &into, fn);
  }

  Status ScanSampleRunsSkipping(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                std::int64_t to_us, const HourSkip& skip,
                                const std::function<bool(const SampleRun&)>& fn) const override {
    return ScanRuns(vin, signal, from_us, to_us, &skip, nullptr, fn);
  }

  bool PairsHours() const override { return true; }

  // Both signals' history keys walked in step, an hour a key; grids when both hours are one.
  Status ScanHourPairs(const Vin& vin, std::string_view a, std::string_view b, std::int64_t from_us,
                       std::int64_t to_us, const HourSkip* skip, RunCells into_a, RunCells into_b,
                       const std::function<bool(const HourPair&)>& fn) const override {
    from_us = std::max(from_us, Cutoff(retention_.history));
    if (from_us >= to_us) return OkStatus();
    const std::string upper_a = SeriesKey(vin, a, to_us), upper_b = SeriesKey(vin, b, to_us);
    Lease it_a(*this, Cf::kHistory);
    Lease it_b(*this, Cf::kHistory);
    it_a->Seek(SeriesKey(vin, a, FloorTo(from_us, kHistoryBucketUs)));
    it_b->Seek(SeriesKey(vin, b, FloorTo(from_us, kHistoryBucketUs)));
    std::vector<Sample> samples_a, samples_b;
    GridPlace place_a, place_b;
    const auto context = [&vin](std::string_view signal) {
      return "history '" + vin.str() + "' '" + std::string(signal) + "'";
    };
    while (it_a->Valid() && View(it_a->key()) < upper_a && it_b->Valid() &&
           View(it_b->key()) < upper_b) {
      const auto hour_a = SeriesKeyStart(View(it_a->key()));
      const auto hour_b = SeriesKeyStart(View(it_b->key()));
      if (!hour_a || !hour_b) {
        return Error(Errc::kStorage,
                     "history: corrupt key '" + ToHex(View((hour_a ? it_b : it_a)->key())) + "'");
      }
      if (*hour_a != *hour_b) {
        (*hour_a < *hour_b ? it_a : it_b)->Next();
        continue;
      }
      const std::string_view block_a = View(it_a->value()), block_b = View(it_b->value());
      bool left_out = false;
      if (skip != nullptr) {
        auto left = LeftOut(*skip, *hour_a, block_a);
        if (!left) return left.error().WithContext(context(a));
        left_out = left.value();
      }
      if (!left_out) {
        HourPair pair;
        pair.hour_us = *hour_a;
        auto grid_a = Grid(block_a, from_us, to_us, into_a, pair.a, place_a);
        if (!grid_a) return grid_a.error().WithContext(context(a));
        bool grids = false;
        if (grid_a.value()) {
          auto grid_b = Grid(block_b, from_us, to_us, into_b, pair.b, place_b);
          if (!grid_b) return grid_b.error().WithContext(context(b));
          grids = grid_b.value();
          if (!grids) {  // a is decoded again, with its timestamps
            into_a.num->resize(into_a.num->size() - pair.a.num.size());
            into_a.bits->resize(into_a.bits->size() - pair.a.bits.size());
            pair.a = SampleRun();
          }
        }
        if (grids) {
          pair.grid_a = &place_a;
          pair.grid_b = &place_b;
        } else {
          if (auto s = Decode(block_a, from_us, to_us, into_a, samples_a, pair.a); !s)
            return s.error().WithContext(context(a));
          if (auto s = Decode(block_b, from_us, to_us, into_b, samples_b, pair.b); !s)
            return s.error().WithContext(context(b));
        }
        if (pair.a.size() > 0 && pair.b.size() > 0 && !fn(pair)) return OkStatus();
      }
      it_a->Next();
      it_b->Next();
    }
    if (!it_a->status().ok()) return StorageError(it_a->status(), "scan history");
    if (!it_b->status().ok()) return StorageError(it_b->status(), "scan history");
    return OkStatus();
  }

  Status ScanRollups(
      const Vin& vin, std::string_view signal, RollupWidth width, std::int64_t from_us,
      std::int64_t to_us,
      const std::function<bool(std::int64_t, const Rollup&)>& fn) const override {
    const bool minutes = width == RollupWidth::kMinute;
    const Cf cf = minutes ? Cf::kRollups1m : Cf::kRollups1h;
    const std::int64_t slot_us = minutes ? kMinuteUs : kHourUs;
    const std::int64_t span_us = minutes ? kHourUs : kDayUs;
    from_us = std::max(from_us, Cutoff(minutes ? retention_.rollups_1m : retention_.rollups_1h));
    if (from_us >= to_us) return OkStatus();
    const std::string upper = SeriesKey(vin, signal, to_us);
    Lease it(*this, cf);
    std::vector<std::pair<std::uint32_t, Rollup>> slots;
    for (it->Seek(SeriesKey(vin, signal, FloorTo(from_us, span_us)));
         it->Valid() && View(it->key()) < upper; it->Next()) {
      auto start = SeriesKeyStart(View(it->key()));
      if (!start) return Error(Errc::kStorage, "rollups: corrupt key '" + ToHex(View(it->key())) + "'");
      slots.clear();
      // Slots at or after to_us are not decoded.
      // Keys start before to_us (the upper bound), so the distance is positive; unsigned, it
      // cannot overflow.
      const std::uint64_t ahead = static_cast<std::uint64_t>(to_us) - static_cast<std::uint64_t>(*start);
      const auto per_slot = static_cast<std::uint64_t>(slot_us);
      const std::uint64_t end_index = ahead / per_slot + (ahead % per_slot != 0);
      // Nor are slots before from_us (the first key may start before it).
      const std::uint64_t begin_index =
          from_us > *start
              ? (static_cast<std::uint64_t>(from_us) - static_cast<std::uint64_t>(*start)) /
                    per_slot
              : 0;
      if (auto s = DecodeRollupSlots(View(it->value()), &slots, end_index, begin_index); !s) {
        return s.error().WithContext("rollups '" + vin.str() + "' '" + std::string(signal) + "'");
      }
      for (const auto& [slot, rollup] : slots) {
        const std::int64_t bucket = *start + static_cast<std::int64_t>(slot) * slot_us;
        if (bucket < from_us || bucket >= to_us || rollup.count == 0) continue;
        if (!fn(bucket, rollup)) return OkStatus();
      }
    }
    if (!it->status().ok()) return StorageError(it->status(), "scan rollups");
    return OkStatus();
  }

 private:
  // A block at a time, as columns where the block allows (DecodeBlockColumns), decoded onto
  // the end of `into` when set; with `skip`, a block it names is not decoded.
  Status ScanRuns(const Vin& vin, std::string_view signal, std::int64_t from_us, std::int64_t to_us,
                  const HourSkip* skip, const RunCells* into,
                  const std::function<bool(const SampleRun&)>& fn) const {
    Cells<std::int64_t> own_t;
    Cells<double> own_num;
    Cells<std::uint64_t> own_bits;
    Cells<std::int64_t>& t = into != nullptr ? *into->t : own_t;
    Cells<double>& num = into != nullptr ? *into->num : own_num;
    Cells<std::uint64_t>& bits = into != nullptr ? *into->bits : own_bits;
    std::vector<Sample> samples;
    return ForEachBlock(vin, signal, from_us, to_us, [&](std::string_view key,
                                                         std::string_view block) -> Result<bool> {
      if (skip != nullptr) {
        const auto hour = SeriesKeyStart(key);
        if (!hour) return Error(Errc::kStorage, "history: corrupt key '" + ToHex(key) + "'");
        CANVOY_ASSIGN_OR_RETURN(const bool left_out, LeftOut(*skip, *hour, block));
        if (left_out) return true;
      }
      if (into == nullptr) {
        t.clear();
        num.clear();
        bits.clear();
      }
      SampleRun run;
      CANVOY_RETURN_IF_ERROR(Decode(block, from_us, to_us, {&t, &num, &bits}, samples, run));
      return run.size() == 0 || fn(run);
    });
  }

  // Whether `skip` leaves out the hour of `block`. Passing an hour is always allowed: the
  // headers are read only for an hour that would be left out if it were numeric but not
  // whatever it holds.
  static Result<bool> LeftOut(const HourSkip& skip, std::int64_t hour, std::string_view block) {
    if (skip(hour, false)) return true;
    if (!skip(hour, true)) return false;
    return BlockIsNumeric(block);
  }

  // A block that is one grid chunk wholly in [from_us, to_us) as a run of values decoded onto the
  // end of `into`, and its place; false, with nothing decoded, for any other block.
  static Result<bool> Grid(std::string_view block, std::int64_t from_us, std::int64_t to_us,
                           const RunCells& into, SampleRun& run, GridPlace& place) {
    const std::size_t num0 = into.num->size(), bits0 = into.bits->size();
    CANVOY_ASSIGN_OR_RETURN(
        auto grid, DecodeGridColumns(block, from_us, to_us, {into.t, into.num, into.bits}));
    if (!grid) return false;
    run.type = grid->type;
    run.no_nan = !grid->maybe_nan;
    run.num = std::span<const double>(*into.num).subspan(num0);
    run.bits = std::span<const std::uint64_t>(*into.bits).subspan(bits0);
    place = GridPlace{grid->first_us, grid->unit, grid->slots, grid->bitmap};
    return true;
  }

  // A block's samples in [from_us, to_us) as ScanRuns decodes them: columns onto the end of
  // `into`, or else `samples`.
  static Status Decode(std::string_view block, std::int64_t from_us, std::int64_t to_us,
                       const RunCells& into, std::vector<Sample>& samples, SampleRun& run) {
    const std::size_t t0 = into.t->size(), num0 = into.num->size(), bits0 = into.bits->size();
    bool maybe_nan = false;
    CANVOY_ASSIGN_OR_RETURN(
        auto type,
        DecodeBlockColumns(block, from_us, to_us, {into.t, into.num, into.bits, &maybe_nan}));
    run = SampleRun();
    if (type) {
      run.type = *type;
      run.no_nan = !maybe_nan;
      run.t = std::span<const std::int64_t>(*into.t).subspan(t0);
      run.num = std::span<const double>(*into.num).subspan(num0);
      run.bits = std::span<const std::uint64_t>(*into.bits).subspan(bits0);
      return OkStatus();
    }
    samples.clear();
    CANVOY_RETURN_IF_ERROR(DecodeBlockRange(block, from_us, to_us, &samples));
    run.samples = samples;
    return OkStatus();
  }

  // Raises from_us to the retention cutoff (the caller's fn reads the raised value), then calls
  // fn with each history block of the signal that may hold samples in [from_us, to_us), in time
  // order, until it returns false or an error.
  Status ForEachBlock(const Vin& vin, std::string_view signal, std::int64_t& from_us,
                      std::int64_t to_us,
                      const std::function<Result<bool>(std::string_view key,
                                                       std::string_view block)>& fn) const {
    from_us = std::max(from_us, Cutoff(retention_.history));
    if (from_us >= to_us) return OkStatus();
    const std::string upper = SeriesKey(vin, signal, to_us);
    Lease it(*this, Cf::kHistory);
    for (it->Seek(SeriesKey(vin, signal, FloorTo(from_us, kHistoryBucketUs)));
         it->Valid() && View(it->key()) < upper; it->Next()) {
      auto more = fn(View(it->key()), View(it->value()));
      if (!more)
        return more.error().WithContext("history '" + vin.str() + "' '" + std::string(signal) + "'");
      if (!more.value()) return OkStatus();
    }
    if (!it->status().ok()) return StorageError(it->status(), "scan history");
    return OkStatus();
  }

  // An iterator of the view's snapshot, without an upper bound (the scans compare keys with
  // theirs), taken from the view's spares and handed back to them when the scan ends: creating
  // one costs more than scanning a vehicle's hour, and a query scans thousands of series. One
  // that failed is dropped, not kept.
  class Lease {
   public:
    Lease(const RocksStoreView& view, Cf cf) : view_(view), cf_(cf), it_(view.Take(cf)) {}
    ~Lease() {
      if (it_->status().ok()) view_.Give(cf_, std::move(it_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    rocksdb::Iterator* operator->() const { return it_.get(); }

   private:
    const RocksStoreView& view_;
    Cf cf_;
    std::unique_ptr<rocksdb::Iterator> it_;
  };
  // As many spares per column family as threads that scan at once, give or take.
  static constexpr std::size_t kSpares = 16;

  std::unique_ptr<rocksdb::Iterator> Take(Cf cf) const {
    {
      const std::lock_guard lock(spares_mu_);
      auto& spares = spares_[static_cast<std::size_t>(cf)];
      if (!spares.empty()) {
        auto it = std::move(spares.back());
        spares.pop_back();
        return it;
      }
    }
    return db_.NewIterator(cf, Options());
  }
  void Give(Cf cf, std::unique_ptr<rocksdb::Iterator> it) const {
    const std::lock_guard lock(spares_mu_);
    auto& spares = spares_[static_cast<std::size_t>(cf)];
    if (spares.size() < kSpares) spares.push_back(std::move(it));
  }

  const rocksdb::Snapshot* snap() const { return snapshot_->snapshot(); }
  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions options;
    options.snapshot = snap();
    return options;
  }
  static Status Fill(VehicleSummary& summary, std::string_view bytes) {
    auto record = DecodeVehicle(bytes);
    if (!record) return record.error().WithContext("vehicle '" + summary.vin.str() + "'");
    summary.sample_count = record.value().sample_count;
    summary.batch_count = record.value().batch_count;
    summary.last_seen_us = record.value().last_seen_us;
    return OkStatus();
  }

  const Database& db_;
  std::unique_ptr<rocksdb::ManagedSnapshot> snapshot_;
  RetentionOptions retention_;
  // Iterators of snapshot_, so declared after it: they go first.
  mutable std::mutex spares_mu_;
  mutable std::array<std::vector<std::unique_ptr<rocksdb::Iterator>>, kCfCount> spares_;
};

}  // namespace

std::unique_ptr<StoreView> NewStoreView(const Database& db, const RetentionOptions& retention) {
  return std::make_unique<RocksStoreView>(db, retention);
}

}  // namespace canvoy::fleet_store::storage
