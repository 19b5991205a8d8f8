#include "query/parallel.h"

#include <algorithm>
#include <system_error>
#include <utility>

namespace canvoy::fleet_store::query {
namespace {

// Cells (rows times columns, t included) the workers keep before the caller replays them: at
// most kRoundCells a round, then the round ends, plus what the vehicles being read still add.
// A vehicle with more than kVehicleCells is given up by its worker and read by the caller.
constexpr std::size_t kRoundCells = std::size_t{1} << 22;
constexpr std::size_t kVehicleCells = std::size_t{1} << 21;
// Replayed frames kept for the workers to reuse.
constexpr std::size_t kSpareFrames = 64;

QueryStats Difference(const QueryStats& after, const QueryStats& before) {
  QueryStats d;
  d.vehicles = after.vehicles - before.vehicles;
  d.samples = after.samples - before.samples;
  d.rollups = after.rollups - before.rollups;
  return d;
}

// The end of a recount: stops the query at the push where the replayed page filled.
class StopSink final : public FrameSink {
 public:
  StopSink(QueryControl& control, std::size_t stop_at) : control_(control), stop_at_(stop_at) {}

  Status Begin(const VehicleInfo&) override { return OkStatus(); }
  Status Push(Frame&) override {
    if (pushes_++ == stop_at_) control_.SetPageFull();
    return OkStatus();
  }
  Status Finish() override { return OkStatus(); }

 private:
  QueryControl& control_;
  std::size_t stop_at_;
  std::size_t pushes_ = 0;
};

}  // namespace

Pipeline::Pipeline(const StoreView& view, const Plan& plan, QueryControl& control, FrameSink& last,
                   GroupFolder* folder)
    : plan_(plan), control_(control), first_(&last) {
  steps_.resize(plan.steps.size());
  for (std::size_t i = plan.steps.size(); i-- > 0;) {
    steps_[i] = MakeStep(plan.steps[i], plan.source, *first_);
    first_ = steps_[i].get();
  }
  BucketStep* rollups = plan.use_rollups ? static_cast<BucketStep*>(steps_[0].get()) : nullptr;
  // Joined rows go straight into the groups when nothing stands between: no step, or only a
  // filter that the source's predicates decide exactly.
  const bool direct =
      folder != nullptr && folder->folds_joined() && rollups == nullptr &&
      (plan.steps.empty() || (plan.steps.size() == 1 && plan.source.prefilter_complete));
  reader_ = std::make_unique<SourceReader>(view, plan.source, control, *first_, rollups,
                                           direct ? folder : nullptr);
}

Status Pipeline::Run(const VehicleInfo& vehicle) {
  if (!control_.CheckTime()) return OkStatus();
  ++control_.stats().vehicles;
  std::int64_t from = plan_.source.from_us;
  // Rows of filter and compute steps depend on their own sample only: a page that ends inside
  // a vehicle resumes reading at the cursor's timestamp.
  if (plan_.row_local && plan_.after && plan_.after->vin == vehicle.summary.vin.str())
    from = std::max(from, plan_.after->t);
  CANVOY_RETURN_IF_ERROR(first_->Begin(vehicle));
  CANVOY_RETURN_IF_ERROR(reader_->Read(vehicle, from));
  if (control_.stopped()) return OkStatus();
  return first_->Finish();
}

bool ReadsInParallel(const Plan& plan, unsigned threads) {
  if (threads <= 1) return false;
  if (plan.vehicles.vins && plan.vehicles.vins->size() <= 1) return false;
  if (plan.group) return true;
  return std::any_of(plan.steps.begin(), plan.steps.end(), [](const StepPlan& step) {
    return step.kind == StepPlan::Kind::kBucket || step.kind == StepPlan::Kind::kRuns ||
           step.kind == StepPlan::Kind::kRises;
  });
}

// The end of a worker's pipeline: keeps the frames pushed for one vehicle (moved: a sink may
// change what it is pushed), and hands the pusher a spare frame in their place. Past
// kVehicleCells it drops them and fails the vehicle's reading.
class ParallelReader::RecordingSink final : public FrameSink {
 public:
  RecordingSink(std::atomic<std::size_t>& round_cells, std::mutex& spares_mu,
                std::vector<Frame>& spares)
      : round_cells_(round_cells), spares_mu_(spares_mu), spares_(spares) {}

