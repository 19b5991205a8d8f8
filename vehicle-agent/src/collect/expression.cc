#include "collect/expression.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>

namespace canvoy::agent {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxWindowMs = 24.0 * 3600 * 1000;  // a day; longer windows are a typo

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool Truthy(double v) { return v != 0 && !std::isnan(v); }

}  // namespace

// Recursive descent over the text; builds Expression::nodes_ bottom-up.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, const Expression::Resolver& resolve, std::string_view source)
      : text_(text), resolve_(resolve), source_(source) {}

  Result<Expression> Run() {
    CANVOY_ASSIGN_OR_RETURN(expr_.root_, ParseOr(0));
    SkipSpace();
    if (pos_ < text_.size()) return Fail(pos_, "unexpected '" + std::string(1, text_[pos_]) + "'");
    if (expr_.nodes_.size() > Expression::kMaxNodes) {
      return Fail(0, "more than " + std::to_string(Expression::kMaxNodes) + " terms and operators");
    }
    return std::move(expr_);
  }

 private:
  using Op = Expression::Op;
  using NodeResult = Result<std::int32_t>;

  Error Fail(std::size_t at, const std::string& what) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Error(Errc::kParse, std::string(source_) + ":" + std::to_string(line) + ":" +
                                   std::to_string(col) + ": " + what);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // Consumes `token` if it comes next. Word tokens must not run on into an identifier.
  bool Accept(std::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    const std::size_t end = pos_ + token.size();
    if (IsIdentChar(token.back()) && end < text_.size() && (IsIdentChar(text_[end]) || text_[end] == '.')) {
      return false;
    }
    pos_ = end;
    return true;
  }

  std::int32_t Add(Expression::Node node) {
    expr_.nodes_.push_back(node);
    return static_cast<std::int32_t>(expr_.nodes_.size() - 1);
  }
  std::int32_t Binary(Op op, std::int32_t lhs, std::int32_t rhs) {
    return Add({.op = op, .lhs = lhs, .rhs = rhs});
  }

  Status Enter(int depth) {
    if (depth > Expression::kMaxDepth) {
      return Fail(pos_, "nested deeper than " + std::to_string(Expression::kMaxDepth) + " levels");
    }
    return OkStatus();
  }

  NodeResult ParseOr(int depth) {
    CANVOY_RETURN_IF_ERROR(Enter(depth));
    CANVOY_ASSIGN_OR_RETURN(std::int32_t lhs, ParseAnd(depth));
    while (Accept("or") || Accept("||")) {
      CANVOY_ASSIGN_OR_RETURN(std::int32_t rhs, ParseAnd(depth));
      lhs = Binary(Op::kOr, lhs, rhs);
    }
    return lhs;
  }

  NodeResult ParseAnd(int depth) {
    CANVOY_ASSIGN_OR_RETURN(std::int32_t lhs, ParseNot(depth));
    while (Accept("and") || Accept("&&")) {
      CANVOY_ASSIGN_OR_RETURN(std::int32_t rhs, ParseNot(depth));
      lhs = Binary(Op::kAnd, lhs, rhs);
    }
    return lhs;
  }

  NodeResult ParseNot(int depth) {
    CANVOY_RETURN_IF_ERROR(Enter(depth));
    SkipSpace();
    if (Accept("not") || (text_.substr(pos_, 2) != "!=" && Accept("!"))) {
      CANVOY_ASSIGN_OR_RETURN(std::int32_t operand, ParseNot(depth + 1));
      return Add({.op = Op::kNot, .lhs = operand});
    }
    return ParseCompare(depth);
  }

  std::optional<Op> AcceptComparison() {
    if (Accept("<=")) return Op::kLe;
    if (Accept(">=")) return Op::kGe;
    if (Accept("==")) return Op::kEq;
    if (Accept("!=")) return Op::kNe;
    if (Accept("<")) return Op::kLt;
    if (Accept(">")) return Op::kGt;
    return std::nullopt;
  }

  NodeResult ParseCompare(int depth) {
    CANVOY_ASSIGN_OR_RETURN(std::int32_t lhs, ParseSum(depth));
    const auto op = AcceptComparison();
    if (!op) return lhs;
    CANVOY_ASSIGN_OR_RETURN(std::int32_t rhs, ParseSum(depth));
    SkipSpace();
    const std::size_t at = pos_;
    if (AcceptComparison()) return Fail(at, "comparisons do not chain; combine them with 'and'");
    return Binary(*op, lhs, rhs);
  }

  NodeResult ParseSum(int depth) {
    CANVOY_ASSIGN_OR_RETURN(std::int32_t lhs, ParseProduct(depth));
    for (;;) {
      Op op;
      if (Accept("+")) {
        op = Op::kAdd;
      } else if (Accept("-")) {
        op = Op::kSub;
      } else {
        return lhs;
      }
      CANVOY_ASSIGN_OR_RETURN(std::int32_t rhs, ParseProduct(depth));
      lhs = Binary(op, lhs, rhs);
    }
  }

  NodeResult ParseProduct(int depth) {
    CANVOY_ASSIGN_OR_RETURN(std::int32_t lhs, ParseUnary(depth));
    for (;;) {
      Op op;
      if (Accept("*")) {
        op = Op::kMul;
      } else if (Accept("/")) {
        op = Op::kDiv;
      } else {
        return lhs;
      }
      CANVOY_ASSIGN_OR_RETURN(std::int32_t rhs, ParseUnary(depth));
      lhs = Binary(op, lhs, rhs);
    }
  }

  NodeResult ParseUnary(int depth) {
    CANVOY_RETURN_IF_ERROR(Enter(depth));
    if (Accept("-")) {
      CANVOY_ASSIGN_OR_RETURN(std::int32_t operand, ParseUnary(depth + 1));
      return Add({.op = Op::kNeg, .lhs = operand});
    }
    return ParsePrimary(depth);
  }

  NodeResult ParsePrimary(int depth) {
    SkipSpace();
    const std::size_t start = pos_;
    if (pos_ >= text_.size()) return Fail(pos_, "expected a number, a signal name or '('");
    if (Accept("(")) {
      CANVOY_ASSIGN_OR_RETURN(std::int32_t inner, ParseOr(depth + 1));
      if (!Accept(")")) return Fail(SpaceSkipped(), "expected ')'");
      return inner;
    }
    if (IsDigit(text_[pos_]) || text_[pos_] == '.') {
      CANVOY_ASSIGN_OR_RETURN(double value, ParseNumber());
      return Add({.op = Op::kConst, .value = value});
    }
    if (!IsIdentStart(text_[pos_])) {
      return Fail(pos_, "expected a number, a signal name or '(', not '" + std::string(1, text_[pos_]) + "'");
    }
    const std::string_view name = ParseName();
    if (name == "and" || name == "or" || name == "not") {
      return Fail(start, "expected an operand before '" + std::string(name) + "'");
    }
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      if (name != "min" && name != "max" && name != "avg") {
        return Fail(start, "unknown function '" + std::string(name) + "' (min, max and avg are known)");
      }
      ++pos_;
      return ParseWindow(name == "min" ? WindowFunc::kMin : name == "max" ? WindowFunc::kMax : WindowFunc::kAvg);
    }
    CANVOY_ASSIGN_OR_RETURN(SignalId id, Resolve(name, start));
    return Add({.op = Op::kSignal, .signal = id});
  }

  // After "min(": NAME ',' NUMBER ')'.
  NodeResult ParseWindow(WindowFunc func) {
    SkipSpace();
    const std::size_t name_at = pos_;
    if (pos_ >= text_.size() || !IsIdentStart(text_[pos_])) return Fail(pos_, "expected a signal name");
    const std::string_view name = ParseName();
    CANVOY_ASSIGN_OR_RETURN(SignalId id, Resolve(name, name_at));
    if (!Accept(",")) return Fail(SpaceSkipped(), "expected ',' and a window in milliseconds");
    SkipSpace();
    const std::size_t number_at = pos_;
    if (pos_ >= text_.size() || !(IsDigit(text_[pos_]) || text_[pos_] == '.')) {
      return Fail(pos_, "expected a window in milliseconds");
    }
    CANVOY_ASSIGN_OR_RETURN(double ms, ParseNumber());
    if (!(ms > 0) || ms > kMaxWindowMs) {
      return Fail(number_at, "the window must be more than 0 and at most 86400000 ms");
    }
    if (!Accept(")")) return Fail(SpaceSkipped(), "expected ')'");
    const auto window_us = static_cast<std::int64_t>(std::llround(ms * 1000));
    expr_.windows_.push_back({id, window_us < 1 ? 1 : window_us, func});
    return Add({.op = Op::kWindow, .slot = static_cast<std::uint32_t>(expr_.windows_.size() - 1)});
  }

  std::size_t SpaceSkipped() {
    SkipSpace();
    return pos_;
  }

  std::string_view ParseName() {
    const std::size_t start = pos_;
    for (;;) {
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsIdentStart(text_[pos_ + 1])) {
        ++pos_;
        continue;
      }
      return text_.substr(start, pos_ - start);
    }
  }

  Result<double> ParseNumber() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && (IsDigit(text_[pos_]) || text_[pos_] == '.')) ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && IsDigit(text_[p])) {
        pos_ = p;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      }
    }
    double value = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || ptr != last || !std::isfinite(value)) {
      return Fail(start, "bad number '" + std::string(text_.substr(start, pos_ - start)) + "'");
    }
    if (pos_ < text_.size() && IsIdentStart(text_[pos_])) return Fail(pos_, "unexpected '" + std::string(1, text_[pos_]) + "' after a number");
    return value;
  }

  Result<SignalId> Resolve(std::string_view name, std::size_t at) {
    auto id = resolve_(name);
    if (!id) return Fail(at, id.error().message());
    bool seen = false;
    for (SignalId s : expr_.signals_) seen = seen || s == id.value();
    if (!seen) expr_.signals_.push_back(id.value());
    return id.value();
  }

  std::string_view text_;
  const Expression::Resolver& resolve_;
  std::string_view source_;
  std::size_t pos_ = 0;
  Expression expr_;
};

