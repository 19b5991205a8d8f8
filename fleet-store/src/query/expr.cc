#include "query/expr.h"

#include <charconv>
#include <optional>

namespace canvoy::fleet_store::query {
namespace {

constexpr int kMaxDepth = 100;

enum class Tok : std::uint8_t { kNumber, kString, kIdent, kQuoted, kSymbol, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::uint32_t pos = 0;  // 1-based
  std::string text;       // identifier, string contents or symbol
  double number = 0;
};

Error ErrorAt(std::uint32_t pos, const std::string& what) {
  return Error(Errc::kInvalidArgument, "at " + std::to_string(pos) + ": " + what);
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '.'; }

Result<Token> Quoted(std::string_view text, std::size_t& i, char quote, Tok kind) {
  Token token{kind, static_cast<std::uint32_t>(i + 1), "", 0};
  for (++i; i < text.size(); ++i) {
    if (text[i] != quote) {
      token.text.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == quote) {  // '' stands for '
      token.text.push_back(quote);
      ++i;
      continue;
    }
    ++i;
    return token;
  }
  return ErrorAt(token.pos, std::string("unterminated ") + (quote == '\'' ? "string" : "name"));
}

Result<Token> Number(std::string_view text, std::size_t& i) {
  const std::size_t start = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    if (j < text.size() && IsDigit(text[j])) {
      i = j;
      while (i < text.size() && IsDigit(text[i])) ++i;
    }
  }
  Token token{Tok::kNumber, static_cast<std::uint32_t>(start + 1), "", 0};
  auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, token.number);
  if (ec != std::errc() || end != text.data() + i || (i < text.size() && IsIdentChar(text[i])))
    return ErrorAt(token.pos, "malformed number");
  return token;
}

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto pos = static_cast<std::uint32_t>(i + 1);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (IsDigit(c) || (c == '.' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      CANVOY_ASSIGN_OR_RETURN(auto token, Number(text, i));
      out.push_back(std::move(token));
    } else if (IsIdentStart(c)) {
      const std::size_t start = i;
      while (i < text.size() && IsIdentChar(text[i])) ++i;
      out.push_back({Tok::kIdent, pos, std::string(text.substr(start, i - start)), 0});
    } else if (c == '\'') {
      CANVOY_ASSIGN_OR_RETURN(auto token, Quoted(text, i, '\'', Tok::kString));
      out.push_back(std::move(token));
    } else if (c == '"') {
      CANVOY_ASSIGN_OR_RETURN(auto token, Quoted(text, i, '"', Tok::kQuoted));
      out.push_back(std::move(token));
    } else {
      const std::string_view two = text.substr(i, 2);
      if (two == "<=" || two == ">=" || two == "==" || two == "!=") {
        out.push_back({Tok::kSymbol, pos, std::string(two), 0});
        i += 2;
      } else if (std::string_view("+-*/<>(),").find(c) != std::string_view::npos) {
        out.push_back({Tok::kSymbol, pos, std::string(1, c), 0});
        ++i;
      } else if (c == '=') {
        return ErrorAt(pos, "'=' is not an operator; compare with '=='");
      } else if (two == "&&" || two == "||" || c == '!') {
        return ErrorAt(pos, "use 'and', 'or' and 'not'");
      } else {
        return ErrorAt(pos, "unexpected character '" + std::string(1, c) + "'");
      }
    }
  }
  out.push_back({Tok::kEnd, static_cast<std::uint32_t>(text.size() + 1), "", 0});
  return out;
}

std::string ColumnList(std::span<const std::string> columns) {
  std::string out = "t";
  for (const auto& c : columns) out += ", " + c;
  return out;
}

