// `canvoy-fleet-store import`: samples and vehicle attributes from CSV files, written through the
// same path as Kafka batches (StoreWriter), for back-fills and benchmarks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/store_writer.h"

namespace canvoy::fleet_store::import {

struct ImportOptions {
  // `vin,timestamp_us,signal,value`, with that header. Empty: no samples.
  std::filesystem::path samples;
  // `vin,<attribute>,<attribute>,...`, with a header naming the attributes. Empty: none.
  std::filesystem::path attributes;
  // Lines per WriteBatch. Each chunk of lines becomes one batch per vehicle, de-duplicated by
  // (VIN, stream id of the file's SHA-256, chunk number): importing the same file again, or
  // again after an interrupted import, stores every sample once.
  std::size_t chunk_lines = 1'000'000;
  // Any bad line fails the import before anything is written. Otherwise bad lines are reported
  // and skipped, and every good line is imported.
  bool strict = false;
  std::size_t errors_kept = 100;  // messages kept in the report; every error is counted
};

struct ImportReport {
  std::uint64_t sample_lines = 0;  // data lines read (header excluded)
  std::uint64_t samples_written = 0;
  std::uint64_t empty_values = 0;    // lines with an empty value: a missing reading, skipped
  std::uint64_t rejected_lines = 0;  // malformed lines, skipped
  std::uint64_t duplicate_batches = 0;  // already imported before
  std::uint64_t vehicles_with_attributes = 0;
  std::uint64_t rejected_attribute_lines = 0;
  std::string stream_id;            // hex; the samples file's identity for de-duplication
  std::vector<std::string> errors;  // "FILE:LINE: field N (name): what", the first errors_kept
};

// Errc::kInvalidArgument when a header is not what is expected, or (strict) a line is bad:
// nothing is written then. Errc::kParse for a file that is not CSV, Errc::kIo when unreadable.
Result<ImportReport> ImportCsv(StoreWriter& writer, const ImportOptions& options);

}  // namespace canvoy::fleet_store::import
