// canvoy-fleet-store: wiring only.
//   serve          consume telemetry into RocksDB and answer queries over HTTP
//   query ...      ask a running store (latest, samples, downsample, run)
//   import, export, offsets, compact   offline commands on a database directory (cli/admin.h)
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "canvoy/common/http_server.h"
#include "canvoy/common/logging.h"
#include "canvoy/common/net.h"
#include "canvoy/common/options.h"
#include "canvoy/fleet_store/metrics.h"
#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/query_cli.h"
#include "canvoy/fleet_store/query_client.h"
#include "canvoy/fleet_store/query_service.h"
#include "canvoy/fleet_store/sink.h"
#include "canvoy/fleet_store/store.h"
#include "cli/admin.h"

namespace {

namespace po = boost::program_options;
using namespace canvoy;
using namespace canvoy::fleet_store;

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

const std::string kUsage =
    "usage: canvoy-fleet-store serve --db DIR --bootstrap HOST:PORT [options]\n"
    "       canvoy-fleet-store query run|samples|downsample|latest ... (below)\n"
    "       canvoy-fleet-store import --db DIR [--samples FILE.csv] [--attributes FILE.csv]\n"
    "       canvoy-fleet-store export|offsets|compact|disk-usage --db DIR\n" +
    std::string(kQueryUsage);

int Fail(int code, const Error& error) {
  std::cerr << "canvoy-fleet-store: " << error.message() << "\n";
  return code;
}

struct ServeConfig {
  StoreOptions store;
  SinkOptions sink;
  http::ServerOptions http;
  std::string port_file;
  std::string log_level;
  QueryLimits query;          // per query: time limit, values scanned, page size
  unsigned http_threads = 4;  // queries run on these; a long one blocks only its own thread
};

// "0,1,5" -> {0, 1, 5}; empty -> {} (the consumer group assigns).
Result<std::vector<std::int32_t>> ParsePartitions(const std::string& text) {
  std::vector<std::int32_t> out;
  if (text.empty()) return out;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const auto comma = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, comma - begin);
    std::int32_t partition = -1;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), partition);
    if (ec != std::errc() || p != item.data() + item.size() || partition < 0) {
      return Error(Errc::kInvalidArgument, "option '--partitions': '" + item +
                                               "' at character " + std::to_string(begin + 1) +
                                               " is not a partition number");
    }
    out.push_back(partition);
    begin = comma + 1;
  }
  return out;
}

Result<ServeConfig> ParseServe(int argc, const char* const* argv, bool& help) {
  ServeConfig c;
  std::string db;
  int port = 0;
  std::size_t max_records = c.sink.max_poll_records;
  long round_ms = c.sink.poll_round_time.count();
  long catalog_wait_ms = c.sink.catalog_wait.count();
  long query_timeout_ms = c.query.timeout.count();
  unsigned query_threads = std::max(1u, std::thread::hardware_concurrency());
  std::string partitions, retain_history = "0", retain_1m = "0", retain_1h = "0", retain_dedup = "0";
  po::options_description desc("serve options");
  // clang-format off
  desc.add_options()
      ("db", po::value(&db)->required(), "RocksDB directory (created when missing)")
      ("bootstrap", po::value(&c.sink.bootstrap)->required(),
       "Kafka bootstrap servers HOST:PORT[,...]")
      ("group", po::value(&c.sink.group_id)->default_value(c.sink.group_id), "consumer group id")
      ("telemetry-topic", po::value(&c.sink.telemetry_topic)->default_value(c.sink.telemetry_topic),
       "telemetry topic")
      ("catalog-topic", po::value(&c.sink.catalog_topic)->default_value(c.sink.catalog_topic),
       "catalog topic")
      ("max-poll-records", po::value(&max_records)->default_value(max_records),
       "records per poll round at most")
      ("poll-round-ms", po::value(&round_ms)->default_value(round_ms),
       "a poll round lasts at most this long after its first record")
      ("catalog-wait-ms", po::value(&catalog_wait_ms)->default_value(catalog_wait_ms),
       "how long a round waits for an unknown catalog before it is read again")
      ("partitions", po::value(&partitions),
       "telemetry partitions this instance owns, e.g. 0,1,2 (default: the consumer group assigns)")
      ("retain-history", po::value(&retain_history)->default_value(retain_history),
       "keep raw samples this long, e.g. 90d (0: forever)")
      ("retain-rollups-1m", po::value(&retain_1m)->default_value(retain_1m),
       "keep minute rollups this long (0: forever)")
      ("retain-rollups-1h", po::value(&retain_1h)->default_value(retain_1h),
       "keep hour rollups this long (0: forever)")
      ("retain-dedup", po::value(&retain_dedup)->default_value(retain_dedup),
       "forget a silent stream's de-duplication ranges after this long (0: never)")
      ("http-address", po::value(&c.http.address)->default_value(c.http.address),
       "HTTP listen address")
      ("http-port", po::value(&port)->default_value(0), "HTTP port; 0 picks a free one")
      ("http-threads", po::value(&c.http_threads)->default_value(c.http_threads),
       "threads answering HTTP requests (each runs one query at a time)")
      ("query-timeout-ms", po::value(&query_timeout_ms)->default_value(query_timeout_ms),
       "a query still running after this long fails with 503")
      ("query-threads", po::value(&query_threads)->default_value(query_threads),
       "threads one grouped or bucketed query reads its vehicles on; those beyond the query's "
       "own are shared by the queries running at once, N - 1 in all")
      ("query-max-values", po::value(&c.query.max_scanned_values)->default_value(c.query.max_scanned_values),
       "samples plus rollups one query may read; more is a 400")
      ("query-max-groups", po::value(&c.query.max_groups)->default_value(c.query.max_groups),
       "groups (times their time buckets) one grouped query may hold; more is a 400")
      ("http-port-file", po::value(&c.port_file), "write the bound HTTP port to FILE once serving")
      ("log-level", po::value(&c.log_level)->default_value("info"),
       "trace, debug, info, warn or error");
  // clang-format on
  AddCommonOptions(desc);
  po::variables_map vm;
  CANVOY_ASSIGN_OR_RETURN(auto outcome, ParseOptions(argc, argv, desc, vm, kUsage));
  help = outcome == ParseOutcome::kHelpShown;
  if (help) return c;
  if (port < 0 || port > 65535) {
    return Error(Errc::kInvalidArgument,
                 "option '--http-port': " + std::to_string(port) + " is not in 0..65535");
  }
  c.http.port = static_cast<std::uint16_t>(port);
  c.store.path = db;
  CANVOY_ASSIGN_OR_RETURN(c.store.retention.history,
                          cli::ParseRetention("retain-history", retain_history));
  CANVOY_ASSIGN_OR_RETURN(c.store.retention.rollups_1m,
                          cli::ParseRetention("retain-rollups-1m", retain_1m));
  CANVOY_ASSIGN_OR_RETURN(c.store.retention.rollups_1h,
                          cli::ParseRetention("retain-rollups-1h", retain_1h));
  CANVOY_ASSIGN_OR_RETURN(c.store.retention.dedup, cli::ParseRetention("retain-dedup", retain_dedup));
  CANVOY_ASSIGN_OR_RETURN(c.sink.partitions, ParsePartitions(partitions));
  c.sink.max_poll_records = max_records;
  c.sink.poll_round_time = std::chrono::milliseconds(round_ms);
  c.sink.catalog_wait = std::chrono::milliseconds(catalog_wait_ms);
  CANVOY_RETURN_IF_ERROR(c.sink.Validate());
  if (c.http_threads == 0)
    return Error(Errc::kInvalidArgument, "option '--http-threads' must be at least 1");
  c.query.timeout = std::chrono::milliseconds(query_timeout_ms);
  if (query_threads == 0)
    return Error(Errc::kInvalidArgument, "option '--query-threads' must be at least 1");
  c.query.threads = query_threads;
  if (query_threads > 1) c.query.budget = std::make_shared<QueryThreadBudget>(query_threads - 1);
  CANVOY_RETURN_IF_ERROR(c.query.Validate());
  return c;
}

