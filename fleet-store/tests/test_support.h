// Builders for the fleet store's tests: a temporary directory, a catalog and telemetry records.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "canvoy/common/catalog_hash.h"
#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/types.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::fleet_store::test_support {

namespace tv1 = canvoy::telemetry::v1;

// A directory of its own under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/canvoy-fleet-store-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr const char* kTopic = "canvoy.telemetry.v1";
inline constexpr const char* kVin1 = "1HGCM82633A004352";
inline constexpr const char* kVin2 = "WVWZZZ1JZXW000001";

// Signal ids of TestCatalog().
enum : SignalId { kSpeed = 1, kOdometer = 2, kCounter = 3, kMoving = 4, kGear = 5 };

inline tv1::Catalog TestCatalog() {
  tv1::Catalog catalog;
  auto add = [&](SignalId id, const char* name, tv1::SignalType type, const char* unit) {
    auto* s = catalog.add_signals();
    s->set_id(id);
    s->set_name(name);
    s->set_type(type);
    s->set_unit(unit);
  };
  add(kSpeed, "Vehicle.Speed", tv1::SIGNAL_TYPE_DOUBLE, "km/h");
  add(kOdometer, "Vehicle.TraveledDistanceHighRes", tv1::SIGNAL_TYPE_UINT64, "m");
  add(kCounter, "Engine.Counter", tv1::SIGNAL_TYPE_INT64, "");
  add(kMoving, "Vehicle.IsMoving", tv1::SIGNAL_TYPE_BOOL, "");
  add(kGear, "Vehicle.Powertrain.Transmission.SelectedGear", tv1::SIGNAL_TYPE_STRING, "");
  return catalog;
}

inline tv1::CatalogRecord CatalogRecordOf(const tv1::Catalog& catalog) {
  tv1::CatalogRecord record;
  *record.mutable_catalog() = catalog;
  record.set_catalog_hash(CatalogHash(catalog));
  return record;
}

inline StreamId Stream(std::uint8_t fill) {
  return StreamId::FromBytes(std::string(StreamId::kSize, static_cast<char>(fill))).value();
}

// A batch of TestCatalog() signals. Each Add* takes absolute timestamps and stores deltas.
class BatchBuilder {
 public:
  BatchBuilder(std::uint64_t seq, std::int64_t base_time_us, StreamId stream = Stream(0xAB)) {
    batch_.set_stream_id(std::string(stream.bytes()));
    batch_.set_seq(seq);
    batch_.set_catalog_hash(CatalogHash(TestCatalog()));
    batch_.set_base_time_us(base_time_us);
  }
  BatchBuilder& CatalogHashBytes(std::string hash) {
    batch_.set_catalog_hash(std::move(hash));
    return *this;
  }
  BatchBuilder& Doubles(SignalId id, std::vector<std::pair<std::int64_t, double>> samples) {
    auto* s = Series(id, samples);
    for (auto& [t, v] : samples) s->mutable_doubles()->add_values(v);
    return *this;
  }
  BatchBuilder& Int64s(SignalId id, std::vector<std::pair<std::int64_t, std::int64_t>> samples) {
    auto* s = Series(id, samples);
    for (auto& [t, v] : samples) s->mutable_int64s()->add_values(v);
    return *this;
  }
  BatchBuilder& UInt64s(SignalId id, std::vector<std::pair<std::int64_t, std::uint64_t>> samples) {
    auto* s = Series(id, samples);
    for (auto& [t, v] : samples) s->mutable_uint64s()->add_values(v);
    return *this;
  }
  BatchBuilder& Bools(SignalId id, std::vector<std::pair<std::int64_t, bool>> samples) {
    auto* s = Series(id, samples);
    for (auto& [t, v] : samples) s->mutable_bools()->add_values(v);
    return *this;
  }
  BatchBuilder& Strings(SignalId id, std::vector<std::pair<std::int64_t, std::string>> samples) {
    auto* s = Series(id, samples);
    for (auto& [t, v] : samples) s->mutable_strings()->add_values(v);
    return *this;
  }
  tv1::Batch& batch() { return batch_; }
  std::string Serialized() const { return batch_.SerializeAsString(); }

 private:
  template <class T>
  tv1::SignalSeries* Series(SignalId id, const std::vector<std::pair<std::int64_t, T>>& samples) {
    auto* s = batch_.add_series();
    s->set_signal_id(id);
    std::int64_t previous = batch_.base_time_us();
    for (const auto& sample : samples) {
      s->add_time_deltas_us(sample.first - previous);
      previous = sample.first;
    }
    return s;
  }
  tv1::Batch batch_;
};

inline ConsumedRecord Record(std::int64_t offset, const std::string& vin,
                             const std::string& batch_bytes, std::int32_t partition = 0,
                             std::int64_t received_time_us = 1'700'000'000'000'000) {
  tv1::TelemetryRecord value;
  value.set_batch(batch_bytes);
  value.set_vin(vin);
  value.set_ingest_node("ingest-test");
  value.set_received_time_us(received_time_us);
  return ConsumedRecord{kTopic, partition, offset, vin, value.SerializeAsString()};
}

inline ConsumedRecord Record(std::int64_t offset, const std::string& vin, BatchBuilder& batch,
                             std::int32_t partition = 0,
                             std::int64_t received_time_us = 1'700'000'000'000'000) {
  return Record(offset, vin, batch.Serialized(), partition, received_time_us);
}

inline Vin V(const char* text) { return Vin::Parse(text).value(); }

// Options of a store at `path` with the defaults otherwise.
inline StoreOptions StoreAt(const std::filesystem::path& path) {
  StoreOptions options;
  options.path = path;
  return options;
}

}  // namespace canvoy::fleet_store::test_support
