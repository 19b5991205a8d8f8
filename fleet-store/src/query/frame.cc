#include "query/frame.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace canvoy::fleet_store::query {
namespace {

// A column whose values so far are all null takes `type`; earlier rows stay null.
void Adopt(Column& c, ColumnType type) {
  c.type = type;
  if (type == ColumnType::kInt64 || type == ColumnType::kUInt64) c.bits.assign(c.num.size(), 0);
  if (type == ColumnType::kString) c.str.assign(c.num.size(), std::string());
}

// Numbers of mixed types (an int64 signal that sent a double once) are written as doubles.
void Demote(Column& c) {
  c.type = ColumnType::kDouble;
  c.bits.clear();
}

std::string NumberText(const SignalValue& value) {
  char buffer[32];
  std::to_chars_result r{};
  switch (value.index()) {
    case 0:
      return std::get<bool>(value) ? "true" : "false";
    case 1:
      r = std::to_chars(buffer, buffer + sizeof buffer, std::get<std::int64_t>(value));
      break;
    case 2:
      r = std::to_chars(buffer, buffer + sizeof buffer, std::get<std::uint64_t>(value));
      break;
    default:
      r = std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(value));
      break;
  }
  return std::string(buffer, r.ptr);
}

}  // namespace

void Column::AppendNull() {
  num.push_back(kNullValue);
  if (type == ColumnType::kInt64 || type == ColumnType::kUInt64) bits.push_back(0);
  if (type == ColumnType::kString) str.emplace_back();
}

void Column::AppendNumber(double v, ColumnType type_if_first) {
  if (IsNull(v)) return AppendNull();
  if (type == ColumnType::kNull) Adopt(*this, type_if_first);
  if (type == ColumnType::kString) {
    num.push_back(0);
    str.push_back(NumberText(v));
    return;
  }
  if (type != type_if_first) Demote(*this);
  num.push_back(v);
}

void Column::Append(const SignalValue& value) {
  ColumnType incoming = ColumnType::kDouble;
  switch (value.index()) {
    case 0:
      incoming = ColumnType::kBool;
      break;
    case 1:
      incoming = ColumnType::kInt64;
      break;
    case 2:
      incoming = ColumnType::kUInt64;
      break;
    case 3:
      incoming = ColumnType::kDouble;
      break;
    default:
      incoming = ColumnType::kString;
      break;
  }
  if (incoming == ColumnType::kDouble && std::isnan(std::get<double>(value))) return AppendNull();
  if (type == ColumnType::kNull) Adopt(*this, incoming);
  if (type == ColumnType::kString) {
    num.push_back(0);
    str.push_back(incoming == ColumnType::kString ? std::get<std::string>(value)
                                                  : NumberText(value));
    return;
  }
  if (incoming == ColumnType::kString) return AppendNull();  // a string where numbers were
  if (incoming != type) Demote(*this);
  switch (incoming) {
    case ColumnType::kBool:
      num.push_back(std::get<bool>(value) ? 1 : 0);
      break;
    case ColumnType::kInt64: {
      const auto v = std::get<std::int64_t>(value);
      num.push_back(static_cast<double>(v));
      if (type == ColumnType::kInt64) bits.push_back(static_cast<std::uint64_t>(v));
      break;
    }
    case ColumnType::kUInt64: {
      const auto v = std::get<std::uint64_t>(value);
      num.push_back(static_cast<double>(v));
      if (type == ColumnType::kUInt64) bits.push_back(v);
      break;
    }
    default:
      num.push_back(std::get<double>(value));
      break;
  }
}

void Column::AppendNumbers(ColumnType incoming, std::span<const double> values,
                           std::span<const std::uint64_t> exact) {
  if (values.empty()) return;
  if (type == ColumnType::kNull) Adopt(*this, incoming);
  if (type == ColumnType::kString) {  // numbers where strings were: written as text
    for (std::size_t i = 0; i < values.size(); ++i) {
      switch (incoming) {
        case ColumnType::kBool:
          Append(values[i] != 0);
          break;
        case ColumnType::kInt64:
          Append(static_cast<std::int64_t>(exact[i]));
          break;
        case ColumnType::kUInt64:
          Append(exact[i]);
          break;
        default:
          Append(values[i]);
          break;
      }
    }
    return;
  }
  if (incoming != type) Demote(*this);
  AppendCells(num, values.data(), values.data() + values.size());
  if (type == ColumnType::kInt64 || type == ColumnType::kUInt64)
    AppendCells(bits, exact.data(), exact.data() + exact.size());
}