int Serve(int argc, const char* const* argv) {
  bool help = false;
  auto parsed = ParseServe(argc, argv, help);
  if (!parsed) return Fail(kUsageError, parsed.error());
  if (help) return 0;
  const ServeConfig& config = parsed.value();
  if (auto status = InitLogging("fleet-store", config.log_level); !status)
    return Fail(kUsageError, status.error());

  auto opened = Store::Open(config.store);
  if (!opened) return Fail(kRuntimeError, opened.error());
  std::unique_ptr<Store> store = std::move(opened).value();
  prometheus::Registry registry;
  SinkMetrics metrics(registry);
  auto created = Sink::Create(config.sink, *store, metrics);
  if (!created) return Fail(kUsageError, created.error());
  std::unique_ptr<Sink> sink = std::move(created).value();

  boost::asio::io_context io;
  auto started = http::Server::Start(io, config.http, MakeQueryHandler(*store, [&store] { return store->View(); }, registry,
                                     config.query));
  if (!started) return Fail(kRuntimeError, started.error());
  std::shared_ptr<http::Server> server = started.value();
  if (!config.port_file.empty()) {
    if (auto status = net::WritePortFile(config.port_file, server->port()); !status) {
      return Fail(kRuntimeError, status.error());
    }
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&sink](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("msg=\"stopping\" signal={}", signal);
    sink->Stop();
  });
  std::vector<std::thread> io_threads;
  for (unsigned i = 0; i < config.http_threads; ++i) io_threads.emplace_back([&io] { io.run(); });
  spdlog::info("msg=\"serving\" db=\"{}\" http={}:{} topic={} group={}", config.store.path.string(),
               config.http.address, server->port(), config.sink.telemetry_topic,
               config.sink.group_id);

  // This thread is the consumer/writer thread. Run() returns after committing its last round.
  auto status = sink->Run();
  server->Stop();
  boost::asio::post(io, [&signals] { signals.cancel(); });
  io.stop();
  for (auto& thread : io_threads) thread.join();
  sink.reset();
  store.reset();  // closes RocksDB; no query can run any more
  if (!status) {
    spdlog::error("msg=\"stopped on error\" error=\"{}\"", status.error().ToString());
    return kRuntimeError;
  }
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "serve") return Serve(argc - 1, argv + 1);
  if (command == "query") return RunQueryCommand(argc - 1, argv + 1);
  if (command == "import") return cli::ImportCommand(argc - 1, argv + 1);
  if (command == "export") return cli::ExportCommand(argc - 1, argv + 1);
  if (command == "offsets") return cli::OffsetsCommand(argc - 1, argv + 1);
  if (command == "compact") return cli::CompactCommand(argc - 1, argv + 1);
  if (command == "disk-usage") return cli::DiskUsageCommand(argc - 1, argv + 1);
  if (command == "--help" || command == "-h") {
    std::cout << kUsage << "\n";
    return 0;
  }
  return Fail(kUsageError,
              Error(Errc::kInvalidArgument, "command '" + std::string(command) +
                                                "': expected serve, query, import, export, offsets, compact or disk-usage\n" + kUsage));
}
