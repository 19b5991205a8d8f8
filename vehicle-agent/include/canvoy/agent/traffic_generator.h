// Synthetic CAN traffic from a DBC: frames built from signal values (the decoder's inverse) and
// a deterministic stream of every message at its cycle time, for tests, benchmarks and demos.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/agent/frame_source.h"

namespace canvoy::agent {

using SignalValues = std::unordered_map<std::string, PhysicalValue>;

// Builds a frame of `message` (its id, its DBC length, FD when longer than 8 bytes; timestamp 0,
// interface 0) holding `values`. Signals not named are not written: their bits stay zero (raw 0,
// physical == offset). A multiplexer not named counts as raw 0. Fails when a name is
// not a signal of the message, a value is outside its signal's raw range, or a named signal is
// not selected by its switch. Stateless; safe from any thread.
[[nodiscard]] Result<CanFrame> EncodeMessage(const DbcMessage& message, const SignalValues& values);

// The message's cycle time: its GenMsgCycleTime attribute, else the database's default for it,
// else `fallback` (also when the value is 0 or not a number).
std::chrono::milliseconds MessageCycleTime(const DbcDatabase& database, const DbcMessage& message,
                                           std::chrono::milliseconds fallback);

struct TrafficGeneratorOptions {
  std::chrono::milliseconds default_cycle{100};  // for messages without a cycle time
  std::uint64_t seed = 1;                        // picks each signal's waveform and phase
  std::int64_t start_time_us = 0;                // timestamp of the first frames
  std::uint16_t interface_index = 0;             // stamped on every frame
};

// An endless FrameSource: every message of a database at its cycle time (frames in time order,
// ties in DBC order), each signal following a ramp or a sine across its [minimum, maximum] (or its
// raw range when that is empty or does not fit the raw range). Multiplexed messages cycle through
// the multiplexer values that select signals. The same database and options give the same frames.
// Signals that reach past their message's frame (a DBC warning) are not sent, nor are signals
// whose bits overlap a signal already sent in the same frame (real DBCs have such pairs).
// Owns a copy of the database. Not thread-safe.
class TrafficGenerator : public FrameSource {
 public:
  // Fails when a message is longer than 64 bytes.
  [[nodiscard]] static Result<TrafficGenerator> Create(DbcDatabase database,
                                                       TrafficGeneratorOptions options = {});
  TrafficGenerator(TrafficGenerator&&) noexcept;
  TrafficGenerator& operator=(TrafficGenerator&&) noexcept;
  ~TrafficGenerator() override;

  // Returns false only for a database without messages.
  [[nodiscard]] Result<bool> Next(CanFrame* frame) override;

  // The values of the `step`th frame of message `message_index` (only signals its multiplexers
  // select), as Next() encodes them. Each value is exactly the decoder's value of its raw value.
  SignalValues ValuesAt(std::size_t message_index, std::uint64_t step) const;

  const DbcDatabase& database() const { return database_; }
  // The message index and values of the frame the last Next() returned.
  std::size_t last_message_index() const { return last_message_; }
  const SignalValues& last_values() const { return last_values_; }

 private:
  struct Waveform;  // defined in traffic_generator.cc
  struct MessageState {
    std::int64_t cycle_us = 0;
    std::int64_t next_us = 0;
    std::uint64_t step = 0;
  };
  TrafficGenerator(DbcDatabase database, TrafficGeneratorOptions options);

  DbcDatabase database_;
  TrafficGeneratorOptions options_;
  std::vector<MessageState> states_;
  std::vector<std::vector<Waveform>> waveforms_;  // per message, per signal
  std::size_t last_message_ = 0;
  SignalValues last_values_;
};

}  // namespace canvoy::agent
