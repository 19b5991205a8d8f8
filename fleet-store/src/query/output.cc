#include "query/output.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

constexpr std::uint32_t kValuesPerClockCheck = 1024;

json::value Text(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// Group keys in order, a missing attribute (null) after every value, as SQL's NULLS LAST; then t.
int CompareKeys(const std::vector<std::optional<std::string>>& a, std::int64_t at,
                const std::vector<std::optional<std::string>>& b, std::int64_t bt) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].has_value() != b[i].has_value()) return a[i].has_value() ? -1 : 1;
    if (a[i] && *a[i] != *b[i]) return *a[i] < *b[i] ? -1 : 1;
  }
  if (at != bt) return at < bt ? -1 : 1;
  return 0;
}

}  // namespace

QueryControl::QueryControl(const QueryLimits& limits, std::chrono::steady_clock::time_point start)
    : limits_(limits), start_(start), deadline_(start + limits.timeout) {}

QueryControl::QueryControl(QueryControl& parent)
    : limits_(parent.limits_),
      start_(parent.start_),
      deadline_(parent.deadline_),
      parent_(&parent) {}

Error QueryControl::TimeError() const {
  return Error(Errc::kUnavailable, "query exceeded its time limit of " +
                                       std::to_string(limits_.timeout.count()) + " ms");
}

std::optional<Error> QueryControl::LimitError(std::uint64_t scanned) const {
  if (scanned > limits_.max_scanned_values) {
    return Error(Errc::kInvalidArgument,
                 "query scans more than " + std::to_string(limits_.max_scanned_values) +
                     " values; narrow the time range or the vehicles");
  }
  if (std::chrono::steady_clock::now() < deadline_) return std::nullopt;
  return TimeError();
}

void QueryControl::Fail(Error error) {
  if (parent_ != nullptr) {
    std::lock_guard lock(parent_->mu_);
    if (!parent_->error_) parent_->error_ = error;
    parent_->stop_.store(true, std::memory_order_relaxed);
  }
  error_ = std::move(error);
}

bool QueryControl::CheckTime() {
  if (error_ || (parent_ != nullptr && parent_->stop_.load(std::memory_order_relaxed)))
    return false;
  if (std::chrono::steady_clock::now() < deadline_) return true;
  Fail(TimeError());
  return false;
}

std::uint64_t QueryControl::SettleLocked() {
  QueryStats& total = parent_->stats_;
  total.vehicles += stats_.vehicles - settled_.vehicles;
  total.samples += stats_.samples - settled_.samples;
  total.rollups += stats_.rollups - settled_.rollups;
  settled_ = stats_;
  return total.samples + total.rollups;
}

bool QueryControl::Refill() {
  budget_ = 0;
  if (stopped()) return false;
  std::uint64_t scanned = stats_.samples + stats_.rollups;
  if (parent_ != nullptr) {
    std::unique_lock lock(parent_->mu_);
    scanned = SettleLocked();
    if (parent_->error_) return false;
    if (auto error = LimitError(scanned)) {
      lock.unlock();
      Fail(std::move(*error));
      return false;
    }
  } else if (auto error = LimitError(scanned)) {
    Fail(std::move(*error));
    return false;
  }
  budget_ = std::min<std::uint64_t>(kValuesPerClockCheck,
                                    limits_.max_scanned_values - scanned + 1);
  return true;
}

void QueryControl::Settle() {
  if (parent_ == nullptr) return;
  std::unique_lock lock(parent_->mu_);
  const std::uint64_t scanned = SettleLocked();
  if (parent_->error_ || scanned <= limits_.max_scanned_values) return;
  lock.unlock();
  Fail(*LimitError(scanned));
}

bool QueryControl::TryAdd(const QueryStats& read) {
  const std::uint64_t scanned = stats_.samples + stats_.rollups + read.samples + read.rollups;
  if (scanned > limits_.max_scanned_values) return false;
  stats_.vehicles += read.vehicles;
  stats_.samples += read.samples;
  stats_.rollups += read.rollups;
  budget_ = 0;  // the next count checks the limits against the new total
  return true;
}

