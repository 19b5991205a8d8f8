#include "canvoy/agent/decoder.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "dbc/message_plan.h"

namespace canvoy::agent {
namespace {

using internal::Extract;
using internal::MessagePlan;
using internal::SignalPlan;

enum SignalState : std::uint8_t { kDecodedState, kInactive, kOutside };

// Keys of Decoder::extended_plans_ besides FrameKey (bit 31): J1939 messages by PGN.
constexpr std::uint32_t kJ1939Key = 0x40000000;
constexpr std::uint32_t kAnySource = 0x20000000;
constexpr std::uint32_t kNoPlan = 0;  // in standard_plans_, which holds index + 1
constexpr std::size_t kWindowBytes = 8;
constexpr std::size_t kLastWindowByte = kMaxFdLen - kWindowBytes;

constexpr std::uint32_t J1939Key(std::uint32_t pgn, std::uint8_t source) {
  return kJ1939Key | pgn << 8 | source;
}
constexpr std::uint32_t J1939AnySourceKey(std::uint32_t pgn) {
  return kJ1939Key | kAnySource | pgn;
}

// Signal indexes in evaluation order: a switch comes before the signals it selects, and
// otherwise file order is kept. (The parser has ruled out cycles.)
std::vector<std::uint32_t> EvaluationOrder(const DbcMessage& message) {
  const std::size_t n = message.signals.size();
  std::vector<std::uint32_t> order;
  order.reserve(n);
  std::vector<bool> placed(n, false);
  while (order.size() < n) {
    const std::size_t before = order.size();
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto& switch_index = message.signals[i].switch_index;
      if (placed[i] || (switch_index && !placed[*switch_index])) continue;
      placed[i] = true;
      order.push_back(i);
    }
    if (order.size() == before) break;  // a cycle or a dangling switch: leave the rest out
  }
  return order;
}

// Chooses one 8-byte load for the signal when its bits fit in one. Bits are numbered in the
// order of the load: Intel from the least significant bit of byte 0 up, Motorola from the most
// significant bit of byte 0 down.
void PlanExtraction(const DbcSignal& signal, SignalPlan* s) {
  const std::uint32_t length = signal.length;
  s->mask = length == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << length) - 1;
  s->sign_shift = static_cast<std::uint8_t>(64 - length);
  std::uint32_t first_bit = 0;  // Intel: the LSB; Motorola: the MSB, in load order
  if (signal.byte_order == ByteOrder::kLittleEndian) {
    first_bit = signal.start_bit;
  } else {
    first_bit = signal.start_bit / 8 * 8 + (7 - signal.start_bit % 8);
  }
  const std::uint32_t window = std::min<std::uint32_t>(first_bit / 8, kLastWindowByte);
  const std::uint32_t offset = first_bit - window * 8;  // of first_bit within the window
  if (offset + length > 64) {
    s->extract = Extract::kChunks;
    return;
  }
  s->window_byte = static_cast<std::uint8_t>(window);
  if (signal.byte_order == ByteOrder::kLittleEndian) {
    s->extract = Extract::kIntelWindow;
    s->shift = static_cast<std::uint8_t>(offset);
  } else {
    s->extract = Extract::kMotorolaWindow;
    s->shift = static_cast<std::uint8_t>(64 - offset - length);
  }
}

Result<MessagePlan> CompilePlan(const DbcDatabase& database, MessageRef ref) {
  const DbcMessage& message = database.messages[ref.message];
  MessagePlan plan;
  plan.ref = ref;
  plan.message = &message;
  plan.j1939 = IsJ1939(database, message);
  const std::vector<std::uint32_t> order = EvaluationOrder(message);
  if (order.size() != message.signals.size()) {
    return Error(Errc::kInvalidArgument, database.name + ": message " + message.name +
                                             ": multiplexer switches form a cycle or are missing");
  }
  std::vector<std::int32_t> position(message.signals.size(), -1);
  for (const std::uint32_t index : order) {
    const DbcSignal& signal = message.signals[index];
    auto layout = dbc::ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
    if (const auto* problem = std::get_if<std::string>(&layout)) {
      return Error(Errc::kInvalidArgument, database.name + ": signal " + message.name + "." +
                                               signal.name + ": " + *problem);
    }
    SignalPlan& s = plan.signals.emplace_back();
    s.layout = std::get<dbc::BitLayout>(layout);
    s.bytes_needed = s.layout.bytes_needed;
    PlanExtraction(signal, &s);
    s.scaling = dbc::MakeScaling(signal);
    s.is_signed = signal.is_signed && signal.value_type == ValueType::kInteger;
    s.has_labels = !signal.labels.empty();
    s.signal_index = index;
    s.signal = &signal;
    if (signal.switch_index) {
      s.switch_position = position[*signal.switch_index];
      plan.multiplexed = true;
    }
    position[index] = static_cast<std::int32_t>(plan.signals.size() - 1);
  }
  return plan;
}

