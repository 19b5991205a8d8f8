// The generator's output files (README.md has their layout): samples.csv for the fleet store,
// attributes.csv for its vehicle attributes, tags/readings/diagnostics.csv for DuckDB in TSBS's
// TimescaleDB layout, and params.json with the query parameters.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "delivery.h"
#include "result.h"
#include "truck_sim.h"

namespace canvoy::bench::tsbs {

// A file written through one large buffer (the generator writes gigabytes). Owns the FILE.
class OutFile {
 public:
  static Result<std::unique_ptr<OutFile>> Open(const std::filesystem::path& path);
  ~OutFile();
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  void Append(std::string_view text) {
    if (used_ + text.size() > kCapacity) Flush();
    text.copy(buffer_.get() + used_, text.size());
    used_ += text.size();
  }
  void Append(char c) {
    if (used_ == kCapacity) Flush();
    buffer_[used_++] = c;
  }
  void AppendInt(std::int64_t value);
  // The shortest text that reads back as exactly this double.
  void AppendDouble(double value);

  // Flushes and closes; the first write error, if any, names the file.
  [[nodiscard]] Status Close();
  std::uint64_t bytes() const { return bytes_; }

 private:
  static constexpr std::size_t kCapacity = 8 << 20;
  OutFile(std::filesystem::path path, std::FILE* file);
  void Flush();

  std::filesystem::path path_;
  std::FILE* file_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
  int error_ = 0;  // errno of the first failed write
};

// attributes.csv (for the store) and tags.csv (for DuckDB): one line per truck.
[[nodiscard]] Status WriteTagFiles(const std::filesystem::path& dir, const Fleet& fleet);

// samples.csv, readings.csv and diagnostics.csv, written in the order points are delivered.
class MeasurementFiles final : public PointSink {
 public:
  static Result<std::unique_ptr<MeasurementFiles>> Open(const std::filesystem::path& dir,
                                                        const Fleet& fleet, std::int64_t start_us,
                                                        std::int64_t tick_us);
  void Deliver(const Point& point) override;
  [[nodiscard]] Status Close();

  std::uint64_t samples() const { return samples_; }
  // (file name, bytes) of every file written so far, after Close.
  std::vector<std::pair<std::string, std::uint64_t>> Sizes() const;

 private:
  MeasurementFiles() = default;

  std::int64_t start_us_ = 0;
  std::int64_t tick_us_ = 0;
  std::vector<std::string> vin_prefix_;  // "<vin>,"
  std::vector<std::string> tags_id_;     // "<id>,"
  std::unique_ptr<OutFile> samples_file_;
  std::unique_ptr<OutFile> readings_file_;
  std::unique_ptr<OutFile> diagnostics_file_;
  std::uint64_t samples_ = 0;
};

// What the queries are asked, chosen from the seed (README.md, "Query parameters").
struct QueryParams {
  std::uint64_t seed = 0;
  std::uint32_t trucks = 0;
  std::int64_t start_us = 0;
  std::int64_t end_us = 0;  // exclusive: the last tick is end_us - interval_us
  std::int64_t interval_us = 0;
  std::int64_t now_us = 0;  // end of the windowed queries' windows
  std::string last_loc_fleet, low_fuel_fleet, high_load_fleet, stationary_fleet, long_driving_fleet,
      long_daily_fleet;
};

QueryParams ChooseQueryParams(std::uint64_t seed, std::uint32_t trucks, std::int64_t start_us,
                              std::int64_t end_us, std::int64_t interval_us);
[[nodiscard]] Status WriteParams(const std::filesystem::path& dir, const QueryParams& params);

}  // namespace canvoy::bench::tsbs