Result<Expression> Expression::Parse(std::string_view text, const Resolver& resolve, std::string_view source) {
  return ExpressionParser(text, resolve, source).Run();
}

double Expression::Evaluate(const ExpressionInputs& inputs) const { return Eval(root_, inputs); }

double Expression::Eval(std::int32_t index, const ExpressionInputs& inputs) const {
  const Node& n = nodes_[static_cast<std::size_t>(index)];
  switch (n.op) {
    case Op::kConst: return n.value;
    case Op::kSignal: return inputs.Value(n.signal);
    case Op::kWindow: return inputs.Window(n.slot);
    case Op::kNeg: return -Eval(n.lhs, inputs);
    case Op::kNot: return Truthy(Eval(n.lhs, inputs)) ? 0.0 : 1.0;
    case Op::kAnd: return Truthy(Eval(n.lhs, inputs)) && Truthy(Eval(n.rhs, inputs)) ? 1.0 : 0.0;
    case Op::kOr: return Truthy(Eval(n.lhs, inputs)) || Truthy(Eval(n.rhs, inputs)) ? 1.0 : 0.0;
    default: break;
  }
  const double a = Eval(n.lhs, inputs);
  const double b = Eval(n.rhs, inputs);
  switch (n.op) {
    case Op::kAdd: return a + b;
    case Op::kSub: return a - b;
    case Op::kMul: return a * b;
    case Op::kDiv: return b == 0 ? kNaN : a / b;
    case Op::kLt: return a < b ? 1.0 : 0.0;
    case Op::kLe: return a <= b ? 1.0 : 0.0;
    case Op::kGt: return a > b ? 1.0 : 0.0;
    case Op::kGe: return a >= b ? 1.0 : 0.0;
    case Op::kEq: return a == b ? 1.0 : 0.0;
    case Op::kNe: return !std::isnan(a) && !std::isnan(b) && a != b ? 1.0 : 0.0;
    default: return kNaN;
  }
}