json::value Cell(const Column& column, std::size_t row) {
  const double v = column.num[row];
  if (IsNull(v)) return nullptr;
  switch (column.type) {
    case ColumnType::kNull:
      return nullptr;
    case ColumnType::kBool:
      return v != 0;
    case ColumnType::kInt64:
      return static_cast<std::int64_t>(column.bits[row]);
    case ColumnType::kUInt64:
      return column.bits[row];
    case ColumnType::kString:
      return json::string(column.str[row]);
    case ColumnType::kDouble:
      break;
  }
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

RowSink::RowSink(const Plan& plan, QueryControl& control) : plan_(plan), control_(control) {
  table_.columns.push_back("vin");
  for (const auto& a : plan.attributes) table_.columns.push_back(a);
  table_.columns.push_back("t");
  for (const auto& c : plan.row_columns) table_.columns.push_back(c);
}

Status RowSink::Begin(const VehicleInfo& vehicle) {
  vin_ = vehicle.summary.vin.str();
  prefix_.clear();
  prefix_.push_back(json::string(vin_));
  for (const auto& name : plan_.attributes) {
    auto it = vehicle.attributes.find(name);
    prefix_.push_back(it == vehicle.attributes.end() ? json::value(nullptr)
                                                     : json::value(it->second));
  }
  at_cursor_ = plan_.after && plan_.after->vin == vin_;
  has_prev_ = false;
  return OkStatus();
}

Status RowSink::Push(Frame& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int64_t t = rows.t[i];
    k_ = (has_prev_ && t == prev_t_) ? k_ + 1 : 0;
    has_prev_ = true;
    prev_t_ = t;
    if (at_cursor_ && (t < plan_.after->t || (t == plan_.after->t && k_ < plan_.after->k)))
      continue;
    if (table_.rows.size() == plan_.limit) {
      Cursor next;
      next.vin = last_.vin;
      next.t = last_.t;
      next.k = last_.k + 1;
      table_.next = EncodeCursor(next, plan_.fingerprint);
      control_.SetPageFull();
      return OkStatus();
    }
    json::array row = prefix_;
    row.push_back(t);
    for (const auto& column : rows.columns) row.push_back(Cell(column, i));
    table_.rows.push_back(std::move(row));
    last_.vin = vin_;
    last_.t = t;
    last_.k = k_;
  }
  return OkStatus();
}

Table RowSink::TakeTable() { return std::move(table_); }

namespace {

// Whether the subtree at `index` reads neither rows nor t: one value per vehicle.
bool OfVehicleOnly(const Expr& e, std::int32_t index) {
  if (index < 0) return true;
  const Node& n = e.nodes[static_cast<std::size_t>(index)];
  if (n.op == Op::kColumn || n.op == Op::kTime || n.op == Op::kAggregate) return false;
  return OfVehicleOnly(e, n.a) && OfVehicleOnly(e, n.b);
}

Error TooManyGroups(std::size_t max_groups) {
  return Error(Errc::kInvalidArgument,
               "group: more than " + std::to_string(max_groups) +
                   " groups (each time bucket counts); group by fewer attributes or use wider "
                   "time buckets");
}

}  // namespace

GroupFolder::GroupFolder(const Plan& plan, std::size_t max_groups, const GroupSink* global)
    : spec_(*plan.group), max_groups_(max_groups), global_(global) {
  folds_joined_ = !spec_.time;
  for (std::size_t e = 0; e < spec_.aggs.size(); ++e) {
    const Expr& expr = spec_.aggs[e].expr;
    exprs_.emplace_back(expr);
    for (auto node : expr.calls) {
      const Node& n = expr.nodes[static_cast<std::size_t>(node)];
      Call call{e, node, n.fn, n.a};
      if (n.a >= 0) {
        const Node& argument = expr.nodes[static_cast<std::size_t>(n.a)];
        if (argument.op == Op::kColumn) {
          call.column = argument.slot;
        } else if (!OfVehicleOnly(expr, n.a)) {
          folds_joined_ = false;
        }
      }
      calls_.push_back(call);
    }
  }
  arguments_.resize(calls_.size());
  own_.resize(calls_.size());
}

Status GroupFolder::Begin(const VehicleInfo& vehicle) {
  vehicle_ = &vehicle;
  new_groups_ = 0;
  finished_ = false;
  partial_.t.clear();
  partial_.states.clear();
  if (folds_joined_) {  // the arguments of the vehicle alone, once
    EvalInput in;
    in.rows = 1;
    in.vehicle = &vehicle;
    for (std::size_t c = 0; c < calls_.size(); ++c) {
      if (calls_[c].argument >= 0 && calls_[c].column < 0)
        own_[c] = exprs_[calls_[c].expr].Evaluate(in, calls_[c].argument);
    }
  }
  return OkStatus();
}

