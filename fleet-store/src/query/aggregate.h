// The state of one aggregate call over one bucket or group: mergeable, so that raw rows, minute
// and hour rollups and the rows of many vehicles fold into the same result.
#pragma once

#include <cstdint>
#include <limits>

#include "canvoy/fleet_store/types.h"
#include "query/eval.h"
#include "query/expr.h"
#include "query/frame.h"

namespace canvoy::fleet_store::query {

// first/last are the values at the smallest/largest t; on a tie the smallest/largest value, as
// in a Rollup, so that the result never depends on the order rows arrive in.
struct AggState {
  std::uint64_t count = 0;  // numbers folded; rows for count()
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::int64_t first_t = 0;
  double first = 0;
  std::int64_t last_t = 0;
  double last = 0;

  void Add(double v, std::int64_t t) {
    if (count == 0 || t < first_t || (t == first_t && v < first)) {
      first_t = t;
      first = v;
    }
    if (count == 0 || t > last_t || (t == last_t && v > last)) {
      last_t = t;
      last = v;
    }
    ++count;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  void Merge(const Rollup& r);
  // Adds what `other` folded after what this one did (a later vehicle's rows).
  void Merge(const AggState& other);
  double Result(AggFn fn) const;
};

// Folds rows [begin, end) of `values` (the call's evaluated argument) into `state`; count()
// (no argument) counts rows. Nulls and strings are skipped.
void Fold(AggState& state, AggFn fn, bool has_argument, const Operand& values,
          const std::int64_t* t, std::size_t begin, std::size_t end);
// As Fold over the numbers num[rows[0]], num[rows[1]], ... num[rows[n - 1]] at t[0, n): the
// rows of a join, folded where they lie.
void FoldGathered(AggState& state, AggFn fn, const double* num, const std::uint32_t* rows,
                  const std::int64_t* t, std::size_t n);

}  // namespace canvoy::fleet_store::query
