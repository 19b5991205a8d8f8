#include "query/plan.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <initializer_list>
#include <set>

#include "query/json.h"

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMinuteUs = 60'000'000;

Error Bad(const std::string& where, const std::string& what) {
  return Error(Errc::kInvalidArgument, where + ": " + what);
}

std::string Join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

Status CheckKeys(const json::object& o, const std::string& where,
                 std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : o) {
    (void)value;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return Bad(where, "unknown key '" + std::string(key) + "' (expected " + Join(allowed) + ")");
  }
  return OkStatus();
}

Result<const json::object*> ObjectAt(const json::value& v, const std::string& where) {
  if (!v.is_object()) return Bad(where, "expected an object");
  return &v.get_object();
}

Result<std::string> StringAt(const json::value& v, const std::string& where) {
  if (!v.is_string()) return Bad(where, "expected a string");
  return std::string(v.get_string());
}

Result<std::vector<std::string>> StringsAt(const json::value& v, const std::string& where) {
  if (!v.is_array()) return Bad(where, "expected an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    CANVOY_ASSIGN_OR_RETURN(auto s,
                            StringAt(v.get_array()[i], where + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::int64_t> IntegerAt(const json::value& v, const std::string& where) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  return Bad(where, "expected an integer (int64)");
}

// Column names other than t and vin, each once.
Status CheckColumnName(const std::string& name, const std::vector<std::string>& existing,
                       const std::string& where, bool may_replace) {
  if (name.empty()) return Bad(where, "a column needs a name");
  if (name == "t" || name == "vin")
    return Bad(where, "'" + name + "' is reserved and cannot name a column");
  if (!may_replace && std::find(existing.begin(), existing.end(), name) != existing.end())
    return Bad(where, "column '" + name + "' appears twice");
  return OkStatus();
}

Result<Expr> ExprAt(const json::value& v, const std::string& where, const Scope& scope) {
  CANVOY_ASSIGN_OR_RETURN(auto text, StringAt(v, where));
  auto expr = ParseExpr(text, scope);
  if (!expr) return expr.error().WithContext(where);
  return std::move(expr).value();
}

Result<VehicleSelector> ParseVehicles(const json::value& v) {
  const std::string where = "vehicles";
  CANVOY_ASSIGN_OR_RETURN(auto o, ObjectAt(v, where));
  CANVOY_RETURN_IF_ERROR(CheckKeys(*o, where, {"vin", "vins", "where", "has"}));
  VehicleSelector out;
  if (o->contains("vin") && o->contains("vins"))
    return Bad(where, "give either 'vin' or 'vins', not both");
  std::vector<std::string> texts;
  std::string texts_where;
  if (const auto* vin = o->if_contains("vin")) {
    CANVOY_ASSIGN_OR_RETURN(auto text, StringAt(*vin, where + ".vin"));
    texts = {text};
    texts_where = where + ".vin";
  } else if (const auto* vins = o->if_contains("vins")) {
    CANVOY_ASSIGN_OR_RETURN(texts, StringsAt(*vins, where + ".vins"));
    texts_where = where + ".vins";
  }
  if (!texts_where.empty()) {
    std::vector<Vin> vins;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto vin = Vin::Parse(texts[i]);
      const auto at =
          o->contains("vin") ? texts_where : texts_where + "[" + std::to_string(i) + "]";
      if (!vin) return vin.error().WithContext(at);
      vins.push_back(std::move(vin).value());
    }
    std::sort(vins.begin(), vins.end());
    vins.erase(std::unique(vins.begin(), vins.end()), vins.end());
    out.vins = std::move(vins);
  }
  if (const auto* w = o->if_contains("where")) {
    CANVOY_ASSIGN_OR_RETURN(auto conditions, ObjectAt(*w, where + ".where"));
    for (const auto& [key, value] : *conditions) {
      const auto at = where + ".where." + std::string(key);
      VehicleSelector::Condition c{std::string(key), {}};
      if (value.is_string()) {
        c.values = {std::string(value.get_string())};
      } else if (value.is_array()) {
        CANVOY_ASSIGN_OR_RETURN(c.values, StringsAt(value, at));
      } else {
        return Bad(at, "expected a string or an array of strings");
      }
      out.where.push_back(std::move(c));
    }
  }
  if (const auto* has = o->if_contains("has")) {
    CANVOY_ASSIGN_OR_RETURN(out.has, StringsAt(*has, where + ".has"));
  }
  return out;
}

Result<SourcePlan> ParseSource(const json::value& v) {
  const std::string where = "source";
  CANVOY_ASSIGN_OR_RETURN(auto o, ObjectAt(v, where));
  SourcePlan out;
  const json::value* signals = nullptr;
  if (const auto* latest = o->if_contains("latest")) {
    CANVOY_RETURN_IF_ERROR(CheckKeys(*o, where, {"latest"}));
    out.kind = SourcePlan::Kind::kLatest;
    signals = latest;
  } else if (const auto* samples = o->if_contains("samples")) {
    CANVOY_RETURN_IF_ERROR(CheckKeys(*o, where, {"samples", "from_us", "to_us"}));
    signals = samples;
    if (const auto* from = o->if_contains("from_us")) {
      CANVOY_ASSIGN_OR_RETURN(out.from_us, IntegerAt(*from, where + ".from_us"));
      out.has_from = true;
    }
    if (const auto* to = o->if_contains("to_us")) {
      CANVOY_ASSIGN_OR_RETURN(out.to_us, IntegerAt(*to, where + ".to_us"));
    }
    if (out.from_us >= out.to_us) return Bad(where, "from_us must be less than to_us");
  } else {
    return Bad(where, "expected 'latest' or 'samples'");
  }
  const std::string at = where + (out.kind == SourcePlan::Kind::kLatest ? ".latest" : ".samples");
  CANVOY_ASSIGN_OR_RETURN(out.signals, StringsAt(*signals, at));
  if (out.signals.empty()) return Bad(at, "name at least one signal");
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < out.signals.size(); ++i) {
    CANVOY_RETURN_IF_ERROR(
        CheckColumnName(out.signals[i], seen, at + "[" + std::to_string(i) + "]", false));
    seen.push_back(out.signals[i]);
  }
  return out;
}

