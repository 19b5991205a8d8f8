// Turns a telemetry record's bytes into what the store writes, validating everything first:
// a batch is either entirely valid or rejected with a message that names the bad part.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/types.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "sink/catalog_index.h"

namespace canvoy::fleet_store::sink {

// A record parsed far enough to de-duplicate it and to find its catalog.
struct DecodedRecord {
  Vin vin;
  StreamId stream;
  std::uint64_t seq = 0;
  std::int64_t received_time_us = 0;
  telemetry::v1::Batch batch;

  // "vin=... stream=<hex> seq=N"
  std::string Describe() const;
};

// Errc::kParse when the record or its batch is malformed.
Result<DecodedRecord> DecodeRecord(std::string_view value);

// One series of a batch, ready to store.
struct DecodedSeries {
  const SignalInfo* signal = nullptr;  // points into the CatalogIndex given to DecodeSeries
  std::int64_t first_us = 0;           // the first sample's timestamp
  std::size_t sample_count = 0;
  Sample newest;                // the greatest timestamp; the later one among equals
  std::vector<Sample> samples;  // in the batch's order
};

// Resolves the batch's series against its catalog. Series without samples are left out.
// Errc::kParse naming the series when one does not match the catalog or is inconsistent.
Result<std::vector<DecodedSeries>> DecodeSeries(const DecodedRecord& record,
                                                const CatalogIndex& catalog);

}  // namespace canvoy::fleet_store::sink