inline std::uint64_t Load64(const std::uint8_t* data, Extract order) {
  std::uint64_t word = 0;
  std::memcpy(&word, data, sizeof word);
  const bool swap =
      (order == Extract::kMotorolaWindow) == (std::endian::native == std::endian::little);
  return swap ? __builtin_bswap64(word) : word;
}

// The raw value, sign-extended for signed integers.
inline std::uint64_t ExtractRaw(const SignalPlan& s, const std::uint8_t* data) {
  std::uint64_t raw = 0;
  if (s.extract == Extract::kChunks) [[unlikely]] {
    raw = dbc::ExtractBits(s.layout, data);
  } else {
    raw = (Load64(data + s.window_byte, s.extract) >> s.shift) & s.mask;
  }
  if (s.is_signed) {
    raw =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(raw << s.sign_shift) >> s.sign_shift);
  }
  return raw;
}

bool Selects(const DbcSignal& signal, const SignalPlan& switch_plan, std::uint64_t switch_raw) {
  if (switch_plan.is_signed && static_cast<std::int64_t>(switch_raw) < 0) return false;
  for (const MuxRange& range : signal.switch_ranges) {
    if (switch_raw >= range.low && switch_raw <= range.high) return true;
  }
  return false;
}

std::string_view LabelOf(const DbcSignal& signal, std::uint64_t raw) {
  const auto key = static_cast<std::int64_t>(raw);
  const auto it =
      std::lower_bound(signal.labels.begin(), signal.labels.end(), key,
                       [](const auto& entry, std::int64_t k) { return entry.first < k; });
  if (it == signal.labels.end() || it->first != key) return {};
  return it->second;
}

inline void Emit(const SignalPlan& s, std::uint64_t raw, DecodedSignal* decoded) {
  decoded->signal_index = s.signal_index;
  decoded->raw = raw;
  decoded->raw_signed = s.is_signed;
  decoded->physical = dbc::Scale(s.scaling, raw, s.is_signed);
  decoded->label = s.has_labels ? LabelOf(*s.signal, raw) : std::string_view();
}

}  // namespace

Decoder::Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;
Decoder::~Decoder() = default;

Result<Decoder> Decoder::Create(std::vector<DbcDatabase> databases, DecoderOptions options) {
  Decoder decoder;
  decoder.databases_ = std::make_shared<const std::vector<DbcDatabase>>(std::move(databases));
  decoder.options_ = options;
  decoder.standard_plans_.assign(kMaxStandardId + 1, kNoPlan);
  const auto& dbs = *decoder.databases_;
  decoder.messages_ = SelectMessages(dbs, &decoder.conflicts_);
  decoder.plans_.reserve(decoder.messages_.size());
  for (const MessageRef& ref : decoder.messages_) {
    CANVOY_ASSIGN_OR_RETURN(MessagePlan plan, CompilePlan(dbs[ref.database], ref));
    decoder.AddPlan(std::move(plan));
  }
  return decoder;
}

