#include "query/eval.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace canvoy::fleet_store::query {
namespace {

Operand Number(double v, bool boolean = false) {
  Operand o;
  if (IsNull(v)) return o;
  o.kind = Operand::Kind::kNumber;
  o.number = v;
  o.boolean = boolean;
  return o;
}

Operand Numbers(const double* values, bool boolean = false) {
  Operand o;
  o.kind = Operand::Kind::kNumber;
  o.scalar = false;
  o.numbers = values;
  o.boolean = boolean;
  return o;
}

// A numeric view of an operand: strings are null in arithmetic.
struct NumView {
  bool scalar = true;
  double value = kNullValue;
  const double* values = nullptr;
  double at(std::size_t i) const { return scalar ? value : values[i]; }
};

NumView AsNumbers(const Operand& o) {
  if (o.kind != Operand::Kind::kNumber) return {};
  return o.scalar ? NumView{true, o.number, nullptr} : NumView{false, 0, o.numbers};
}

// out[i] = f(a[i], b[i]) over numbers; a scalar result when both sides are scalars.
template <class F>
Operand Binary(const Operand& a, const Operand& b, std::size_t rows, double* out, bool boolean,
               F f) {
  const NumView x = AsNumbers(a);
  const NumView y = AsNumbers(b);
  if (x.scalar && y.scalar) return Number(f(x.value, y.value), boolean);
  if (x.scalar) {
    for (std::size_t i = 0; i < rows; ++i) out[i] = f(x.value, y.values[i]);
  } else if (y.scalar) {
    for (std::size_t i = 0; i < rows; ++i) out[i] = f(x.values[i], y.value);
  } else {
    for (std::size_t i = 0; i < rows; ++i) out[i] = f(x.values[i], y.values[i]);
  }
  return Numbers(out, boolean);
}

template <class F>
Operand Unary(const Operand& a, std::size_t rows, double* out, bool boolean, F f) {
  const NumView x = AsNumbers(a);
  if (x.scalar) return Number(f(x.value), boolean);
  for (std::size_t i = 0; i < rows; ++i) out[i] = f(x.values[i]);
  return Numbers(out, boolean);
}

double TruthOf(double v) { return (!IsNull(v) && v != 0) ? 1 : 0; }

// The text a comparison with a string sees: strings as they are, numbers in their shortest form.
std::optional<std::string_view> TextAt(const Operand& o, std::size_t i, char (&buffer)[32]) {
  if (o.kind == Operand::Kind::kNull) return std::nullopt;
  if (o.kind == Operand::Kind::kString) {
    if (o.scalar) return o.string;
    if (IsNull(o.string_nulls[i])) return std::nullopt;
    return std::string_view(o.strings[i]);
  }
  const double v = o.scalar ? o.number : o.numbers[i];
  if (IsNull(v)) return std::nullopt;
  auto r = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string_view(buffer, static_cast<std::size_t>(r.ptr - buffer));
}

bool CompareResult(Op op, int c) {
  switch (op) {
    case Op::kLt:
      return c < 0;
    case Op::kLe:
      return c <= 0;
    case Op::kGt:
      return c > 0;
    case Op::kGe:
      return c >= 0;
    case Op::kEq:
      return c == 0;
    default:
      return c != 0;
  }
}

}  // namespace

Operand AttributeValue(const VehicleInfo* vehicle, std::string_view name) {
  if (vehicle == nullptr) return {};
  auto it = vehicle->attributes.find(name);
  if (it == vehicle->attributes.end()) return {};
  const std::string& text = it->second;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && !std::isnan(v))
    return Number(v);
  Operand o;
  o.kind = Operand::Kind::kString;
  o.string = text;
  return o;
}

double* Expression::Buffer(std::int32_t node, std::size_t rows) {
  auto& buffer = buffers_[static_cast<std::size_t>(node)];
  if (buffer.size() < rows) buffer.resize(rows);
  return buffer.data();
}

Operand Expression::Leaf(const Node& n, std::int32_t index, const EvalInput& in) {
  switch (n.op) {
    case Op::kNumber:
      return Number(n.number, n.boolean);
    case Op::kString: {
      Operand o;
      o.kind = Operand::Kind::kString;
      o.string = n.text;
      return o;
    }
    case Op::kColumn: {
      const Column& c = (*in.columns)[static_cast<std::size_t>(n.slot)];
      if (c.type == ColumnType::kNull) return {};
      if (c.type == ColumnType::kString) {
        Operand o;
        o.kind = Operand::Kind::kString;
        o.scalar = false;
        o.strings = c.str.data();
        o.string_nulls = c.num.data();
        return o;
      }
      return Numbers(c.num.data(), c.type == ColumnType::kBool);
    }
    case Op::kTime: {
      double* out = Buffer(index, in.rows);
      for (std::size_t i = 0; i < in.rows; ++i) out[i] = static_cast<double>(in.t[i]);
      return Numbers(out);
    }
    case Op::kVin: {
      if (in.vehicle == nullptr) return {};
      Operand o;
      o.kind = Operand::Kind::kString;
      o.string = in.vehicle->summary.vin.str();
      return o;
    }
    case Op::kAttr:
      return AttributeValue(in.vehicle, n.text);
    case Op::kAggregate:
      return Numbers((*in.aggregates)[static_cast<std::size_t>(n.slot)].data());
    default:
      return {};
  }
}

