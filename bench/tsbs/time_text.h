// Timestamps and durations as the generator's options spell them. All values are microseconds
// since the Unix epoch (timestamps) or microseconds (durations), Canvoy's unit of time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"

namespace canvoy::bench::tsbs {

// "2016-01-01T00:00:00Z", "2016-01-01T01:00:00.5+01:00" (RFC 3339), or an integer of µs.
[[nodiscard]] Result<std::int64_t> ParseTimestamp(std::string_view text);

// One or more <number><unit> terms, e.g. "24h", "1h30m", "10s", "500ms"; units us, ms, s, m,
// h, d. Fractions are allowed ("1.5h"); the result is rounded to whole microseconds.
[[nodiscard]] Result<std::chrono::microseconds> ParseDuration(std::string_view text);

// "2016-01-01T00:00:00Z" (fractional seconds only when the value has them).
std::string FormatRfc3339(std::int64_t time_us);

}  // namespace canvoy::bench::tsbs
