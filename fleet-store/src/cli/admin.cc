#include "cli/admin.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <charconv>
#include <iostream>
#include <limits>

#include "canvoy/common/logging.h"
#include "canvoy/common/options.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_view.h"
#include "canvoy/fleet_store/store_writer.h"
#include "import/csv_import.h"

namespace canvoy::fleet_store::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: canvoy-fleet-store import --db DIR [--samples FILE.csv] [--attributes FILE.csv]\n"
    "       canvoy-fleet-store export --db DIR [--vin VIN] [--signal NAME]\n"
    "       canvoy-fleet-store offsets --db DIR\n"
    "       canvoy-fleet-store compact --db DIR\n"
    "       canvoy-fleet-store disk-usage --db DIR";

int Fail(int code, const Error& error) {
  std::cerr << "canvoy-fleet-store: " << error.message() << "\n";
  return code;
}

// Parses argv; nullopt when help was shown, an exit code on error.
std::optional<int> Parse(int argc, const char* const* argv, po::options_description& desc) {
  AddCommonOptions(desc);
  po::variables_map vm;
  auto outcome = ParseOptions(argc, argv, desc, vm, kUsage);
  if (!outcome) return Fail(kUsageError, outcome.error());
  if (outcome.value() == ParseOutcome::kHelpShown) return 0;
  return std::nullopt;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& db, bool read_only) {
  StoreOptions options;
  options.path = db;
  options.create_if_missing = !read_only;
  options.read_only = read_only;
  return Store::Open(options);
}

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string ValueText(const SignalValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return CsvField(v);
        } else {
          char buffer[64];
          auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
          return std::string(buffer, end);
        }
      },
      value);
}

}  // namespace

Result<std::chrono::seconds> ParseRetention(std::string_view option, std::string_view text) {
  auto bad = [&] {
    return Error(Errc::kInvalidArgument, "option '--" + std::string(option) + "': '" +
                                             std::string(text) +
                                             "' is not a duration like 90d, 12h, 30m, 45s or 0");
  };
  if (text == "0") return std::chrono::seconds(0);
  if (text.size() < 2) return bad();
  std::int64_t n = 0;
  const char* end = text.data() + text.size() - 1;
  if (auto [p, ec] = std::from_chars(text.data(), end, n); ec != std::errc() || p != end || n < 0)
    return bad();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return bad();
  }
  if (n > std::numeric_limits<std::int64_t>::max() / 1'000'000 / unit) return bad();
  return std::chrono::seconds(n * unit);
}

int ImportCommand(int argc, const char* const* argv) {
  std::string db, samples, attributes, log_level;
  import::ImportOptions options;
  po::options_description desc("import options");
  // clang-format off
  desc.add_options()
      ("db", po::value(&db)->required(), "RocksDB directory (created when missing)")
      ("samples", po::value(&samples), "CSV file: vin,timestamp_us,signal,value")
      ("attributes", po::value(&attributes), "CSV file: vin,<attribute>,... (header names them)")
      ("chunk-lines", po::value(&options.chunk_lines)->default_value(options.chunk_lines),
       "lines per write batch")
      ("strict", po::bool_switch(&options.strict), "import nothing if any line is bad")
      ("log-level", po::value(&log_level)->default_value("warn"), "log level");
  // clang-format on
  if (auto code = Parse(argc, argv, desc)) return *code;
  if (auto status = InitLogging("fleet-store", log_level); !status)
    return Fail(kUsageError, status.error());
  options.samples = samples;
  options.attributes = attributes;
  auto store = OpenStore(db, false);
  if (!store) return Fail(kRuntimeError, store.error());
  StoreWriter writer(*store.value());
  auto report = import::ImportCsv(writer, options);
  if (!report) {
    return Fail(report.error().code() == Errc::kInvalidArgument ? kUsageError : kRuntimeError,
                report.error());
  }
  const auto& r = report.value();
  for (const auto& error : r.errors) std::cerr << "canvoy-fleet-store: " << error << "\n";
  boost::json::object out{{"sample_lines", r.sample_lines},
                          {"samples_written", r.samples_written},
                          {"empty_values", r.empty_values},
                          {"rejected_lines", r.rejected_lines},
                          {"duplicate_batches", r.duplicate_batches},
                          {"vehicles_with_attributes", r.vehicles_with_attributes},
                          {"rejected_attribute_lines", r.rejected_attribute_lines},
                          {"stream_id", r.stream_id}};
  std::cout << boost::json::serialize(out) << "\n";
  return r.rejected_lines + r.rejected_attribute_lines > 0 ? kPartialImport : 0;
}