std::optional<AggFn> AggregateNamed(std::string_view name) {
  if (name == "avg") return AggFn::kAvg;
  if (name == "min") return AggFn::kMin;
  if (name == "max") return AggFn::kMax;
  if (name == "sum") return AggFn::kSum;
  if (name == "count") return AggFn::kCount;
  if (name == "first") return AggFn::kFirst;
  if (name == "last") return AggFn::kLast;
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const Scope& scope, Expr& expr)
      : tokens_(std::move(tokens)), scope_(scope), expr_(expr) {}

  Result<std::int32_t> Parse() {
    CANVOY_ASSIGN_OR_RETURN(auto root, Or());
    if (Peek().kind != Tok::kEnd) return ErrorAt(Peek().pos, "unexpected " + Describe(Peek()));
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  bool IsSymbol(std::string_view s) const {
    return Peek().kind == Tok::kSymbol && Peek().text == s;
  }
  bool IsWord(std::string_view w) const { return Peek().kind == Tok::kIdent && Peek().text == w; }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kString:
        return "string '" + t.text + "'";
      case Tok::kNumber:
        return "number";
      default:
        return "'" + t.text + "'";
    }
  }

  std::int32_t Add(Node node) {
    expr_.nodes.push_back(std::move(node));
    return static_cast<std::int32_t>(expr_.nodes.size() - 1);
  }
  std::int32_t Binary(Op op, std::uint32_t pos, std::int32_t a, std::int32_t b, bool boolean) {
    Node n;
    n.op = op;
    n.pos = pos;
    n.a = a;
    n.b = b;
    n.boolean = boolean;
    return Add(std::move(n));
  }

  Result<std::int32_t> Or() {
    CANVOY_ASSIGN_OR_RETURN(auto left, And());
    while (IsWord("or")) {
      const auto pos = tokens_[next_++].pos;
      CANVOY_ASSIGN_OR_RETURN(auto right, And());
      left = Binary(Op::kOr, pos, left, right, true);
    }
    return left;
  }

  Result<std::int32_t> And() {
    CANVOY_ASSIGN_OR_RETURN(auto left, Not());
    while (IsWord("and")) {
      const auto pos = tokens_[next_++].pos;
      CANVOY_ASSIGN_OR_RETURN(auto right, Not());
      left = Binary(Op::kAnd, pos, left, right, true);
    }
    return left;
  }

  Result<std::int32_t> Not() {
    if (!IsWord("not")) return Comparison();
    const auto pos = tokens_[next_++].pos;
    if (++depth_ > kMaxDepth) return ErrorAt(pos, "nested too deeply");
    CANVOY_ASSIGN_OR_RETURN(auto operand, Not());
    --depth_;
    return Binary(Op::kNot, pos, operand, -1, true);
  }

  Result<std::int32_t> Comparison() {
    CANVOY_ASSIGN_OR_RETURN(auto left, Additive());
    static constexpr std::pair<std::string_view, Op> kOps[] = {{"<", Op::kLt},  {"<=", Op::kLe},
                                                               {">", Op::kGt},  {">=", Op::kGe},
                                                               {"==", Op::kEq}, {"!=", Op::kNe}};
    for (const auto& [symbol, op] : kOps) {
      if (!IsSymbol(symbol)) continue;
      const auto pos = tokens_[next_++].pos;
      CANVOY_ASSIGN_OR_RETURN(auto right, Additive());
      for (const auto& [other, unused] : kOps) {
        (void)unused;
        if (IsSymbol(other)) return ErrorAt(Peek().pos, "comparisons do not chain; use 'and'");
      }
      return Binary(op, pos, left, right, true);
    }
    return left;
  }

  Result<std::int32_t> Additive() {
    CANVOY_ASSIGN_OR_RETURN(auto left, Multiplicative());
    while (IsSymbol("+") || IsSymbol("-")) {
      const auto& op = tokens_[next_++];
      CANVOY_ASSIGN_OR_RETURN(auto right, Multiplicative());
      left = Binary(op.text == "+" ? Op::kAdd : Op::kSub, op.pos, left, right, false);
    }
    return left;
  }

  Result<std::int32_t> Multiplicative() {
    CANVOY_ASSIGN_OR_RETURN(auto left, Unary());
    while (IsSymbol("*") || IsSymbol("/")) {
      const auto& op = tokens_[next_++];
      CANVOY_ASSIGN_OR_RETURN(auto right, Unary());
      left = Binary(op.text == "*" ? Op::kMul : Op::kDiv, op.pos, left, right, false);
    }
    return left;
  }

  Result<std::int32_t> Unary() {
    if (!IsSymbol("-")) return Primary();
    const auto pos = tokens_[next_++].pos;
    if (++depth_ > kMaxDepth) return ErrorAt(pos, "nested too deeply");
    CANVOY_ASSIGN_OR_RETURN(auto operand, Unary());
    --depth_;
    return Binary(Op::kNeg, pos, operand, -1, false);
  }

  Result<std::int32_t> Primary() {
    const Token token = Peek();
    switch (token.kind) {
      case Tok::kNumber: {
        ++next_;
        Node n;
        n.op = Op::kNumber;
        n.pos = token.pos;
        n.number = token.number;
        return Add(std::move(n));
      }
      case Tok::kString: {
        ++next_;
        Node n;
        n.op = Op::kString;
        n.pos = token.pos;
        n.text = token.text;
        return Add(std::move(n));
      }
      case Tok::kQuoted:
        ++next_;
        return ColumnRef(token);
      case Tok::kIdent:
        ++next_;
        return IsSymbol("(") ? Call(token) : Name(token);
      case Tok::kSymbol:
        if (token.text == "(") {
          ++next_;
          if (++depth_ > kMaxDepth) return ErrorAt(token.pos, "nested too deeply");
          CANVOY_ASSIGN_OR_RETURN(auto inner, Or());
          --depth_;
          if (!IsSymbol(")")) return ErrorAt(Peek().pos, "expected ')', found " + Describe(Peek()));
          ++next_;
          return inner;
        }
        [[fallthrough]];
      default:
        return ErrorAt(token.pos, "expected a value, found " + Describe(token));
    }
  }

  // Where a value that varies per row may appear: everywhere in row expressions, only inside
  // aggregate calls in aggregate expressions.
  bool RowValueAllowed() const { return scope_.kind == Scope::Kind::kRow || in_call_; }

  Result<std::int32_t> ColumnRef(const Token& token) {
    std::int32_t slot = -1;
    for (std::size_t i = 0; i < scope_.columns.size(); ++i) {
      if (scope_.columns[i] == token.text) slot = static_cast<std::int32_t>(i);
    }
    if (slot < 0) {
      return ErrorAt(token.pos, "unknown column '" + token.text +
                                    "' (columns: " + ColumnList(scope_.columns) + ")");
    }
    if (!RowValueAllowed()) {
      return ErrorAt(token.pos, "column '" + token.text +
                                    "' outside an aggregate call; aggregate it, e.g. avg(" +
                                    token.text + ")");
    }
    Node n;
    n.op = Op::kColumn;
    n.pos = token.pos;
    n.slot = slot;
    n.text = token.text;
    return Add(std::move(n));
  }

  Result<std::int32_t> Name(const Token& token) {
    Node n;
    n.pos = token.pos;
    const std::string& name = token.text;
    const bool group_outside = scope_.kind == Scope::Kind::kGroup && !in_call_;
    if (name == "true" || name == "false") {
      n.op = Op::kNumber;
      n.number = name == "true" ? 1 : 0;
      n.boolean = true;
    } else if (name == "null") {
      n.op = Op::kNull;
    } else if (name == "t") {
      if (group_outside && !scope_.time_outside_calls)
        return ErrorAt(token.pos, "'t' is not a group value without \"time\": true");
      n.op = Op::kTime;
    } else if (name == "vin") {
      if (group_outside)
        return ErrorAt(token.pos, "'vin' outside an aggregate call varies within a group");
      n.op = Op::kVin;
    } else if (name.starts_with("attr.")) {
      n.op = Op::kAttr;
      n.text = name.substr(5);
      if (n.text.empty()) return ErrorAt(token.pos, "'attr.' needs an attribute name");
      if (group_outside) {
        return ErrorAt(token.pos, "'" + name +
                                      "' outside an aggregate call varies within a group; use "
                                      "it inside one, e.g. avg(" +
                                      name + ")");
      }
    } else if (name == "and" || name == "or" || name == "not") {
      return ErrorAt(token.pos, "expected a value, found '" + name + "'");
    } else {
      return ColumnRef(token);
    }
    return Add(std::move(n));
  }

  Result<std::vector<std::int32_t>> Arguments() {
    ++next_;  // (
    std::vector<std::int32_t> args;
    if (IsSymbol(")")) {
      ++next_;
      return args;
    }
    for (;;) {
      CANVOY_ASSIGN_OR_RETURN(auto arg, Or());
      args.push_back(arg);
      if (IsSymbol(")")) {
        ++next_;
        return args;
      }
      if (!IsSymbol(","))
        return ErrorAt(Peek().pos, "expected ',' or ')', found " + Describe(Peek()));
      ++next_;
    }
  }

  Result<std::int32_t> Call(const Token& name) {
    if (++depth_ > kMaxDepth) return ErrorAt(name.pos, "nested too deeply");
    const auto aggregate = AggregateNamed(name.text);
    // min(a, b) and max(a, b) compare two values; with one argument they aggregate.
    const bool two_argument_form =
        (name.text == "min" || name.text == "max") && !ArgumentListHasOneArgument();
    if (aggregate && !two_argument_form) return AggregateCall(name, *aggregate);
    CANVOY_ASSIGN_OR_RETURN(auto args, Arguments());
    --depth_;
    auto arity = [&](std::size_t n) -> Status {
      if (args.size() == n) return OkStatus();
      return ErrorAt(name.pos, "'" + name.text + "' takes " + std::to_string(n) + " argument" +
                                   (n == 1 ? "" : "s") + ", not " + std::to_string(args.size()));
    };
    if (name.text == "abs") {
      CANVOY_RETURN_IF_ERROR(arity(1));
      return Binary(Op::kAbs, name.pos, args[0], -1, false);
    }
    if (name.text == "min" || name.text == "max") {
      CANVOY_RETURN_IF_ERROR(arity(2));
      return Binary(name.text == "min" ? Op::kMin : Op::kMax, name.pos, args[0], args[1], false);
    }
    return ErrorAt(name.pos, "unknown function '" + name.text +
                                 "' (functions: abs, min, max; aggregates: avg, min, max, sum, "
                                 "count, first, last)");
  }

  // Looks ahead, without consuming, at whether the call's parentheses hold exactly one argument.
  bool ArgumentListHasOneArgument() const {
    int depth = 0;
    for (std::size_t i = next_; i < tokens_.size(); ++i) {
      const auto& t = tokens_[i];
      if (t.kind != Tok::kSymbol) continue;
      if (t.text == "(") ++depth;
      if (t.text == ")" && --depth == 0) return true;
      if (t.text == "," && depth == 1) return false;
    }
    return true;
  }

  Result<std::int32_t> AggregateCall(const Token& name, AggFn fn) {
    if (scope_.kind == Scope::Kind::kRow) {
      return ErrorAt(name.pos,
                     "aggregate '" + name.text + "' is allowed only in bucket and group aggs");
    }
    if (in_call_) return ErrorAt(name.pos, "aggregate calls do not nest");
    in_call_ = true;
    CANVOY_ASSIGN_OR_RETURN(auto args, Arguments());
    in_call_ = false;
    --depth_;
    const std::size_t want = fn == AggFn::kCount ? args.size() : 1;
    if (args.size() != want || args.size() > 1) {
      return ErrorAt(name.pos, "'" + name.text + "' takes " +
                                   (fn == AggFn::kCount ? "zero or one argument" : "1 argument") +
                                   ", not " + std::to_string(args.size()));
    }
    Node n;
    n.op = Op::kAggregate;
    n.fn = fn;
    n.pos = name.pos;
    n.a = args.empty() ? -1 : args[0];
    n.slot = static_cast<std::int32_t>(expr_.calls.size());
    const auto index = Add(std::move(n));
    expr_.calls.push_back(index);
    return index;
  }

  std::vector<Token> tokens_;
  const Scope& scope_;
  Expr& expr_;
  std::size_t next_ = 0;
  int depth_ = 0;
  bool in_call_ = false;
};

}  // namespace

Result<Expr> ParseExpr(std::string_view text, const Scope& scope) {
  if (text.size() > kMaxExpressionLength) {
    return Error(Errc::kInvalidArgument, "expression of " + std::to_string(text.size()) +
                                             " characters; at most " +
                                             std::to_string(kMaxExpressionLength) + " are allowed");
  }
  CANVOY_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  Expr expr;
  expr.text = std::string(text);
  Parser parser(std::move(tokens), scope, expr);
  CANVOY_ASSIGN_OR_RETURN(expr.root, parser.Parse());
  return expr;
}

}  // namespace canvoy::fleet_store::query