std::string Expression::ToString() const { return root_ < 0 ? "" : Print(root_); }

std::string Expression::Print(std::int32_t index) const {
  const Node& n = nodes_[static_cast<std::size_t>(index)];
  static constexpr const char* kFuncs[] = {"min", "max", "avg"};
  switch (n.op) {
    case Op::kConst: {
      char buffer[32];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n.value);
      return ec == std::errc() ? std::string(buffer, end) : "?";
    }
    case Op::kSignal: return "#" + std::to_string(n.signal);
    case Op::kWindow: {
      const WindowTerm& w = windows_[n.slot];
      return std::string(kFuncs[static_cast<int>(w.func)]) + "(#" + std::to_string(w.signal) + ", " +
             std::to_string(w.window_us) + "us)";
    }
    case Op::kNeg: return "(-" + Print(n.lhs) + ")";
    case Op::kNot: return "(not " + Print(n.lhs) + ")";
    default: break;
  }
  static constexpr const char* kOps[] = {"", "", "", "", "", "+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or"};
  return "(" + Print(n.lhs) + " " + kOps[static_cast<int>(n.op)] + " " + Print(n.rhs) + ")";
}

Expression::Resolver CatalogResolver(const telemetry::v1::Catalog& catalog) {
  auto names = std::make_shared<std::unordered_map<std::string, SignalId>>();
  for (const auto& s : catalog.signals()) names->emplace(s.name(), s.id());
  for (const auto& s : catalog.signals()) names->emplace(s.dbc_message() + "." + s.dbc_signal(), s.id());
  return [names](std::string_view name) -> Result<SignalId> {
    const auto it = names->find(std::string(name));
    if (it == names->end()) {
      return Error(Errc::kNotFound, "unknown signal '" + std::string(name) + "' (not a collected signal of the catalog)");
    }
    return it->second;
  };
}

}  // namespace canvoy::agent
