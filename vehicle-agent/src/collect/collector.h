// The collector sits between the decoder and the BatchBuilder: it applies each signal's
// collection policy and the catalog's condition triggers, and passes on the samples to keep.
//
// Not thread-safe: the decode thread owns a Collector. Time is the sample timestamp (log time
// when replaying), never the wall clock.
#pragma once

#include <cstdint>
#include <vector>

#include "canvoy/agent/decoder.h"
#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "collect/expression.h"
#include "collect/policy.h"
#include "collect/ring.h"

namespace canvoy::agent {

// Where the collector puts the samples it keeps (the agent: a BatchBuilder).
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  [[nodiscard]] virtual Status Emit(SignalId id, std::int64_t timestamp_us, const PhysicalValue& value) = 0;
};

class Collector {
 public:
  // Pre-trigger samples kept per captured signal (32 bytes each: 32 KiB per signal). A pre window
  // holding more samples than this loses its oldest ones (counted in truncated_pre_windows()).
  static constexpr std::size_t kMaxPreTriggerSamples = 1024;
  // Samples kept per min/max/avg window term (16 bytes each: 64 KiB per term). A window holding
  // more samples is aggregated over its newest kMaxWindowSamples.
  static constexpr std::size_t kMaxWindowSamples = 4096;

  // Reads policies and triggers from the catalog; fails when a trigger's condition does not parse
  // or a captured signal's policy is not on_trigger. All buffers are allocated here.
  [[nodiscard]] static Result<Collector> Create(const telemetry::v1::Catalog& catalog);

  // Offers one decoded sample of catalog signal `id` (ids outside the catalog are an error).
  // Emits zero or more samples into `sink`: this one if its policy keeps it, and, when a trigger
  // fires, the captured signals' buffered samples of the pre-trigger window (each sample once).
  // Does not allocate.
  [[nodiscard]] Status Add(SignalId id, std::int64_t timestamp_us, const PhysicalValue& value, SampleSink& sink);

  // How often each trigger (in catalog order) has fired.
  const std::vector<std::uint64_t>& trigger_counts() const { return fired_; }
  // Captures (signal and firing) whose pre-trigger window had lost samples to a full ring.
  std::uint64_t truncated_pre_windows() const { return truncated_; }

 private:
  struct Buffered {
    std::int64_t timestamp_us = 0;
    PhysicalValue value;
    bool emitted = false;
  };
  struct Capture {  // one per captured signal
    explicit Capture(std::size_t capacity) : ring(capacity) {}
    Ring<Buffered> ring;
    bool active = false;
    std::int64_t from_us = 0;  // the merged capture window [from_us, until_us]
    std::int64_t until_us = 0;
  };
  struct TimedValue {
    std::int64_t timestamp_us = 0;
    double value = 0;
  };
  struct Window {
    WindowTerm term;
    Ring<TimedValue> samples;
  };
  struct Trigger {
    Expression condition;
    std::int64_t pre_us = 0;
    std::int64_t post_us = 0;
    std::vector<SignalId> capture;
    std::vector<Window> windows;  // by Expression::windows() slot
    bool was_true = false;
  };
  class Inputs;

  Collector() = default;
  void Observe(SignalId id, std::int64_t timestamp_us, double value);
  Status Fire(std::size_t trigger, std::int64_t t, SampleSink& sink);
  Status OfferCaptured(SignalId id, std::int64_t t, const PhysicalValue& value, SampleSink& sink);

  std::vector<PolicyState> policies_;          // by signal id
  std::vector<std::int32_t> capture_index_;     // by signal id: index into captures_, or -1
  std::vector<Capture> captures_;
  std::vector<Trigger> triggers_;
  std::vector<std::vector<std::uint32_t>> triggers_by_signal_;  // by signal id
  std::vector<double> values_;                  // by signal id: newest value
  std::vector<std::uint8_t> seen_;              // by signal id: 1 once a sample arrived
  std::vector<std::uint64_t> fired_;            // by trigger
  std::uint64_t truncated_ = 0;
};

}  // namespace canvoy::agent