int ExportCommand(int argc, const char* const* argv) {
  std::string db, vin_text, signal;
  po::options_description desc("export options");
  // clang-format off
  desc.add_options()
      ("db", po::value(&db)->required(), "RocksDB directory")
      ("vin", po::value(&vin_text), "only this vehicle")
      ("signal", po::value(&signal), "only this signal");
  // clang-format on
  if (auto code = Parse(argc, argv, desc)) return *code;
  std::optional<Vin> only;
  if (!vin_text.empty()) {
    auto vin = Vin::Parse(vin_text);
    if (!vin) return Fail(kUsageError, vin.error().WithContext("option '--vin'"));
    only = vin.value();
  }
  auto store = OpenStore(db, true);
  if (!store) return Fail(kRuntimeError, store.error());
  auto view = store.value()->View();
  std::string out = "vin,timestamp_us,signal,type,value\n";
  Status failure = OkStatus();
  auto status = view->ForEachVehicle([&](const VehicleInfo& vehicle) {
    if (only && vehicle.summary.vin != *only) return true;
    auto latest = store.value()->GetLatest(vehicle.summary.vin);
    if (!latest) {
      if (latest.error().code() == Errc::kNotFound) return true;  // attributes only, no data
      failure = latest.error();
      return false;
    }
    for (const auto& s : latest.value().signals) {
      if (!signal.empty() && s.name != signal) continue;
      failure = view->ScanSamples(
          vehicle.summary.vin, s.name, std::numeric_limits<std::int64_t>::min(),
          std::numeric_limits<std::int64_t>::max(), [&](const Sample& sample) {
            out += vehicle.summary.vin.str();
            out += ',';
            out += std::to_string(sample.timestamp_us);
            out += ',';
            out += CsvField(s.name);
            out += ',';
            out += TypeName(sample.value);
            out += ',';
            out += ValueText(sample.value);
            out += '\n';
            if (out.size() > (1 << 20)) {
              std::cout << out;
              out.clear();
            }
            return true;
          });
      if (!failure) return false;
    }
    return true;
  });
  std::cout << out << std::flush;
  if (!status) return Fail(kRuntimeError, status.error());
  if (!failure) return Fail(kRuntimeError, failure.error());
  return 0;
}

int OffsetsCommand(int argc, const char* const* argv) {
  std::string db;
  po::options_description desc("offsets options");
  desc.add_options()("db", po::value(&db)->required(), "RocksDB directory");
  if (auto code = Parse(argc, argv, desc)) return *code;
  auto store = OpenStore(db, true);
  if (!store) return Fail(kRuntimeError, store.error());
  auto offsets = store.value()->ListOffsets();
  if (!offsets) return Fail(kRuntimeError, offsets.error());
  std::cout << "topic,partition,next_offset\n";
  for (const auto& [topic, partition, next] : offsets.value())
    std::cout << topic << "," << partition << "," << next << "\n";
  return 0;
}

int DiskUsageCommand(int argc, const char* const* argv) {
  std::string db;
  po::options_description desc("disk-usage options");
  desc.add_options()("db", po::value(&db)->required(), "RocksDB directory");
  if (auto code = Parse(argc, argv, desc)) return *code;
  auto store = OpenStore(db, true);
  if (!store) return Fail(kRuntimeError, store.error());
  auto usage = store.value()->DiskUsage();
  if (!usage) return Fail(kRuntimeError, usage.error());
  std::cout << "column_family,sst_bytes\n";
  for (const auto& [cf, bytes] : usage.value()) std::cout << cf << "," << bytes << "\n";
  return 0;
}

int CompactCommand(int argc, const char* const* argv) {
  std::string db;
  po::options_description desc("compact options");
  desc.add_options()("db", po::value(&db)->required(), "RocksDB directory");
  if (auto code = Parse(argc, argv, desc)) return *code;
  auto store = OpenStore(db, false);
  if (!store) return Fail(kRuntimeError, store.error());
  if (auto status = store.value()->Compact(); !status) return Fail(kRuntimeError, status.error());
  return 0;
}

}  // namespace canvoy::fleet_store::cli