std::optional<std::size_t> GroupFolder::SlotFor(std::int64_t t) {
  const std::int64_t key = spec_.time ? t : 0;
  const std::size_t slots = partial_.t.size();
  if (slots > 0 && partial_.t.back() == key) return slots - 1;
  if (global_ != nullptr) {
    if (!global_->Has(key) && global_->slots() + ++new_groups_ > max_groups_) return std::nullopt;
  } else if (slots >= max_groups_) {
    return std::nullopt;
  }
  partial_.t.push_back(key);
  partial_.states.resize(partial_.states.size() + calls_.size());
  return slots;
}

Status GroupFolder::Push(Frame& rows) {
  const EvalInput in = RowsOf(rows, vehicle_);
  for (std::size_t c = 0; c < calls_.size(); ++c) {
    if (calls_[c].argument >= 0)
      arguments_[c] = exprs_[calls_[c].expr].Evaluate(in, calls_[c].argument);
  }
  const std::size_t n = rows.size();
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    if (spec_.time) {
      while (j < n && rows.t[j] == rows.t[i]) ++j;
    } else {
      j = n;
    }
    const auto found = SlotFor(rows.t[i]);
    if (!found) return TooManyGroups(max_groups_);
    AggState* states = partial_.states.data() + *found * calls_.size();
    for (std::size_t c = 0; c < calls_.size(); ++c) {
      Fold(states[c], calls_[c].fn, calls_[c].argument >= 0, arguments_[c], rows.t.data(), i, j);
    }
    i = j;
  }
  return OkStatus();
}

Status GroupFolder::FoldJoined(const std::vector<const Column*>& columns,
                               const std::vector<const std::uint32_t*>& rows, const std::int64_t* t,
                               std::size_t n) {
  if (n == 0) return OkStatus();
  const auto found = SlotFor(0);
  if (!found) return TooManyGroups(max_groups_);
  AggState* states = partial_.states.data() + *found * calls_.size();
  for (std::size_t c = 0; c < calls_.size(); ++c) {
    const Call& call = calls_[c];
    if (call.argument < 0) {
      states[c].count += n;
    } else if (call.column < 0) {
      Fold(states[c], call.fn, true, own_[c], t, 0, n);
    } else {
      const auto k = static_cast<std::size_t>(call.column);
      const Column& column = *columns[k];
      if (column.type != ColumnType::kNull && column.type != ColumnType::kString)
        FoldGathered(states[c], call.fn, column.num.data(), rows[k], t, n);
    }
  }
  return OkStatus();
}

bool GroupFolder::JoinLanes(const std::vector<const Column*>& columns,
                            std::vector<JoinLane>& lanes) const {
  static constexpr double kOne = 1;
  lanes.clear();
  const AggState* states =
      partial_.t.empty() ? nullptr : partial_.states.data();  // no "time": one slot at most
  for (std::size_t c = 0; c < calls_.size(); ++c) {
    const Call& call = calls_[c];
    JoinLane lane{&kOne, 0, 0, 0.0, 0, c, true};
    if (states != nullptr) {
      lane.sum = states[c].sum;
      lane.count = states[c].count;
    }
    if (call.argument >= 0) {
      if (call.fn != AggFn::kAvg && call.fn != AggFn::kSum) return false;
      if (call.column >= 0) {
        const Column& column = *columns[static_cast<std::size_t>(call.column)];
        if (column.type == ColumnType::kNull || column.type == ColumnType::kString) continue;
        lane.num = column.num.data();
        lane.side = static_cast<std::uint32_t>(call.column);
        lane.mask = ~std::uint32_t{0};
        lane.integral = column.type == ColumnType::kInt64 || column.type == ColumnType::kUInt64 ||
                        column.type == ColumnType::kBool;
      } else {
        const Operand& own = own_[c];
        if (own.kind != Operand::Kind::kNumber) continue;  // folds nothing
        if (!own.scalar) return false;
        lane.num = &own.number;
        lane.integral = std::isfinite(own.number) && own.number == std::trunc(own.number);
      }
    }
    lanes.push_back(lane);
  }
  return true;
}

Status GroupFolder::StoreLanes(const std::vector<JoinLane>& lanes, std::size_t rows) {
  if (rows == 0) return OkStatus();
  const auto found = SlotFor(0);
  if (!found) return TooManyGroups(max_groups_);
  AggState* states = partial_.states.data() + *found * calls_.size();
  for (const JoinLane& lane : lanes) {
    states[lane.call].sum = lane.sum;
    states[lane.call].count = lane.count;
  }
  return OkStatus();
}

Status GroupFolder::Finish() {
  finished_ = true;
  return OkStatus();
}

