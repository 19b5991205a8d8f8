// Streams the records of a CSV file (RFC 4180, through libcsv) to a callback.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"

namespace canvoy::fleet_store::import {

// One record: its fields and its 1-based line number (the line its first field starts on).
struct CsvRecord {
  std::uint64_t line = 0;
  const std::vector<std::string>& fields;
};

// Calls `fn` for every record of `path`, the header included; `fn` returns false to stop.
// Errc::kParse "FILE:LINE: <libcsv's message>" when the file is not valid CSV (an unterminated
// quote, say), Errc::kIo when it cannot be read. `on_bytes` sees every byte read (for hashing).
Status ReadCsv(const std::filesystem::path& path, const std::function<bool(const CsvRecord&)>& fn,
               const std::function<void(std::string_view)>& on_bytes = {});

}  // namespace canvoy::fleet_store::import
