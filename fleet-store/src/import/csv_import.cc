#include "import/csv_import.h"

#include <openssl/evp.h>

#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

#include "canvoy/common/ids.h"
#include "import/csv_reader.h"

namespace canvoy::fleet_store::import {
namespace {

// What a value's text looks like. A signal whose values are integers and doubles (or signed and
// unsigned integers beyond int64) is stored as double throughout.
enum Kind : unsigned { kBool = 1, kInt = 2, kUint = 4, kDouble = 8, kString = 16 };

struct Parsed {
  Kind kind = kString;
  SignalValue value;
};

Parsed ParseValue(std::string_view text) {
  if (text == "true") return {kBool, true};
  if (text == "false") return {kBool, false};
  const char* begin = text.data();
  const char* end = begin + text.size();
  std::int64_t i = 0;
  if (auto [p, ec] = std::from_chars(begin, end, i); ec == std::errc() && p == end) return {kInt, i};
  std::uint64_t u = 0;
  if (auto [p, ec] = std::from_chars(begin, end, u); ec == std::errc() && p == end) return {kUint, u};
  double d = 0;
  if (auto [p, ec] = std::from_chars(begin, end, d); ec == std::errc() && p == end)
    return {kDouble, d};
  return {kString, std::string(text)};
}

SignalValue Unify(const Parsed& parsed, unsigned kinds) {
  const bool numeric = (kinds & (kBool | kString)) == 0;
  const bool mixed = (kinds & kDouble) != 0 || (kinds & (kInt | kUint)) == (kInt | kUint);
  if (!numeric || !mixed) return parsed.value;
  if (parsed.kind == kInt) return static_cast<double>(std::get<std::int64_t>(parsed.value));
  if (parsed.kind == kUint) return static_cast<double>(std::get<std::uint64_t>(parsed.value));
  return parsed.value;
}

constexpr const char* kSampleColumns[] = {"vin", "timestamp_us", "signal", "value"};

class Errors {
 public:
  Errors(ImportReport& report, std::size_t keep) : report_(report), keep_(keep) {}
  void Add(const std::filesystem::path& file, std::uint64_t line, std::size_t field,
           const std::string& what) {
    if (report_.errors.size() >= keep_) return;
    std::string where = file.string() + ":" + std::to_string(line) + ": ";
    if (field > 0) {
      where += "field " + std::to_string(field);
      if (field <= 4) where += std::string(" (") + kSampleColumns[field - 1] + ")";
      where += ": ";
    }
    report_.errors.push_back(where + what);
  }

