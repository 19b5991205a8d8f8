// A consistent read view of the store (one RocksDB snapshot): what queries read.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/cells.h"
#include "canvoy/fleet_store/types.h"

namespace canvoy::fleet_store {

// A run of one signal's samples, in ScanSamples' order: either `samples`, or (when `samples` is
// empty) columns of samples that all have the numeric type `type` (SignalValue's index: 0 bool,
// 1 int64, 2 uint64, 3 double): timestamps, values as doubles (bools 0/1, integers converted,
// NaN kept) and, for int64/uint64, the values' exact bits.
struct SampleRun {
  std::span<const Sample> samples;
  std::uint8_t type = 3;
  std::span<const std::int64_t> t;
  std::span<const double> num;
  std::span<const std::uint64_t> bits;
  bool no_nan = false;  // columns: the store knows that no value is NaN (decimal doubles)

  bool columns() const { return samples.empty(); }
  std::size_t size() const { return samples.empty() ? num.size() : samples.size(); }
};

// Obtained from Store::View(). Every method reads the same snapshot, so one query sees one state
// of the store even while the writer applies rounds. Callbacks return false to stop early (a
// query past its deadline, a page that is full); stopping is not an error. Its const methods may
// be called from several threads at once (one query reads its vehicles in parallel); a view must
// not outlive its Store.
class StoreView {
 public:
  virtual ~StoreView() = default;

  // Every vehicle that has data or attributes, in VIN order, starting after `after` when set.
  virtual Status ForEachVehicle(const std::function<bool(const VehicleInfo&)>& fn,
                                const std::optional<Vin>& after = std::nullopt) const = 0;
  virtual Result<std::optional<VehicleInfo>> GetVehicle(const Vin& vin) const = 0;

  // The newest sample of the signal (nullopt when the vehicle never sent it).
  virtual Result<std::optional<LatestValue>> GetLatest(const Vin& vin,
                                                       std::string_view signal) const = 0;

  // Samples with from_us <= timestamp < to_us in time order; samples with equal timestamps are
  // ordered by value, so the order never depends on arrival.
  virtual Status ScanSamples(const Vin& vin, std::string_view signal, std::int64_t from_us,
                             std::int64_t to_us,
                             const std::function<bool(const Sample&)>& fn) const = 0;

  // ScanSamples in runs: `fn` sees consecutive spans of the same samples in the same order,
  // which saves a call per sample on long scans. The default gathers ScanSamples' samples.
  virtual Status ScanSampleSpans(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                 std::int64_t to_us,
                                 const std::function<bool(std::span<const Sample>)>& fn) const {
    constexpr std::size_t kRun = 1024;
    std::vector<Sample> run;
    bool more = true;
    auto status = ScanSamples(vin, signal, from_us, to_us, [&](const Sample& s) {
      run.push_back(s);
      if (run.size() < kRun) return true;
      more = fn(run);
      run.clear();
      return more;
    });
    if (status && more && !run.empty()) fn(run);
    return status;
  }

  // ScanSampleSpans for readers that want numbers in bulk: `fn` sees the same samples in the
  // same order, each run either as Sample objects or, where the store can decode them so, as
  // columns (SampleRun). The default passes ScanSampleSpans' spans.
  virtual Status ScanSampleRuns(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                std::int64_t to_us,
                                const std::function<bool(const SampleRun&)>& fn) const {
    return ScanSampleSpans(vin, signal, from_us, to_us, [&](std::span<const Sample> samples) {
      SampleRun run;
      run.samples = samples;
      return fn(run);
    });
  }

