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

// dedup: vin | stream_id -> the set of applied seqs of that stream, as ranges
std::string DedupKey(const Vin& vin, const StreamId& stream);

// history, rollups_1m, rollups_1h: vin \0 signal \0 ordered64(span start)
// The span is the history bucket (kHistoryBucketUs), the hour of minute rollups, or the day of
// hour rollups.
std::string SeriesKey(const Vin& vin, std::string_view signal, std::int64_t span_start_us);
// The prefix of every series key of (vin, signal).
std::string SeriesPrefix(const Vin& vin, std::string_view signal);
// The span start of a series key; nullopt when the key is too short.
std::optional<std::int64_t> SeriesKeyStart(std::string_view key);

// History blocks cover one hour; rollup keys cover an hour of minutes or a day of hours.
inline constexpr std::int64_t kMinuteUs = 60'000'000;
inline constexpr std::int64_t kHourUs = 60 * kMinuteUs;
inline constexpr std::int64_t kDayUs = 24 * kHourUs;
inline constexpr std::int64_t kHistoryBucketUs = kHourUs;
// The greatest multiple of `width` that is <= t (floor, also for negative t).
std::int64_t FloorTo(std::int64_t t, std::int64_t width);

// attributes: vin
std::string AttributeKey(const Vin& vin);

// latest: vin \0 signal
std::string LatestKey(const Vin& vin, std::string_view signal);
// The prefix of every latest key of `vin`.
std::string LatestPrefix(const Vin& vin);

// vehicles: vin
std::string VehicleKey(const Vin& vin);

// offsets: topic \0 be32(partition)
std::string OffsetKey(std::string_view topic, std::int32_t partition);

struct OffsetKeyParts {
  std::string topic;
  std::int32_t partition = 0;
};
std::optional<OffsetKeyParts> ParseOffsetKey(std::string_view key);

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
