// Reads Prometheus text from a /metrics endpoint in tests, and waits on a series' value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "support/http_client.h"
#include "support/process.h"

namespace canvoy::testing {

// The value of `series` (a metric name with its labels exactly as exposed, e.g.
// `canvoy_ingest_handshakes_total{result="ok"}`) in Prometheus text, or nullopt when absent.
inline std::optional<double> MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      try {
        return std::stod(line.substr(series.size() + 1));
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

// Scrapes /metrics until `series` reaches at least `at_least`; returns the last value seen
// (0 when absent), so that callers can compare it exactly.
inline double WaitForMetric(std::uint16_t port, const std::string& series, double at_least,
                            std::chrono::milliseconds timeout, std::string* last_text = nullptr) {
  double value = 0;
  WaitUntil(
      [&] {
        auto [status, body] = HttpGet(port, "/metrics");
        if (status != 200) return false;
        value = MetricValue(body, series).value_or(0);
        if (last_text != nullptr) *last_text = body;
        return value >= at_least;
      },
      timeout, std::chrono::milliseconds(50));
  return value;
}

}  // namespace canvoy::testing