void Decoder::AddPlan(MessagePlan plan) {
  const auto index = static_cast<std::uint32_t>(plans_.size());
  const DbcMessage& message = *plan.message;
  max_signals_ = std::max(max_signals_, plan.signals.size());
  if (!message.extended) {
    standard_plans_[message.id] = index + 1;
  } else if (!plan.j1939) {
    extended_plans_.emplace(FrameKey(message.id, true), index);
  } else {
    has_j1939_ = true;
    const std::uint32_t pgn = J1939Pgn(message.id);
    const auto [it, inserted] =
        extended_plans_.emplace(J1939Key(pgn, J1939SourceAddress(message.id)), index);
    extended_plans_.emplace(J1939AnySourceKey(pgn), index);
    if (!inserted) {
      const DbcMessage& winner = *plans_[it->second].message;
      char what[64];
      std::snprintf(what, sizeof what, " (J1939 PGN 0x%X, source 0x%02X)", pgn,
                    J1939SourceAddress(message.id));
      conflicts_.push_back((*databases_)[plan.ref.database].name + ": message " + message.name +
                           what + " is shadowed by " + winner.name);
    }
  }
  plans_.push_back(std::move(plan));
}

const MessagePlan* Decoder::FindPlan(const CanFrame& frame) const {
  if (!frame.extended) {
    if (frame.id > kMaxStandardId) return nullptr;
    const std::uint32_t entry = standard_plans_[frame.id];
    return entry == kNoPlan ? nullptr : &plans_[entry - 1];
  }
  auto found = extended_plans_.find(FrameKey(frame.id, true));
  if (found == extended_plans_.end() && has_j1939_) {
    const std::uint32_t pgn = J1939Pgn(frame.id);
    found = extended_plans_.find(J1939Key(pgn, J1939SourceAddress(frame.id)));
    if (found == extended_plans_.end()) found = extended_plans_.find(J1939AnySourceKey(pgn));
  }
  return found == extended_plans_.end() ? nullptr : &plans_[found->second];
}

DecodedFrame Decoder::MakeFrameBuffer() const {
  DecodedFrame frame;
  frame.signals_.resize(max_signals_);
  frame.state_.resize(max_signals_);
  frame.raw_.resize(max_signals_);
  return frame;
}

DecodeOutcome Decoder::Decode(const CanFrame& frame, DecodedFrame* out) const {
  out->message_ = nullptr;
  out->count_ = 0;
  out->outside_ = 0;
  out->has_source_address_ = false;
  if (frame.remote || frame.error) return DecodeOutcome::kNotData;
  const MessagePlan* plan = FindPlan(frame);
  if (plan == nullptr) return DecodeOutcome::kUnknownId;
  if (options_.short_frames == ShortFrames::kSkipFrame && frame.len < plan->message->length) {
    return DecodeOutcome::kTooShort;
  }
  out->message_ = plan->message;
  out->ref_ = plan->ref;
  if (plan->j1939) {
    out->source_address_ = J1939SourceAddress(frame.id);
    out->has_source_address_ = true;
  }
  const std::size_t n = plan->signals.size();
  if (out->signals_.size() < n) out->signals_.resize(n);
  const std::uint8_t* data = frame.data.data();
  DecodedSignal* next = out->signals_.data();
  const SignalPlan* signals = plan->signals.data();
  if (!plan->multiplexed) {
    for (std::size_t i = 0; i < n; ++i) {
      const SignalPlan& s = signals[i];
      if (s.bytes_needed > frame.len) [[unlikely]] {
        ++out->outside_;
        continue;
      }
      Emit(s, ExtractRaw(s, data), next++);
    }
    out->count_ = static_cast<std::size_t>(next - out->signals_.data());
    return DecodeOutcome::kDecoded;
  }
  if (out->state_.size() < n) {
    out->state_.resize(n);
    out->raw_.resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const SignalPlan& s = signals[i];
    if (s.switch_position >= 0) {
      const auto switch_position = static_cast<std::size_t>(s.switch_position);
      const std::uint8_t switch_state = out->state_[switch_position];
      if (switch_state != kDecodedState ||
          !Selects(*s.signal, signals[switch_position], out->raw_[switch_position])) {
        out->state_[i] = switch_state == kOutside ? kOutside : kInactive;
        if (switch_state == kOutside) ++out->outside_;
        continue;
      }
    }
    if (s.bytes_needed > frame.len) {
      out->state_[i] = kOutside;
      ++out->outside_;
      continue;
    }
    const std::uint64_t raw = ExtractRaw(s, data);
    out->state_[i] = kDecodedState;
    out->raw_[i] = raw;
    Emit(s, raw, next++);
  }
  out->count_ = static_cast<std::size_t>(next - out->signals_.data());
  return DecodeOutcome::kDecoded;
}

}  // namespace canvoy::agent
