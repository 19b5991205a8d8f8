// Turns CAN frames into signal values, using plans precompiled from DBC databases.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/common/error.h"

namespace canvoy::agent {

// What a signal's physical value is. Integers stay integers: a signal whose factor and offset are
// integers (and that is not a float) is kInt64, or kUint64 when its values only fit there (e.g.
// unsigned 64-bit with factor 1 and offset 0); everything else is kDouble.
enum class PhysicalKind : std::uint8_t { kInt64, kUint64, kDouble };
using PhysicalValue = std::variant<std::int64_t, std::uint64_t, double>;  // index == PhysicalKind

PhysicalKind PhysicalKindOf(const DbcSignal& signal);

struct DecodedSignal {
  std::uint32_t signal_index = 0;  // into DbcMessage::signals
  std::uint64_t raw = 0;  // raw bits; sign-extended for signed integers; IEEE bits for floats
  bool raw_signed = false;
  PhysicalValue physical;
  // From the VAL_ table, or empty; lives as long as the Decoder's databases.
  std::string_view label;

  std::int64_t raw_as_int64() const { return static_cast<std::int64_t>(raw); }
};

// A reusable output buffer for Decoder::Decode: keep one per thread and decode into it again and
// again; once it has held the largest message it no longer allocates (MakeFrameBuffer gives one
// that never does).
class DecodedFrame {
 public:
  // Valid after Decode returned kDecoded.
  const DbcMessage* message() const { return message_; }
  MessageRef message_ref() const { return ref_; }
  std::span<const DecodedSignal> signals() const { return {signals_.data(), count_}; }
  // Signals (of active multiplex branches) not decoded because the frame ended before them.
  std::uint32_t signals_outside_frame() const { return outside_; }
  // For a J1939 message (matched by PGN): the frame's source address, the low byte of its id.
  // Empty for other messages.
  std::optional<std::uint8_t> source_address() const {
    if (!has_source_address_) return std::nullopt;
    return source_address_;
  }

 private:
  friend class Decoder;
  const DbcMessage* message_ = nullptr;
  MessageRef ref_;
  std::vector<DecodedSignal> signals_;  // never shrinks; the first count_ are this frame's
  std::size_t count_ = 0;
  std::vector<std::uint8_t> state_;  // per plan signal: decoded, inactive or outside
  std::vector<std::uint64_t> raw_;   // per plan signal: raw bits, for multiplexer switches
  std::uint32_t outside_ = 0;
  std::uint8_t source_address_ = 0;
  bool has_source_address_ = false;
};

enum class DecodeOutcome : std::uint8_t {
  kDecoded,    // see DecodedFrame; some signals may have been outside a short frame
  kUnknownId,  // no message with this id
  kNotData,    // remote or error frame
  kTooShort,   // shorter than the DBC length, and ShortFrames::kSkipFrame
};

enum class ShortFrames : std::uint8_t {
  kDecodeSignalsInside,  // decode the signals that lie fully inside the received bytes
  kSkipFrame,            // decode nothing from a frame shorter than the DBC says
};

struct DecoderOptions {
  ShortFrames short_frames = ShortFrames::kDecodeSignalsInside;
};

namespace internal {
struct MessagePlan;
}  // namespace internal

// Immutable once created: Decode may run on any number of threads at once, each with its own
// DecodedFrame. Owns the databases (shared, so catalogs and tools can refer to them too).
class Decoder {
 public:
  // When several databases define one frame id, the first wins (see SelectMessages and
  // conflicts()). Messages for which IsJ1939 holds are matched by PGN: a frame with any priority
  // and source address (and, for PDU1, destination) decodes with the message whose DBC id has
  // the frame's source address if there is one, else the first message with that PGN. Exact
  // 29-bit ids of other messages are tried first.
  [[nodiscard]] static Result<Decoder> Create(std::vector<DbcDatabase> databases,
                                              DecoderOptions options = {});
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;
  ~Decoder();

  // Decodes `frame` into *out (cleared first). Multiplexed signals are decoded only when their
  // switch has a selecting value. Does not allocate once *out has grown to the largest message.
  DecodeOutcome Decode(const CanFrame& frame, DecodedFrame* out) const;

  // A buffer already sized for the largest message.
  DecodedFrame MakeFrameBuffer() const;

  const std::shared_ptr<const std::vector<DbcDatabase>>& databases() const { return databases_; }
  // The messages this decoder decodes, in database then file order.
  const std::vector<MessageRef>& messages() const { return messages_; }
  // Messages shadowed by an earlier database's message with the same frame id.
  const std::vector<std::string>& conflicts() const { return conflicts_; }

 private:
  Decoder();

  const internal::MessagePlan* FindPlan(const CanFrame& frame) const;
  void AddPlan(internal::MessagePlan plan);

  std::shared_ptr<const std::vector<DbcDatabase>> databases_;
  DecoderOptions options_;
  std::vector<MessageRef> messages_;
  std::vector<std::string> conflicts_;
  std::vector<internal::MessagePlan> plans_;
  // 11-bit id -> plans_ index + 1 (0: none); the common case is one load.
  std::vector<std::uint32_t> standard_plans_;
  // 29-bit ids: FrameKey for exact matches, and for J1939 messages kJ1939Key | PGN << 8 | source
  // (the DBC's own source address) and kJ1939Key | kAnySource | PGN -> plans_ index.
  std::unordered_map<std::uint32_t, std::uint32_t> extended_plans_;
  bool has_j1939_ = false;
  std::size_t max_signals_ = 0;
};

}  // namespace canvoy::agent