  void Start(Recording& recording) {
    recording_ = &recording;
    cells_ = 0;
    overflowed_ = false;
    finished_ = false;
  }
  bool overflowed() const { return overflowed_; }
  bool finished() const { return finished_; }

  Status Begin(const VehicleInfo&) override { return OkStatus(); }
  Status Push(Frame& rows) override {
    const std::size_t cells = rows.size() * (rows.columns.size() + 1);
    cells_ += cells;
    if (cells_ > kVehicleCells) {
      overflowed_ = true;
      recording_->frames = {};
      return Error(Errc::kInternal, "a vehicle's rows exceed what a worker keeps");
    }
    round_cells_.fetch_add(cells, std::memory_order_relaxed);
    recording_->frames.push_back(std::move(rows));
    std::lock_guard lock(spares_mu_);
    if (!spares_.empty()) {
      rows = std::move(spares_.back());
      spares_.pop_back();
      rows.t.clear();  // every producer clears a frame before filling it; this is hygiene
      for (auto& column : rows.columns) column.Clear();
      rows.prefiltered = false;
    }
    return OkStatus();
  }
  Status Finish() override {
    finished_ = true;
    return OkStatus();
  }

 private:
  std::atomic<std::size_t>& round_cells_;
  std::mutex& spares_mu_;
  std::vector<Frame>& spares_;
  Recording* recording_ = nullptr;
  std::size_t cells_ = 0;
  bool overflowed_ = false;
  bool finished_ = false;
};

struct ParallelReader::Worker {
  Worker(const StoreView& view, const Plan& plan, QueryControl& reads,
         std::atomic<std::size_t>& round_cells, std::mutex& spares_mu, std::vector<Frame>& spares)
      : control(reads),
        sink(round_cells, spares_mu, spares),
        folder(plan.group ? std::make_unique<GroupFolder>(plan, reads.limits().max_groups, nullptr)
                          : nullptr),
        pipeline(view, plan, control, folder ? static_cast<FrameSink&>(*folder) : sink,
                 folder.get()) {}

  QueryControl control;
  RecordingSink sink;
  std::unique_ptr<GroupFolder> folder;  // a grouped query's recording
  Pipeline pipeline;
};

ParallelReader::ParallelReader(const StoreView& view, const Plan& plan, QueryControl& control,
                               Pipeline& serial, FrameSink& last, GroupSink* group)
    : view_(view),
      plan_(plan),
      control_(control),
      serial_(serial),
      last_(last),
      group_(group),
      reads_(control.limits(), control.start()) {}

ParallelReader::~ParallelReader() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
  if (granted_ > 0) control_.limits().budget->Give(granted_);
}

void ParallelReader::Start(bool more, std::size_t batch_size) {
  started_ = true;
  std::size_t threads = control_.limits().threads;
  if (!more) threads = std::min(threads, batch_size);
  if (threads <= 1) return;
  if (const auto& budget = control_.limits().budget) {
    granted_ = budget->Take(static_cast<unsigned>(threads - 1));
    threads = 1 + granted_;
    if (threads <= 1) return;
  }
  for (std::size_t w = 0; w < threads; ++w)
    workers_.push_back(std::make_unique<Worker>(view_, plan_, reads_, cells_, spares_mu_, spares_));
  for (std::size_t w = 1; w < threads; ++w) {
    Worker* worker = workers_[w].get();
    try {
      threads_.emplace_back([this, worker] { Loop(*worker); });
    } catch (const std::system_error&) {  // no more threads: fewer workers
      workers_.resize(w);
      break;
    }
  }
  control_.stats().threads = static_cast<unsigned>(workers_.size());
}

Status ParallelReader::Read(const std::vector<VehicleInfo>& batch, bool more) {
  if (!started_) Start(more, batch.size());
  if (workers_.size() <= 1 || batch.size() <= 1) {
    for (const auto& vehicle : batch) {
      CANVOY_RETURN_IF_ERROR(serial_.Run(vehicle));
      if (control_.stopped()) break;
    }
    return OkStatus();
  }
  batch_ = &batch;
  recordings_.clear();
  recordings_.resize(batch.size());
  std::size_t read = 0;  // vehicles [0, read) are recorded, completely or not
  for (std::size_t i = 0; i < batch.size() && !control_.stopped(); ++i) {
    if (i == read && !reads_.stopped()) read = RunRound(i);
    // A grouped query reads every vehicle, so the serial run would pass the workers' count too.
    if (i == read && plan_.group && reads_.error()) return *reads_.error();
    CANVOY_RETURN_IF_ERROR(Replay(i));
  }
  return OkStatus();
}

