#include "canvoy/agent/traffic_generator.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <numbers>
#include <span>
#include <string_view>
#include <utility>

#include "canvoy/agent/encoder.h"
#include "dbc/bit_layout.h"
#include "dbc/message_plan.h"

namespace canvoy::agent {
namespace {

using dbc::Int128;

constexpr std::string_view kCycleTimeAttribute = "GenMsgCycleTime";
// Integer signals whose physical values are doubles keep to this raw range, so every raw value
// is exact in a double and RawFromPhysical gives it back.
constexpr Int128 kMaxExactDoubleRaw = Int128{1} << 53;
constexpr double kDefaultFloatLow = -1000;
constexpr double kDefaultFloatHigh = 1000;

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::uint8_t FrameLength(std::uint32_t dbc_length) {
  unsigned len = dbc_length;
  while (!IsValidCanFdLength(len)) ++len;
  return static_cast<std::uint8_t>(len);
}

// Whether signal `index` is written: its switch (recursively) is and has a selecting value.
bool IsActive(const DbcMessage& message, const std::vector<std::uint64_t>& raws,
              std::uint32_t index, std::uint32_t depth = 0) {
  const DbcSignal& signal = message.signals[index];
  if (!signal.switch_index) return true;
  const std::uint32_t switch_index = *signal.switch_index;
  if (switch_index >= message.signals.size() || depth > message.signals.size()) return false;
  if (!IsActive(message, raws, switch_index, depth + 1)) return false;
  const std::uint64_t value = raws[switch_index];
  return std::any_of(signal.switch_ranges.begin(), signal.switch_ranges.end(),
                     [value](const MuxRange& range) {
                       return value >= range.low && value <= range.high;
                     });
}

std::optional<std::int64_t> AttributeInteger(
    const std::vector<std::pair<std::string, std::string>>& attributes) {
  for (const auto& [name, text] : attributes) {
    if (name != kCycleTimeAttribute) continue;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size() && value > 0) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

// One signal's values over the steps of its message.
struct TrafficGenerator::Waveform {
  bool fits = true;       // lies inside the message's frame (else never sent)
  bool sine = false;      // else a sawtooth ramp
  double phase = 0;       // [0, 1)
  double period = 1;      // in steps
  bool is_float = false;  // SIG_VALTYPE_ float or double: values in [low, high]
  double low = 0;
  double high = 0;
  Int128 raw_low = 0;  // integer signals: raw values in [raw_low, raw_high]
  Int128 raw_high = 0;
  std::vector<std::uint64_t> switch_values;  // multiplexer: the raw values that select signals
  // Multiplexer: steps per value, the product of the value counts of the switches before it, so
  // that nested switches go through every combination.
  std::uint64_t switch_stride = 1;
  std::array<std::uint8_t, kMaxFdLen> bits{};  // the payload bits the signal occupies

  double Fraction(std::uint64_t step) const {
    const double turns = phase + static_cast<double>(step % 1'000'000) / period;
    const double ramp = turns - std::floor(turns);
    if (!sine) return ramp;
    return 0.5 + 0.5 * std::sin(2 * std::numbers::pi * ramp);
  }
};

namespace {

// Raw range of an integer signal: its bit range, narrowed to [minimum, maximum] when those give a
// non-empty part of it.
std::pair<Int128, Int128> RawRange(const DbcSignal& signal) {
  const unsigned bits = signal.length;
  Int128 low = signal.is_signed ? -(Int128{1} << (bits - 1)) : 0;
  Int128 high = signal.is_signed ? (Int128{1} << (bits - 1)) - 1 : (Int128{1} << bits) - 1;
  if (PhysicalKindOf(signal) == PhysicalKind::kDouble) {
    low = std::max(low, -kMaxExactDoubleRaw);
    high = std::min(high, kMaxExactDoubleRaw);
  }
  const double factor = signal.factor.value;
  if (signal.minimum < signal.maximum && factor != 0) {
    double a = (signal.minimum - signal.offset.value) / factor;
    double b = (signal.maximum - signal.offset.value) / factor;
    if (a > b) std::swap(a, b);
    a = std::ceil(a);
    b = std::floor(b);
    const auto lo = static_cast<double>(low);
    const auto hi = static_cast<double>(high);
    if (a <= b && a <= hi && b >= lo) {
      const Int128 new_low = a <= lo ? low : static_cast<Int128>(a);
      const Int128 new_high = b >= hi ? high : static_cast<Int128>(b);
      if (new_low <= new_high) return {new_low, new_high};
    }
  }
  return {low, high};
}

}  // namespace

Result<CanFrame> EncodeMessage(const DbcMessage& message, const SignalValues& values) {
  if (message.length > kMaxFdLen) {
    return Error(Errc::kInvalidArgument, "message " + message.name + " is longer than 64 bytes");
  }
  const auto count = static_cast<std::uint32_t>(message.signals.size());
  std::vector<std::uint64_t> raws(count, 0);
  std::vector<bool> named(count, false);
  for (const auto& [name, value] : values) {
    const auto it = std::find_if(message.signals.begin(), message.signals.end(),
                                 [&wanted = name](const DbcSignal& s) { return s.name == wanted; });
    if (it == message.signals.end()) {
      return Error(Errc::kNotFound, "message " + message.name + " has no signal " + name);
    }
    const auto index = static_cast<std::uint32_t>(it - message.signals.begin());
    auto raw = RawFromPhysical(*it, value);
    if (!raw) return raw.error().WithContext("message " + message.name);
    raws[index] = raw.value();
    named[index] = true;
  }
  CanFrame frame;
  frame.id = message.id;
  frame.extended = message.extended;
  frame.len = FrameLength(message.length);
  frame.fd = frame.len > kMaxClassicLen;
  const std::span<std::uint8_t> payload(frame.data.data(), frame.len);
  for (std::uint32_t i = 0; i < count; ++i) {
    const DbcSignal& signal = message.signals[i];
    if (!named[i]) continue;  // its bits stay zero: raw 0
    if (!IsActive(message, raws, i)) {
      return Error(Errc::kInvalidArgument, "message " + message.name + ": signal " + signal.name +
                                               " is not selected by its multiplexer");
    }
    const Status written = EncodeRaw(signal, raws[i], payload);
    if (!written) return written.error().WithContext("message " + message.name);
  }
  return frame;
}

std::chrono::milliseconds MessageCycleTime(const DbcDatabase& database, const DbcMessage& message,
                                           std::chrono::milliseconds fallback) {
  if (const auto own = AttributeInteger(message.attributes)) {
    return std::chrono::milliseconds(*own);
  }
  if (const auto fallback_of_file = AttributeInteger(database.attribute_defaults)) {
    return std::chrono::milliseconds(*fallback_of_file);
  }
  return fallback;
}

Result<TrafficGenerator> TrafficGenerator::Create(DbcDatabase database,
                                                  TrafficGeneratorOptions options) {
  if (options.default_cycle <= std::chrono::milliseconds::zero()) {
    return Error(Errc::kInvalidArgument, "traffic generator: default_cycle must be positive");
  }
  for (const DbcMessage& message : database.messages) {
    if (message.length > kMaxFdLen) {
      return Error(Errc::kInvalidArgument,
                   database.name + ": message " + message.name + " is longer than 64 bytes");
    }
  }
  return TrafficGenerator(std::move(database), options);
}

TrafficGenerator::TrafficGenerator(DbcDatabase database, TrafficGeneratorOptions options)
    : database_(std::move(database)), options_(options) {
  std::uint64_t state = options_.seed;
  for (const DbcMessage& message : database_.messages) {
    const auto cycle = MessageCycleTime(database_, message, options_.default_cycle);
    states_.push_back(MessageState{cycle.count() * 1000, options_.start_time_us, 0});
    std::vector<Waveform> waves(message.signals.size());
    for (std::size_t i = 0; i < message.signals.size(); ++i) {
      const DbcSignal& signal = message.signals[i];
      Waveform& wave = waves[i];
      const auto layout = dbc::ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
      const auto* bits = std::get_if<dbc::BitLayout>(&layout);
      wave.fits = bits != nullptr && bits->bytes_needed <= FrameLength(message.length);
      const std::uint64_t ones = signal.length >= 64 ? ~std::uint64_t{0}
                                                     : (std::uint64_t{1} << signal.length) - 1;
      if (wave.fits) {
        (void)EncodeRaw(signal, signal.is_signed ? ~std::uint64_t{0} : ones, wave.bits);
      }
      state = SplitMix64(state);
      wave.sine = (state & 1) != 0;
      wave.phase = static_cast<double>((state >> 8) % 1000) / 1000.0;
      wave.period = 16 + static_cast<double>((state >> 24) % 64);
      if (signal.value_type != ValueType::kInteger) {
        wave.is_float = true;
        const bool usable = signal.minimum < signal.maximum;
        wave.low = usable ? signal.minimum : kDefaultFloatLow;
        wave.high = usable ? signal.maximum : kDefaultFloatHigh;
      } else {
        std::tie(wave.raw_low, wave.raw_high) = RawRange(signal);
      }
      if (signal.switch_index && *signal.switch_index < waves.size()) {
        for (const MuxRange& range : signal.switch_ranges) {
          waves[*signal.switch_index].switch_values.push_back(range.low);
        }
      }
    }
    std::uint64_t stride = 1;
    constexpr std::uint64_t kMaxStride = std::uint64_t{1} << 32;
    for (Waveform& wave : waves) {
      std::sort(wave.switch_values.begin(), wave.switch_values.end());
      wave.switch_values.erase(std::unique(wave.switch_values.begin(), wave.switch_values.end()),
                               wave.switch_values.end());
      if (wave.switch_values.empty()) continue;
      wave.switch_stride = stride;
      stride = std::min(kMaxStride, stride * wave.switch_values.size());
    }
    waveforms_.push_back(std::move(waves));
  }
}

TrafficGenerator::TrafficGenerator(TrafficGenerator&&) noexcept = default;
TrafficGenerator& TrafficGenerator::operator=(TrafficGenerator&&) noexcept = default;
TrafficGenerator::~TrafficGenerator() = default;

SignalValues TrafficGenerator::ValuesAt(std::size_t message_index, std::uint64_t step) const {
  const DbcMessage& message = database_.messages[message_index];
  const std::vector<Waveform>& waves = waveforms_[message_index];
  std::vector<std::uint64_t> raws(message.signals.size(), 0);
  for (std::size_t i = 0; i < message.signals.size(); ++i) {
    const DbcSignal& signal = message.signals[i];
    const Waveform& wave = waves[i];
    const double fraction = wave.Fraction(step);
    if (!wave.switch_values.empty()) {
      raws[i] = wave.switch_values[(step / wave.switch_stride) % wave.switch_values.size()];
    } else if (wave.is_float) {
      // Written so that huge ranges ([-DBL_MAX, DBL_MAX]) do not overflow.
      const double physical = wave.low * (1 - fraction) + wave.high * fraction;
      const double unscaled = (physical - signal.offset.value) / signal.factor.value;
      raws[i] = signal.value_type == ValueType::kFloat32
                    ? std::bit_cast<std::uint32_t>(static_cast<float>(unscaled))
                    : std::bit_cast<std::uint64_t>(unscaled);
    } else {
      const Int128 span = wave.raw_high - wave.raw_low;
      auto offset = static_cast<Int128>(fraction * static_cast<long double>(span));
      offset = std::clamp<Int128>(offset, 0, span);
      raws[i] = static_cast<std::uint64_t>(wave.raw_low + offset);
    }
  }
  // Switches first, then the rest in DBC order; a signal whose bits overlap a signal already taken
  // (real DBCs have such pairs) is left out, so every value sent can be read back.
  SignalValues values;
  std::array<std::uint8_t, kMaxFdLen> taken{};
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < message.signals.size(); ++i) {
      const DbcSignal& signal = message.signals[i];
      if (signal.is_multiplexer != (pass == 0)) continue;
      if (!waves[i].fits || !IsActive(message, raws, i)) continue;
      bool overlaps = false;
      for (std::size_t b = 0; b < taken.size(); ++b) overlaps |= (taken[b] & waves[i].bits[b]) != 0;
      if (overlaps) continue;
      for (std::size_t b = 0; b < taken.size(); ++b) taken[b] |= waves[i].bits[b];
      values.emplace(signal.name,
                     dbc::Scale(dbc::MakeScaling(signal), raws[i],
                                signal.is_signed && signal.value_type == ValueType::kInteger));
    }
  }
  return values;
}

Result<bool> TrafficGenerator::Next(CanFrame* frame) {
  if (states_.empty()) return false;
  std::size_t due = 0;
  for (std::size_t i = 1; i < states_.size(); ++i) {
    if (states_[i].next_us < states_[due].next_us) due = i;
  }
  MessageState& state = states_[due];
  last_values_ = ValuesAt(due, state.step);
  last_message_ = due;
  auto encoded = EncodeMessage(database_.messages[due], last_values_);
  if (!encoded) return encoded.error().WithContext(database_.name);
  *frame = encoded.value();
  frame->timestamp_us = state.next_us;
  frame->interface_index = options_.interface_index;
  state.next_us += state.cycle_us;
  ++state.step;
  return true;
}

}  // namespace canvoy::agent
