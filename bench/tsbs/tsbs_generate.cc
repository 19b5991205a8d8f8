// canvoy_tsbs_generate: TSBS IoT trucks with TSBS's dirty data, as CSV for the fleet store and
// for DuckDB, plus the query parameters (README.md). Single-threaded; writes --out DIR.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include "csv_output.h"
#include "delivery.h"
#include "result.h"
#include "time_text.h"
#include "truck_sim.h"

namespace canvoy::bench::tsbs {
namespace {

namespace po = boost::program_options;

// Far above any useful run; it catches "--trucks -1", which program_options reads as 2^32 - 1.
constexpr std::uint32_t kMaxTrucks = 10'000'000;

// The command line, validated once by ParseOptions.
struct GenerateOptions {
  std::uint32_t trucks = 1000;                         // TSBS's --scale
  std::int64_t start_us = 1451606400000000;            // 2016-01-01T00:00:00Z, TSBS's default start
  std::chrono::microseconds duration{86'400'000'000};  // one day
  std::chrono::microseconds interval{10'000'000};      // TSBS's --log-interval default
  std::uint64_t seed = 123;
  std::filesystem::path out;
};

// Returns no options (and prints the help) for --help.
Result<std::optional<GenerateOptions>> ParseOptions(int argc, char** argv) {
  GenerateOptions options;
  std::string start = "2016-01-01T00:00:00Z", duration = "24h", interval = "10s", out;
  po::options_description desc(
      "canvoy_tsbs_generate: TSBS IoT trucks and their dirty data, as CSV (bench/tsbs/README.md)");
  desc.add_options()("help,h", "this text")(
      "trucks", po::value(&options.trucks)->default_value(options.trucks), "number of trucks")(
      "start", po::value(&start)->default_value(start),
      "first timestamp: RFC 3339 or integer microseconds since the epoch")(
      "duration", po::value(&duration)->default_value(duration),
      "simulated time, e.g. 24h, 6h, 1d")("interval", po::value(&interval)->default_value(interval),
                                          "time between two samples")(
      "seed", po::value(&options.seed)->default_value(options.seed), "random seed")(
      "out", po::value(&out), "output directory (created if missing); required");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return std::string(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << desc << "\n";
    return std::optional<GenerateOptions>();
  }
  if (out.empty()) return std::string("--out DIR is required");
  options.out = out;
  if (options.trucks == 0 || options.trucks > kMaxTrucks) {
    return "--trucks must be between 1 and " + std::to_string(kMaxTrucks);
  }
  auto start_us = ParseTimestamp(start);
  if (!start_us) return "--start: " + start_us.error();
  options.start_us = start_us.value();
  auto parsed_duration = ParseDuration(duration);
  if (!parsed_duration) return "--duration: " + parsed_duration.error();
  options.duration = parsed_duration.value();
  auto parsed_interval = ParseDuration(interval);
  if (!parsed_interval) return "--interval: " + parsed_interval.error();
  options.interval = parsed_interval.value();
  if (options.interval.count() <= 0) return std::string("--interval must be positive");
  if (options.duration < options.interval) {
    return std::string("--duration must be at least one --interval");
  }
  if (options.duration / options.interval > UINT32_MAX) {
    return std::string("--duration / --interval: too many ticks");
  }
  return std::optional<GenerateOptions>(options);
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Simulates every truck tick by tick and pushes the points through the dirty delivery.
Status Generate(const GenerateOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) return options.out.string() + ": cannot create: " + ec.message();

  const Fleet fleet = MakeFleet(options.trucks, options.seed);
  if (Status s = WriteTagFiles(options.out, fleet); !s) return s;
  auto files =
      MeasurementFiles::Open(options.out, fleet, options.start_us, options.interval.count());
  if (!files) return files.error();

  const double tick_seconds = static_cast<double>(options.interval.count()) / 1e6;
  const auto ticks = static_cast<std::uint32_t>(options.duration / options.interval);
  std::vector<TruckSim> sims;
  sims.reserve(options.trucks);
  for (std::uint32_t i = 0; i < options.trucks; ++i) {
    sims.emplace_back(i, fleet.bodies[i], options.seed, tick_seconds);
  }
  Delivery delivery(DeliveryOptions{}, options.trucks, tick_seconds, options.seed, *files.value());
  Readings readings;
  Diagnostics diagnostics;
  for (std::uint32_t tick = 0; tick < ticks; ++tick) {
    for (std::uint32_t truck = 0; truck < options.trucks; ++truck) {
      sims[truck].Step(readings, diagnostics);
      Point point{truck, tick, Measurement::kReadings, 0x7f, {}};
      point.values = readings.values;
      delivery.Offer(point);
      point.measurement = Measurement::kDiagnostics;
      point.present = 0x07;
      std::copy(diagnostics.values.begin(), diagnostics.values.end(), point.values.begin());
      delivery.Offer(point);
    }
  }
  delivery.Finish();
  if (Status s = files.value()->Close(); !s) return s;

  const std::int64_t end_us =
      options.start_us + static_cast<std::int64_t>(ticks) * options.interval.count();
  const QueryParams params = ChooseQueryParams(options.seed, options.trucks, options.start_us,
                                               end_us, options.interval.count());
  if (Status s = WriteParams(options.out, params); !s) return s;

  const DeliveryStats& st = delivery.stats();
  std::printf("trucks=%u ticks=%u start=%s end=%s now=%s\n", options.trucks, ticks,
              FormatRfc3339(options.start_us).c_str(), FormatRfc3339(end_us).c_str(),
              FormatRfc3339(params.now_us).c_str());
  std::printf(
      "points_generated=%llu delivered=%llu lost_point=%llu lost_group=%llu lost_outage=%llu "
      "outages=%llu buffered_outage=%llu held_back=%llu null_fields=%llu\n",
      static_cast<unsigned long long>(st.generated), static_cast<unsigned long long>(st.delivered),
      static_cast<unsigned long long>(st.lost_point),
      static_cast<unsigned long long>(st.lost_group),
      static_cast<unsigned long long>(st.lost_outage), static_cast<unsigned long long>(st.outages),
      static_cast<unsigned long long>(st.buffered_outage),
      static_cast<unsigned long long>(st.delayed), static_cast<unsigned long long>(st.null_fields));
  std::printf("samples=%llu", static_cast<unsigned long long>(files.value()->samples()));
  for (const auto& [name, bytes] : files.value()->Sizes()) {
    std::printf(" %s_bytes=%llu", name.c_str(), static_cast<unsigned long long>(bytes));
  }
  std::printf("\nseconds=%.2f out=%s\n", SecondsSince(t0), options.out.c_str());
  return Ok();
}

}  // namespace
}  // namespace canvoy::bench::tsbs

int main(int argc, char** argv) {
  using namespace canvoy::bench::tsbs;
  auto options = ParseOptions(argc, argv);
  if (!options) {
    std::cerr << "canvoy_tsbs_generate: " << options.error() << "\n";
    return 2;
  }
  if (!options.value()) return 0;
  if (Status s = Generate(*options.value()); !s) {
    std::cerr << "canvoy_tsbs_generate: " << s.error() << "\n";
    return 1;
  }
  return 0;
}
