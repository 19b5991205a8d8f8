// Evaluates bound expressions over a chunk's column arrays at once: one pass per operator over
// reused buffers, so evaluation allocates nothing per row once the buffers have grown.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "canvoy/fleet_store/types.h"
#include "query/expr.h"
#include "query/frame.h"

namespace canvoy::fleet_store::query {

// A value per row, or one value for every row (`scalar`). Numbers are NaN where null.
struct Operand {
  enum class Kind : std::uint8_t { kNull, kNumber, kString };
  Kind kind = Kind::kNull;
  bool scalar = true;
  bool boolean = false;  // numbers that are truth values (written as true/false)
  double number = kNullValue;
  std::string_view string;
  const double* numbers = nullptr;       // per row
  const std::string* strings = nullptr;  // per row
  const double* string_nulls = nullptr;  // per row: NaN where the string is null

  double NumberAt(std::size_t i) const {
    if (kind != Kind::kNumber) return kNullValue;
    return scalar ? number : numbers[i];
  }
};

// What an evaluation reads. `columns` is used by per-row expressions and aggregate arguments;
// `aggregates` (by call index) and `t` by the outer part of aggregate expressions.
struct EvalInput {
  std::size_t rows = 0;
  const std::int64_t* t = nullptr;
  const std::vector<Column>* columns = nullptr;
  const VehicleInfo* vehicle = nullptr;
  const std::vector<std::vector<double>>* aggregates = nullptr;
};

// An expression with its evaluation buffers. Not thread-safe; one per step and query.
class Expression {
 public:
  explicit Expression(Expr expr) : expr_(std::move(expr)), buffers_(expr_.nodes.size()) {}

  const Expr& expr() const { return expr_; }
  // Evaluates the subtree at `node` (the root by default). The result may point into this
  // object's buffers or into `in`, and stays valid until the next call that evaluates the same
  // nodes. Aggregate calls read `in.aggregates`.
  Operand Evaluate(const EvalInput& in, std::int32_t node);
  Operand Evaluate(const EvalInput& in) { return Evaluate(in, expr_.root); }

 private:
  double* Buffer(std::int32_t node, std::size_t rows);
  Operand Leaf(const Node& n, std::int32_t index, const EvalInput& in);
  Operand Compare(const Node& n, std::int32_t index, const Operand& a, const Operand& b,
                  std::size_t rows);

  Expr expr_;
  std::vector<std::vector<double>> buffers_;  // by node
};

// 1 where the operand is a number other than 0 (true); null, 0 and strings are false.
void Truth(const Operand& v, std::size_t rows, std::vector<std::uint8_t>& out);

// Writes the operand into `out` (cleared first), typed as the operand is.
void Store(const Operand& v, std::size_t rows, Column& out);

// An attribute as an expression sees it: a number when all of it parses as one, else the string.
Operand AttributeValue(const VehicleInfo* vehicle, std::string_view name);

}  // namespace canvoy::fleet_store::query