 private:
  ImportReport& report_;
  std::size_t keep_;
};

// A sample line checked and parsed; nullopt (with the error added) when it is bad.
struct Line {
  std::optional<Vin> vin;
  std::int64_t timestamp_us = 0;
  const std::string* signal = nullptr;
  Parsed value;
  bool empty = false;
};

std::optional<Line> CheckLine(const CsvRecord& record, const std::filesystem::path& file,
                              Errors& errors) {
  const auto& f = record.fields;
  if (f.size() != 4) {
    errors.Add(file, record.line, 0,
               "expected 4 fields (vin,timestamp_us,signal,value), found " +
                   std::to_string(f.size()));
    return std::nullopt;
  }
  auto vin = Vin::Parse(f[0]);
  if (!vin) {
    errors.Add(file, record.line, 1, vin.error().message());
    return std::nullopt;
  }
  Line line;
  line.vin = std::move(vin).value();
  const char* end = f[1].data() + f[1].size();
  if (auto [p, ec] = std::from_chars(f[1].data(), end, line.timestamp_us);
      ec != std::errc() || p != end) {
    errors.Add(file, record.line, 2, "'" + f[1] + "' is not an integer number of microseconds");
    return std::nullopt;
  }
  if (f[2].empty() || f[2].find('\0') != std::string::npos) {
    errors.Add(file, record.line, 3, "a signal name must be non-empty and contain no NUL");
    return std::nullopt;
  }
  line.signal = &f[2];
  line.empty = f[3].empty();
  if (!line.empty) line.value = ParseValue(f[3]);
  return line;
}

Status CheckHeader(const CsvRecord& record, const std::filesystem::path& file) {
  const auto& f = record.fields;
  if (f.size() == 4 && f[0] == "vin" && f[1] == "timestamp_us" && f[2] == "signal" &&
      f[3] == "value")
    return OkStatus();
  return Error(Errc::kInvalidArgument,
               file.string() + ":1: the header must be 'vin,timestamp_us,signal,value'");
}

// Pass 1: validates every line, learns each signal's kinds of values, hashes the bytes.
Status Survey(const ImportOptions& options, ImportReport& report,
              std::unordered_map<std::string, unsigned>& kinds, std::string& digest) {
  Errors errors(report, options.errors_kept);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!sha || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1)
    return Error(Errc::kInternal, "sha256: init failed");
  Status header = OkStatus();
  bool first = true;
  auto status = ReadCsv(
      options.samples,
      [&](const CsvRecord& record) {
        if (first) {
          first = false;
          header = CheckHeader(record, options.samples);
          return static_cast<bool>(header);
        }
        ++report.sample_lines;
        auto line = CheckLine(record, options.samples, errors);
        if (!line) {
          ++report.rejected_lines;
          return true;
        }
        if (line->empty) {
          ++report.empty_values;
          return true;
        }
        kinds[*line->signal] |= line->value.kind;
        return true;
      },
      [&](std::string_view bytes) { EVP_DigestUpdate(sha.get(), bytes.data(), bytes.size()); });
  CANVOY_RETURN_IF_ERROR(status);
  CANVOY_RETURN_IF_ERROR(header);
  if (first)
    return Error(Errc::kInvalidArgument, options.samples.string() + ": empty file, no header");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(sha.get(), out, &size);
  digest.assign(reinterpret_cast<const char*>(out), size);
  return OkStatus();
}

// Pass 2: the lines again, a chunk at a time, one batch per vehicle and chunk.
Status Load(StoreWriter& writer, const ImportOptions& options,
            const std::unordered_map<std::string, unsigned>& kinds, const StreamId& stream,
            ImportReport& report) {
  std::uint64_t chunk = 0;
  std::size_t lines_in_chunk = 0;
  // vin -> signal -> samples, for the current chunk
  std::map<std::string, std::map<std::string, std::vector<Sample>, std::less<>>> pending;
  Status failure = OkStatus();
  auto flush = [&]() -> Status {
    std::vector<ImportedBatch> batches;
    batches.reserve(pending.size());
    for (auto& [vin, signals] : pending) {
      ImportedBatch batch{Vin::Parse(vin).value(), stream, chunk, 0, {}};
      for (auto& [signal, samples] : signals) {
        for (const auto& s : samples)
          batch.received_time_us = std::max(batch.received_time_us, s.timestamp_us);
        batch.series.push_back(ImportedSeries{signal, {}, std::move(samples)});
      }
      batches.push_back(std::move(batch));
    }
    pending.clear();
    lines_in_chunk = 0;
    ++chunk;
    if (batches.empty()) return OkStatus();
    CANVOY_ASSIGN_OR_RETURN(auto stats, writer.ApplyImported(std::move(batches)));
    report.samples_written += stats.samples_written;
    report.duplicate_batches += stats.duplicates_dropped;
    return OkStatus();
  };
  ImportReport scratch;  // errors were reported by the survey
  Errors quiet(scratch, 0);
  bool first = true;
  auto status = ReadCsv(options.samples, [&](const CsvRecord& record) {
    if (first) {
      first = false;
      return true;
    }
    auto line = CheckLine(record, options.samples, quiet);
    if (line && !line->empty) {
      auto it = kinds.find(*line->signal);
      pending[line->vin->str()][*line->signal].push_back(
          Sample{line->timestamp_us, Unify(line->value, it == kinds.end() ? 0 : it->second)});
    }
    if (++lines_in_chunk >= options.chunk_lines) {
      failure = flush();
      return static_cast<bool>(failure);
    }
    return true;
  });
  CANVOY_RETURN_IF_ERROR(status);
  CANVOY_RETURN_IF_ERROR(failure);
  return flush();
}

Status LoadAttributes(StoreWriter& writer, const ImportOptions& options, ImportReport& report) {
  Errors errors(report, options.errors_kept);
  std::vector<std::string> names;
  std::vector<std::pair<Vin, Attributes>> pending;
  Status failure = OkStatus();
  auto status = ReadCsv(options.attributes, [&](const CsvRecord& record) {
    const auto& f = record.fields;
    if (names.empty()) {
      if (f.empty() || f[0] != "vin" || f.size() < 2) {
        failure = Error(Errc::kInvalidArgument,
                        options.attributes.string() +
                            ":1: the header must be 'vin,<attribute>,...' with at least one "
                            "attribute");
        return false;
      }
      for (std::size_t i = 1; i < f.size(); ++i) {
        if (f[i].empty()) {
          failure = Error(Errc::kInvalidArgument, options.attributes.string() + ":1: field " +
                                                      std::to_string(i + 1) +
                                                      ": an attribute name is empty");
          return false;
        }
      }
      names = f;
      return true;
    }
    if (f.size() != names.size()) {
      errors.Add(options.attributes, record.line, 0,
                 "expected " + std::to_string(names.size()) + " fields, found " +
                     std::to_string(f.size()));
      ++report.rejected_attribute_lines;
      return true;
    }
    auto vin = Vin::Parse(f[0]);
    if (!vin) {
      errors.Add(options.attributes, record.line, 1, vin.error().message());
      ++report.rejected_attribute_lines;
      return true;
    }
    Attributes attributes;
    for (std::size_t i = 1; i < f.size(); ++i) {
      if (!f[i].empty()) attributes.emplace(names[i], f[i]);  // empty: the attribute is absent
    }
    pending.emplace_back(std::move(vin).value(), std::move(attributes));
    ++report.vehicles_with_attributes;
    if (pending.size() >= 10'000) {
      failure = writer.PutAttributes(pending);
      pending.clear();
      return static_cast<bool>(failure);
    }
    return true;
  });
  CANVOY_RETURN_IF_ERROR(status);
  CANVOY_RETURN_IF_ERROR(failure);
  if (names.empty())
    return Error(Errc::kInvalidArgument, options.attributes.string() + ": empty file, no header");
  if (options.strict && report.rejected_attribute_lines > 0)
    return Error(Errc::kInvalidArgument, report.errors.front());
  return writer.PutAttributes(pending);
}

}  // namespace

Result<ImportReport> ImportCsv(StoreWriter& writer, const ImportOptions& options) {
  if (options.samples.empty() && options.attributes.empty())
    return Error(Errc::kInvalidArgument, "import: give a samples file, an attributes file or both");
  if (options.chunk_lines == 0)
    return Error(Errc::kInvalidArgument, "import: chunk lines must be at least 1");
  ImportReport report;
  if (!options.samples.empty()) {
    std::unordered_map<std::string, unsigned> kinds;
    std::string digest;
    CANVOY_RETURN_IF_ERROR(Survey(options, report, kinds, digest));
    if (options.strict && report.rejected_lines > 0)
      return Error(Errc::kInvalidArgument, report.errors.front() + " (strict: nothing imported)");
    CANVOY_ASSIGN_OR_RETURN(auto stream, StreamId::FromBytes(digest.substr(0, StreamId::kSize)));
    report.stream_id = stream.Hex();
    CANVOY_RETURN_IF_ERROR(Load(writer, options, kinds, stream, report));
  }
  if (!options.attributes.empty()) CANVOY_RETURN_IF_ERROR(LoadAttributes(writer, options, report));
  return report;
}

}  // namespace canvoy::fleet_store::import
