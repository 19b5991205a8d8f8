// libFuzzer target: CandumpLogReader over arbitrary text. Every frame it returns must be one the
// rest of the agent can trust: a valid length, an id within its width, zeros after the payload.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/candump_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace canvoy::agent;
  auto in =
      std::make_unique<std::istringstream>(std::string(reinterpret_cast<const char*>(data), size));
  CandumpLogReader reader(std::move(in), "fuzz.log");
  CanFrame frame;
  while (true) {
    auto more = reader.Next(&frame);
    if (!more || !more.value()) break;
    if (frame.len > kMaxFdLen || frame.interface_index >= reader.interfaces().size()) {
      __builtin_trap();
    }
    if (!frame.error && frame.id > (frame.extended ? kMaxExtendedId : kMaxStandardId)) {
      __builtin_trap();
    }
    if (!frame.remote) {
      for (std::size_t i = frame.len; i < frame.data.size(); ++i) {
        if (frame.data[i] != 0) __builtin_trap();
      }
    }
    if (reader.last_timestamp_text().size() > size) __builtin_trap();
  }
  return 0;
}