// Bucket and group aggs: name -> aggregate expression over `columns`.
Result<std::vector<NamedExpr>> ParseAggs(const json::value& v, const std::string& where,
                                         const Scope& scope) {
  CANVOY_ASSIGN_OR_RETURN(auto o, ObjectAt(v, where));
  if (o->empty()) return Bad(where, "name at least one aggregate");
  std::vector<NamedExpr> out;
  std::vector<std::string> names;
  for (const auto& [key, value] : *o) {
    const auto at = where + "." + std::string(key);
    CANVOY_RETURN_IF_ERROR(CheckColumnName(std::string(key), names, at, false));
    CANVOY_ASSIGN_OR_RETURN(auto expr, ExprAt(value, at, scope));
    names.emplace_back(key);
    out.push_back({std::string(key), -1, std::move(expr)});
  }
  return out;
}

// The conjuncts of `e` below node `index` that compare a source signal with a number; true when
// every conjunct is one.
bool CollectPredicates(const Expr& e, std::int32_t index, std::size_t signals,
                       std::vector<SourcePredicate>& out) {
  const Node& n = e.nodes[static_cast<std::size_t>(index)];
  if (n.op == Op::kAnd) {
    const bool a = CollectPredicates(e, n.a, signals, out);
    const bool b = CollectPredicates(e, n.b, signals, out);
    return a && b;
  }
  if (n.op != Op::kLt && n.op != Op::kLe && n.op != Op::kGt && n.op != Op::kGe &&
      n.op != Op::kEq)
    return false;
  const Node& a = e.nodes[static_cast<std::size_t>(n.a)];
  const Node& b = e.nodes[static_cast<std::size_t>(n.b)];
  const auto is_signal = [signals](const Node& x) {
    return x.op == Op::kColumn && x.slot >= 0 && static_cast<std::size_t>(x.slot) < signals;
  };
  if (is_signal(a) && b.op == Op::kNumber) {
    out.push_back({static_cast<std::size_t>(a.slot), n.op, b.number});
  } else if (a.op == Op::kNumber && is_signal(b)) {
    // number op signal: the same comparison seen from the signal's side.
    Op flipped = n.op;
    if (n.op == Op::kLt) flipped = Op::kGt;
    if (n.op == Op::kLe) flipped = Op::kGe;
    if (n.op == Op::kGt) flipped = Op::kLt;
    if (n.op == Op::kGe) flipped = Op::kLe;
    out.push_back({static_cast<std::size_t>(b.slot), flipped, a.number});
  } else {
    return false;
  }
  return true;
}

