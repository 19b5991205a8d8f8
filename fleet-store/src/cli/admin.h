// The fleet store's offline commands, which open the database directly (the server must not be
// running on it): import, export, offsets, compact, disk-usage. Each returns the process exit code.
#pragma once

#include <chrono>
#include <string_view>

#include "canvoy/common/error.h"

namespace canvoy::fleet_store::cli {

inline constexpr int kRuntimeError = 1;
inline constexpr int kUsageError = 2;
inline constexpr int kPartialImport = 3;  // some lines were rejected; every good line imported

int ImportCommand(int argc, const char* const* argv);
int ExportCommand(int argc, const char* const* argv);
int OffsetsCommand(int argc, const char* const* argv);
int CompactCommand(int argc, const char* const* argv);
int DiskUsageCommand(int argc, const char* const* argv);

// "90d", "12h", "30m", "45s" or "0" (zero: forever) as seconds; Errc::kInvalidArgument naming
// `option` otherwise.
Result<std::chrono::seconds> ParseRetention(std::string_view option, std::string_view text);

}  // namespace canvoy::fleet_store::cli
