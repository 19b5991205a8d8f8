// Structured log lines (logfmt) on stderr, through spdlog.
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "canvoy/common/error.h"

namespace canvoy {

// Installs the process-wide logger: `ts=... level=... component=<component> msg="..."`.
// `level` is one of trace, debug, info, warn, error. Call once from main().
Status InitLogging(std::string_view component, std::string_view level);

}  // namespace canvoy
