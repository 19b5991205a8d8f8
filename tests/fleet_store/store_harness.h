// `canvoy-fleet-store` as a process for tests: `serve` on a database directory with its HTTP port
// found through --http-port-file, its Prometheus counters read from /metrics, and the offline
// commands `export` and `offsets` run on the directory once no server holds it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fleet_store/workload.h"
#include "support/command.h"
#include "support/http_client.h"
#include "support/metrics_scrape.h"
#include "support/process.h"

namespace canvoy::testing {

inline const std::string kConsumed = "canvoy_fleet_store_records_consumed_total";
inline const std::string kBatchesApplied = "canvoy_fleet_store_batches_applied_total";
inline const std::string kDuplicates = "canvoy_fleet_store_duplicates_dropped_total";
inline const std::string kSamplesWritten = "canvoy_fleet_store_samples_written_total";
inline const std::string kRejected = "canvoy_fleet_store_records_rejected_total";
inline const std::string kPollRounds = "canvoy_fleet_store_poll_rounds_total";
inline const std::string kAssigned = "canvoy_fleet_store_assigned_partitions";
inline std::string LagSeries(int partition) {
  return "canvoy_fleet_store_consumer_lag_records{partition=\"" + std::to_string(partition) + "\"}";
}

struct StoreOptions {
  std::filesystem::path db;
  std::string bootstrap;
  std::string telemetry_topic;
  std::string catalog_topic;
  std::string group;
  std::string partitions;  // "0,1"; empty: the consumer group assigns
  int max_poll_records = 1000;
  int poll_round_ms = 200;
};

// One `serve` process. Its log is <dir>/<name>.log; the destructor kills it if the test did not
// stop it.
class StoreServer {
 public:
  StoreServer(const std::string& exe, const StoreOptions& options, const std::filesystem::path& dir,
              const std::string& name)
      : port_file_(dir / (name + ".port")) {
    std::vector<std::string> args = {"serve",
                                     "--db",
                                     options.db.string(),
                                     "--bootstrap",
                                     options.bootstrap,
                                     "--group",
                                     options.group,
                                     "--telemetry-topic",
                                     options.telemetry_topic,
                                     "--catalog-topic",
                                     options.catalog_topic,
                                     "--http-port",
                                     "0",
                                     "--http-port-file",
                                     port_file_.string(),
                                     "--max-poll-records",
                                     std::to_string(options.max_poll_records),
                                     "--poll-round-ms",
                                     std::to_string(options.poll_round_ms)};
    if (!options.partitions.empty()) {
      args.push_back("--partitions");
      args.push_back(options.partitions);
    }
    process_ = std::make_unique<ChildProcess>(exe, args, dir / (name + ".log"));
  }

  ChildProcess& process() { return *process_; }

  // Waits for the HTTP port; fails with the log's tail when it does not come.
  ::testing::AssertionResult WaitServing(std::chrono::milliseconds timeout) {
    if (!WaitUntil([&] { return !ReadFirstLine(port_file_).empty() || process_->WaitFor({}); },
                   timeout, std::chrono::milliseconds(20)) ||
        ReadFirstLine(port_file_).empty()) {
      return ::testing::AssertionFailure() << "the store did not start serving\n"
                                           << process_->LogTail();
    }
    port_ = static_cast<std::uint16_t>(std::stoi(ReadFirstLine(port_file_)));
    return ::testing::AssertionSuccess();
  }
  std::uint16_t port() const { return port_; }

  // The /metrics page, or "" when the server does not answer.
  std::string Metrics() const {
    auto [status, body] = HttpGet(port_, "/metrics");
    return status == 200 ? body : std::string();
  }

  // Waits until the run has applied `records` records (records_consumed_total counts the
  // records of applied rounds, duplicates included); fails naming the counters when it does not
  // happen, or when the run applied more.
  ::testing::AssertionResult WaitApplied(std::uint64_t records, std::chrono::milliseconds timeout,
                                         std::string* page = nullptr) {
    std::string text;
    double consumed = 0;
    const bool reached = WaitUntil(
        [&] {
          text = Metrics();
          consumed = MetricValue(text, kConsumed).value_or(0);
          return consumed >= static_cast<double>(records) || process_->WaitFor({});
        },
        timeout, std::chrono::milliseconds(25));
    if (page != nullptr) *page = text;
    if (!reached || consumed != static_cast<double>(records)) {
      return ::testing::AssertionFailure()
             << "expected the run to apply " << records << " records, " << kConsumed << " = "
             << consumed << (reached ? "" : " at the deadline")
             << (process_->WaitFor({}) ? " (the store exited)" : "") << "\n"
             << Summary(text) << process_->LogTail(15);
    }
    return ::testing::AssertionSuccess();
  }

