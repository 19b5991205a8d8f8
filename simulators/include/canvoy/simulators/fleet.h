// A fleet of simulated vehicles in one process: each runs the real agent pipeline (decoder,
// batches, spool, TLS uplink) with its own VIN and certificate, replaying a candump log.
//
// Threads: one thread per vehicle decodes its replay; `io_threads` threads run every vehicle's
// uplink.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "canvoy/agent/agent.h"
#include "canvoy/common/error.h"

namespace canvoy::simulators {

struct FleetOptions {
  std::size_t vehicles = 5;
  std::string vin_prefix = "CNVYS";            // VIN = prefix + zero-padded number, 17 characters
  std::filesystem::path pki_dir;               // holds ca.crt and ca.key; vehicle certificates are
                                               // issued into pki_dir/vehicles when missing
  agent::AgentOptions agent;                   // template: tls is filled in per vehicle
  unsigned io_threads = 1;

  Status Validate() const;
};

struct VehicleResult {
  std::string vin;
  agent::AgentSummary summary;
  std::string error;  // empty when every batch was acknowledged
};

// The VIN of vehicle `index` (0-based).
Result<std::string> SimulatedVin(const std::string& prefix, std::size_t index);

// Runs every vehicle to completion.
Result<std::vector<VehicleResult>> RunFleet(const FleetOptions& options);

}  // namespace canvoy::simulators
