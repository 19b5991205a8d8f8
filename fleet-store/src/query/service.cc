#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <charconv>
#include <vector>

#include "canvoy/common/metrics.h"
#include "canvoy/fleet_store/query_service.h"
#include "query/json.h"
#include "query/routes.h"

namespace canvoy::fleet_store {
namespace {

http::Response Json(const boost::json::value& value) {
  http::Response response;
  response.body = boost::json::serialize(value);
  return response;
}

// A store failure is ours, not the client's: 500, logged.
http::Response StoreFailure(const Error& error, std::string_view path) {
  if (error.code() == Errc::kNotFound) return http::ErrorResponse(404, error.message());
  spdlog::error("msg=\"query failed\" path=\"{}\" error=\"{}\"", path, error.ToString());
  return http::ErrorResponse(500, error.ToString());
}

Result<VehicleListQuery> ParseListQuery(const http::Request& request) {
  VehicleListQuery query;
  if (auto it = request.query.find("after"); it != request.query.end()) {
    auto vin = Vin::Parse(it->second);
    if (!vin) return vin.error().WithContext("query parameter 'after'");
    query.after = std::move(vin).value();
  }
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    const auto& text = it->second;
    std::size_t limit = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit == 0 ||
        limit > kMaxVehiclesPerPage) {
      return Error(Errc::kInvalidArgument, "query parameter 'limit': '" + text +
                                               "' is not an integer in 1.." +
                                               std::to_string(kMaxVehiclesPerPage));
    }
    query.limit = limit;
  }
  return query;
}

http::Response ListVehicles(const Store& store, const http::Request& request) {
  auto parsed = ParseListQuery(request);
  if (!parsed) return http::ErrorResponse(400, parsed.error().message());
  const auto& query = parsed.value();
  auto vehicles = store.ListVehicles(query);
  if (!vehicles) return StoreFailure(vehicles.error(), request.path);
  boost::json::array list;
  for (const auto& v : vehicles.value()) list.push_back(query::ToJson(v));
  boost::json::object out{{"vehicles", std::move(list)}};
  if (vehicles.value().size() == query.limit) out["next_after"] = vehicles.value().back().vin.str();
  return Json(out);
}

http::Response Latest(const Store& store, const http::Request& request, std::string_view vin_text) {
  auto vin = Vin::Parse(vin_text);
  if (!vin) return http::ErrorResponse(400, vin.error().message());
  auto latest = store.GetLatest(vin.value());
  if (!latest) return StoreFailure(latest.error(), request.path);
  return Json(query::ToJson(latest.value()));
}

http::Response Route(const Store& store, const prometheus::Registry& registry,
                     const http::Request& request) {
  if (request.method != "GET") {
    auto response =
        http::ErrorResponse(405, "method '" + request.method + "' is not allowed; use GET");
    return response;
  }
  const auto segments = query::PathSegments(request.path);
  if (segments.size() == 1 && segments[0] == "healthz")
    return Json(boost::json::object{{"status", "ok"}});
  if (segments.size() == 1 && segments[0] == "metrics") {
    http::Response response;
    response.content_type = metrics::kContentType;
    response.body = metrics::Serialize(registry);
    return response;
  }
  if (segments.size() >= 2 && segments[0] == "v1" && segments[1] == "vehicles") {
    if (segments.size() == 2) return ListVehicles(store, request);
    if (segments.size() == 4 && segments[3] == "latest") return Latest(store, request, segments[2]);
  }
  return http::ErrorResponse(404, "path '" + request.path + "': no such resource");
}

}  // namespace

http::Handler MakeQueryHandler(const Store& store, const prometheus::Registry& registry) {
  return
      [&store, &registry](const http::Request& request) { return Route(store, registry, request); };
}

http::Handler MakeQueryHandler(const Store& store, StoreViewFactory views,
                               prometheus::Registry& registry, const QueryLimits& limits) {
  auto api = std::make_shared<const query::QueryApi>(std::move(views), registry, limits);
  return [api, &store, &registry](const http::Request& request) {
    if (auto answer = api->Handle(request)) return std::move(*answer);
    return Route(store, registry, request);
  };
}

http::Handler MakeQueryApiHandler(StoreViewFactory views, prometheus::Registry& registry,
                                  const QueryLimits& limits) {
  auto api = std::make_shared<const query::QueryApi>(std::move(views), registry, limits);
  return [api](const http::Request& request) {
    if (auto answer = api->Handle(request)) return std::move(*answer);
    return http::ErrorResponse(404, "path '" + request.path + "': no such resource");
  };
}

}  // namespace canvoy::fleet_store
