// canvoy-fleet-sim: N simulated vehicles replaying a candump log through the real agent code.
#include <fstream>
#include <iostream>

#include <boost/json.hpp>

#include "canvoy/common/logging.h"
#include "canvoy/common/options.h"
#include "canvoy/simulators/fleet.h"

namespace po = boost::program_options;
namespace json = boost::json;

int main(int argc, char** argv) {
  canvoy::simulators::FleetOptions o;
  std::string pki, ingest, summary_path, log_level;
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()
      ("vehicles", po::value(&o.vehicles)->default_value(o.vehicles), "number of simulated vehicles")
      ("vin-prefix", po::value(&o.vin_prefix)->default_value(o.vin_prefix), "VIN prefix (VINs are numbered)")
      ("pki", po::value(&pki)->required(), "PKI directory from canvoy-pki --init (vehicle certificates are issued when missing)")
      ("dbc", po::value(&o.agent.dbc_files)->required()->composing(), "DBC file (repeat for several)")
      ("log", po::value(&o.agent.log_file)->required(), "candump -l log every vehicle replays")
      ("iface", po::value(&o.agent.interface), "replay only this interface's frames")
      ("ingest", po::value(&ingest)->required(), "ingest HOST:PORT")
      ("io-threads", po::value(&o.io_threads)->default_value(o.io_threads), "threads for the uplinks")
      ("replay-speed", po::value(&o.agent.replay_speed)->default_value(0),
       "replay pace: 0 as fast as it decodes, 1 real time, 2 twice as fast")
      ("summary", po::value(&summary_path), "write per-vehicle counts as JSON to FILE")
      ("log-level", po::value(&log_level)->default_value("warn"), "trace, debug, info, warn, error");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(argc, argv, desc, vm,
                                     "usage: canvoy-fleet-sim --pki DIR --dbc F --log F --ingest HOST:PORT [--vehicles N]");
  if (!parsed) {
    std::cerr << "canvoy-fleet-sim: " << parsed.error().message() << "\n";
    return 2;
  }
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) return 0;
  if (auto s = canvoy::InitLogging("fleet-sim", log_level); !s) {
    std::cerr << "canvoy-fleet-sim: " << s.error().message() << "\n";
    return 2;
  }
  const auto colon = ingest.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "canvoy-fleet-sim: --ingest '" << ingest << "': expected HOST:PORT\n";
    return 2;
  }
  o.agent.ingest_host = ingest.substr(0, colon);
  o.agent.ingest_port = static_cast<std::uint16_t>(std::atoi(ingest.c_str() + colon + 1));
  o.pki_dir = pki;

  auto results = canvoy::simulators::RunFleet(o);
  if (!results) {
    std::cerr << "canvoy-fleet-sim: " << results.error().message() << "\n";
    return 1;
  }
  int failed = 0;
  std::uint64_t samples = 0;
  json::array vehicles;
  for (const auto& r : results.value()) {
    std::cout << r.vin << "  frames=" << r.summary.frames << " samples=" << r.summary.samples
              << " batches=" << r.summary.batches << " acked=" << r.summary.batches_acked
              << (r.error.empty() ? "" : "  ERROR: " + r.error) << "\n";
    samples += r.summary.samples;
    failed += r.error.empty() ? 0 : 1;
    vehicles.push_back(json::object{{"vin", r.vin},
                                    {"samples", r.summary.samples},
                                    {"batches", r.summary.batches},
                                    {"connects", r.summary.connects},
                                    {"resumed_connections", r.summary.resumed_connections},
                                    {"spooled_digest", {{"count", r.summary.spooled.count}, {"sum", r.summary.spooled.sum}}},
                                    {"error", r.error}});
  }
  std::cout << results.value().size() << " vehicles, " << samples << " samples sent and acknowledged"
            << (failed ? ", " + std::to_string(failed) + " vehicles failed" : "") << "\n";
  if (!summary_path.empty()) {
    std::ofstream out(summary_path);
    out << json::serialize(json::object{{"vehicles", std::move(vehicles)}, {"samples", samples}}) << "\n";
  }
  return failed == 0 ? 0 : 1;
}
