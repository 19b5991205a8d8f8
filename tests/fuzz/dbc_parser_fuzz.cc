// libFuzzer target: ParseDbc on arbitrary text. When the text parses, the database also goes
// through Decoder::Create and every message decodes an all-zero and an all-ones frame, so that
// whatever layout the parser accepts is one the decoder can run.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace canvoy::agent;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseDbc(text, "fuzz.dbc");
  if (!parsed) return 0;
  std::vector<DbcDatabase> databases;
  databases.push_back(std::move(parsed).value());
  auto decoder = Decoder::Create(std::move(databases));
  if (!decoder) return 0;
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  for (const MessageRef& ref : decoder.value().messages()) {
    const DbcMessage& message = (*decoder.value().databases())[ref.database].messages[ref.message];
    for (const std::uint8_t fill : {std::uint8_t{0x00}, std::uint8_t{0xFF}}) {
      CanFrame frame;
      frame.id = message.id;
      frame.extended = message.extended;
      frame.fd = true;
      frame.len = 64;
      frame.data.fill(fill);
      if (decoder.value().Decode(frame, &out) == DecodeOutcome::kUnknownId) __builtin_trap();
    }
  }
  return 0;
}