std::size_t ParallelReader::RunRound(std::size_t begin) {
  next_.store(begin);
  cells_.store(0);
  halt_.store(false);
  {
    std::lock_guard lock(mu_);
    ++round_;
    busy_ = threads_.size();
  }
  wake_.notify_all();
  Work(*workers_[0]);
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return busy_ == 0; });
  if (thrown_) std::rethrow_exception(std::exchange(thrown_, nullptr));
  lock.unlock();
  for (auto& worker : workers_) worker->control.Settle();
  return std::min(next_.load(), batch_->size());
}

void ParallelReader::Loop(Worker& worker) {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return quit_ || round_ != seen; });
      if (quit_) return;
      seen = round_;
    }
    Work(worker);
    std::lock_guard lock(mu_);
    if (--busy_ == 0) idle_.notify_one();
  }
}

// Takes vehicles in order until the batch ends, the round's recordings are large enough, a
// vehicle failed, or the query's reading stopped (a limit).
void ParallelReader::Work(Worker& worker) {
  try {
    while (!halt_.load(std::memory_order_relaxed) &&
           cells_.load(std::memory_order_relaxed) < kRoundCells && !worker.control.stopped()) {
      const std::size_t i = next_.fetch_add(1);
      if (i >= batch_->size()) break;
      ReadVehicle(worker, i);
    }
  } catch (...) {  // rethrown on the caller's thread, as the serial run would throw
    std::lock_guard lock(mu_);
    if (!thrown_) thrown_ = std::current_exception();
    halt_.store(true);
  }
}

void ParallelReader::ReadVehicle(Worker& worker, std::size_t index) {
  Recording& recording = recordings_[index];
  worker.sink.Start(recording);
  const QueryStats before = worker.control.stats();
  const Status status = worker.pipeline.Run((*batch_)[index]);
  recording.read = Difference(worker.control.stats(), before);
  // The serial run returns an error at this vehicle unless the page fills first: later
  // vehicles are not needed.
  if (!status && !worker.sink.overflowed()) halt_.store(true);
  // A stop can cut a vehicle's reading short without an error; then it never finishes.
  if (worker.folder) {
    recording.complete = status.has_value() && worker.folder->finished();
    if (recording.complete) recording.partial = std::move(worker.folder->partial());
    return;
  }
  recording.complete = status.has_value() && worker.sink.finished();
  if (!recording.complete) recording.frames = {};
}

Status ParallelReader::Replay(std::size_t index) {
  const VehicleInfo& vehicle = (*batch_)[index];
  Recording recording = std::move(recordings_[index]);
  if (!recording.complete) return serial_.Run(vehicle);
  if (!control_.CheckTime()) return OkStatus();
  const QueryStats before = control_.stats();
  // Past the scan limit the serial run fails inside this vehicle, unless its page fills first.
  if (!control_.TryAdd(recording.read)) return serial_.Run(vehicle);
  if (group_ != nullptr) return group_->Merge(vehicle, recording.partial);
  CANVOY_RETURN_IF_ERROR(last_.Begin(vehicle));
  for (std::size_t k = 0; k < recording.frames.size(); ++k) {
    CANVOY_RETURN_IF_ERROR(last_.Push(recording.frames[k]));
    if (control_.stopped()) return Recount(index, k, before);
    std::lock_guard lock(spares_mu_);
    if (spares_.size() < kSpareFrames) spares_.push_back(std::move(recording.frames[k]));
  }
  return last_.Finish();
}

// The serial run stops reading as soon as the page is full, so it counts only part of this
// vehicle (and may fail at the scan limit before): a pipeline of its own reads the vehicle again
// from the same counts, and stops where the page filled.
Status ParallelReader::Recount(std::size_t index, std::size_t push, const QueryStats& before) {
  QueryControl recount(control_.limits(), control_.start());
  recount.stats() = before;
  StopSink stop(recount, push);
  Pipeline pipeline(view_, plan_, recount, stop, nullptr);
  CANVOY_RETURN_IF_ERROR(pipeline.Run((*batch_)[index]));
  if (recount.error()) return *recount.error();
  control_.stats() = recount.stats();
  return OkStatus();
}

}  // namespace canvoy::fleet_store::query