Result<StepPlan> ParseStep(const json::value& v, const std::string& where,
                           std::vector<std::string>& columns) {
  CANVOY_ASSIGN_OR_RETURN(auto o, ObjectAt(v, where));
  if (o->size() != 1)
    return Bad(where, "a step is an object with one key: filter, compute, bucket, runs or rises");
  const auto& [name, body] = *o->begin();
  StepPlan step;
  step.columns_in = columns.size();
  const std::string at = where + "." + std::string(name);
  Scope rows{Scope::Kind::kRow, columns, true};
  if (name == "filter") {
    step.kind = StepPlan::Kind::kFilter;
    CANVOY_ASSIGN_OR_RETURN(step.when, ExprAt(body, at, rows));
  } else if (name == "compute") {
    step.kind = StepPlan::Kind::kCompute;
    CANVOY_ASSIGN_OR_RETURN(auto defs, ObjectAt(body, at));
    if (defs->empty()) return Bad(at, "name at least one column");
    for (const auto& [key, value] : *defs) {
      const auto col_at = at + "." + std::string(key);
      CANVOY_RETURN_IF_ERROR(CheckColumnName(std::string(key), columns, col_at, true));
      Scope scope{Scope::Kind::kRow, columns, true};  // sees the columns computed before it
      CANVOY_ASSIGN_OR_RETURN(auto expr, ExprAt(value, col_at, scope));
      auto it = std::find(columns.begin(), columns.end(), std::string(key));
      const auto slot = static_cast<std::int32_t>(it - columns.begin());
      if (it == columns.end()) columns.emplace_back(key);
      step.exprs.push_back({std::string(key), slot, std::move(expr)});
    }
  } else if (name == "bucket") {
    step.kind = StepPlan::Kind::kBucket;
    CANVOY_ASSIGN_OR_RETURN(auto b, ObjectAt(body, at));
    CANVOY_RETURN_IF_ERROR(CheckKeys(*b, at, {"width", "aggs"}));
    if (!b->contains("width") || !b->contains("aggs")) return Bad(at, "needs 'width' and 'aggs'");
    CANVOY_ASSIGN_OR_RETURN(auto width_text, StringAt(b->at("width"), at + ".width"));
    auto width = ParseWidth(width_text);
    if (!width) return width.error().WithContext(at + ".width");
    step.width_us = width.value();
    Scope scope{Scope::Kind::kBucket, columns, true};
    CANVOY_ASSIGN_OR_RETURN(step.exprs, ParseAggs(b->at("aggs"), at + ".aggs", scope));
    columns.clear();
    for (const auto& e : step.exprs) columns.push_back(e.name);
  } else if (name == "runs" || name == "rises") {
    step.kind = name == "runs" ? StepPlan::Kind::kRuns : StepPlan::Kind::kRises;
    CANVOY_ASSIGN_OR_RETURN(auto r, ObjectAt(body, at));
    CANVOY_RETURN_IF_ERROR(CheckKeys(*r, at, {"when"}));
    if (!r->contains("when")) return Bad(at, "needs 'when'");
    CANVOY_ASSIGN_OR_RETURN(step.when, ExprAt(r->at("when"), at + ".when", rows));
    columns.clear();
    if (step.kind == StepPlan::Kind::kRuns) columns.push_back("duration_us");
  } else {
    return Bad(where, "unknown step '" + std::string(name) +
                          "' (expected filter, compute, bucket, runs or rises)");
  }
  step.columns_out = columns.size();
  return step;
}

