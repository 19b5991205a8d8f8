// Reads one vehicle's source rows from a StoreView and pushes them, a chunk at a time, into the
// first step: latest values, samples of one signal, samples of several joined on time, or a
// first bucket answered from rollups.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "canvoy/fleet_store/store_view.h"
#include "query/output.h"
#include "query/plan.h"
#include "query/steps.h"

namespace canvoy::fleet_store::query {

class SourceReader {
 public:
  // `rollups`: the first step, when the plan answers it from rollups; else null. `direct`: where
  // joined rows of two signals may be folded without building them (GroupFolder::FoldJoined),
  // the steps being at most a filter of source predicates; else null.
  SourceReader(const StoreView& view, const SourcePlan& source, QueryControl& control,
               FrameSink& first, BucketStep* rollups, GroupFolder* direct)
      : view_(view),
        source_(source),
        control_(control),
        first_(first),
        rollups_(rollups),
        direct_(direct) {}

  // Pushes the vehicle's rows with timestamps in [from_us, source.to_us). Returns early, without
  // an error, when the control says to stop (see QueryControl::error()).
  Status Read(const VehicleInfo& vehicle, std::int64_t from_us);

 private:
  Status ReadLatest(const Vin& vin);
  Status ReadOne(const Vin& vin, std::string_view signal, std::int64_t from, std::int64_t to);
  Status ReadJoined(const Vin& vin, std::int64_t from, std::int64_t to);
  // The rows of two signals folded into direct_, an hour at a time (StoreView::ScanHourPairs):
  // hours where both signals are grids on the same slots pair by slot (GridTwo). Returns the
  // hour from which ReadJoined must read the rest (an hour holding strings), else nullopt.
  Result<std::optional<std::int64_t>> ReadPairedHours(const Vin& vin, std::int64_t from,
                                                      std::int64_t to);
  // Sets grid_ for the hour's two grids (by signal) if they share their slots: the same unit,
  // first timestamps a whole number of units apart.
  bool PrepareGrid(const StoreView::GridPlace* const places[2]);
  Status ReadWithRollups(const Vin& vin, std::int64_t from, std::int64_t to);
  Status ScanRollups(const Vin& vin, RollupWidth width, std::int64_t from, std::int64_t to);
  // Samples of one signal in [from, to) into buffer `k`; when `window` is non-zero, stops after
  // about that many and returns the timestamp where the next window starts.
  // `skip`, when set, names hours the scan may leave out (StoreView::ScanSampleRunsSkipping).
  Result<std::optional<std::int64_t>> Buffer(const Vin& vin, std::size_t k, std::int64_t from,
                                             std::int64_t to, std::size_t window,
                                             const StoreView::HourSkip* skip = nullptr);
  struct Buffered;
  void KeepInPlace(const SampleRun& run, std::size_t keep, Buffered& b);
  // The hours in [from, to) whose rollups show that no number of the lead signal passes the
  // first prefilter predicate on it, into dead_hours_.
  Status FindDeadHours(const Vin& vin, std::size_t lead, std::int64_t from, std::int64_t to);
  void Join();
  void JoinTwo();
  // Joins the two buffers, keeps the rows that pass every source predicate, and folds them into
  // direct_.
  Status FoldJoined();
  template <class Passes, class Emit, class Block>
  void MergeTwo(Passes passes, Emit&& emit, Block&& block);
  // MergeTwo's pairs for buffers on grids (grid_), found from the slot bitmaps.
  template <class Passes, class Emit, class Block>
  void GridTwo(Passes passes, Emit&& emit, Block&& block);
  // GridTwo when grid_ is on, else MergeTwo.
  template <class Passes, class Emit, class Block>
  void PairTwo(Passes passes, Emit&& emit, Block&& block);
  template <class Passes>
  std::size_t JoinPassing(Passes passes);
  template <class Passes>
  std::size_t FoldLanes(Passes passes, std::vector<JoinLane>& lanes);
  void JoinMany();
  Status Flush();

  const StoreView& view_;
  const SourcePlan& source_;
  QueryControl& control_;
  FrameSink& first_;
  BucketStep* rollups_;
  GroupFolder* direct_;
  // One signal's samples of a join window.
  struct Buffered {
    Cells<std::int64_t> t;
    Column values;
  };

  Frame chunk_;
  std::vector<Buffered> buffers_;                   // by signal
  Buffered spare_;                                  // KeepInPlace's
  std::vector<std::size_t> at_;                     // join positions, by signal
  std::vector<Cells<std::uint32_t>> joined_;        // rows of the window's join, by signal
  std::vector<Cells<std::uint8_t>> passes_;         // FoldJoined: by signal, by sample
  std::vector<JoinLane> lanes_;                     // FoldJoined's
  std::vector<std::int64_t> dead_hours_;            // prefilter: see FindDeadHours; sorted
  std::vector<std::int64_t> live_hours_;  // prefilter: hours of the lead's samples left; sorted
  // Two buffers without timestamps, on grids: over the slots where both grids lie, from
  // start_us on, words[k] has bit s % 64 of word s / 64 set when buffer k has a sample at slot
  // s, which is its sample rank[k] + (the samples before it in words[k]).
  struct GridJoin {
    bool on = false;
    std::int64_t start_us = 0;
    std::uint64_t unit = 1;
    std::uint64_t slots = 0;
    std::size_t rank[2] = {0, 0};
    Cells<std::uint64_t> words[2];
  } grid_;
};

}  // namespace canvoy::fleet_store::query
