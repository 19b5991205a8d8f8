// The fleet store's query engine: JSON query documents (QUERIES.md) run against a StoreView.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/store_view.h"

namespace canvoy::fleet_store {

// Threads that the queries sharing it may start beyond their callers', at most `slots` at a
// time in all: when many queries run at once, each reads on fewer threads, instead of every one
// starting `threads - 1` of its own. Thread-safe.
class QueryThreadBudget {
 public:
  explicit QueryThreadBudget(unsigned slots) : free_(slots) {}
  // As many of `wanted` slots as are free now, perhaps none.
  unsigned Take(unsigned wanted);
  // Hands back slots Take granted.
  void Give(unsigned slots) { free_.fetch_add(slots); }
  unsigned free() const { return free_.load(); }

 private:
  std::atomic<unsigned> free_;
};

// Limits of one query; validated once by Validate().
struct QueryLimits {
  // A query still running after this long fails with Errc::kUnavailable (HTTP 503). Zero fails
  // every query that reads anything (tests use it).
  std::chrono::milliseconds timeout{10'000};
  // Samples plus rollups one query may read; beyond, Errc::kInvalidArgument (HTTP 400).
  std::uint64_t max_scanned_values = 200'000'000;
  // Groups (each group's time buckets counted apart) one grouped query may hold in memory;
  // beyond, Errc::kInvalidArgument (HTTP 400).
  std::size_t max_groups = 1'000'000;
  std::size_t default_page_rows = 10'000;  // rows per page without "limit"
  std::size_t max_page_rows = 100'000;     // the largest "limit" accepted
  std::size_t max_steps = 64;
  // Threads one query may read its vehicles on (the caller's included). Used only by queries
  // whose output reduces rows (a group, or a bucket, runs or rises step); the answer is the
  // same for every value.
  unsigned threads = 1;
  // When set, the threads beyond the caller's come from this budget, shared with the queries
  // that run at the same time; a query granted none reads on its caller's thread alone.
  std::shared_ptr<QueryThreadBudget> budget;

  Status Validate() const;
};

struct QueryStats {
  std::uint64_t vehicles = 0;  // vehicles that matched the selector and were read
  std::uint64_t samples = 0;   // samples read (latest values included)
  std::uint64_t rollups = 0;   // minute and hour rollups read
  unsigned threads = 1;        // threads that read the vehicles, the caller's included
  std::int64_t elapsed_us = 0;
};

struct QueryAnswer {
  std::string body;  // {"columns", "rows", "next"?, "stats"}, see QUERIES.md
  std::string kind;  // "latest", "samples", "downsampled" or "grouped": the metrics label
  QueryStats stats;
};

// Runs one query document against `view`, from the calling thread and, when limits.threads > 1,
// up to that many threads in all, which call `view`'s const methods concurrently. Errors:
// kInvalidArgument / kParse for a bad document (naming the part and the position) or one that
// scans more than the limit, kUnavailable when the time limit passed, and the view's own errors.
Result<QueryAnswer> RunQuery(const StoreView& view, std::string_view document,
                             const QueryLimits& limits);

// Replaces "${name}" in the document's strings by params[name]. A string that is exactly
// "${name}" becomes a JSON number when the value is one ("from_us": "${from_us}"), else a
// string. Errc::kInvalidArgument for malformed JSON or a parameter without a value.
Result<std::string> SubstituteParams(std::string_view document,
                                     const std::map<std::string, std::string>& params);

}  // namespace canvoy::fleet_store
