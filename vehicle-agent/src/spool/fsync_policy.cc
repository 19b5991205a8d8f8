// FsyncPolicy (declared with AgentOptions in canvoy/agent/agent.h): parsing and printing.
#include <charconv>

#include "canvoy/agent/agent.h"

namespace canvoy::agent {

namespace {
constexpr std::int64_t kMaxIntervalMs = 3'600'000;
}

Result<FsyncPolicy> FsyncPolicy::Parse(std::string_view text) {
  FsyncPolicy policy;
  if (text == "every") {
    policy.mode = Mode::kEveryAppend;
    return policy;
  }
  if (text == "never") {
    policy.mode = Mode::kNever;
    return policy;
  }
  constexpr std::string_view kInterval = "interval:";
  if (text.starts_with(kInterval)) {
    const std::string_view digits = text.substr(kInterval.size());
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && ms >= 1 &&
        ms <= kMaxIntervalMs) {
      policy.mode = Mode::kInterval;
      policy.interval = std::chrono::milliseconds(ms);
      return policy;
    }
  }
  return Error(Errc::kInvalidArgument,
               "--spool-fsync '" + std::string(text) +
                   "': expected every, never or interval:MS (MS from 1 to 3600000)");
}

std::string FsyncPolicy::ToString() const {
  switch (mode) {
    case Mode::kEveryAppend:
      return "every";
    case Mode::kNever:
      return "never";
    case Mode::kInterval:
      break;
  }
  return "interval:" + std::to_string(interval.count());
}

}  // namespace canvoy::agent
