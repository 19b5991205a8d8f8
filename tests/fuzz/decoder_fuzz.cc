// libFuzzer target: the decoder on arbitrary frames, against real DBCs (the RAV4 powertrain DBC,
// the Hyundai CAN FD DBC, and cantools' J1939 DBC), each with both short-frame policies. Every
// decoded raw value is checked against a plain bit-by-bit reading of the payload, so a fast path
// that reads the wrong bits is a finding, not only a crash.
//
// Input: records of [flags][id: 4 bytes, little-endian][len][len data bytes], until it runs out.
// flags: bit 0 extended, 1 fd, 2 remote, 3 error, bits 4-5 DBC, bit 6 skip short frames,
// bit 7 take the id from the DBC's messages (id % count; J1939 ids keep the fuzzed priority and
// source address).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "dbc/bit_layout.h"

namespace {

using namespace canvoy::agent;

const char* const kDbcFiles[] = {
    "opendbc_toyota_new_mc_pt_generated.dbc",
    "opendbc_hyundai_canfd_generated.dbc",
    "cantools_j1939.dbc",
};
constexpr std::size_t kDbcCount = sizeof(kDbcFiles) / sizeof(kDbcFiles[0]);

struct Decoders {
  std::vector<Decoder> by_policy[2];  // [skip short frames][dbc]
};

Decoder Load(const char* file, ShortFrames policy) {
  auto db = ParseDbcFile(std::string(CANVOY_SHARED_DATA_DIR) + "/can/dbc/" + file);
  if (!db) std::abort();
  std::vector<DbcDatabase> dbs;
  dbs.push_back(std::move(db).value());
  auto decoder = Decoder::Create(std::move(dbs), DecoderOptions{.short_frames = policy});
  if (!decoder) std::abort();
  return std::move(decoder).value();
}

const Decoders& GetDecoders() {
  static const Decoders* decoders = [] {
    auto* d = new Decoders;
    for (const char* file : kDbcFiles) {
      d->by_policy[0].push_back(Load(file, ShortFrames::kDecodeSignalsInside));
      d->by_policy[1].push_back(Load(file, ShortFrames::kSkipFrame));
    }
    return d;
  }();
  return *decoders;
}

// The raw value of `signal` read one bit chunk at a time, as the encoder's inverse sees it.
std::uint64_t ReferenceRaw(const DbcSignal& signal, const CanFrame& frame) {
  auto layout =
      canvoy::agent::dbc::ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
  if (!std::holds_alternative<canvoy::agent::dbc::BitLayout>(layout)) __builtin_trap();
  const auto& l = std::get<canvoy::agent::dbc::BitLayout>(layout);
  std::uint64_t raw = canvoy::agent::dbc::ExtractBits(l, frame.data.data());
  if (signal.is_signed && signal.value_type == ValueType::kInteger) {
    raw = static_cast<std::uint64_t>(canvoy::agent::dbc::SignExtend(raw, l.length));
  }
  return raw;
}

void Check(const Decoder& decoder, const CanFrame& frame, DecodedFrame* out) {
  const DecodeOutcome outcome = decoder.Decode(frame, out);
  if (outcome != DecodeOutcome::kDecoded) return;
  const DbcMessage* message = out->message();
  if (message == nullptr) __builtin_trap();
  for (const DecodedSignal& s : out->signals()) {
    if (s.signal_index >= message->signals.size()) __builtin_trap();
    const DbcSignal& signal = message->signals[s.signal_index];
    if (s.raw != ReferenceRaw(signal, frame)) __builtin_trap();
    if (s.physical.index() != static_cast<std::size_t>(PhysicalKindOf(signal))) __builtin_trap();
  }
  if (message->extended && out->source_address().has_value() &&
      *out->source_address() != (frame.id & 0xFF)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Decoders& decoders = GetDecoders();
  static DecodedFrame out;  // reused across inputs, as the agent reuses it across frames
  std::size_t pos = 0;
  while (size - pos >= 6) {
    const std::uint8_t flags = data[pos];
    std::uint32_t id = 0;
    std::memcpy(&id, data + pos + 1, sizeof id);
    const std::size_t want = data[pos + 5] % (kMaxFdLen + 1);
    pos += 6;
    CanFrame frame;
    frame.extended = (flags & 0x01) != 0;
    frame.fd = (flags & 0x02) != 0;
    frame.remote = (flags & 0x04) != 0;
    frame.error = (flags & 0x08) != 0;
    const std::size_t which = ((flags >> 4) & 0x3) % kDbcCount;
    const Decoder& decoder = decoders.by_policy[(flags >> 6) & 1][which];
    if ((flags & 0x80) != 0 && !decoder.messages().empty()) {
      const MessageRef ref = decoder.messages()[id % decoder.messages().size()];
      const DbcMessage& message = (*decoder.databases())[ref.database].messages[ref.message];
      frame.extended = message.extended;
      frame.id = message.extended ? ((message.id & 0x03FFFF00) | (id & 0x1C0000FF)) : message.id;
    } else {
      frame.id = id & (frame.extended ? kMaxExtendedId : kMaxStandardId);
    }
    const std::size_t len = std::min(want, size - pos);
    frame.len = static_cast<std::uint8_t>(len);
    std::memcpy(frame.data.data(), data + pos, len);
    pos += len;
    Check(decoder, frame, &out);
  }
  return 0;
}
