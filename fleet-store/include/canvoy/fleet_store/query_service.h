// The fleet store's HTTP/JSON API, served by canvoy::http::Server.
//   GET /v1/vehicles[?after=VIN&limit=N]   vehicles with their counts, in VIN order
//   GET /v1/vehicles/{vin}/latest          the newest value of each signal of one vehicle
//   GET /healthz                           {"status":"ok"}
//   GET /metrics                           Prometheus text format
// Bad requests get 400 with {"error": "..."} naming the bad part; an unknown VIN gets 404.
#pragma once

#include <prometheus/registry.h>

#include "canvoy/common/http_server.h"
#include "canvoy/fleet_store/store.h"

namespace canvoy::fleet_store {

inline constexpr std::size_t kMaxVehiclesPerPage = 10000;

// The handler reads `store` and `registry`, which must outlive it. It is safe to call from any
// number of threads at once.
http::Handler MakeQueryHandler(const Store& store, const prometheus::Registry& registry);

}  // namespace canvoy::fleet_store
