// The ends of the pipeline: rows of each vehicle written out, or folded into groups across
// vehicles; and the query's shared limits.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "canvoy/fleet_store/query.h"
#include "query/aggregate.h"
#include "query/plan.h"
#include "query/steps.h"

namespace canvoy::fleet_store::query {

// Time limit, scan limit, counters and the reason to stop reading, shared by one query's parts.
// A query's own control is used by one thread at a time. A query read on several threads also
// has a parent control whose children (QueryControl(parent)), one per worker thread, count
// locally and settle with the parent under its lock when their budget of values is spent; while
// children run, only they and Settle() touch the parent.
class QueryControl {
 public:
  QueryControl(const QueryLimits& limits, std::chrono::steady_clock::time_point start);
  // A child of `parent`, which must outlive it. Its errors go to the parent too (the first one
  // wins there), and it stops when the parent has an error.
  explicit QueryControl(QueryControl& parent);
  QueryControl(const QueryControl&) = delete;
  QueryControl& operator=(const QueryControl&) = delete;

  // Counts values read; false when reading must stop (page full, a limit hit: see error()).
  // Called for every sample: the limits are checked when a budget of values is spent.
  bool CountSamples(std::uint64_t n) {
    stats_.samples += n;
    return Spend(n);
  }
  bool CountRollups(std::uint64_t n) {
    stats_.rollups += n;
    return Spend(n);
  }
  // False (and error() set) when the time limit has passed.
  bool CheckTime();
  bool stopped() const {
    return page_full_ || error_.has_value() ||
           (parent_ != nullptr && parent_->stop_.load(std::memory_order_relaxed));
  }
  void SetPageFull() {
    page_full_ = true;
    budget_ = 0;
  }
  // This control's own error; a child's parent may hold one found by another child.
  const std::optional<Error>& error() const { return error_; }
  // A child's counts are its own; the parent's are what its children settled.
  QueryStats& stats() { return stats_; }
  const QueryLimits& limits() const { return limits_; }
  std::chrono::steady_clock::time_point start() const { return start_; }

  // A child: adds to the parent what it counted since it last settled, and checks the scan
  // limit on the parent's total.
  void Settle();
  // Adds values read for this query elsewhere (by a worker, for one vehicle); false, and
  // nothing added, when the total would pass the scan limit.
  bool TryAdd(const QueryStats& read);

 private:
  bool Spend(std::uint64_t n) {
    if (n < budget_) {
      budget_ -= n;
      return true;
    }
    return Refill();
  }
  // Checks the limits and the clock (a child: on the parent's totals); the next budget ends at
  // the scan limit or after kValuesPerClockCheck values.
  bool Refill();
  Error TimeError() const;
  // The scan limit's or the time limit's error, if `scanned` values or the clock pass them.
  std::optional<Error> LimitError(std::uint64_t scanned) const;
  void Fail(Error error);
  // A child: settles with the parent and returns the parent's values read. REQUIRES:
  // parent_->mu_ held.
  std::uint64_t SettleLocked();

  QueryLimits limits_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t budget_ = 0;
  bool page_full_ = false;
  std::optional<Error> error_;  // a parent's: guarded by mu_ while children run
  QueryStats stats_;            // a parent's: guarded by mu_ while children run
  QueryControl* parent_ = nullptr;
  QueryStats settled_;  // a child's: the part of stats_ added to the parent
  std::mutex mu_;       // a parent's
  std::atomic<bool> stop_{false};  // a parent's: error_ is set
};

struct Table {
  std::vector<std::string> columns;
  boost::json::array rows;
  std::optional<std::string> next;  // cursor of the next page
};

// Writes each vehicle's final rows: vin, the requested attributes, t, the row's columns. Rows
// come in VIN order, each vehicle's in time order; it skips rows up to the cursor and stops
// the query when the page is full.
class RowSink final : public FrameSink {
 public:
  RowSink(const Plan& plan, QueryControl& control);

  Status Begin(const VehicleInfo& vehicle) override;
  Status Push(Frame& rows) override;
  Status Finish() override { return OkStatus(); }
  Table TakeTable();

 private:
  const Plan& plan_;
  QueryControl& control_;
  Table table_;
  boost::json::array prefix_;  // vin and attributes of the current vehicle
  std::string vin_;
  bool at_cursor_ = false;
  bool has_prev_ = false;
  std::int64_t prev_t_ = 0;
  std::uint64_t k_ = 0;  // rows before this one with the same (vin, t)
  Cursor last_;
};

// What one vehicle adds to a grouped answer: its rows folded into aggregate states by time key
// (0 without "time"), keys in the order its rows reached them.
struct GroupPartial {
  std::vector<std::int64_t> t;   // by slot
  std::vector<AggState> states;  // slot * calls + call
};

class GroupSink;

// A sum() or avg() call (or count(), as a sum of ones) folded while two signals are joined: row
// (i, j) adds num[(side == 0 ? i : j) & mask], a mask of 0 adding num[0] to every row.
struct JoinLane {
  const double* num;
  std::uint32_t side;
  std::uint32_t mask;
  double sum;
  std::uint64_t count;
  std::size_t call;
  bool integral;  // every number the lane reads is a whole number (an integer or bool column)
};

// Folds one vehicle's rows into a GroupPartial. A grouped query's vehicles each fold on their
// own and their partials then join the groups in vehicle order, so that the answer does not
// depend on how many threads read them: a sum is each vehicle's sum in time order, added up in
// VIN order.
class GroupFolder final : public FrameSink {
 public:
  // `global`, when set, is the sink the partial joins: a Push fails where a new group would pass
  // max_groups there. Without it (a worker's folder) a Push fails only past max_groups slots of
  // the vehicle's own, and the join fails for the rest.
  GroupFolder(const Plan& plan, std::size_t max_groups, const GroupSink* global);

