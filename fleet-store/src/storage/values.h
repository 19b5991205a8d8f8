// Values of the fleet store's column families. Each encoding starts with a version byte so that
// fields can be appended later; decoders return Errc::kStorage for bytes they cannot read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/types.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::fleet_store::storage {

// vehicles: v1 | be64 sample_count | be64 batch_count | ordered64 last_seen_us
struct VehicleRecord {
  std::uint64_t sample_count = 0;
  std::uint64_t batch_count = 0;
  std::int64_t last_seen_us = 0;
};
std::string EncodeVehicle(const VehicleRecord& record);
Result<VehicleRecord> DecodeVehicle(std::string_view bytes);

// latest: v1 | type (SignalValue's index) | ordered64 timestamp | varint-prefixed unit | value
// where value is 1 byte (bool), be64 (int64, uint64, the bits of a double) or the string's bytes.
struct LatestRecord {
  std::string unit;
  Sample sample;
};
std::string EncodeLatest(const LatestRecord& record);
Result<LatestRecord> DecodeLatest(std::string_view bytes);

// offsets: be64 next offset
std::string EncodeOffset(std::int64_t next_offset);
Result<std::int64_t> DecodeOffset(std::string_view bytes);

// samples: a serialized SignalSeries whose first time delta is the absolute timestamp (relative
// to the epoch) and whose signal_id is cleared (the name is in the key). Protobuf keeps every
// value exact: sint64, uint64 and double are stored bit for bit.
// `series` is a batch's series (at least one sample) whose first sample is at `first_us`.
std::string EncodeSeries(telemetry::v1::SignalSeries series, std::int64_t first_us);
Result<std::vector<Sample>> DecodeSeries(std::string_view bytes);

// rejected: varint-prefixed reason | varint-prefixed record key | the record's value
std::string EncodeRejected(std::string_view reason, std::string_view record_key,
                           std::string_view record_value);
Result<std::string> DecodeRejectedReason(std::string_view bytes);

// batches: ordered64 received_time_us of the applied batch (kept for retention of the keys)
std::string EncodeBatchMarker(std::int64_t received_time_us);

}  // namespace canvoy::fleet_store::storage
