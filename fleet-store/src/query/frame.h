// The query engine's columnar rows: one vehicle's rows, a chunk at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "canvoy/fleet_store/cells.h"
#include "canvoy/fleet_store/types.h"

namespace canvoy::fleet_store::query {

// NaN is the engine's null: a NaN sample is not a value (rollups skip it as well), division by
// zero gives it, and it propagates through arithmetic. Infinities are values.
inline constexpr double kNullValue = std::numeric_limits<double>::quiet_NaN();
inline bool IsNull(double v) { return v != v; }

// How a column's cells are written out. A chunk's column takes the type of its first value.
enum class ColumnType : std::uint8_t { kNull, kDouble, kBool, kInt64, kUInt64, kString };

// One column of a chunk. `num` has a cell for every row whatever the type: the number (bool as
// 0/1), NaN for null; for kString 0 where `str` holds a string. kInt64 and kUInt64 keep the exact
// 64 bits in `bits`, so that an integer signal passed through unchanged is written exactly.
struct Column {
  ColumnType type = ColumnType::kNull;
  Cells<double> num;
  Cells<std::uint64_t> bits;     // kInt64 / kUInt64 only
  std::vector<std::string> str;  // kString only

  void Clear() {
    type = ColumnType::kNull;
    num.clear();
    bits.clear();
    str.clear();
  }
  std::size_t size() const { return num.size(); }
  void AppendNull();
  void AppendNumber(double v, ColumnType type_if_first);  // kDouble or kBool
  void Append(const SignalValue& value);
  // Appends values of type `incoming` (kBool, kInt64, kUInt64 or kDouble), none of them NaN:
  // `values` as numbers and, for kInt64 / kUInt64, `exact` with their bits (else empty).
  void AppendNumbers(ColumnType incoming, std::span<const double> values,
                     std::span<const std::uint64_t> exact);
  // Appends row `row` of `other`.
  void AppendFrom(const Column& other, std::size_t row);
  // Appends the rows `rows` of `other`, in that order.
  void Gather(const Column& other, const Cells<std::uint32_t>& rows);
  // Keeps the rows whose `keep` is true, in order; rows before `from` are all kept.
  void Compact(const std::vector<std::uint8_t>& keep, std::size_t from = 0);
};

// Rows of one vehicle in time order (t is non-decreasing), with columns by slot.
struct Frame {
  Cells<std::int64_t> t;
  std::vector<Column> columns;
  // Set by the source when every row satisfies the first step, a filter, as
  // SourcePlan::prefilter_complete allows; that filter passes the rows on as they are.
  bool prefiltered = false;

  std::size_t size() const { return t.size(); }
  void Clear(std::size_t column_count) {
    prefiltered = false;
    t.clear();
    columns.resize(column_count);
    for (auto& c : columns) c.Clear();
  }
  void Compact(const std::vector<std::uint8_t>& keep);
};

// floor(t / width) * width, clamped to the int64 range; width > 0.
std::int64_t FloorTo(std::int64_t t, std::int64_t width);
// The smallest multiple of width that is >= t, clamped.
std::int64_t CeilTo(std::int64_t t, std::int64_t width);

}  // namespace canvoy::fleet_store::query