Result<GroupPlan> ParseGroup(const json::value& v, const std::vector<std::string>& columns) {
  const std::string where = "group";
  CANVOY_ASSIGN_OR_RETURN(auto o, ObjectAt(v, where));
  CANVOY_RETURN_IF_ERROR(CheckKeys(*o, where, {"by", "time", "aggs"}));
  GroupPlan out;
  if (const auto* by = o->if_contains("by")) {
    CANVOY_ASSIGN_OR_RETURN(out.by, StringsAt(*by, where + ".by"));
  }
  if (const auto* time = o->if_contains("time")) {
    if (!time->is_bool()) return Bad(where + ".time", "expected true or false");
    out.time = time->get_bool();
  }
  if (!o->contains("aggs")) return Bad(where, "needs 'aggs'");
  Scope scope{Scope::Kind::kGroup, columns, out.time};
  CANVOY_ASSIGN_OR_RETURN(out.aggs, ParseAggs(o->at("aggs"), where + ".aggs", scope));
  std::vector<std::string> names = out.by;
  if (out.time) names.push_back("t");
  for (const auto& a : out.aggs) {
    if (std::find(names.begin(), names.end(), a.name) != names.end())
      return Bad(where + ".aggs." + a.name, "the name is also a group key");
  }
  return out;
}

// The first bucket can be answered from rollups when it reads one signal as it was sampled.
bool RollupsApply(const Plan& plan) {
  if (plan.source.kind != SourcePlan::Kind::kSamples || plan.source.signals.size() != 1)
    return false;
  if (plan.steps.empty() || plan.steps[0].kind != StepPlan::Kind::kBucket) return false;
  if (plan.steps[0].width_us % kMinuteUs != 0) return false;
  for (const auto& agg : plan.steps[0].exprs) {
    for (auto call : agg.expr.calls) {
      const Node& n = agg.expr.nodes[static_cast<std::size_t>(call)];
      if (n.a < 0) continue;  // count()
      const Node& arg = agg.expr.nodes[static_cast<std::size_t>(n.a)];
      if (arg.op != Op::kColumn || arg.slot != 0) return false;
    }
  }
  return true;
}

std::string Fingerprint(const json::object& document) {
  json::object copy = document;
  copy.erase("after");
  copy.erase("limit");
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : json::serialize(copy)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buffer[17];
  auto r = std::to_chars(buffer, buffer + 16, h, 16);
  return std::string(buffer, r.ptr);
}

Status ParsePaging(const json::object& o, const QueryLimits& limits, Plan& plan) {
  plan.limit = limits.default_page_rows;
  if (const auto* limit = o.if_contains("limit")) {
    auto n = IntegerAt(*limit, "limit");
    if (!n || n.value() < 1 || static_cast<std::uint64_t>(n.value()) > limits.max_page_rows) {
      return Bad("limit", "expected an integer in 1.." + std::to_string(limits.max_page_rows) +
                              " (rows per page)");
    }
    plan.limit = static_cast<std::size_t>(n.value());
  }
  if (const auto* after = o.if_contains("after")) {
    CANVOY_ASSIGN_OR_RETURN(auto text, StringAt(*after, "after"));
    auto cursor = DecodeCursor(text, plan.fingerprint);
    if (!cursor) return cursor.error().WithContext("after");
    if (plan.group.has_value() != cursor.value().vin.empty() ||
        (plan.group && cursor.value().keys.size() != plan.group->by.size())) {
      return Bad("after", "the cursor belongs to another query");
    }
    plan.after = std::move(cursor).value();
  }
  return OkStatus();
}

}  // namespace

bool VehicleSelector::Matches(const Attributes& attributes) const {
  for (const auto& c : where) {
    auto it = attributes.find(c.attribute);
    if (it == attributes.end()) return false;
    if (std::find(c.values.begin(), c.values.end(), it->second) == c.values.end()) return false;
  }
  for (const auto& name : has) {
    auto it = attributes.find(name);
    if (it == attributes.end() || it->second.empty()) return false;
  }
  return true;
}

std::string Plan::kind() const {
  if (group) return "grouped";
  if (source.kind == SourcePlan::Kind::kLatest) return "latest";
  return use_rollups ? "downsampled" : "samples";
}

