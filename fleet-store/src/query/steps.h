// The per-vehicle pipeline: steps that take one vehicle's rows a chunk at a time and pass their
// output to the next step, keeping what spans chunks (an open bucket, a run) as state.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/types.h"
#include "query/aggregate.h"
#include "query/eval.h"
#include "query/frame.h"
#include "query/plan.h"

namespace canvoy::fleet_store::query {

// Receives one vehicle's rows at a time: Begin, Push for each chunk (rows in time order across
// chunks), Finish. Single-threaded.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual Status Begin(const VehicleInfo& vehicle) = 0;
  virtual Status Push(Frame& rows) = 0;  // may change `rows`
  virtual Status Finish() = 0;
};

// Buckets aligned to the epoch; each bucket's aggregate calls fold rows or rollups.
class BucketStep final : public FrameSink {
 public:
  // `all_t`: the t of a width-"all" bucket (the query's from_us), or nullopt for the first row's.
  BucketStep(const StepPlan& plan, std::optional<std::int64_t> all_t, FrameSink& next);

  Status Begin(const VehicleInfo& vehicle) override;
  Status Push(Frame& rows) override;
  Status Finish() override;
  // Folds a rollup of the (single) input column, which must come in time order with the rows
  // pushed; valid when the plan's use_rollups holds.
  Status FoldRollup(std::int64_t start_us, const Rollup& rollup);
  std::int64_t width_us() const { return width_; }  // 0 for "all"

 private:
  struct Call {
    std::size_t expr;
    std::int32_t node;
    AggFn fn;
    std::int32_t argument;  // node, or -1 for count()
  };
  // The bucket start of t; rows come in time order, so the last bucket usually answers.
  std::int64_t Key(std::int64_t t) const {
    if (width_ == 0) return 0;
    if (key_valid_ && t >= key_ &&
        static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(key_) <
            static_cast<std::uint64_t>(width_))
      return key_;
    key_ = FloorTo(t, width_);
    key_valid_ = true;
    return key_;
  }
  void Open(std::int64_t key, std::int64_t first_t);
  void Close();
  Status Emit();

  std::int64_t width_;
  mutable std::int64_t key_ = 0;  // the last bucket Key() found
  mutable bool key_valid_ = false;
  std::optional<std::int64_t> all_t_;
  std::vector<Expression> exprs_;
  std::vector<Call> calls_;
  FrameSink& next_;
  const VehicleInfo* vehicle_ = nullptr;
  std::vector<Operand> arguments_;  // by call, for the chunk being pushed
  bool open_ = false;
  std::int64_t open_key_ = 0;
  std::int64_t open_first_t_ = 0;
  std::vector<AggState> states_;  // by call
  Cells<std::int64_t> closed_t_;
  std::vector<std::vector<std::vector<double>>> closed_;  // by expr, by its call
  Frame out_;
};

// Builds the step of `plan` in front of `next`. The source tells a bucket of width "all" its t.
std::unique_ptr<FrameSink> MakeStep(const StepPlan& plan, const SourcePlan& source,
                                    FrameSink& next);

// An EvalInput over a frame's rows.
inline EvalInput RowsOf(const Frame& frame, const VehicleInfo* vehicle) {
  EvalInput in;
  in.rows = frame.size();
  in.t = frame.t.data();
  in.columns = &frame.columns;
  in.vehicle = vehicle;
  return in;
}

}  // namespace canvoy::fleet_store::query
