// Trigger conditions: a small expression language over signal values, parsed once from text and
// evaluated against the collector's current values and time windows.
//
// Grammar (lowest precedence first; `and`/`or`/`not` may also be written `&&`/`||`/`!`):
//   expr    := and ( 'or' and )*
//   and     := not ( 'and' not )*
//   not     := 'not' not | compare
//   compare := sum [ ('<' | '<=' | '>' | '>=' | '==' | '!=') sum ]     (comparisons do not chain)
//   sum     := product ( ('+' | '-') product )*
//   product := unary ( ('*' | '/') unary )*
//   unary   := '-' unary | primary
//   primary := NUMBER | NAME | ('min' | 'max' | 'avg') '(' NAME ',' NUMBER ')' | '(' expr ')'
//   NAME    := IDENT ( '.' IDENT )*        IDENT := [A-Za-z_][A-Za-z0-9_]*
// The NUMBER in min/max/avg is the window in milliseconds (> 0). Values are doubles; comparisons
// and and/or/not give 1 or 0; a value is true when it is neither 0 nor NaN. x / 0 is NaN, and
// every comparison with NaN is false.
//
// An Expression is immutable after Parse; Evaluate may run on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {

enum class WindowFunc : std::uint8_t { kMin, kMax, kAvg };

// One min/max/avg term: the aggregate of `signal`'s samples with timestamps in (now - window, now].
struct WindowTerm {
  SignalId signal = 0;
  std::int64_t window_us = 0;
  WindowFunc func = WindowFunc::kMin;
};

// What Evaluate reads: the newest value of a signal, and the value of window term `slot`
// (an index into Expression::windows()). Either may be NaN (no sample, empty window).
class ExpressionInputs {
 public:
  virtual ~ExpressionInputs() = default;
  virtual double Value(SignalId signal) const = 0;
  virtual double Window(std::size_t slot) const = 0;
};

class Expression {
 public:
  // Nesting deeper than this is a parse error (it bounds the evaluator's recursion).
  static constexpr int kMaxDepth = 64;
  // More nodes than this is a parse error (it bounds the evaluator's recursion on long chains).
  static constexpr std::size_t kMaxNodes = 512;
  // Resolves a NAME to a signal id, or returns an error message ("unknown signal ...").
  using Resolver = std::function<Result<SignalId>(std::string_view name)>;

  // Errors read "<source>:<line>:<col>: what", e.g. "expression:1:17: expected ')'".
  [[nodiscard]] static Result<Expression> Parse(std::string_view text, const Resolver& resolve,
                                                std::string_view source = "expression");

  double Evaluate(const ExpressionInputs& inputs) const;
  // Every signal the expression reads, plain or in a window, once each, in order of appearance.
  const std::vector<SignalId>& signals() const { return signals_; }
  const std::vector<WindowTerm>& windows() const { return windows_; }
  // Fully parenthesized form with signal ids ("(#1 + (2 * #3))"), to show the parse.
  std::string ToString() const;

  enum class Op : std::uint8_t {
    kConst, kSignal, kWindow, kNeg, kNot,
    kAdd, kSub, kMul, kDiv, kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr,
  };
  struct Node {
    Op op = Op::kConst;
    double value = 0;           // kConst
    SignalId signal = 0;        // kSignal
    std::uint32_t slot = 0;     // kWindow: index into windows_
    std::int32_t lhs = -1;      // operands: indexes into nodes_
    std::int32_t rhs = -1;
  };

 private:
  friend class ExpressionParser;
  double Eval(std::int32_t node, const ExpressionInputs& inputs) const;
  std::string Print(std::int32_t node) const;

  std::vector<Node> nodes_;
  std::int32_t root_ = -1;
  std::vector<SignalId> signals_;
  std::vector<WindowTerm> windows_;
};

// A Resolver over a catalog: a NAME is a catalog name (e.g. "Vehicle.Speed") or a DBC name
// "<Message>.<Signal>" of a cataloged signal. The resolver keeps its own copy of the names.
Expression::Resolver CatalogResolver(const telemetry::v1::Catalog& catalog);

}  // namespace canvoy::agent