Operand Expression::Compare(const Node& n, std::int32_t index, const Operand& a, const Operand& b,
                            std::size_t rows) {
  using K = Operand::Kind;
  if (a.kind == K::kNull || b.kind == K::kNull) return Number(0, true);
  if (a.kind == K::kNumber && b.kind == K::kNumber) {
    double* out = Buffer(index, rows);
    switch (n.op) {
      case Op::kLt:
        return Binary(a, b, rows, out, true, [](double x, double y) { return x < y ? 1.0 : 0.0; });
      case Op::kLe:
        return Binary(a, b, rows, out, true, [](double x, double y) { return x <= y ? 1.0 : 0.0; });
      case Op::kGt:
        return Binary(a, b, rows, out, true, [](double x, double y) { return x > y ? 1.0 : 0.0; });
      case Op::kGe:
        return Binary(a, b, rows, out, true, [](double x, double y) { return x >= y ? 1.0 : 0.0; });
      case Op::kEq:
        return Binary(a, b, rows, out, true, [](double x, double y) { return x == y ? 1.0 : 0.0; });
      default:
        return Binary(a, b, rows, out, true, [](double x, double y) {
          return (!IsNull(x) && !IsNull(y) && x != y) ? 1.0 : 0.0;
        });
    }
  }
  // A string on at least one side: compare texts, numbers in their shortest form.
  char left[32];
  char right[32];
  auto one = [&](std::size_t i) {
    auto x = TextAt(a, i, left);
    auto y = TextAt(b, i, right);
    if (!x || !y) return 0.0;
    return CompareResult(n.op, x->compare(*y)) ? 1.0 : 0.0;
  };
  if (a.scalar && b.scalar) return Number(one(0), true);
  double* out = Buffer(index, rows);
  for (std::size_t i = 0; i < rows; ++i) out[i] = one(i);
  return Numbers(out, true);
}

Operand Expression::Evaluate(const EvalInput& in, std::int32_t index) {
  const Node& n = expr_.nodes[static_cast<std::size_t>(index)];
  if (n.a < 0 || n.op == Op::kAggregate) return Leaf(n, index, in);
  const Operand a = Evaluate(in, n.a);
  const std::size_t rows = in.rows;
  switch (n.op) {
    case Op::kNeg:
      return Unary(a, rows, Buffer(index, rows), false, [](double x) { return -x; });
    case Op::kAbs:
      return Unary(a, rows, Buffer(index, rows), false, [](double x) { return std::fabs(x); });
    case Op::kNot:
      return Unary(a, rows, Buffer(index, rows), true, [](double x) { return 1 - TruthOf(x); });
    default:
      break;
  }
  const Operand b = Evaluate(in, n.b);
  double* out = Buffer(index, rows);
  switch (n.op) {
    case Op::kAdd:
      return Binary(a, b, rows, out, false, [](double x, double y) { return x + y; });
    case Op::kSub:
      return Binary(a, b, rows, out, false, [](double x, double y) { return x - y; });
    case Op::kMul:
      return Binary(a, b, rows, out, false, [](double x, double y) { return x * y; });
    case Op::kDiv:
      return Binary(a, b, rows, out, false,
                    [](double x, double y) { return y == 0 ? kNullValue : x / y; });
    case Op::kMin:
      return Binary(a, b, rows, out, false, [](double x, double y) {
        return (IsNull(x) || IsNull(y)) ? kNullValue : std::min(x, y);
      });
    case Op::kMax:
      return Binary(a, b, rows, out, false, [](double x, double y) {
        return (IsNull(x) || IsNull(y)) ? kNullValue : std::max(x, y);
      });
    case Op::kAnd:
      return Binary(a, b, rows, out, true,
                    [](double x, double y) { return TruthOf(x) * TruthOf(y); });
    case Op::kOr:
      return Binary(a, b, rows, out, true,
                    [](double x, double y) { return std::max(TruthOf(x), TruthOf(y)); });
    default:
      return Compare(n, index, a, b, rows);
  }
}

void Truth(const Operand& v, std::size_t rows, std::vector<std::uint8_t>& out) {
  out.resize(rows);
  const NumView x = AsNumbers(v);
  if (x.scalar) {
    std::fill(out.begin(), out.end(), static_cast<std::uint8_t>(TruthOf(x.value)));
    return;
  }
  for (std::size_t i = 0; i < rows; ++i) out[i] = TruthOf(x.values[i]) != 0;
}

void Store(const Operand& v, std::size_t rows, Column& out) {
  out.Clear();
  switch (v.kind) {
    case Operand::Kind::kNull:
      out.num.assign(rows, kNullValue);
      return;
    case Operand::Kind::kNumber:
      out.type = v.boolean ? ColumnType::kBool : ColumnType::kDouble;
      if (v.scalar) {
        out.num.assign(rows, v.number);
      } else {
        AppendCells(out.num, v.numbers, v.numbers + rows);  // out is empty (Clear)
      }
      return;
    case Operand::Kind::kString:
      out.type = ColumnType::kString;
      out.num.resize(rows);
      out.str.resize(rows);
      for (std::size_t i = 0; i < rows; ++i) {
        if (v.scalar || !IsNull(v.string_nulls[i])) {
          out.num[i] = 0;
          out.str[i] = v.scalar ? std::string(v.string) : v.strings[i];
        } else {
          out.num[i] = kNullValue;
        }
      }
      return;
  }
}

}  // namespace canvoy::fleet_store::query
