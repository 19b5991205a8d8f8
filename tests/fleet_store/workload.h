// A known telemetry workload for the fleet store's process-level tests: one catalog and the
// batches of a fleet, every sample of which the test knows as the row `canvoy-fleet-store export`
// prints for it (vin,timestamp_us,signal,type,value). A store's content is then compared with
// what was produced row by row, and its minute rollups with rollups computed here.
// Everything here is deterministic (seeded) and single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "canvoy/common/catalog_hash.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::testing {

// One sample as `export` prints it: the line "vin,timestamp_us,signal,type,value". Tests keep rows
// as these lines (cheap to sort and compare) and parse them only to compute with their values.
using Row = std::string;

struct SampleRow {
  std::string vin;
  std::int64_t timestamp_us = 0;
  std::string signal;
  std::string type;   // bool, int64, uint64, double, string
  std::string value;  // as printed: true/false, integers, doubles in shortest round-trip form

  std::string Csv() const {
    return vin + "," + std::to_string(timestamp_us) + "," + signal + "," + type + "," + value;
  }
  // "" or what is wrong with the line (no field of this workload needs CSV quoting).
  static std::string Parse(std::string_view line, SampleRow* row) {
    std::string_view fields[5];
    std::size_t begin = 0;
    for (int i = 0; i < 5; ++i) {
      const auto comma = i < 4 ? line.find(',', begin) : std::string_view::npos;
      if (i < 4 && comma == std::string_view::npos) return "not 5 fields";
      fields[i] = line.substr(begin, comma == std::string_view::npos ? line.npos : comma - begin);
      begin = comma + 1;
    }
    if (fields[4].find(',') != std::string_view::npos) return "more than 5 fields";
    auto [end, ec] =
        std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), row->timestamp_us);
    if (ec != std::errc() || end != fields[1].data() + fields[1].size()) return "bad timestamp";
    row->vin = fields[0];
    row->signal = fields[2];
    row->type = fields[3];
    row->value = fields[4];
    return "";
  }
};

// An order-independent digest of rows: equal multisets of rows give equal digests.
struct RowsDigest {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  static RowsDigest Of(const std::vector<Row>& rows) {
    RowsDigest d;
    for (const auto& row : rows) {
      std::uint64_t h = 14695981039346656037ULL;  // FNV-1a, then SplitMix64's finalizer
      for (unsigned char c : row) h = (h ^ c) * 1099511628211ULL;
      h ^= h >> 30;
      h *= 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 27;
      h *= 0x94d049bb133111ebULL;
      h ^= h >> 31;
      ++d.count;
      d.sum += h;
    }
    return d;
  }
  bool operator==(const RowsDigest&) const = default;
};

inline std::string DoubleText(double v) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

struct WorkloadOptions {
  int vehicles = 40;
  int batches_per_vehicle = 100;
  std::uint64_t seed = 20261126;
  // 2026-01-01T00:00:00Z minus 150 s: the fleet's five minutes cross an hour (and a day)
  // boundary, so rollups and history span two keys.
  std::int64_t start_us = 1'767'225'600'000'000 - 150'000'000;
};

// One batch of one vehicle, with the rows of its samples.
struct WorkloadBatch {
  int vehicle = 0;
  std::string vin;
  std::uint64_t seq = 0;
  std::int64_t end_us = 0;  // after its last sample
  std::string batch;        // serialized telemetry::v1::Batch
  std::vector<Row> rows;
};

// The fleet: `vehicles` vehicles, each with its own stream and `batches_per_vehicle` batches of
// 3 s, each batch holding 50 samples of four signals: 20 doubles, 15 int64, 10 uint64, 5 bools.
// Timestamps are jittered and unique per (vehicle, signal), so rollups have no ties.
class Workload {
 public:
  static constexpr std::int64_t kBatchSpanUs = 3'000'000;
  struct SignalSpec {
    std::uint32_t id;
    const char* name;
    telemetry::v1::SignalType type;
    const char* type_name;
    const char* unit;
    int samples_per_batch;
  };
  static constexpr SignalSpec kSignals[] = {
      {1, "Vehicle.Speed", telemetry::v1::SIGNAL_TYPE_DOUBLE, "double", "km/h", 20},
      {2, "Powertrain.Engine.Counter", telemetry::v1::SIGNAL_TYPE_INT64, "int64", "", 15},
      {3, "Vehicle.TraveledDistance", telemetry::v1::SIGNAL_TYPE_UINT64, "uint64", "m", 10},
      {4, "Vehicle.IsMoving", telemetry::v1::SIGNAL_TYPE_BOOL, "bool", "", 5},
  };

