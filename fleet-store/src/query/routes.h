// The query engine's HTTP routes (see query_service.h for the list).
#pragma once

#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <optional>
#include <string_view>
#include <vector>

#include "canvoy/common/http_server.h"
#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/query_service.h"

namespace canvoy::fleet_store::query {

// "/v1/vehicles/V/latest" -> {"v1", "vehicles", "V", "latest"}; {} for a path without a leading /.
std::vector<std::string_view> PathSegments(std::string_view path);

// canvoy_fleet_store_query_duration_seconds{kind}: latest, samples, downsampled, grouped.
class QueryMetrics {
 public:
  explicit QueryMetrics(prometheus::Registry& registry);
  void Observe(const std::string& kind, std::chrono::steady_clock::duration elapsed);

 private:
  prometheus::Family<prometheus::Histogram>& family_;
};

// Safe to call from any number of threads at once: each request gets its own view.
class QueryApi {
 public:
  QueryApi(StoreViewFactory views, prometheus::Registry& registry, const QueryLimits& limits);

  // The answer when the request is for a query route; nullopt for any other path.
  std::optional<http::Response> Handle(const http::Request& request) const;

 private:
  http::Response Query(const http::Request& request) const;
  http::Response CohortLatest(const http::Request& request) const;
  http::Response Signal(const http::Request& request, std::string_view vin, std::string_view signal,
                        std::string_view what) const;

  StoreViewFactory views_;
  QueryLimits limits_;
  mutable QueryMetrics metrics_;
};

}  // namespace canvoy::fleet_store::query
