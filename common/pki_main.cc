// canvoy-pki: a development PKI for the uplink (CA, ingest server certificate, vehicle
// certificates, and the vehicles' certificate revocation list).
#include <charconv>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "canvoy/common/options.h"
#include "canvoy/common/pki.h"

namespace po = boost::program_options;

namespace {

// "<integer><unit>" with unit s, m, h or d, e.g. "-2h" or "30d": an offset from now.
std::optional<std::chrono::seconds> ParseOffset(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  long long value = 0;
  const char* end = text.data() + text.size() - 1;
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  switch (text.back()) {
    case 's': return std::chrono::seconds(value);
    case 'm': return std::chrono::minutes(value);
    case 'h': return std::chrono::hours(value);
    case 'd': return std::chrono::hours(24 * value);
    default: return std::nullopt;
  }
}

int Fail(const std::string& message) {
  std::cerr << "canvoy-pki: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()("dir", po::value<std::string>()->required(), "PKI directory (holds ca.crt, ca.key)")(
      "init", "create the CA and the ingest server certificate (localhost, 127.0.0.1, ::1)")(
      "vin", po::value<std::vector<std::string>>()->multitoken(),
      "issue a vehicle certificate for each VIN (vehicles/<VIN>.crt and .key)")(
      "not-before", po::value<std::string>()->default_value("-1h"),
      "vehicle certificates are valid from now plus this offset (s, m, h or d; e.g. --not-before=-2d)")(
      "not-after", po::value<std::string>()->default_value("825d"),
      "vehicle certificates are valid until now plus this offset (--not-after=-1h makes expired ones)")(
      "crl", po::value<std::string>(),
      "certificate revocation list (PEM) to create, refresh, or add --revoke certificates to")(
      "revoke", po::value<std::vector<std::string>>()->multitoken(),
      "certificate files (PEM, issued by this CA) to add to --crl")(
      "crl-valid-for", po::value<std::string>()->default_value("30d"),
      "the CRL's nextUpdate, from now");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(
      argc, argv, desc, vm,
      "usage: canvoy-pki --dir DIR [--init] [--vin VIN... [--not-before=OFFSET] [--not-after=OFFSET]]\n"
      "                  [--crl FILE [--revoke CERT...] [--crl-valid-for OFFSET]]");
  if (!parsed) {
    std::cerr << "canvoy-pki: " << parsed.error().message() << "\n";
    return 2;
  }
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) return 0;
  const std::string dir = vm["dir"].as<std::string>();
  canvoy::pki::Validity validity;
  const auto not_before = ParseOffset(vm["not-before"].as<std::string>());
  const auto not_after = ParseOffset(vm["not-after"].as<std::string>());
  const auto crl_valid_for = ParseOffset(vm["crl-valid-for"].as<std::string>());
  if (!not_before || !not_after || !crl_valid_for) {
    std::cerr << "canvoy-pki: --not-before, --not-after and --crl-valid-for take an integer and a unit "
                 "(s, m, h, d), e.g. -2h\n";
    return 2;
  }
  validity.not_before = *not_before;
  validity.not_after = *not_after;
  if (vm.count("revoke") != 0 && vm.count("crl") == 0) {
    std::cerr << "canvoy-pki: --revoke needs --crl FILE\n";
    return 2;
  }
  if (vm.count("init") != 0) {
    if (auto s = canvoy::pki::CreateCa(dir, "Canvoy Development CA"); !s) return Fail(s.error().message());
    canvoy::pki::CertificateSpec server;
    server.common_name = "localhost";
    server.dns_names = {"localhost"};
    server.ip_addresses = {"127.0.0.1", "::1"};
    server.server = true;
    if (auto s = canvoy::pki::Issue(dir, server, std::string(dir) + "/server"); !s) {
      return Fail(s.error().message());
    }
    std::cout << "created " << dir << "/ca.crt and " << dir << "/server.crt\n";
  }
  if (vm.count("vin") != 0) {
    for (const auto& vin : vm["vin"].as<std::vector<std::string>>()) {
      if (auto s = canvoy::pki::IssueVehicle(dir, vin, validity); !s) return Fail(s.error().message());
    }
    std::cout << "issued " << vm["vin"].as<std::vector<std::string>>().size()
              << " vehicle certificate(s) in " << dir << "/vehicles\n";
  }
  if (vm.count("crl") != 0) {
    std::vector<std::filesystem::path> revoke;
    if (vm.count("revoke") != 0) {
      for (const auto& c : vm["revoke"].as<std::vector<std::string>>()) revoke.emplace_back(c);
    }
    const std::string crl = vm["crl"].as<std::string>();
    if (auto s = canvoy::pki::Revoke(dir, revoke, crl, *crl_valid_for); !s) return Fail(s.error().message());
    std::cout << "wrote " << crl << " (" << revoke.size() << " certificate(s) added)\n";
  }
  return 0;
}
