// Numbers as DBC files write them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "canvoy/agent/dbc.h"

namespace canvoy::agent::dbc {

// Decimal digits only ("123").
std::optional<std::uint64_t> ParseUnsigned(std::string_view text);
// A value-table key: a signed integer, or an unsigned one above INT64_MAX (kept as its bits).
std::optional<std::int64_t> ParseKey(std::string_view text);
// A decimal number with optional sign, fraction and exponent ("-1.5", "1E-005", "+3").
std::optional<DbcNumber> ParseNumber(std::string_view text);

}  // namespace canvoy::agent::dbc
