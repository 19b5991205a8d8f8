#include "canvoy/common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace canvoy {

Status InitLogging(std::string_view component, std::string_view level) {
  const auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Error(Errc::kInvalidArgument, "log level '" + std::string(level) +
                                             "': expected trace, debug, info, warn or error");
  }
  auto logger = spdlog::stderr_logger_mt(std::string(component));
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l component=%n %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return OkStatus();
}

}  // namespace canvoy
