// canvoy-pki: a development PKI for the uplink (CA, ingest server certificate, vehicle certificates).
#include <iostream>
#include <string>
#include <vector>

#include "canvoy/common/options.h"
#include "canvoy/common/pki.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()("dir", po::value<std::string>()->required(), "PKI directory (holds ca.crt, ca.key)")(
      "init", "create the CA and the ingest server certificate (localhost, 127.0.0.1, ::1)")(
      "vin", po::value<std::vector<std::string>>()->multitoken(),
      "issue a vehicle certificate for each VIN (vehicles/<VIN>.crt and .key)");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(argc, argv, desc, vm,
                                     "usage: canvoy-pki --dir DIR [--init] [--vin VIN...]");
  if (!parsed) {
    std::cerr << "canvoy-pki: " << parsed.error().message() << "\n";
    return 2;
  }
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) return 0;
  const std::string dir = vm["dir"].as<std::string>();
  if (vm.count("init") != 0) {
    if (auto s = canvoy::pki::CreateCa(dir, "Canvoy Development CA"); !s) {
      std::cerr << "canvoy-pki: " << s.error().message() << "\n";
      return 1;
    }
    canvoy::pki::CertificateSpec server;
    server.common_name = "localhost";
    server.dns_names = {"localhost"};
    server.ip_addresses = {"127.0.0.1", "::1"};
    server.server = true;
    if (auto s = canvoy::pki::Issue(dir, server, std::string(dir) + "/server"); !s) {
      std::cerr << "canvoy-pki: " << s.error().message() << "\n";
      return 1;
    }
    std::cout << "created " << dir << "/ca.crt and " << dir << "/server.crt\n";
  }
  if (vm.count("vin") != 0) {
    for (const auto& vin : vm["vin"].as<std::vector<std::string>>()) {
      if (auto s = canvoy::pki::IssueVehicle(dir, vin); !s) {
        std::cerr << "canvoy-pki: " << s.error().message() << "\n";
        return 1;
      }
    }
    std::cout << "issued " << vm["vin"].as<std::vector<std::string>>().size()
              << " vehicle certificate(s) in " << dir << "/vehicles\n";
  }
  return 0;
}