  Status Begin(const VehicleInfo& vehicle) override;
  Status Push(Frame& rows) override;
  Status Finish() override;
  bool finished() const { return finished_; }
  GroupPartial& partial() { return partial_; }

  // Whether joined rows may be folded where they lie (FoldJoined): no "time" key, and each
  // aggregate call's argument is a column, an expression of the vehicle alone, or none.
  bool folds_joined() const { return folds_joined_; }
  // Folds n rows, row r being (t[r], columns[k] at rows[k][r] for each column k), as Push
  // would fold a frame of them. REQUIRES: folds_joined(), columns of numbers or of no value.
  Status FoldJoined(const std::vector<const Column*>& columns,
                    const std::vector<const std::uint32_t*>& rows, const std::int64_t* t,
                    std::size_t n);
  // The calls as lanes over the two columns, starting from the vehicle's states, when every
  // call keeps only a sum and a count (count(), or sum()/avg() of a column or of a number of the
  // vehicle); false otherwise. REQUIRES: folds_joined().
  bool JoinLanes(const std::vector<const Column*>& columns, std::vector<JoinLane>& lanes) const;
  // Keeps the lanes' sums and counts after `rows` passing rows were folded into them (none: the
  // vehicle's states stay as they were, and no group is made).
  Status StoreLanes(const std::vector<JoinLane>& lanes, std::size_t rows);

 private:
  struct Call {
    std::size_t expr;
    std::int32_t node;
    AggFn fn;
    std::int32_t argument;
    std::int32_t column = -1;  // folds_joined(): the argument is this column
  };
  // The vehicle's slot for key t (rows come in time order, so keys too); nullopt when a new one
  // would pass the group bound.
  std::optional<std::size_t> SlotFor(std::int64_t t);

  const GroupPlan& spec_;
  std::size_t max_groups_;
  const GroupSink* global_;
  std::vector<Expression> exprs_;
  std::vector<Call> calls_;
  std::vector<Operand> arguments_;  // by call, for the frame being pushed
  std::vector<Operand> own_;        // folds_joined(): by call, the arguments of the vehicle alone
  bool folds_joined_ = true;
  const VehicleInfo* vehicle_ = nullptr;
  std::size_t new_groups_ = 0;  // slots of this vehicle the global sink does not have yet
  bool finished_ = false;
  GroupPartial partial_;
};

// Folds every vehicle's rows into groups keyed by attributes (and t); each group's aggregate
// calls see the rows of all its vehicles, a vehicle at a time (see GroupFolder).
class GroupSink final : public FrameSink {
 public:
  // Fails a Push that would hold more than max_groups (group, time bucket) pairs.
  GroupSink(const Plan& plan, std::size_t max_groups);

  Status Begin(const VehicleInfo& vehicle) override;
  Status Push(Frame& rows) override { return folder_.Push(rows); }
  Status Finish() override;
  // Adds a vehicle's partial, as Begin, its rows and Finish would.
  Status Merge(const VehicleInfo& vehicle, const GroupPartial& partial);
  // The folder that Push feeds, for sources that fold joined rows into it themselves.
  GroupFolder& folder() { return folder_; }
  // The groups in key order, from the cursor on, at most plan.limit of them.
  Table TakeTable();

  // For GroupFolder: the slots held, and whether (the current vehicle's group, t) is one.
  std::size_t slots() const { return slot_group_.size(); }
  bool Has(std::int64_t t) const { return slots_.contains({group_, spec_.time ? t : 0}); }

 private:
  using Key = std::vector<std::optional<std::string>>;
  struct SlotHash {
    std::size_t operator()(const std::pair<std::size_t, std::int64_t>& k) const {
      return std::hash<std::int64_t>()(k.second) * 31 + k.first;
    }
  };
  void SetGroup(const VehicleInfo& vehicle);
  Status Merge(const GroupPartial& partial);  // into the current group
  // The slot of (the current group, t), or nullopt when a new one would pass max_groups_.
  std::optional<std::size_t> SlotFor(std::int64_t t);

  const Plan& plan_;
  const GroupPlan& spec_;
  std::size_t max_groups_;
  std::size_t calls_ = 0;  // aggregate calls
  std::vector<Expression> exprs_;
  std::vector<std::pair<std::size_t, std::int32_t>> call_nodes_;  // by call: (expr, node)
  std::vector<AggFn> call_fns_;
  std::map<Key, std::size_t> groups_;
  std::vector<const Key*> group_keys_;  // by group id
  std::size_t group_ = 0;               // the current vehicle's
  std::unordered_map<std::pair<std::size_t, std::int64_t>, std::size_t, SlotHash> slots_;
  std::vector<std::size_t> slot_group_;
  std::vector<std::int64_t> slot_t_;
  std::vector<AggState> states_;  // slot * calls_ + call
  GroupFolder folder_;            // declared last: it reads the members above
};

// A cell of a column as JSON: null, true/false, exact integers, numbers, "Infinity", strings.
boost::json::value Cell(const Column& column, std::size_t row);

}  // namespace canvoy::fleet_store::query