void Column::AppendFrom(const Column& other, std::size_t row) {
  const double v = other.num[row];
  if (IsNull(v)) return AppendNull();
  if (type == ColumnType::kNull) Adopt(*this, other.type);
  if (type == other.type) {  // the common case: no conversion
    num.push_back(v);
    if (type == ColumnType::kInt64 || type == ColumnType::kUInt64) bits.push_back(other.bits[row]);
    if (type == ColumnType::kString) str.push_back(other.str[row]);
    return;
  }
  switch (other.type) {
    case ColumnType::kInt64:
      return Append(static_cast<std::int64_t>(other.bits[row]));
    case ColumnType::kUInt64:
      return Append(other.bits[row]);
    case ColumnType::kString:
      return Append(other.str[row]);
    case ColumnType::kBool:
      return Append(v != 0);
    default:
      return Append(v);
  }
}

void Column::Gather(const Column& other, const Cells<std::uint32_t>& rows) {
  if (rows.empty()) return;
  if (type == ColumnType::kNull && other.type != ColumnType::kNull) Adopt(*this, other.type);
  if (type != other.type) {
    for (auto row : rows) AppendFrom(other, row);
    return;
  }
  const std::size_t before = num.size();
  num.resize(before + rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) num[before + i] = other.num[rows[i]];
  if (type == ColumnType::kInt64 || type == ColumnType::kUInt64) {
    bits.resize(before + rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) bits[before + i] = other.bits[rows[i]];
  }
  if (type == ColumnType::kString) {
    for (auto row : rows) str.push_back(other.str[row]);
  }
}

void Column::Compact(const std::vector<std::uint8_t>& keep, std::size_t from) {
  std::size_t out = from;
  if (!str.empty()) {
    for (std::size_t i = from; i < keep.size(); ++i) {
      if (!keep[i]) continue;
      num[out] = num[i];
      if (out != i) str[out] = std::move(str[i]);
      ++out;
    }
    str.resize(out);
  } else {
    // Numbers: every row is written and the position advances by keep, without a branch.
    double* n = num.data();
    std::uint64_t* b = bits.empty() ? nullptr : bits.data();
    for (std::size_t i = from; i < keep.size(); ++i) {
      n[out] = n[i];
      if (b != nullptr) b[out] = b[i];
      out += keep[i] != 0 ? 1 : 0;
    }
    if (b != nullptr) bits.resize(out);
  }
  num.resize(out);
}

void Frame::Compact(const std::vector<std::uint8_t>& keep) {
  // The leading rows kept stay where they are: nothing moves when every row is kept.
  const auto first_dropped =
      static_cast<std::size_t>(std::find(keep.begin(), keep.end(), 0) - keep.begin());
  if (first_dropped == keep.size()) return;
  std::size_t out = first_dropped;
  std::int64_t* times = t.data();
  for (std::size_t i = first_dropped; i < keep.size(); ++i) {
    times[out] = times[i];
    out += keep[i] != 0 ? 1 : 0;
  }
  t.resize(out);
  for (auto& c : columns) c.Compact(keep, first_dropped);
}

std::int64_t FloorTo(std::int64_t t, std::int64_t width) {
  std::int64_t q = t / width;
  if (t % width != 0 && t < 0) --q;
  // INT64_MIN / width rounds towards zero: the smallest quotient whose product fits.
  if (q < std::numeric_limits<std::int64_t>::min() / width)
    return std::numeric_limits<std::int64_t>::min();
  return q * width;
}

std::int64_t CeilTo(std::int64_t t, std::int64_t width) {
  std::int64_t q = t / width;
  if (t % width != 0 && t > 0) ++q;
  if (q > std::numeric_limits<std::int64_t>::max() / width)
    return std::numeric_limits<std::int64_t>::max();
  return q * width;
}

}  // namespace canvoy::fleet_store::query