Result<std::int64_t> ParseWidth(std::string_view text) {
  if (text == "all") return 0;
  const auto bad = Error(
      Errc::kInvalidArgument,
      "'" + std::string(text) + "': expected an integer and a unit (us, ms, s, m, h, d), or all");
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n <= 0) return bad;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = 0;
  if (unit == "us") scale = 1;
  if (unit == "ms") scale = 1'000;
  if (unit == "s") scale = 1'000'000;
  if (unit == "m") scale = kMinuteUs;
  if (unit == "h") scale = 3'600'000'000;
  if (unit == "d") scale = 86'400'000'000;
  if (scale == 0) return bad;
  if (n > INT64_MAX / scale)
    return Error(Errc::kInvalidArgument, "'" + std::string(text) + "': too wide");
  return n * scale;
}

Result<Plan> PlanFromJson(const json::value& document, const QueryLimits& limits) {
  if (!document.is_object()) return Error(Errc::kInvalidArgument, "query: expected a JSON object");
  const auto& o = document.get_object();
  CANVOY_RETURN_IF_ERROR(CheckKeys(
      o, "query", {"vehicles", "source", "steps", "group", "attributes", "limit", "after"}));
  Plan plan;
  plan.fingerprint = Fingerprint(o);
  if (const auto* v = o.if_contains("vehicles")) {
    CANVOY_ASSIGN_OR_RETURN(plan.vehicles, ParseVehicles(*v));
  }
  if (!o.contains("source")) return Error(Errc::kInvalidArgument, "query: 'source' is required");
  CANVOY_ASSIGN_OR_RETURN(plan.source, ParseSource(o.at("source")));
  std::vector<std::string> columns = plan.source.signals;
  if (const auto* steps = o.if_contains("steps")) {
    if (!steps->is_array()) return Bad("steps", "expected an array");
    const auto& list = steps->get_array();
    if (list.size() > limits.max_steps) {
      return Bad("steps", std::to_string(list.size()) + " steps; at most " +
                              std::to_string(limits.max_steps) + " are allowed");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      CANVOY_ASSIGN_OR_RETURN(auto step,
                              ParseStep(list[i], "steps[" + std::to_string(i) + "]", columns));
      if (step.kind != StepPlan::Kind::kFilter && step.kind != StepPlan::Kind::kCompute)
        plan.row_local = false;
      plan.steps.push_back(std::move(step));
    }
  }
  if (plan.source.kind != SourcePlan::Kind::kSamples) plan.row_local = false;
  if (plan.source.kind == SourcePlan::Kind::kSamples && plan.source.signals.size() > 1 &&
      !plan.steps.empty() && plan.steps[0].kind == StepPlan::Kind::kFilter) {
    const Expr& when = plan.steps[0].when;
    plan.source.prefilter_complete =
        CollectPredicates(when, when.root, plan.source.signals.size(), plan.source.prefilter);
  }
  plan.row_columns = columns;
  if (const auto* group = o.if_contains("group")) {
    CANVOY_ASSIGN_OR_RETURN(plan.group, ParseGroup(*group, columns));
  }
  if (const auto* attributes = o.if_contains("attributes")) {
    if (plan.group) return Bad("attributes", "not used with 'group'; group by them instead");
    CANVOY_ASSIGN_OR_RETURN(plan.attributes, StringsAt(*attributes, "attributes"));
  }
  CANVOY_RETURN_IF_ERROR(ParsePaging(o, limits, plan));
  plan.use_rollups = RollupsApply(plan);
  return plan;
}

Result<Plan> ParsePlan(std::string_view document, const QueryLimits& limits) {
  boost::system::error_code ec;
  std::size_t used = 0;
  json::value value = ParseJson(document, ec, &used);
  if (ec) {
    const std::size_t offset = std::min(used, document.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (document[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return Error(Errc::kParse, "query: line " + std::to_string(line) + ", column " +
                                   std::to_string(column) + ": " + ec.message());
  }
  return PlanFromJson(std::move(value), limits);
}

}  // namespace canvoy::fleet_store::query
