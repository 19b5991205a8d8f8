// Values of the fleet store's column families. Each encoding starts with a version byte so that
// fields can be appended later; decoders return Errc::kStorage for bytes they cannot read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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

// rejected: varint-prefixed reason | varint-prefixed record key | the record's value
std::string EncodeRejected(std::string_view reason, std::string_view record_key,
                           std::string_view record_value);
Result<std::string> DecodeRejectedReason(std::string_view bytes);

// dedup: v1 | ordered64 updated_us | varint n | n x (varint gap, varint length)
// The seqs of one (vehicle, stream) that were applied, as disjoint ranges in order: a stream that
// arrives in order is one range whatever its length, and each hole (a batch still in flight, or
// seqs an agent skipped after a crash) costs one more. `updated_us` (the newest receive time)
// lets retention drop streams that have been silent for long.
struct DedupRecord {
  std::int64_t updated_us = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // [first, last], ascending
  bool Contains(std::uint64_t seq) const;
  void Insert(std::uint64_t seq);
};
std::string EncodeDedup(const DedupRecord& record);
Result<DedupRecord> DecodeDedup(std::string_view bytes);

// attributes: v1 | varint n | n x (varint-prefixed name, varint-prefixed value)
std::string EncodeAttributes(const Attributes& attributes);
Result<Attributes> DecodeAttributes(std::string_view bytes);
// The same into *out, reusing its entries when the names are out's names in order (vehicles of
// one fleet share their attribute names): a listing then allocates nothing per vehicle. On error
// *out is left empty.
Status DecodeAttributesInto(std::string_view bytes, Attributes& out);

}  // namespace canvoy::fleet_store::storage
