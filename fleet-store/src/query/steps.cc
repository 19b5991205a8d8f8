#include "query/steps.h"

#include <limits>

namespace canvoy::fleet_store::query {
namespace {

constexpr std::size_t kEmitRows = 4096;  // closed buckets handed on at once, at most

class FilterStep final : public FrameSink {
 public:
  FilterStep(const StepPlan& plan, FrameSink& next) : when_(plan.when), next_(next) {}

  Status Begin(const VehicleInfo& vehicle) override {
    vehicle_ = &vehicle;
    return next_.Begin(vehicle);
  }
  Status Push(Frame& rows) override {
    if (rows.prefiltered) {  // the source built the rows of passing samples only
      rows.prefiltered = false;
      return next_.Push(rows);
    }
    Truth(when_.Evaluate(RowsOf(rows, vehicle_)), rows.size(), keep_);
    rows.Compact(keep_);
    return rows.size() == 0 ? OkStatus() : next_.Push(rows);
  }
  Status Finish() override { return next_.Finish(); }

 private:
  Expression when_;
  FrameSink& next_;
  const VehicleInfo* vehicle_ = nullptr;
  std::vector<std::uint8_t> keep_;
};

class ComputeStep final : public FrameSink {
 public:
  ComputeStep(const StepPlan& plan, FrameSink& next) : next_(next), width_(plan.columns_out) {
    for (const auto& e : plan.exprs) columns_.push_back({e.slot, Expression(e.expr)});
  }

  Status Begin(const VehicleInfo& vehicle) override {
    vehicle_ = &vehicle;
    return next_.Begin(vehicle);
  }
  Status Push(Frame& rows) override {
    if (rows.columns.size() < width_) {
      const std::size_t before = rows.columns.size();
      rows.columns.resize(width_);
      for (std::size_t c = before; c < width_; ++c)
        rows.columns[c].num.assign(rows.size(), kNullValue);
    }
    for (auto& [slot, expr] : columns_) {
      auto& target = rows.columns[static_cast<std::size_t>(slot)];
      const Node& root = expr.expr().root_node();
      if (root.op == Op::kColumn) {  // a copy keeps the source's type and exact integers
        if (root.slot != slot) target = rows.columns[static_cast<std::size_t>(root.slot)];
        continue;
      }
      Store(expr.Evaluate(RowsOf(rows, vehicle_)), rows.size(), scratch_);
      std::swap(target, scratch_);
    }
    return next_.Push(rows);
  }
  Status Finish() override { return next_.Finish(); }

 private:
  FrameSink& next_;
  std::size_t width_;
  std::vector<std::pair<std::int32_t, Expression>> columns_;
  const VehicleInfo* vehicle_ = nullptr;
  Column scratch_;
};

// One row per run of rows where `when` holds: from a row where it holds after one where it did
// not, to the next row where it does not. Runs still open at the end are dropped.
class RunsStep final : public FrameSink {
 public:
  RunsStep(const StepPlan& plan, FrameSink& next) : when_(plan.when), next_(next) {}

  Status Begin(const VehicleInfo& vehicle) override {
    vehicle_ = &vehicle;
    has_prev_ = false;
    open_ = false;
    return next_.Begin(vehicle);
  }
  Status Push(Frame& rows) override {
    Truth(when_.Evaluate(RowsOf(rows, vehicle_)), rows.size(), truth_);
    out_.Clear(1);
    Column& duration = out_.columns[0];
    duration.type = ColumnType::kInt64;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const bool now = truth_[i] != 0;
      if (has_prev_ && !prev_ && now) {
        open_ = true;
        start_ = rows.t[i];
      } else if (open_ && !now) {
        const std::int64_t d = rows.t[i] - start_;
        out_.t.push_back(start_);
        duration.num.push_back(static_cast<double>(d));
        duration.bits.push_back(static_cast<std::uint64_t>(d));
        open_ = false;
      }
      prev_ = now;
      has_prev_ = true;
    }
    return out_.size() == 0 ? OkStatus() : next_.Push(out_);
  }
  Status Finish() override { return next_.Finish(); }

 private:
  Expression when_;
  FrameSink& next_;
  const VehicleInfo* vehicle_ = nullptr;
  std::vector<std::uint8_t> truth_;
  bool has_prev_ = false;
  bool prev_ = false;
  bool open_ = false;
  std::int64_t start_ = 0;
  Frame out_;
};

// One row, at the earlier row's t, for each pair of consecutive rows where `when` goes from
// false to true.
class RisesStep final : public FrameSink {
 public:
  RisesStep(const StepPlan& plan, FrameSink& next) : when_(plan.when), next_(next) {}

  Status Begin(const VehicleInfo& vehicle) override {
    vehicle_ = &vehicle;
    has_prev_ = false;
    return next_.Begin(vehicle);
  }
  Status Push(Frame& rows) override {
    Truth(when_.Evaluate(RowsOf(rows, vehicle_)), rows.size(), truth_);
    out_.Clear(0);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const bool now = truth_[i] != 0;
      if (has_prev_ && !prev_ && now) out_.t.push_back(prev_t_);
      prev_ = now;
      prev_t_ = rows.t[i];
      has_prev_ = true;
    }
    return out_.size() == 0 ? OkStatus() : next_.Push(out_);
  }
  Status Finish() override { return next_.Finish(); }