  explicit Workload(const WorkloadOptions& options) : options_(options) {
    telemetry::v1::Catalog catalog;
    for (const auto& spec : kSignals) {
      auto* s = catalog.add_signals();
      s->set_id(spec.id);
      s->set_name(spec.name);
      s->set_type(spec.type);
      s->set_unit(spec.unit);
    }
    catalog_hash_ = CatalogHash(catalog);
    telemetry::v1::CatalogRecord record;
    *record.mutable_catalog() = catalog;
    record.set_catalog_hash(catalog_hash_);
    catalog_record_ = record.SerializeAsString();
    for (int v = 0; v < options_.vehicles; ++v) {
      for (int s = 1; s <= options_.batches_per_vehicle; ++s) batches_.push_back(MakeBatch(v, s));
    }
  }

  const WorkloadOptions& options() const { return options_; }
  // The catalog topic's record: key (the raw hash) and value (a CatalogRecord).
  const std::string& catalog_key() const { return catalog_hash_; }
  const std::string& catalog_record() const { return catalog_record_; }

  // Vehicle-major: index(v, seq) = v * batches_per_vehicle + seq - 1.
  const std::vector<WorkloadBatch>& batches() const { return batches_; }
  std::size_t Index(int vehicle, std::uint64_t seq) const {
    return static_cast<std::size_t>(vehicle) * options_.batches_per_vehicle + seq - 1;
  }
  static std::string VinOf(int vehicle) {
    char vin[18];
    std::snprintf(vin, sizeof vin, "CNVYS%012d", vehicle);
    return vin;
  }

  // The Kafka record value for a batch, as ingest `node` writes it, received `delay_us` after
  // the batch's end (a resend through another node has a later receive time, same batch bytes).
  static std::string Record(const WorkloadBatch& b, const std::string& node = "ingest-a",
                            std::int64_t delay_us = 500'000) {
    telemetry::v1::TelemetryRecord record;
    record.set_batch(b.batch);
    record.set_vin(b.vin);
    record.set_ingest_node(node);
    record.set_received_time_us(b.end_us + delay_us);
    return record.SerializeAsString();
  }

  // The rows of the given batches (each batch once, however often it is listed), sorted.
  std::vector<Row> RowsOf(const std::vector<std::size_t>& indices) const {
    std::vector<bool> seen(batches_.size(), false);
    std::vector<Row> rows;
    for (auto i : indices) {
      if (seen[i]) continue;
      seen[i] = true;
      rows.insert(rows.end(), batches_[i].rows.begin(), batches_[i].rows.end());
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }
  std::vector<Row> AllRows() const {
    std::vector<std::size_t> all(batches_.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return RowsOf(all);
  }
  std::size_t SamplesPerBatch() const {
    std::size_t n = 0;
    for (const auto& spec : kSignals) n += static_cast<std::size_t>(spec.samples_per_batch);
    return n;
  }

 private:
  WorkloadBatch MakeBatch(int vehicle, int seq) const {
    WorkloadBatch b;
    b.vehicle = vehicle;
    b.vin = VinOf(vehicle);
    b.seq = static_cast<std::uint64_t>(seq);
    std::mt19937_64 rng(options_.seed ^ (static_cast<std::uint64_t>(vehicle) << 32) ^
                        static_cast<std::uint64_t>(seq) * 0x9E3779B97F4A7C15ULL);
    telemetry::v1::Batch batch;
    std::string stream(16, '\0');
    for (int i = 0; i < 16; ++i)
      stream[i] = static_cast<char>((options_.seed >> (8 * (i % 8))) ^ (vehicle * 31 + i));
    batch.set_stream_id(stream);
    batch.set_seq(b.seq);
    batch.set_catalog_hash(catalog_hash_);
    batch.set_vin(b.vin);
    const std::int64_t base = options_.start_us + (seq - 1) * kBatchSpanUs;
    batch.set_base_time_us(base);
    b.end_us = base + kBatchSpanUs;
    for (const auto& spec : kSignals) {
      auto* series = batch.add_series();
      series->set_signal_id(spec.id);
      const std::int64_t slot = kBatchSpanUs / spec.samples_per_batch;
      std::int64_t previous = base;
      for (int i = 0; i < spec.samples_per_batch; ++i) {
        const std::int64_t t = base + i * slot + static_cast<std::int64_t>(rng() % (slot / 2));
        series->add_time_deltas_us(t - previous);
        previous = t;
        SampleRow row{b.vin, t, spec.name, spec.type_name, ""};
        switch (spec.type) {
          case telemetry::v1::SIGNAL_TYPE_DOUBLE: {
            const double v = std::uniform_real_distribution<double>(-5.0, 130.0)(rng);
            series->mutable_doubles()->add_values(v);
            row.value = DoubleText(v);
            break;
          }
          case telemetry::v1::SIGNAL_TYPE_INT64: {
            const std::int64_t v =
                std::uniform_int_distribution<std::int64_t>(-(1LL << 40), 1LL << 40)(rng);
            series->mutable_int64s()->add_values(v);
            row.value = std::to_string(v);
            break;
          }
          case telemetry::v1::SIGNAL_TYPE_UINT64: {
            const std::uint64_t v = 1'000'000'000'000ULL + vehicle * 1'000'000ULL +
                                    static_cast<std::uint64_t>(seq) * 1000 + i * 37;
            series->mutable_uint64s()->add_values(v);
            row.value = std::to_string(v);
            break;
          }
          case telemetry::v1::SIGNAL_TYPE_BOOL: {
            const bool v = (rng() & 1) != 0;
            series->mutable_bools()->add_values(v);
            row.value = v ? "true" : "false";
            break;
          }
          default:
            break;
        }
        b.rows.push_back(row.Csv());
      }
    }
    b.batch = batch.SerializeAsString();
    return b;
  }

  WorkloadOptions options_;
  std::string catalog_hash_;
  std::string catalog_record_;
  std::vector<WorkloadBatch> batches_;
};

// Checks and sorts the lines of `export`'s CSV. "" or what is wrong, naming the line.
inline std::string ParseExport(const std::string& text, std::vector<Row>* rows) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != "vin,timestamp_us,signal,type,value")
    return "line 1: expected the header vin,timestamp_us,signal,type,value, got '" + line + "'";
  SampleRow parsed;
  for (int number = 2; std::getline(in, line); ++number) {
    if (auto error = SampleRow::Parse(line, &parsed); !error.empty())
      return "line " + std::to_string(number) + ": " + error + ": '" + line + "'";
    rows->push_back(std::move(line));
  }
  std::sort(rows->begin(), rows->end());
  return "";
}