  // Whether a scan may leave out the hour of samples that starts at `hour_start_us` (a multiple
  // of 3600 s); `numeric` says that every sample of that hour is a bool, integer or double. A view
  // may ask with `numeric` false first, without knowing: an hour left out then is left out
  // whatever it holds, so a skip that says true for it must say true with `numeric` true too.
  using HourSkip = std::function<bool(std::int64_t hour_start_us, bool numeric)>;
  // ScanSampleRuns for readers that know hours whose samples cannot matter to them: the view may
  // ask `skip` about each hour before decoding it and then leave the hour out. Asking is optional,
  // so a reader must get the same answer with every hour passed; the default passes every hour.
  virtual Status ScanSampleRunsSkipping(const Vin& vin, std::string_view signal,
                                        std::int64_t from_us, std::int64_t to_us,
                                        const HourSkip& skip,
                                        const std::function<bool(const SampleRun&)>& fn) const {
    (void)skip;
    return ScanSampleRuns(vin, signal, from_us, to_us, fn);
  }

  // The caller's cells that ScanSampleRunsInto may decode runs into.
  struct RunCells {
    Cells<std::int64_t>* t;
    Cells<double>* num;
    Cells<std::uint64_t>* bits;
  };
  // ScanSampleRunsSkipping (ScanSampleRuns when `skip` is null) that may decode a run of columns
  // straight onto the end of `into`, saving a copy: such a run's t, num and bits spans are the
  // cells' last elements (bits only for int64/uint64) when `fn` sees it, and `fn` may keep them
  // there or cut the cells back. Runs decoded elsewhere leave `into` alone, as the default does.
  virtual Status ScanSampleRunsInto(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                    std::int64_t to_us, const HourSkip* skip, RunCells into,
                                    const std::function<bool(const SampleRun&)>& fn) const {
    (void)into;
    return skip != nullptr ? ScanSampleRunsSkipping(vin, signal, from_us, to_us, *skip, fn)
                           : ScanSampleRuns(vin, signal, from_us, to_us, fn);
  }
  // Where the samples of a grid run lie: sample i at the i-th slot set, slot k at
  // first_us + k * unit.
  struct GridPlace {
    std::int64_t first_us = 0;
    std::uint64_t unit = 1;
    std::uint64_t slots = 0;
    // Slot k has a sample when bit k % 8 of byte k / 8 is set; empty when every slot has one.
    std::string_view bitmap;
  };
  // One hour of two signals `a` and `b` (ScanHourPairs): each signal's run of the hour's samples
  // in range. When grid_a and grid_b are set, both runs are columns without timestamps (t empty)
  // and their samples lie as the grids say; else both runs are as ScanSampleRunsInto's.
  struct HourPair {
    std::int64_t hour_us = 0;
    SampleRun a, b;
    const GridPlace* grid_a = nullptr;
    const GridPlace* grid_b = nullptr;
  };
  // Whether the view implements ScanHourPairs; the default does not.
  virtual bool PairsHours() const { return false; }
  // For joins on equal timestamps: the hours in [from_us, to_us) where both signals have
  // samples, in time order, each as one HourPair (hours where one signal has none are left out
  // without decoding the other's). `skip` names hours of `a` that may be left out (as in
  // ScanSampleRunsSkipping), and the hour of `b` with them. Runs of columns are decoded onto the
  // end of `into_a` and `into_b`, as ScanSampleRunsInto does. The default fails.
  virtual Status ScanHourPairs(const Vin& vin, std::string_view a, std::string_view b,
                               std::int64_t from_us, std::int64_t to_us, const HourSkip* skip,
                               RunCells into_a, RunCells into_b,
                               const std::function<bool(const HourPair&)>& fn) const {
    (void)vin, (void)a, (void)b, (void)from_us, (void)to_us, (void)skip, (void)into_a, (void)into_b,
        (void)fn;
    return Error(Errc::kInternal, "this view does not pair hours");
  }
  // Rollups of the minutes (or hours) whose start lies in [from_us, to_us), in time order; a
  // bucket without numeric samples is skipped. `bucket_start_us` is a multiple of 60 s (3600 s).
  virtual Status ScanRollups(
      const Vin& vin, std::string_view signal, RollupWidth width, std::int64_t from_us,
      std::int64_t to_us,
      const std::function<bool(std::int64_t bucket_start_us, const Rollup&)>& fn) const = 0;
};

}  // namespace canvoy::fleet_store
