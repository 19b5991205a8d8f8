// Query expressions: parsing, and binding names to columns, attributes and aggregate calls.
// The language is described in QUERIES.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"

namespace canvoy::fleet_store::query {

enum class Op : std::uint8_t {
  // leaves
  kNumber,
  kString,
  kNull,
  kColumn,  // slot: the column
  kTime,    // t
  kVin,
  kAttr,  // text: the attribute's name
  // unary (a)
  kNeg,
  kNot,
  kAbs,
  // binary (a, b)
  kAdd,
  kSub,
  kMul,
  kDiv,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kMin,
  kMax,
  // aggregate call: `a` is its argument (-1 for count()), slot its index in Expr::calls. When the
  // outer expression is evaluated, the call is a leaf holding its aggregated values.
  kAggregate,
};

enum class AggFn : std::uint8_t { kAvg, kMin, kMax, kSum, kCount, kFirst, kLast };

struct Node {
  Op op = Op::kNull;
  AggFn fn = AggFn::kAvg;  // kAggregate
  bool boolean = false;    // the node's values are 1/0 truth values
  std::uint32_t pos = 0;   // 1-based character position in the text
  std::int32_t a = -1;
  std::int32_t b = -1;
  std::int32_t slot = -1;
  double number = 0;  // kNumber
  std::string text;   // kString: the string; kColumn, kAttr: the name
};

// A parsed, bound expression. Nodes refer to their operands by index; operands come first.
struct Expr {
  std::string text;
  std::vector<Node> nodes;
  std::int32_t root = -1;
  std::vector<std::int32_t> calls;  // the kAggregate nodes, in order of appearance

  const Node& root_node() const { return nodes[static_cast<std::size_t>(root)]; }
};

// What names mean where an expression appears.
struct Scope {
  enum class Kind {
    kRow,     // filter, compute, runs, rises: per row; no aggregate calls
    kBucket,  // bucket aggs: columns only inside aggregate calls; t is the bucket's start
    kGroup,   // group aggs: as kBucket, and neither attr.X nor vin outside a call
  };
  Kind kind = Kind::kRow;
  std::span<const std::string> columns;  // by slot
  bool time_outside_calls = true;        // group without "time": t is not a group value
};

inline constexpr std::size_t kMaxExpressionLength = 4096;

// Parses `text`. Errors are "at N: ..." with N the 1-based character position.
Result<Expr> ParseExpr(std::string_view text, const Scope& scope);

}  // namespace canvoy::fleet_store::query
