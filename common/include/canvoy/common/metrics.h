// Prometheus metrics (prometheus-cpp core); exposition through canvoy::http::Server.
#pragma once

#include <string>

#include <prometheus/registry.h>

namespace canvoy::metrics {

// The registry in the Prometheus text format, version 0.0.4.
std::string Serialize(const prometheus::Registry& registry);

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace canvoy::metrics
