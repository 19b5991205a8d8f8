// The fleet store's HTTP/JSON API, served by canvoy::http::Server.
//   GET /v1/vehicles[?after=VIN&limit=N]   vehicles with their counts, in VIN order
//   GET /v1/vehicles/{vin}/latest          the newest value of each signal of one vehicle
//   GET /healthz                           {"status":"ok"}
//   GET /metrics                           Prometheus text format
// and the query engine's routes (QUERIES.md), answered from a StoreView per request:
//   POST /v1/query (body: a query document), GET /v1/query?q=DOCUMENT
//   GET /v1/vehicles/{vin}/signals/{signal}/samples?from_us=&to_us=&limit=&after=
//   GET /v1/vehicles/{vin}/signals/{signal}/downsample?from_us=&to_us=&width=1m&aggs=avg,min,max
//   GET /v1/latest?signals=a,b[&where.ATTR=V][&has=a,b][&attributes=a,b][&limit=&after=]
// Bad requests get 400 with {"error": "..."} naming the bad part; an unknown VIN gets 404; a
// query past its time limit gets 503.
#pragma once

#include <prometheus/registry.h>

#include <functional>
#include <memory>

#include "canvoy/common/http_server.h"
#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_view.h"

namespace canvoy::fleet_store {

inline constexpr std::size_t kMaxVehiclesPerPage = 10000;

// The handler reads `store` and `registry`, which must outlive it. It is safe to call from any
// number of threads at once.
http::Handler MakeQueryHandler(const Store& store, const prometheus::Registry& registry);

// Makes a consistent read view for one request (e.g. [&store] { return store.View(); }); must be
// safe to call from several threads at once. nullptr answers 503.
using StoreViewFactory = std::function<std::unique_ptr<StoreView>()>;

// The routes above, the query routes included. Registers the histogram
// canvoy_fleet_store_query_duration_seconds{kind} in `registry`. `store`, `registry` and whatever
// `views` refers to must outlive the handler, which is safe to call from any number of threads.
http::Handler MakeQueryHandler(const Store& store, StoreViewFactory views,
                               prometheus::Registry& registry, const QueryLimits& limits = {});

// Only the query routes (404 for other paths): for tests and for serving a view without a Store.
http::Handler MakeQueryApiHandler(StoreViewFactory views, prometheus::Registry& registry,
                                  const QueryLimits& limits = {});

}  // namespace canvoy::fleet_store