// Equal multisets of rows; otherwise says how they differ: counts, digests and the first rows
// missing from `actual` and the first ones `actual` has in excess.
inline ::testing::AssertionResult SameRows(const std::vector<Row>& expected,
                                           const std::vector<Row>& actual, const std::string& what,
                                           std::size_t show = 10) {
  const RowsDigest want = RowsDigest::Of(expected), got = RowsDigest::Of(actual);
  std::vector<Row> missing, excess;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(excess));
  if (missing.empty() && excess.empty() && want == got) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << what << ": expected " << want.count << " rows (digest " << want.sum << "), got "
          << got.count << " rows (digest " << got.sum << "); " << missing.size()
          << " expected rows missing, " << excess.size() << " rows not expected (duplicates "
          << "count as excess)";
  for (std::size_t i = 0; i < missing.size() && i < show; ++i)
    failure << "\n  missing:    " << missing[i];
  for (std::size_t i = 0; i < excess.size() && i < show; ++i)
    failure << "\n  unexpected: " << excess[i];
  return failure;
}

// The statistics a minute rollup holds, computed from raw rows.
struct BucketStats {
  std::uint64_t count = 0;
  double min = 0, max = 0, sum = 0;
  double abs_sum = 0;  // the scale of `sum`'s rounding error
  std::int64_t first_us = 0, last_us = 0;
  double first = 0, last = 0;
};

inline double NumericValue(const SampleRow& row) {
  if (row.type == "bool") return row.value == "true" ? 1.0 : 0.0;
  if (row.type == "int64") return static_cast<double>(std::stoll(row.value));
  if (row.type == "uint64") return static_cast<double>(std::stoull(row.value));
  double v = 0;
  std::from_chars(row.value.data(), row.value.data() + row.value.size(), v);
  return v;
}

using BucketKey = std::tuple<std::string, std::string, std::int64_t>;  // vin, signal, start

// Minute buckets of the rows (numeric types only); first/last by timestamp, ties by value.
inline std::map<BucketKey, BucketStats> MinuteBuckets(const std::vector<Row>& lines) {
  constexpr std::int64_t kMinuteUs = 60'000'000;
  std::map<BucketKey, BucketStats> out;
  SampleRow row;
  for (const auto& line : lines) {
    if (!SampleRow::Parse(line, &row).empty()) continue;  // ParseExport checked every line
    if (row.type == "string") continue;
    const std::int64_t start =
        row.timestamp_us - ((row.timestamp_us % kMinuteUs) + kMinuteUs) % kMinuteUs;
    const double v = NumericValue(row);
    auto& b = out[{row.vin, row.signal, start}];
    const std::int64_t t = row.timestamp_us;
    if (b.count == 0) {
      b.min = b.max = b.first = b.last = v;
      b.first_us = b.last_us = t;
    } else {
      b.min = std::min(b.min, v);
      b.max = std::max(b.max, v);
      if (t < b.first_us || (t == b.first_us && v < b.first)) b.first_us = t, b.first = v;
      if (t > b.last_us || (t == b.last_us && v > b.last)) b.last_us = t, b.last = v;
    }
    ++b.count;
    b.sum += v;
    b.abs_sum += std::abs(v);
  }
  return out;
}

}  // namespace canvoy::testing
