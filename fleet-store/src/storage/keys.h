// Keys of the fleet store's column families. README.md explains the layout and why.
// VINs are 17 bytes and stream ids 16, so fixed-width fields need no separator; signal names are
// followed by \0 (names never contain one: the write path rejects such names).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "canvoy/common/ids.h"

namespace canvoy::fleet_store::storage {

// batches: vin | stream_id | be64(seq)
std::string BatchKey(const Vin& vin, const StreamId& stream, std::uint64_t seq);

// samples: vin \0 signal \0 ordered64(first timestamp) be64(seq) stream_id
std::string SampleKey(const Vin& vin, std::string_view signal, std::int64_t first_us,
                      std::uint64_t seq, const StreamId& stream);
// The prefix of every sample key of (vin, signal).
std::string SamplePrefix(const Vin& vin, std::string_view signal);

// latest: vin \0 signal
std::string LatestKey(const Vin& vin, std::string_view signal);
// The prefix of every latest key of `vin`.
std::string LatestPrefix(const Vin& vin);

// vehicles: vin
std::string VehicleKey(const Vin& vin);

// offsets: topic \0 be32(partition)
std::string OffsetKey(std::string_view topic, std::int32_t partition);

// rejected: topic \0 be32(partition) be64(offset)
std::string RejectedKey(std::string_view topic, std::int32_t partition, std::int64_t offset);
struct RejectedKeyParts {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};
std::optional<RejectedKeyParts> ParseRejectedKey(std::string_view key);

// The smallest key greater than every key that starts with `prefix` (prefix must not be all 0xFF).
std::string PrefixEnd(std::string_view prefix);

}  // namespace canvoy::fleet_store::storage