GroupSink::GroupSink(const Plan& plan, std::size_t max_groups)
    : plan_(plan), spec_(*plan.group), max_groups_(max_groups), folder_(plan, max_groups, this) {
  for (std::size_t e = 0; e < spec_.aggs.size(); ++e) {
    const Expr& expr = spec_.aggs[e].expr;
    exprs_.emplace_back(expr);
    for (auto node : expr.calls) {
      call_nodes_.emplace_back(e, node);
      call_fns_.push_back(expr.nodes[static_cast<std::size_t>(node)].fn);
    }
  }
  calls_ = call_fns_.size();
}

void GroupSink::SetGroup(const VehicleInfo& vehicle) {
  Key key;
  for (const auto& name : spec_.by) {
    auto it = vehicle.attributes.find(name);
    key.push_back(it == vehicle.attributes.end() ? std::nullopt
                                                 : std::optional<std::string>(it->second));
  }
  auto [it, added] = groups_.emplace(std::move(key), groups_.size());
  if (added) group_keys_.push_back(&it->first);
  group_ = it->second;
}

Status GroupSink::Begin(const VehicleInfo& vehicle) {
  SetGroup(vehicle);
  return folder_.Begin(vehicle);
}

Status GroupSink::Finish() {
  CANVOY_RETURN_IF_ERROR(folder_.Finish());
  return Merge(folder_.partial());
}

Status GroupSink::Merge(const VehicleInfo& vehicle, const GroupPartial& partial) {
  SetGroup(vehicle);
  return Merge(partial);
}

Status GroupSink::Merge(const GroupPartial& partial) {
  for (std::size_t s = 0; s < partial.t.size(); ++s) {
    const auto found = SlotFor(partial.t[s]);
    if (!found) return TooManyGroups(max_groups_);
    for (std::size_t c = 0; c < calls_; ++c)
      states_[*found * calls_ + c].Merge(partial.states[s * calls_ + c]);
  }
  return OkStatus();
}

std::optional<std::size_t> GroupSink::SlotFor(std::int64_t t) {
  const auto key = std::make_pair(group_, spec_.time ? t : 0);
  if (slot_group_.size() >= max_groups_) {
    auto it = slots_.find(key);
    if (it == slots_.end()) return std::nullopt;
    return it->second;
  }
  auto [it, added] = slots_.emplace(key, slot_group_.size());
  if (added) {
    slot_group_.push_back(group_);
    slot_t_.push_back(spec_.time ? t : 0);
    states_.resize(states_.size() + calls_);
  }
  return it->second;
}

Table GroupSink::TakeTable() {
  Table table;
  table.columns = spec_.by;
  if (spec_.time) table.columns.push_back("t");
  for (const auto& a : spec_.aggs) table.columns.push_back(a.name);

  const std::size_t slots = slot_group_.size();
  std::vector<Column> values(exprs_.size());
  for (std::size_t e = 0; e < exprs_.size(); ++e) {
    std::vector<std::vector<double>> results(exprs_[e].expr().calls.size());
    for (std::size_t c = 0; c < calls_; ++c) {
      if (call_nodes_[c].first != e) continue;
      const auto slot_index =
          exprs_[e].expr().nodes[static_cast<std::size_t>(call_nodes_[c].second)].slot;
      auto& out = results[static_cast<std::size_t>(slot_index)];
      for (std::size_t s = 0; s < slots; ++s)
        out.push_back(states_[s * calls_ + c].Result(call_fns_[c]));
    }
    EvalInput in;
    in.rows = slots;
    in.t = slot_t_.data();
    in.aggregates = &results;
    Store(exprs_[e].Evaluate(in), slots, values[e]);
  }

  std::vector<std::size_t> order(slots);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return CompareKeys(*group_keys_[slot_group_[a]], slot_t_[a], *group_keys_[slot_group_[b]],
                       slot_t_[b]) < 0;
  });
  std::size_t begin = 0;
  if (plan_.after) {
    while (begin < slots &&
           CompareKeys(*group_keys_[slot_group_[order[begin]]], slot_t_[order[begin]],
                       plan_.after->keys, plan_.after->t) <= 0) {
      ++begin;
    }
  }
  for (std::size_t i = begin; i < slots; ++i) {
    const std::size_t s = order[i];
    if (table.rows.size() == plan_.limit) {
      Cursor next;
      next.keys = *group_keys_[slot_group_[order[i - 1]]];
      next.t = slot_t_[order[i - 1]];
      table.next = EncodeCursor(next, plan_.fingerprint);
      break;
    }
    json::array row;
    for (const auto& k : *group_keys_[slot_group_[s]]) row.push_back(Text(k));
    if (spec_.time) row.push_back(slot_t_[s]);
    for (const auto& column : values) row.push_back(Cell(column, s));
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace canvoy::fleet_store::query
