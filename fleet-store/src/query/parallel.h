// One vehicle's pipeline (source reader and steps), and the reading of one query's vehicles on
// several threads with the answer of the serial run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "canvoy/fleet_store/store_view.h"
#include "query/frame.h"
#include "query/output.h"
#include "query/plan.h"
#include "query/source.h"
#include "query/steps.h"

namespace canvoy::fleet_store::query {

// The plan's steps in front of `last`, and the reader that feeds them. Used by one thread.
class Pipeline {
 public:
  // `folder`: the GroupFolder that `last` is or feeds, for a source that folds joined rows into
  // it (see GroupFolder::FoldJoined); null for row output.
  Pipeline(const StoreView& view, const Plan& plan, QueryControl& control, FrameSink& last,
           GroupFolder* folder);

  // Reads one (matching) vehicle: counts it, then Begin, its rows, Finish. Reads nothing more,
  // and skips Finish, once the control says to stop; that is not an error.
  Status Run(const VehicleInfo& vehicle);

 private:
  const Plan& plan_;
  QueryControl& control_;
  std::vector<std::unique_ptr<FrameSink>> steps_;
  FrameSink* first_ = nullptr;
  std::unique_ptr<SourceReader> reader_;
};

// Whether a plan's vehicles are read on several threads: only when its output reduces rows (a
// group, or a bucket, runs or rises step), so that reading ahead costs little. A page of plain
// rows stops reading as soon as it is full.
bool ReadsInParallel(const Plan& plan, unsigned threads);

// Reads batches of vehicles on up to control.limits().threads threads, the caller's included:
// each thread runs a pipeline of its own that ends in a recording (for a grouped query, in a
// GroupFolder), and the caller then replays the recordings into `last` (merges the partials
// into `group`) in the batch's order, so that `last` and `control` see what the serial run
// (`serial`, vehicle by vehicle) would give: the same rows, groups, counts and errors. A vehicle
// the workers could not read to its end is read by `serial` in its turn. The threads start with
// the first batch and are joined by the destructor. Used by one thread.
class ParallelReader {
 public:
  // `group`: `last` when the plan is grouped, else null.
  ParallelReader(const StoreView& view, const Plan& plan, QueryControl& control, Pipeline& serial,
                 FrameSink& last, GroupSink* group);
  ~ParallelReader();
  ParallelReader(const ParallelReader&) = delete;
  ParallelReader& operator=(const ParallelReader&) = delete;

  // Reads `batch` (vehicles that match the selector, in VIN order); `more`: batches follow.
  // Returns early when `control` stops (a full page, an error).
  Status Read(const std::vector<VehicleInfo>& batch, bool more);

 private:
  // One vehicle as a worker read it.
  struct Recording {
    std::vector<Frame> frames;  // as pushed into the recording sink, in order
    GroupPartial partial;       // a grouped query's
    bool complete = false;      // read to its end and finished: the serial run's frames
    QueryStats read;            // what reading it counted (one vehicle)
  };
  class RecordingSink;
  struct Worker;

  void Start(bool more, std::size_t batch_size);
  // Runs one round from vehicle `begin` on every thread; returns the end of the vehicles taken
  // (all of them read, completely or not).
  std::size_t RunRound(std::size_t begin);
  void Loop(Worker& worker);  // a thread's, until quit_
  void Work(Worker& worker);
  void ReadVehicle(Worker& worker, std::size_t index);
  // Hands recording `index` to `last`, or reads the vehicle with `serial`.
  Status Replay(std::size_t index);
  // The page filled at push `push` of vehicle `index`: counts what the serial run read of it.
  Status Recount(std::size_t index, std::size_t push, const QueryStats& before);

  const StoreView& view_;
  const Plan& plan_;
  QueryControl& control_;  // the serial run's counts, and the page
  Pipeline& serial_;
  FrameSink& last_;
  GroupSink* group_;
  QueryControl reads_;  // what the workers read, for the limits
  bool started_ = false;
  unsigned granted_ = 0;  // slots of limits().budget, handed back by the destructor
  std::vector<std::unique_ptr<Worker>> workers_;  // [0] is the caller's
  std::vector<std::thread> threads_;              // run workers_[1..]

  // The round. Set by the caller before it starts one; read by the workers during it.
  const std::vector<VehicleInfo>* batch_ = nullptr;
  std::vector<Recording> recordings_;  // by vehicle of the batch
  std::atomic<std::size_t> next_{0};   // the next vehicle to take
  std::atomic<std::size_t> cells_{0};  // recorded in this round, see kRoundCells
  std::atomic<bool> halt_{false};      // take no more vehicles in this round
  // Replayed frames, given back to the workers' sources so that their vectors keep their
  // capacity (a moved-out frame would make the source allocate and zero fresh vectors).
  std::mutex spares_mu_;
  std::vector<Frame> spares_;  // guarded by spares_mu_

  std::mutex mu_;
  std::condition_variable wake_;  // a round started, or quit_
  std::condition_variable idle_;  // busy_ fell to zero
  std::uint64_t round_ = 0;       // guarded by mu_
  std::size_t busy_ = 0;          // guarded by mu_: threads still in the round
  bool quit_ = false;             // guarded by mu_
  std::exception_ptr thrown_;     // guarded by mu_: the first exception of a round
};

}  // namespace canvoy::fleet_store::query