  // Once every record is applied: waits until the lag gauge of each of `partitions` reads 0.
  // The store refreshes the gauges about once a second, so 10 s without 0 means they are stuck.
  ::testing::AssertionResult WaitLagZero(const std::vector<int>& partitions) {
    std::string text;
    std::vector<int> lagging;
    if (WaitUntil(
            [&] {
              text = Metrics();
              lagging.clear();
              for (int p : partitions) {
                const auto lag = MetricValue(text, LagSeries(p));
                if (!lag || *lag != 0) lagging.push_back(p);
              }
              return lagging.empty();
            },
            std::chrono::milliseconds(10000), std::chrono::milliseconds(50))) {
      return ::testing::AssertionSuccess();
    }
    auto failure = ::testing::AssertionFailure();
    failure << "every record was applied, but 10 s later "
            << "canvoy_fleet_store_consumer_lag_records"
            << " is not 0 for partition(s)";
    for (int p : lagging) {
      const auto lag = MetricValue(text, LagSeries(p));
      failure << " " << p << " (" << (lag ? std::to_string(*lag) : std::string("absent")) << ")";
    }
    return failure << "\n" << Summary(text);
  }

  // SIGTERM, then the exit code.
  std::optional<int> Terminate(std::chrono::milliseconds timeout) {
    process_->Signal(SIGTERM);
    return process_->WaitFor(timeout);
  }

  // The store's own counters, for failure messages.
  static std::string Summary(const std::string& page) {
    std::ostringstream out;
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("canvoy_fleet_store_", 0) == 0 && line.find("_bucket") == std::string::npos &&
          line.find("query_duration") == std::string::npos)
        out << "  " << line << "\n";
    }
    return out.str();
  }

 private:
  std::filesystem::path port_file_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

// `canvoy-fleet-store export --db DB`, parsed and sorted.
inline ::testing::AssertionResult ExportRows(const std::string& exe,
                                             const std::filesystem::path& db,
                                             const std::filesystem::path& scratch,
                                             std::vector<Row>* rows) {
  const CommandResult run = RunCommand(exe, {"export", "--db", db.string()}, scratch, "export",
                                       std::chrono::seconds(120));
  if (run.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "export --db " << db << " exited with "
           << (run.exit_code ? std::to_string(*run.exit_code) : std::string("nothing (timed out)"))
           << ": " << run.err;
  }
  rows->clear();
  if (auto error = ParseExport(run.out, rows); !error.empty())
    return ::testing::AssertionFailure() << "export --db " << db << ": " << error;
  return ::testing::AssertionSuccess();
}

// `canvoy-fleet-store offsets --db DB`: partition -> next offset, for `topic` only.
inline ::testing::AssertionResult ReadOffsets(const std::string& exe,
                                              const std::filesystem::path& db,
                                              const std::filesystem::path& scratch,
                                              const std::string& topic,
                                              std::map<int, std::int64_t>* offsets) {
  const CommandResult run = RunCommand(exe, {"offsets", "--db", db.string()}, scratch, "offsets",
                                       std::chrono::seconds(60));
  if (run.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "offsets --db " << db << " exited with "
           << (run.exit_code ? std::to_string(*run.exit_code) : std::string("nothing (timed out)"))
           << ": " << run.err;
  }
  offsets->clear();
  std::istringstream in(run.out);
  std::string line;
  if (!std::getline(in, line) || line != "topic,partition,next_offset")
    return ::testing::AssertionFailure() << "offsets: unexpected header '" << line << "'";
  while (std::getline(in, line)) {
    const auto last = line.rfind(','), middle = line.rfind(',', last - 1);
    if (last == std::string::npos || middle == std::string::npos)
      return ::testing::AssertionFailure() << "offsets: bad line '" << line << "'";
    if (line.substr(0, middle) != topic) continue;
    (*offsets)[std::stoi(line.substr(middle + 1, last - middle - 1))] =
        std::stoll(line.substr(last + 1));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace canvoy::testing
