// `canvoy-agent run`: replay a candump log through the decoder and send it to ingest.
#include <fstream>
#include <iostream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json.hpp>

#include "canvoy/agent/agent.h"
#include "canvoy/agent/commands.h"
#include "canvoy/common/logging.h"
#include "canvoy/common/options.h"

namespace canvoy::agent {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

json::object SummaryJson(const AgentSummary& s) {
  json::array latest;
  for (const auto& l : s.latest) {
    json::object o{{"name", l.name}, {"type", l.type}, {"timestamp_us", l.timestamp_us}};
    std::visit([&](auto v) { o["value"] = v; }, l.value);
    latest.push_back(std::move(o));
  }
  return {{"frames", s.frames},       {"decoded_frames", s.decoded_frames},
          {"unknown_ids", s.unknown_ids}, {"malformed_lines", s.malformed_lines},
          {"samples", s.samples},     {"batches", s.batches},
          {"batches_acked", s.batches_acked}, {"batches_rejected", s.batches_rejected},
          {"connects", s.connects},   {"resumed_connections", s.resumed_connections},
          {"triggers_fired", s.triggers_fired},
          {"spool_evicted_batches", s.spool_evicted_batches}, {"spool_evicted_bytes", s.spool_evicted_bytes},
          {"spool_corrupt_bytes_cut", s.spool_corrupt_bytes_cut},
          {"spooled_digest", {{"count", s.spooled.count}, {"sum", s.spooled.sum}}},
          {"latest", std::move(latest)}};
}

Result<std::pair<std::string, std::uint16_t>> ParseHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Error(Errc::kInvalidArgument, "--ingest '" + text + "': expected HOST:PORT");
  }
  try {
    const int port = std::stoi(text.substr(colon + 1));
    if (port <= 0 || port > 65535) throw std::out_of_range("port");
    return std::make_pair(text.substr(0, colon), static_cast<std::uint16_t>(port));
  } catch (const std::exception&) {
    return Error(Errc::kInvalidArgument, "--ingest '" + text + "': port is not a number from 1 to 65535");
  }
}

}  // namespace

int RunRunCommand(int argc, char** argv) {
  AgentOptions o;
  std::string ca, cert, key, ingest, summary_path, log_level;
  std::string spool_fsync = o.spool_fsync.ToString();
  std::int64_t max_age_ms = o.batch_max_age.count();
  po::options_description desc("Options");
  AddCommonOptions(desc);
  desc.add_options()
      ("dbc", po::value(&o.dbc_files)->required()->composing(), "DBC file (repeat for several)")
      ("log", po::value(&o.log_file)->required(), "candump -l log to replay")
      ("iface", po::value(&o.interface), "decode only frames of this interface")
      ("names", po::value(&o.name_mapping_file), "signal renames: `Message.Signal = Vehicle.Speed` lines")
      ("catalog", po::value(&o.catalog_file), "JSON signal catalog: names, units, policies, triggers (not with --names)")
      ("ca", po::value(&ca)->required(), "CA certificate that ingest's certificate must chain to")
      ("cert", po::value(&cert)->required(), "vehicle certificate (PEM)")
      ("key", po::value(&key)->required(), "vehicle private key (PEM)")
      ("ingest", po::value(&ingest)->required(), "ingest address HOST:PORT")
      ("server-name", po::value(&o.server_name)->default_value(o.server_name), "name ingest's certificate must carry")
      ("max-connect-attempts", po::value(&o.max_connect_attempts)->default_value(0),
       "failed connection attempts in a row before giving up (0: never)")
      ("batch-max-samples", po::value(&o.batch_max_samples)->default_value(o.batch_max_samples), "samples per batch")
      ("batch-max-age-ms", po::value(&max_age_ms)->default_value(max_age_ms), "batch age limit (log time)")
      ("time-base-us", po::value(&o.time_base_us)->default_value(0), "epoch microseconds of the log's first frame (0: now)")
      ("replay-speed", po::value(&o.replay_speed)->default_value(0), "replay pacing: 0 as fast as it decodes, 1 real time, 10 ten times faster")
      ("spool-dir", po::value(&o.spool_dir)->required(), "crash-safe spool directory (created if missing)")
      ("spool-max-bytes", po::value(&o.spool_max_bytes)->default_value(o.spool_max_bytes),
       "spool byte cap; beyond it the lowest-priority, oldest batches are evicted")
      ("spool-segment-bytes", po::value(&o.spool_segment_bytes)->default_value(o.spool_segment_bytes),
       "spool segment file size")
      ("spool-fsync", po::value(&spool_fsync)->default_value(spool_fsync),
       "when the spool syncs to storage: every, interval:MS or never")
      ("summary", po::value(&summary_path), "write a JSON summary (counts, latest values) to FILE")
      ("log-level", po::value(&log_level)->default_value("info"), "trace, debug, info, warn, error");
  po::variables_map vm;
  auto parsed = ParseOptions(argc, argv, desc, vm,
                             "usage: canvoy-agent run --dbc F --log F --ca F --cert F --key F --ingest HOST:PORT "
                             "--spool-dir DIR");
  if (!parsed) {
    std::cerr << "canvoy-agent run: " << parsed.error().message() << "\n";
    return 2;
  }
  if (parsed.value() == ParseOutcome::kHelpShown) return 0;
  if (auto s = InitLogging("agent", log_level); !s) {
    std::cerr << "canvoy-agent run: " << s.error().message() << "\n";
    return 2;
  }
  auto host_port = ParseHostPort(ingest);
  if (!host_port) {
    std::cerr << "canvoy-agent run: " << host_port.error().message() << "\n";
    return 2;
  }
  o.ingest_host = host_port.value().first;
  o.ingest_port = host_port.value().second;
  o.tls = {ca, cert, key};
  o.batch_max_age = std::chrono::milliseconds(max_age_ms);
  auto fsync_policy = FsyncPolicy::Parse(spool_fsync);
  if (!fsync_policy) {
    std::cerr << "canvoy-agent run: " << fsync_policy.error().message() << "\n";
    return 2;
  }
  o.spool_fsync = fsync_policy.value();
  if (auto valid = o.Validate(); !valid) {
    std::cerr << "canvoy-agent run: " << valid.error().message() << "\n";
    return 2;
  }

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  auto finish = [&](int code) {
    work.reset();
    io.stop();
    io_thread.join();
    return code;
  };
  auto agent = Agent::Create(o, io);
  if (!agent) {
    std::cerr << "canvoy-agent run: " << agent.error().message() << "\n";
    return finish(1);
  }
  auto summary = agent.value()->Run();
  if (!summary) {
    std::cerr << "canvoy-agent run: " << summary.error().message() << "\n";
    return finish(1);
  }
  const auto& s = summary.value();
  std::cout << "frames=" << s.frames << " decoded_frames=" << s.decoded_frames << " samples=" << s.samples
            << " batches=" << s.batches << " acked=" << s.batches_acked << " rejected=" << s.batches_rejected
            << "\n";
  if (!summary_path.empty()) {
    std::ofstream out(summary_path);
    out << json::serialize(SummaryJson(s)) << "\n";
    if (!out) {
      std::cerr << "canvoy-agent run: summary '" << summary_path << "': cannot be written\n";
      return finish(1);
    }
  }
  return finish(s.batches_rejected == 0 ? 0 : 1);
}

}  // namespace canvoy::agent
