#include "collect/collector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace canvoy::agent {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double AsDouble(const PhysicalValue& value) {
  return std::visit([](auto v) { return static_cast<double>(v); }, value);
}

}  // namespace

// The collector's current values and one trigger's windows, as the expression reads them.
class Collector::Inputs : public ExpressionInputs {
 public:
  Inputs(const Collector& collector, const Trigger& trigger, std::int64_t now_us)
      : collector_(collector), trigger_(trigger), now_us_(now_us) {}

  double Value(SignalId signal) const override { return collector_.values_[signal]; }

  // Scans from the newest sample back to the first one outside (now - window, now].
  double Window(std::size_t slot) const override {
    const auto& window = trigger_.windows[slot];
    const auto& samples = window.samples;
    double min = std::numeric_limits<double>::infinity(), max = -min, sum = 0;
    std::size_t count = 0;
    for (std::size_t i = samples.size(); i-- > 0;) {
      const TimedValue& s = samples[i];
      if (s.timestamp_us <= now_us_ - window.term.window_us) break;
      if (s.timestamp_us > now_us_) continue;
      min = std::min(min, s.value);
      max = std::max(max, s.value);
      sum += s.value;
      ++count;
    }
    if (count == 0) return kNaN;
    switch (window.term.func) {
      case WindowFunc::kMin: return min;
      case WindowFunc::kMax: return max;
      case WindowFunc::kAvg: break;
    }
    return sum / static_cast<double>(count);
  }

 private:
  const Collector& collector_;
  const Trigger& trigger_;
  std::int64_t now_us_;
};

Result<Collector> Collector::Create(const telemetry::v1::Catalog& catalog) {
  Collector c;
  SignalId max_id = 0;
  for (const auto& s : catalog.signals()) max_id = std::max(max_id, s.id());
  const std::size_t n = std::size_t{max_id} + 1;
  c.policies_.resize(n);
  c.capture_index_.assign(n, -1);
  c.triggers_by_signal_.resize(n);
  c.values_.assign(n, kNaN);
  c.seen_.assign(n, 0);
  std::vector<std::uint8_t> known(n, 0);
  for (const auto& s : catalog.signals()) {
    c.policies_[s.id()] = PolicyState(s.policy());
    known[s.id()] = 1;
  }
  const auto resolve = CatalogResolver(catalog);
  for (const auto& t : catalog.triggers()) {
    const std::string where = "trigger '" + t.name() + "'";
    CANVOY_ASSIGN_OR_RETURN(Expression condition, Expression::Parse(t.condition(), resolve));
    if (t.pre_us() < 0 || t.post_us() < 0) {
      return Error(Errc::kInvalidArgument, where + ": pre and post windows must not be negative");
    }
    Trigger trigger{std::move(condition), t.pre_us(), t.post_us(), {}, {}, false};
    for (const WindowTerm& term : trigger.condition.windows()) {
      trigger.windows.push_back({term, Ring<TimedValue>(kMaxWindowSamples)});
    }
    for (const std::uint32_t id : t.capture_ids()) {
      if (id >= n || known[id] == 0) {
        return Error(Errc::kInvalidArgument, where + ": captures signal id " + std::to_string(id) + ", not in the catalog");
      }
      if (c.policies_[id].kind() != PolicyState::Kind::kOnTrigger) {
        return Error(Errc::kInvalidArgument, where + ": captures signal id " + std::to_string(id) + " whose policy is not on_trigger");
      }
      if (c.capture_index_[id] < 0) {
        c.capture_index_[id] = static_cast<std::int32_t>(c.captures_.size());
        c.captures_.emplace_back(kMaxPreTriggerSamples);
      }
      trigger.capture.push_back(id);
    }
    const auto index = static_cast<std::uint32_t>(c.triggers_.size());
    for (SignalId id : trigger.condition.signals()) c.triggers_by_signal_[id].push_back(index);
    c.triggers_.push_back(std::move(trigger));
  }
  c.fired_.assign(c.triggers_.size(), 0);
  return c;
}

Status Collector::Add(SignalId id, std::int64_t timestamp_us, const PhysicalValue& value, SampleSink& sink) {
  if (id >= policies_.size()) {
    return Error(Errc::kInvalidArgument, "collector: signal id " + std::to_string(id) + " is not in the catalog");
  }
  if (!triggers_by_signal_[id].empty()) {
    Observe(id, timestamp_us, AsDouble(value));
    for (const std::uint32_t t : triggers_by_signal_[id]) {
      Trigger& trigger = triggers_[t];
      bool ready = true;
      for (SignalId s : trigger.condition.signals()) ready = ready && seen_[s] != 0;
      if (!ready) continue;
      const double v = trigger.condition.Evaluate(Inputs(*this, trigger, timestamp_us));
      const bool now_true = v != 0 && !std::isnan(v);
      if (now_true && !trigger.was_true) CANVOY_RETURN_IF_ERROR(Fire(t, timestamp_us, sink));
      trigger.was_true = now_true;
    }
  }
  if (capture_index_[id] >= 0) return OfferCaptured(id, timestamp_us, value, sink);
  if (policies_[id].Offer(timestamp_us, value)) return sink.Emit(id, timestamp_us, value);
  return OkStatus();
}

void Collector::Observe(SignalId id, std::int64_t timestamp_us, double value) {
  values_[id] = value;
  seen_[id] = 1;
  for (const std::uint32_t t : triggers_by_signal_[id]) {
    for (Window& w : triggers_[t].windows) {
      if (w.term.signal == id) w.samples.Push({timestamp_us, value});
    }
  }
}

// Opens (or extends) the capture window of every captured signal and emits the buffered samples
// that fall inside it and were not emitted before.
Status Collector::Fire(std::size_t index, std::int64_t t, SampleSink& sink) {
  const Trigger& trigger = triggers_[index];
  ++fired_[index];
  const std::int64_t from = t - trigger.pre_us;
  const std::int64_t until = t + trigger.post_us;
  for (SignalId id : trigger.capture) {
    Capture& cap = captures_[static_cast<std::size_t>(capture_index_[id])];
    if (cap.active && from <= cap.until_us) {
      cap.from_us = std::min(cap.from_us, from);
      cap.until_us = std::max(cap.until_us, until);
    } else {
      cap.active = true;
      cap.from_us = from;
      cap.until_us = until;
    }
    if (cap.ring.overwritten() > 0 && cap.ring.size() > 0 && cap.ring[0].timestamp_us > from) ++truncated_;
    for (std::size_t i = 0; i < cap.ring.size(); ++i) {
      Buffered& b = cap.ring[i];
      if (b.emitted || b.timestamp_us < from || b.timestamp_us > until) continue;
      CANVOY_RETURN_IF_ERROR(sink.Emit(id, b.timestamp_us, b.value));
      b.emitted = true;
    }
  }
  return OkStatus();
}

Status Collector::OfferCaptured(SignalId id, std::int64_t t, const PhysicalValue& value, SampleSink& sink) {
  Capture& cap = captures_[static_cast<std::size_t>(capture_index_[id])];
  const bool in_window = cap.active && t >= cap.from_us && t <= cap.until_us;
  cap.ring.Push({t, value, in_window});
  return in_window ? sink.Emit(id, t, value) : OkStatus();
}

}  // namespace canvoy::agent