 private:
  Expression when_;
  FrameSink& next_;
  const VehicleInfo* vehicle_ = nullptr;
  std::vector<std::uint8_t> truth_;
  bool has_prev_ = false;
  bool prev_ = false;
  std::int64_t prev_t_ = 0;
  Frame out_;
};

}  // namespace

BucketStep::BucketStep(const StepPlan& plan, std::optional<std::int64_t> all_t, FrameSink& next)
    : width_(plan.width_us), all_t_(all_t), next_(next) {
  for (std::size_t e = 0; e < plan.exprs.size(); ++e) {
    const Expr& expr = plan.exprs[e].expr;
    exprs_.emplace_back(expr);
    for (auto node : expr.calls) {
      const Node& n = expr.nodes[static_cast<std::size_t>(node)];
      calls_.push_back({e, node, n.fn, n.a});
    }
    closed_.emplace_back(expr.calls.size());
  }
  states_.resize(calls_.size());
  arguments_.resize(calls_.size());
}

Status BucketStep::Begin(const VehicleInfo& vehicle) {
  vehicle_ = &vehicle;
  open_ = false;
  return next_.Begin(vehicle);
}

void BucketStep::Open(std::int64_t key, std::int64_t first_t) {
  open_ = true;
  open_key_ = key;
  open_first_t_ = first_t;
  for (auto& s : states_) s = AggState();
}

void BucketStep::Close() {
  if (!open_) return;
  open_ = false;
  closed_t_.push_back(width_ != 0 ? open_key_ : all_t_.value_or(open_first_t_));
  for (std::size_t c = 0; c < calls_.size(); ++c) {
    const auto& call = calls_[c];
    const auto slot = exprs_[call.expr].expr().nodes[static_cast<std::size_t>(call.node)].slot;
    closed_[call.expr][static_cast<std::size_t>(slot)].push_back(states_[c].Result(call.fn));
  }
}

Status BucketStep::Emit() {
  if (closed_t_.empty()) return OkStatus();
  out_.Clear(exprs_.size());
  std::swap(out_.t, closed_t_);
  for (std::size_t e = 0; e < exprs_.size(); ++e) {
    EvalInput in;
    in.rows = out_.size();
    in.t = out_.t.data();
    in.vehicle = vehicle_;
    in.aggregates = &closed_[e];
    Store(exprs_[e].Evaluate(in), in.rows, out_.columns[e]);
    for (auto& values : closed_[e]) values.clear();
  }
  closed_t_.clear();
  return next_.Push(out_);
}

Status BucketStep::Push(Frame& rows) {
  const EvalInput in = RowsOf(rows, vehicle_);
  for (std::size_t c = 0; c < calls_.size(); ++c) {
    if (calls_[c].argument >= 0)
      arguments_[c] = exprs_[calls_[c].expr].Evaluate(in, calls_[c].argument);
  }
  const std::size_t n = rows.size();
  for (std::size_t i = 0; i < n;) {
    // Rows are in time order: a bucket's rows are those before its end (one division a bucket).
    const std::int64_t key = Key(rows.t[i]);
    const std::int64_t end =
        (width_ == 0 || key > std::numeric_limits<std::int64_t>::max() - width_)
            ? std::numeric_limits<std::int64_t>::max()
            : key + width_;
    std::size_t j = i + 1;
    while (j < n && rows.t[j] < end) ++j;
    if (!open_ || key != open_key_) {
      Close();
      Open(key, rows.t[i]);
    }
    for (std::size_t c = 0; c < calls_.size(); ++c) {
      Fold(states_[c], calls_[c].fn, calls_[c].argument >= 0, arguments_[c], rows.t.data(), i, j);
    }
    i = j;
  }
  return Emit();
}

Status BucketStep::FoldRollup(std::int64_t start_us, const Rollup& rollup) {
  const std::int64_t key = Key(start_us);
  if (!open_ || key != open_key_) {
    Close();
    Open(key, rollup.first_us);
    if (closed_t_.size() >= kEmitRows) CANVOY_RETURN_IF_ERROR(Emit());
  }
  for (auto& s : states_) s.Merge(rollup);
  return OkStatus();
}

Status BucketStep::Finish() {
  Close();
  CANVOY_RETURN_IF_ERROR(Emit());
  return next_.Finish();
}

std::unique_ptr<FrameSink> MakeStep(const StepPlan& plan, const SourcePlan& source,
                                    FrameSink& next) {
  switch (plan.kind) {
    case StepPlan::Kind::kFilter:
      return std::make_unique<FilterStep>(plan, next);
    case StepPlan::Kind::kCompute:
      return std::make_unique<ComputeStep>(plan, next);
    case StepPlan::Kind::kRuns:
      return std::make_unique<RunsStep>(plan, next);
    case StepPlan::Kind::kRises:
      return std::make_unique<RisesStep>(plan, next);
    case StepPlan::Kind::kBucket:
      break;
  }
  std::optional<std::int64_t> all_t;
  if (source.kind == SourcePlan::Kind::kSamples && source.has_from) all_t = source.from_us;
  return std::make_unique<BucketStep>(plan, all_t, next);
}

}  // namespace canvoy::fleet_store::query
