// A query document, checked and bound: what the engine executes.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/query.h"
#include "query/expr.h"

namespace canvoy::fleet_store::query {

struct VehicleSelector {
  std::optional<std::vector<Vin>> vins;  // sorted, unique; nullopt: every vehicle
  struct Condition {
    std::string attribute;
    std::vector<std::string> values;  // the attribute equals one of them
  };
  std::vector<Condition> where;
  std::vector<std::string> has;  // present and non-empty

  bool Matches(const Attributes& attributes) const;
};

// `signal op number` taken from a leading filter step (a conjunct of it): a row whose signal
// fails it fails the filter, so a joined source may drop such samples before the join.
struct SourcePredicate {
  std::size_t signal = 0;  // index into SourcePlan::signals
  Op op = Op::kGt;         // kLt, kLe, kGt, kGe or kEq
  double number = 0;
};

// Whether `v op number` holds, for a SourcePredicate's op.
inline bool Passes(Op op, double v, double number) {
  switch (op) {
    case Op::kLt:
      return v < number;
    case Op::kLe:
      return v <= number;
    case Op::kGt:
      return v > number;
    case Op::kGe:
      return v >= number;
    default:
      return v == number;
  }
}

struct SourcePlan {
  enum class Kind { kLatest, kSamples } kind = Kind::kSamples;
  std::vector<std::string> signals;
  std::int64_t from_us = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_us = std::numeric_limits<std::int64_t>::max();
  bool has_from = false;
  std::vector<SourcePredicate> prefilter;  // samples of several signals: see SourcePredicate
  // The leading filter is exactly the conjunction of `prefilter`: rows the source built only of
  // passing samples need no filtering (see Frame::prefiltered).
  bool prefilter_complete = false;
};

struct NamedExpr {
  std::string name;
  std::int32_t slot = -1;  // compute: the column written
  Expr expr;
};

struct StepPlan {
  enum class Kind { kFilter, kCompute, kBucket, kRuns, kRises } kind = Kind::kFilter;
  Expr when;                     // filter, runs, rises
  std::vector<NamedExpr> exprs;  // compute columns, bucket aggs
  std::int64_t width_us = 0;     // bucket; 0 for "all"
  std::size_t columns_in = 0;    // columns of the rows the step reads
  std::size_t columns_out = 0;
};

struct GroupPlan {
  std::vector<std::string> by;
  bool time = false;
  std::vector<NamedExpr> aggs;
};

// Where the next page starts.
struct Cursor {
  std::string vin;  // per-vehicle output: the row after (vin, t, the k-th row at t)
  std::int64_t t = 0;
  std::uint64_t k = 0;
  std::vector<std::optional<std::string>> keys;  // grouped output: rows after (keys, t)
};

struct Plan {
  VehicleSelector vehicles;
  SourcePlan source;
  std::vector<StepPlan> steps;
  std::optional<GroupPlan> group;
  std::vector<std::string> attributes;   // output columns after vin
  std::vector<std::string> row_columns;  // the per-vehicle rows' columns after t
  std::size_t limit = 0;
  std::optional<Cursor> after;
  std::string fingerprint;   // identifies the query (without paging) in its cursors
  bool use_rollups = false;  // the first bucket may be answered from rollups
  bool row_local = true;     // only filter and compute steps: a page can resume mid-vehicle

  std::string kind() const;
};

// Parses and checks a document. Errors name the part ("steps[2].filter: at 7: ...") and, for
// malformed JSON, the line and column.
Result<Plan> ParsePlan(std::string_view document, const QueryLimits& limits);
Result<Plan> PlanFromJson(const boost::json::value& document, const QueryLimits& limits);

// A width such as "10m", "1h", "1d", "500ms", "30s", "100us" in microseconds; "all" is 0.
Result<std::int64_t> ParseWidth(std::string_view text);

std::string EncodeCursor(const Cursor& cursor, std::string_view fingerprint);
Result<Cursor> DecodeCursor(std::string_view text, std::string_view fingerprint);

}  // namespace canvoy::fleet_store::query
