#include "canvoy/simulators/fleet.h"

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "canvoy/common/ids.h"
#include "canvoy/common/pki.h"

namespace canvoy::simulators {

Status FleetOptions::Validate() const {
  if (vehicles == 0 || vehicles > 100000) return Error(Errc::kInvalidArgument, "--vehicles: 1 to 100000");
  if (pki_dir.empty()) return Error(Errc::kInvalidArgument, "--pki: required");
  if (io_threads == 0) return Error(Errc::kInvalidArgument, "--io-threads: at least 1");
  CANVOY_RETURN_IF_ERROR(SimulatedVin(vin_prefix, vehicles - 1));
  return OkStatus();
}

Result<std::string> SimulatedVin(const std::string& prefix, std::size_t index) {
  if (prefix.size() >= Vin::kLength) {
    return Error(Errc::kInvalidArgument, "--vin-prefix '" + prefix + "': leaves no room for a number");
  }
  std::string number = std::to_string(index + 1);
  const std::size_t width = Vin::kLength - prefix.size();
  if (number.size() > width) {
    return Error(Errc::kInvalidArgument, "--vin-prefix '" + prefix + "': too long for " +
                                             std::to_string(index + 1) + " vehicles");
  }
  CANVOY_ASSIGN_OR_RETURN(Vin vin, Vin::Parse(prefix + std::string(width - number.size(), '0') + number));
  return vin.str();
}

Result<std::vector<VehicleResult>> RunFleet(const FleetOptions& options) {
  CANVOY_RETURN_IF_ERROR(options.Validate());
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::unique_ptr<agent::Agent>> agents;
  std::vector<VehicleResult> results(options.vehicles);
  for (std::size_t i = 0; i < options.vehicles; ++i) {
    CANVOY_ASSIGN_OR_RETURN(results[i].vin, SimulatedVin(options.vin_prefix, i));
    const auto stem = options.pki_dir / "vehicles" / results[i].vin;
    if (!std::filesystem::exists(stem.string() + ".crt")) {
      CANVOY_RETURN_IF_ERROR(pki::IssueVehicle(options.pki_dir, results[i].vin));
    }
    agent::AgentOptions a = options.agent;
    a.tls = {options.pki_dir / "ca.crt", stem.string() + ".crt", stem.string() + ".key"};
    CANVOY_ASSIGN_OR_RETURN(auto created, agent::Agent::Create(a, io));
    agents.push_back(std::move(created));
  }
  std::vector<std::thread> io_threads;
  for (unsigned i = 0; i < options.io_threads; ++i) io_threads.emplace_back([&io] { io.run(); });
  std::vector<std::thread> vehicles;
  for (std::size_t i = 0; i < options.vehicles; ++i) {
    vehicles.emplace_back([&, i] {
      auto summary = agents[i]->Run();
      if (summary) {
        results[i].summary = std::move(summary).value();
      } else {
        results[i].error = summary.error().message();
      }
    });
  }
  for (auto& t : vehicles) t.join();
  work.reset();
  io.stop();
  for (auto& t : io_threads) t.join();
  return results;
}

}  // namespace canvoy::simulators
