#include "canvoy/agent/decoder.h"

#include <algorithm>
#include <cstdio>

#include "dbc/message_plan.h"

namespace canvoy::agent {
namespace {

using internal::MessagePlan;
using internal::SignalPlan;

enum SignalState : std::uint8_t { kDecodedState, kInactive, kOutside };

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

Result<MessagePlan> CompilePlan(const DbcDatabase& database, MessageRef ref) {
  const DbcMessage& message = database.messages[ref.message];
  MessagePlan plan;
  plan.ref = ref;
  plan.message = &message;
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
    s.scaling = dbc::MakeScaling(signal);
    s.is_signed = signal.is_signed && signal.value_type == ValueType::kInteger;
    s.signal_index = index;
    s.signal = &signal;
    if (signal.switch_index) s.switch_position = position[*signal.switch_index];
    position[index] = static_cast<std::int32_t>(plan.signals.size() - 1);
  }
  return plan;
}

bool Selects(const DbcSignal& signal, const SignalPlan& switch_plan, std::uint64_t switch_raw) {
  if (switch_plan.is_signed && static_cast<std::int64_t>(switch_raw) < 0) return false;
  for (const MuxRange& range : signal.switch_ranges) {
    if (switch_raw >= range.low && switch_raw <= range.high) return true;
  }
  return false;
}

std::string_view LabelOf(const DbcSignal& signal, std::uint64_t raw) {
  if (signal.labels.empty()) return {};
  const auto key = static_cast<std::int64_t>(raw);
  const auto it =
      std::lower_bound(signal.labels.begin(), signal.labels.end(), key,
                       [](const auto& entry, std::int64_t k) { return entry.first < k; });
  if (it == signal.labels.end() || it->first != key) return {};
  return it->second;
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
  const auto& dbs = *decoder.databases_;
  decoder.messages_ = SelectMessages(dbs, &decoder.conflicts_);
  decoder.plans_.reserve(decoder.messages_.size());
  for (const MessageRef& ref : decoder.messages_) {
    CANVOY_ASSIGN_OR_RETURN(MessagePlan plan, CompilePlan(dbs[ref.database], ref));
    const DbcMessage& message = *plan.message;
    decoder.max_signals_ = std::max(decoder.max_signals_, plan.signals.size());
    decoder.plan_by_key_.emplace(FrameKey(message.id, message.extended),
                                 static_cast<std::uint32_t>(decoder.plans_.size()));
    decoder.plans_.push_back(std::move(plan));
  }
  return decoder;
}

DecodedFrame Decoder::MakeFrameBuffer() const {
  DecodedFrame frame;
  frame.signals_.reserve(max_signals_);
  frame.state_.reserve(max_signals_);
  frame.raw_.reserve(max_signals_);
  return frame;
}

DecodeOutcome Decoder::Decode(const CanFrame& frame, DecodedFrame* out) const {
  out->message_ = nullptr;
  out->signals_.clear();
  out->outside_ = 0;
  if (frame.remote || frame.error) return DecodeOutcome::kNotData;
  const auto found = plan_by_key_.find(FrameKey(frame.id, frame.extended));
  if (found == plan_by_key_.end()) return DecodeOutcome::kUnknownId;
  const MessagePlan& plan = plans_[found->second];
  if (options_.short_frames == ShortFrames::kSkipFrame && frame.len < plan.message->length) {
    return DecodeOutcome::kTooShort;
  }
  out->message_ = plan.message;
  out->ref_ = plan.ref;
  const std::size_t n = plan.signals.size();
  out->state_.resize(n);
  out->raw_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const SignalPlan& s = plan.signals[i];
    if (s.switch_position >= 0) {
      const auto switch_position = static_cast<std::size_t>(s.switch_position);
      const std::uint8_t switch_state = out->state_[switch_position];
      if (switch_state != kDecodedState ||
          !Selects(*s.signal, plan.signals[switch_position], out->raw_[switch_position])) {
        out->state_[i] = switch_state == kOutside ? kOutside : kInactive;
        if (switch_state == kOutside) ++out->outside_;
        continue;
      }
    }
    if (s.layout.bytes_needed > frame.len) {
      out->state_[i] = kOutside;
      ++out->outside_;
      continue;
    }
    std::uint64_t raw = dbc::ExtractBits(s.layout, frame.data.data());
    if (s.is_signed) raw = static_cast<std::uint64_t>(dbc::SignExtend(raw, s.layout.length));
    out->state_[i] = kDecodedState;
    out->raw_[i] = raw;
    DecodedSignal& decoded = out->signals_.emplace_back();
    decoded.signal_index = s.signal_index;
    decoded.raw = raw;
    decoded.raw_signed = s.is_signed;
    decoded.physical = dbc::Scale(s.scaling, raw, s.is_signed);
    decoded.label = LabelOf(*s.signal, raw);
  }
  return DecodeOutcome::kDecoded;
}

}  // namespace canvoy::agent
