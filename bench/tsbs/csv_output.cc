#include "csv_output.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "time_text.h"

namespace canvoy::bench::tsbs {
namespace {

constexpr std::int64_t kBucketUs = 600'000'000;  // TSBS's ten-minute buckets
constexpr std::int64_t kMinuteUs = 60'000'000;

std::string ErrorText(const std::filesystem::path& path, const char* what, int error) {
  return path.string() + ": " + what + ": " + std::strerror(error);
}

void AppendOptional(OutFile& out, const std::optional<std::string>& value) {
  if (value) out.Append(*value);
}

void AppendOptional(OutFile& out, const std::optional<double>& value) {
  if (value) out.AppendDouble(*value);
}

// The tag columns shared by attributes.csv and tags.csv, after the VIN.
void AppendTagColumns(OutFile& out, const TruckTags& tags) {
  AppendOptional(out, tags.name);
  out.Append(',');
  AppendOptional(out, tags.fleet);
  out.Append(',');
  AppendOptional(out, tags.driver);
  out.Append(',');
  AppendOptional(out, tags.model);
  out.Append(',');
  AppendOptional(out, tags.device_version);
  out.Append(',');
  AppendOptional(out, tags.load_capacity);
  out.Append(',');
  AppendOptional(out, tags.fuel_capacity);
  out.Append(',');
  AppendOptional(out, tags.nominal_fuel_consumption);
  out.Append('\n');
}

constexpr std::string_view kTagHeader =
    "name,fleet,driver,model,device_version,load_capacity,fuel_capacity,nominal_fuel_consumption\n";

}  // namespace

OutFile::OutFile(std::filesystem::path path, std::FILE* file)
    : path_(std::move(path)), file_(file), buffer_(new char[kCapacity]) {}

OutFile::~OutFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<std::unique_ptr<OutFile>> OutFile::Open(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return ErrorText(path, "cannot create", errno);
  std::setvbuf(file, nullptr, _IONBF, 0);  // our own buffer is the only one
  return std::unique_ptr<OutFile>(new OutFile(path, file));
}

void OutFile::AppendInt(std::int64_t value) {
  if (used_ + 24 > kCapacity) Flush();
  char* begin = buffer_.get() + used_;
  used_ += static_cast<std::size_t>(std::to_chars(begin, begin + 24, value).ptr - begin);
}

void OutFile::AppendDouble(double value) {
  if (used_ + 32 > kCapacity) Flush();
  char* begin = buffer_.get() + used_;
  // Half the values are whole numbers: below 1e5, std::to_chars's shortest form of those is
  // their integer digits (fixed notation is never longer than scientific there), so print them
  // as integers, which is several times faster. -0.0 keeps its sign through to_chars.
  const auto whole = static_cast<std::int64_t>(value);
  if (value > -1e5 && value < 1e5 && static_cast<double>(whole) == value && !std::signbit(value)) {
    used_ += static_cast<std::size_t>(std::to_chars(begin, begin + 32, whole).ptr - begin);
    return;
  }
  used_ += static_cast<std::size_t>(std::to_chars(begin, begin + 32, value).ptr - begin);
}

void OutFile::Flush() {
  if (used_ > 0 && error_ == 0 && std::fwrite(buffer_.get(), 1, used_, file_) != used_) {
    error_ = errno != 0 ? errno : EIO;
  }
  bytes_ += used_;
  used_ = 0;
}

Status OutFile::Close() {
  Flush();
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (error_ != 0) return ErrorText(path_, "write failed", error_);
  if (closed != 0) return ErrorText(path_, "close failed", errno);
  return Ok();
}

Status WriteTagFiles(const std::filesystem::path& dir, const Fleet& fleet) {
  auto attributes = OutFile::Open(dir / "attributes.csv");
  if (!attributes) return attributes.error();
  auto tags = OutFile::Open(dir / "tags.csv");
  if (!tags) return tags.error();
  OutFile& a = *attributes.value();
  OutFile& t = *tags.value();
  a.Append("vin,");
  a.Append(kTagHeader);
  t.Append("id,vin,");
  t.Append(kTagHeader);
  for (std::size_t i = 0; i < fleet.tags.size(); ++i) {
    const TruckTags& truck = fleet.tags[i];
    a.Append(truck.vin);
    a.Append(',');
    AppendTagColumns(a, truck);
    t.AppendInt(static_cast<std::int64_t>(i) + 1);
    t.Append(',');
    t.Append(truck.vin);
    t.Append(',');
    AppendTagColumns(t, truck);
  }
  if (Status s = a.Close(); !s) return s;
  return t.Close();
}

Result<std::unique_ptr<MeasurementFiles>> MeasurementFiles::Open(const std::filesystem::path& dir,
                                                                 const Fleet& fleet,
                                                                 std::int64_t start_us,
                                                                 std::int64_t tick_us) {
  std::unique_ptr<MeasurementFiles> files(new MeasurementFiles());
  files->start_us_ = start_us;
  files->tick_us_ = tick_us;
  for (std::size_t i = 0; i < fleet.tags.size(); ++i) {
    files->vin_prefix_.push_back(fleet.tags[i].vin + ",");
    files->tags_id_.push_back(std::to_string(i + 1) + ",");
  }
  for (auto [member, name] : {std::pair{&files->samples_file_, "samples.csv"},
                              std::pair{&files->readings_file_, "readings.csv"},
                              std::pair{&files->diagnostics_file_, "diagnostics.csv"}}) {
    auto file = OutFile::Open(dir / name);
    if (!file) return file.error();
    *member = std::move(file).value();
  }
  files->samples_file_->Append("vin,timestamp_us,signal,value\n");
  std::string header = "time_us,tags_id";
  for (std::string_view field : kReadingsFields) header.append(",").append(field);
  files->readings_file_->Append(header + "\n");
  header = "time_us,tags_id";
  for (std::string_view field : kDiagnosticsFields) header.append(",").append(field);
  files->diagnostics_file_->Append(header + "\n");
  return files;
}

void MeasurementFiles::Deliver(const Point& point) {
  const bool readings = point.measurement == Measurement::kReadings;
  const std::size_t fields = readings ? kReadingsFields.size() : kDiagnosticsFields.size();
  const std::int64_t time_us = start_us_ + static_cast<std::int64_t>(point.tick) * tick_us_;
  char time_text[24];
  const auto time_len =
      static_cast<std::size_t>(std::to_chars(time_text, time_text + 24, time_us).ptr - time_text);
  const std::string_view time(time_text, time_len);

  OutFile& table = readings ? *readings_file_ : *diagnostics_file_;
  table.Append(time);
  table.Append(',');
  table.Append(tags_id_[point.truck]);
  for (std::size_t i = 0; i < fields; ++i) {
    const bool present = (point.present >> i) & 1u;
    if (present) table.AppendDouble(point.values[i]);
    table.Append(i + 1 == fields ? '\n' : ',');
    if (!present) continue;
    ++samples_;
    samples_file_->Append(vin_prefix_[point.truck]);
    samples_file_->Append(time);
    samples_file_->Append(',');
    samples_file_->Append(readings ? kReadingsFields[i] : kDiagnosticsFields[i]);
    samples_file_->Append(',');
    samples_file_->AppendDouble(point.values[i]);
    samples_file_->Append('\n');
  }
}

Status MeasurementFiles::Close() {
  for (OutFile* file : {samples_file_.get(), readings_file_.get(), diagnostics_file_.get()}) {
    if (Status s = file->Close(); !s) return s;
  }
  return Ok();
}

std::vector<std::pair<std::string, std::uint64_t>> MeasurementFiles::Sizes() const {
  return {{"samples.csv", samples_file_->bytes()},
          {"readings.csv", readings_file_->bytes()},
          {"diagnostics.csv", diagnostics_file_->bytes()}};
}

QueryParams ChooseQueryParams(std::uint64_t seed, std::uint32_t trucks, std::int64_t start_us,
                              std::int64_t end_us, std::int64_t interval_us) {
  QueryParams p;
  p.seed = seed;
  p.trucks = trucks;
  p.start_us = start_us;
  p.end_us = end_us;
  p.interval_us = interval_us;
  // The end of the data, down to a bucket boundary so that the windows hold whole buckets.
  p.now_us = end_us - ((end_us % kBucketUs) + kBucketUs) % kBucketUs;
  if (p.now_us <= start_us) p.now_us = end_us;
  // Each fleet-filtered query draws its own fleet, as TSBS's query generator does.
  Rng rng(seed, Stream::kParams);
  for (std::string* fleet : {&p.last_loc_fleet, &p.low_fuel_fleet, &p.high_load_fleet,
                             &p.stationary_fleet, &p.long_driving_fleet, &p.long_daily_fleet}) {
    *fleet = std::string(kFleets[rng.Below(kFleets.size())]);
  }
  return p;
}

Status WriteParams(const std::filesystem::path& dir, const QueryParams& p) {
  auto opened = OutFile::Open(dir / "params.json");
  if (!opened) return opened.error();
  OutFile& out = *opened.value();
  const auto line = [&](std::string_view key, const std::string& value, bool quote,
                        std::string_view indent = "  ", bool last = false) {
    out.Append(indent);
    out.Append('"');
    out.Append(key);
    out.Append(quote ? "\": \"" : "\": ");
    out.Append(value);
    out.Append(quote ? "\"" : "");
    out.Append(last ? "\n" : ",\n");
  };
  const auto num = [](std::int64_t v) { return std::to_string(v); };
  const auto window = [&](std::string_view query, const std::string& fleet, std::int64_t length_us,
                          std::string_view threshold_key, std::string_view threshold, bool last) {
    out.Append("    \"");
    out.Append(query);
    out.Append("\": {\n");
    line("fleet", fleet, true, "      ");
    line("start_us", num(p.now_us - length_us), false, "      ");
    line("end_us", num(p.now_us), false, "      ");
    line(threshold_key, std::string(threshold), false, "      ", true);
    out.Append(last ? "    }\n" : "    },\n");
  };
  out.Append("{\n");
  line("generator", "canvoy_tsbs_generate", true);
  line("seed", std::to_string(p.seed), false);
  line("trucks", num(p.trucks), false);
  line("start", FormatRfc3339(p.start_us), true);
  line("start_us", num(p.start_us), false);
  line("end", FormatRfc3339(p.end_us), true);
  line("end_us", num(p.end_us), false);
  line("interval_us", num(p.interval_us), false);
  line("bucket_us", num(kBucketUs), false);
  line("now", FormatRfc3339(p.now_us), true);
  line("now_us", num(p.now_us), false);
  out.Append("  \"queries\": {\n");
  out.Append("    \"last-loc\": {\"fleet\": \"" + p.last_loc_fleet + "\"},\n");
  out.Append("    \"low-fuel\": {\"fleet\": \"" + p.low_fuel_fleet +
             "\", \"fuel_state_below\": 0.1},\n");
  out.Append("    \"high-load\": {\"fleet\": \"" + p.high_load_fleet +
             "\", \"load_fraction_at_least\": 0.9},\n");
  window("stationary-trucks", p.stationary_fleet, 10 * kMinuteUs, "avg_velocity_below", "1", false);
  window("long-driving-sessions", p.long_driving_fleet, 240 * kMinuteUs,
         "driving_buckets_more_than", "22", false);
  window("long-daily-sessions", p.long_daily_fleet, 1440 * kMinuteUs, "driving_buckets_more_than",
         "60", true);
  out.Append("  }\n}\n");
  return out.Close();
}

}  // namespace canvoy::bench::tsbs
