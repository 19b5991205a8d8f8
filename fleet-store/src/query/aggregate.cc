#include "query/aggregate.h"

namespace canvoy::fleet_store::query {

void AggState::Merge(const Rollup& r) {
  Merge(AggState{r.count, r.sum, r.min, r.max, r.first_us, r.first, r.last_us, r.last});
}

void AggState::Merge(const AggState& other) {
  if (other.count == 0) return;
  if (count == 0 || other.first_t < first_t || (other.first_t == first_t && other.first < first)) {
    first_t = other.first_t;
    first = other.first;
  }
  if (count == 0 || other.last_t > last_t || (other.last_t == last_t && other.last > last)) {
    last_t = other.last_t;
    last = other.last;
  }
  count += other.count;
  sum += other.sum;
  if (other.min < min) min = other.min;
  if (other.max > max) max = other.max;
}

double AggState::Result(AggFn fn) const {
  if (fn == AggFn::kCount) return static_cast<double>(count);
  if (count == 0) return kNullValue;
  switch (fn) {
    case AggFn::kAvg:
      return sum / static_cast<double>(count);
    case AggFn::kMin:
      return min;
    case AggFn::kMax:
      return max;
    case AggFn::kSum:
      return sum;
    case AggFn::kFirst:
      return first;
    default:
      return last;
  }
}

void Fold(AggState& state, AggFn fn, bool has_argument, const Operand& values,
          const std::int64_t* t, std::size_t begin, std::size_t end) {
  if (!has_argument) {
    state.count += end - begin;
    return;
  }
  if (values.kind != Operand::Kind::kNumber) return;
  // sum() and avg() read only the count and the sum: the loops keep just those, adding in row
  // order as Add does, so the sum is the same to the last bit.
  const bool sum_only = fn == AggFn::kAvg || fn == AggFn::kSum;
  if (values.scalar) {
    if (sum_only && !IsNull(values.number)) {
      for (std::size_t i = begin; i < end; ++i) state.sum += values.number;
      state.count += end - begin;
      return;
    }
    for (std::size_t i = begin; i < end; ++i) state.Add(values.number, t[i]);
    return;
  }
  const double* v = values.numbers;
  if (fn == AggFn::kCount) {
    for (std::size_t i = begin; i < end; ++i) state.count += !IsNull(v[i]);
    return;
  }
  if (sum_only) {
    double sum = state.sum;
    std::uint64_t count = state.count;
    for (std::size_t i = begin; i < end; ++i) {
      const bool null = IsNull(v[i]);
      sum += null ? 0.0 : v[i];
      count += null ? 0 : 1;
    }
    state.sum = sum;
    state.count = count;
    return;
  }
  for (std::size_t i = begin; i < end; ++i) {
    if (!IsNull(v[i])) state.Add(v[i], t[i]);
  }
}

void FoldGathered(AggState& state, AggFn fn, const double* num, const std::uint32_t* rows,
                  const std::int64_t* t, std::size_t n) {
  if (fn == AggFn::kCount) {
    for (std::size_t i = 0; i < n; ++i) state.count += !IsNull(num[rows[i]]);
    return;
  }
  if (fn == AggFn::kAvg || fn == AggFn::kSum) {  // as Fold: in row order, to the last bit
    double sum = state.sum;
    std::uint64_t count = state.count;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = num[rows[i]];
      const bool null = IsNull(v);
      sum += null ? 0.0 : v;
      count += null ? 0 : 1;
    }
    state.sum = sum;
    state.count = count;
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double v = num[rows[i]];
    if (!IsNull(v)) state.Add(v, t[i]);
  }
}

}  // namespace canvoy::fleet_store::query
