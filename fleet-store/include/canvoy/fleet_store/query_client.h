// The query CLI's side: a small synchronous HTTP client and the renderings of its answers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"

namespace canvoy::fleet_store {

enum class OutputFormat { kTable, kJson, kCsv };

// "table", "json" or "csv".
Result<OutputFormat> ParseOutputFormat(std::string_view text);

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

// GETs `target` (e.g. "/v1/vehicles") from `base_url` ("http://host:port", http only), with one
// deadline for connecting, sending and reading. Errc::kUnavailable when the server cannot be
// reached in time; any HTTP status is a value.
Result<HttpAnswer> HttpGet(std::string_view base_url, std::string_view target,
                           std::chrono::milliseconds timeout);

// POSTs a JSON body, otherwise as HttpGet.
Result<HttpAnswer> HttpPost(std::string_view base_url, std::string_view target,
                            std::string_view json_body, std::chrono::milliseconds timeout);

// Renders the body of GET /v1/vehicles/{vin}/latest. kJson returns it unchanged; kTable and kCsv
// print one line per signal. Errc::kParse when the body is not the expected JSON.
Result<std::string> FormatLatest(std::string_view body, OutputFormat format);

// Renders a query answer ({"columns", "rows", "next"?, "stats"}, QUERIES.md). kJson returns it
// unchanged; kTable aligns the columns under a header line; kCsv writes RFC 4180 (null is an
// empty field). Errc::kParse when the body is not such a table.
Result<std::string> FormatTable(std::string_view body, OutputFormat format);

// A non-200 answer as an error carrying the server's message (404: kNotFound, 503:
// kUnavailable, other: kRejected).
Error AnswerError(const HttpAnswer& answer);

// GETs the latest values of `vin` and renders them. A non-200 answer becomes an error carrying
// the server's message.
Result<std::string> QueryLatest(std::string_view base_url, const Vin& vin, OutputFormat format,
                                std::chrono::milliseconds timeout);

}  // namespace canvoy::fleet_store
