#include "query/routes.h"

#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "query/engine.h"
#include "query/plan.h"

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,   30};

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

json::array Strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.push_back(json::string(s));
  return out;
}

const std::string* Param(const http::Request& request, const std::string& name) {
  auto it = request.query.find(name);
  return it == request.query.end() ? nullptr : &it->second;
}

// Copies an integer query parameter into the document, checking it is one.
Status IntegerParam(const http::Request& request, const std::string& name, json::object& out,
                    const std::string& key) {
  const auto* text = Param(request, name);
  if (text == nullptr) return OkStatus();
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size())
    return Error(Errc::kInvalidArgument,
                 "query parameter '" + name + "': '" + *text + "' is not an integer");
  out[key] = v;
  return OkStatus();
}

Status PagingParams(const http::Request& request, json::object& doc) {
  CANVOY_RETURN_IF_ERROR(IntegerParam(request, "limit", doc, "limit"));
  if (const auto* after = Param(request, "after")) doc["after"] = *after;
  return OkStatus();
}

unsigned StatusFor(const Error& error) {
  switch (error.code()) {
    case Errc::kInvalidArgument:
    case Errc::kParse:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

http::Response Failure(const Error& error, const http::Request& request) {
  const unsigned status = StatusFor(error);
  if (status == 500) {
    spdlog::error("msg=\"query failed\" path=\"{}\" error=\"{}\"", request.path, error.ToString());
    return http::ErrorResponse(500, error.ToString());
  }
  return http::ErrorResponse(status, error.message());
}

// A per-vehicle table of one vehicle without its vin column, e.g. (t, value).
void DropVin(Table& table) {
  table.columns.erase(table.columns.begin());
  for (auto& row : table.rows) {
    auto& cells = row.as_array();
    cells.erase(cells.begin());
  }
}

}  // namespace

QueryMetrics::QueryMetrics(prometheus::Registry& registry)
    : family_(prometheus::BuildHistogram()
                  .Name("canvoy_fleet_store_query_duration_seconds")
                  .Help("Time to answer a query, by kind: latest, samples, downsampled, grouped")
                  .Register(registry)) {
  for (const char* kind : {"latest", "samples", "downsampled", "grouped"})
    family_.Add({{"kind", kind}}, kLatencyBuckets);
}

void QueryMetrics::Observe(const std::string& kind, std::chrono::steady_clock::duration elapsed) {
  family_.Add({{"kind", kind}}, kLatencyBuckets)
      .Observe(std::chrono::duration<double>(elapsed).count());
}

QueryApi::QueryApi(StoreViewFactory views, prometheus::Registry& registry,
                   const QueryLimits& limits)
    : views_(std::move(views)), limits_(limits), metrics_(registry) {}

namespace {

using Reshape = std::function<Status(const StoreView&, Table&)>;

// Runs a parsed document on a fresh view; `reshape` adapts the table of a convenience route.
http::Response Run(const StoreViewFactory& views, const QueryLimits& limits, QueryMetrics& metrics,
                   const http::Request& request, const Result<Plan>& plan,
                   std::chrono::steady_clock::time_point start, const Reshape& reshape = nullptr) {
  if (!plan) return Failure(plan.error(), request);
  auto view = views();
  if (!view) return http::ErrorResponse(503, "the store is not open");
  QueryControl control(limits, start);
  auto table = Execute(*view, plan.value(), control);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  metrics.Observe(plan.value().kind(), elapsed);
  if (!table) return Failure(table.error(), request);
  if (reshape) {
    if (auto status = reshape(*view, table.value()); !status)
      return Failure(status.error(), request);
  }
  QueryStats stats = control.stats();
  stats.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  http::Response response;
  response.body = Serialize(std::move(table).value(), stats);
  return response;
}

}  // namespace

std::optional<http::Response> QueryApi::Handle(const http::Request& request) const {
  const auto segments = PathSegments(request.path);
  const bool query = segments.size() == 2 && segments[0] == "v1" && segments[1] == "query";
  const bool latest = segments.size() == 2 && segments[0] == "v1" && segments[1] == "latest";
  const bool signal = segments.size() == 6 && segments[0] == "v1" && segments[1] == "vehicles" &&
                      segments[3] == "signals" &&
                      (segments[5] == "samples" || segments[5] == "downsample");
  if (!query && !latest && !signal) return std::nullopt;
  if (query) {
    if (request.method != "GET" && request.method != "POST")
      return http::ErrorResponse(405,
                                 "method '" + request.method + "' is not allowed; use GET or POST");
    return Query(request);
  }
  if (request.method != "GET")
    return http::ErrorResponse(405, "method '" + request.method + "' is not allowed; use GET");
  if (latest) return CohortLatest(request);
  return Signal(request, segments[2], segments[4], segments[5]);
}

http::Response QueryApi::Query(const http::Request& request) const {
  const auto start = std::chrono::steady_clock::now();
  std::string_view text = request.body;
  if (request.method == "GET") {
    const auto* q = Param(request, "q");
    if (q == nullptr)
      return http::ErrorResponse(400, "query parameter 'q' (the query document) is required");
    text = *q;
  }
  return Run(views_, limits_, metrics_, request, ParsePlan(text, limits_), start);
}

http::Response QueryApi::CohortLatest(const http::Request& request) const {
  const auto start = std::chrono::steady_clock::now();
  const auto* signals = Param(request, "signals");
  if (signals == nullptr) return http::ErrorResponse(400, "query parameter 'signals' is required");
  json::object vehicles;
  json::object where;
  for (const auto& [key, value] : request.query) {
    if (key.starts_with("where.")) where[key.substr(6)] = value;
  }
  if (!where.empty()) vehicles["where"] = std::move(where);
  if (const auto* has = Param(request, "has")) vehicles["has"] = Strings(SplitList(*has));
  json::object doc{{"source", json::object{{"latest", Strings(SplitList(*signals))}}}};
  if (!vehicles.empty()) doc["vehicles"] = std::move(vehicles);
  if (const auto* attributes = Param(request, "attributes"))
    doc["attributes"] = Strings(SplitList(*attributes));
  if (auto status = PagingParams(request, doc); !status) return Failure(status.error(), request);
  return Run(views_, limits_, metrics_, request, PlanFromJson(doc, limits_), start);
}

http::Response QueryApi::Signal(const http::Request& request, std::string_view vin_text,
                                std::string_view signal, std::string_view what) const {
  const auto start = std::chrono::steady_clock::now();
  auto vin = Vin::Parse(vin_text);
  if (!vin) return http::ErrorResponse(400, vin.error().message());
  json::object source{{"samples", json::array{json::string(signal)}}};
  if (auto status = IntegerParam(request, "from_us", source, "from_us"); !status)
    return Failure(status.error(), request);
  if (auto status = IntegerParam(request, "to_us", source, "to_us"); !status)
    return Failure(status.error(), request);
  json::object doc{{"vehicles", json::object{{"vin", vin.value().str()}}}, {"source", source}};
  if (what == "downsample") {
    const auto* width = Param(request, "width");
    const auto* aggs_param = Param(request, "aggs");
    json::object aggs;
    for (const auto& name : SplitList(aggs_param ? *aggs_param : "avg")) {
      if (name != "avg" && name != "min" && name != "max" && name != "sum" && name != "count" &&
          name != "first" && name != "last") {
        return http::ErrorResponse(400,
                                   "query parameter 'aggs': '" + name +
                                       "' is not one of avg, min, max, sum, count, first, last");
      }
      // Quoted, so that any signal name is a column name.
      std::string column = "\"";
      for (char c : signal) column += c == '"' ? std::string("\"\"") : std::string(1, c);
      column += "\"";
      aggs[name] = name + "(" + column + ")";
    }
    doc["steps"] = json::array{json::object{
        {"bucket", json::object{{"width", width ? *width : "1m"}, {"aggs", std::move(aggs)}}}}};
  }
  if (auto status = PagingParams(request, doc); !status) return Failure(status.error(), request);
  const bool samples = what == "samples";
  const Vin& id = vin.value();
  auto reshape = [&](const StoreView& view, Table& table) -> Status {
    CANVOY_ASSIGN_OR_RETURN(auto info, view.GetVehicle(id));
    if (!info) return Error(Errc::kNotFound, "vehicle '" + id.str() + "': not found");
    DropVin(table);
    if (samples) table.columns[1] = "value";
    return OkStatus();
  };
  return Run(views_, limits_, metrics_, request, PlanFromJson(doc, limits_), start, reshape);
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.starts_with('/')) return out;
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace canvoy::fleet_store::query
