// Batches waiting for ingest's acknowledgement, in memory. Thread-safe: the collector appends,
// the uplink reads and acks. It numbers batches (stream_id, seq) as DESIGN.md requires; the
// crash-safe disk spool that keeps them across restarts replaces it behind the same interface.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "canvoy/common/ids.h"

namespace canvoy::agent {

class MemorySpool {
 public:
  MemorySpool() : stream_id_(StreamId::Random()) {}

  const StreamId& stream_id() const { return stream_id_; }
  // The seq the next Append must use.
  std::uint64_t NextSeq() const;
  // Stores a sealed batch. REQUIRES: seq == NextSeq().
  void Append(std::uint64_t seq, std::string batch);
  // Removes the batch: ingest has it in Kafka (or rejected it for good).
  void Ack(std::uint64_t seq);
  // The first unacknowledged batch with a seq greater than `after`.
  std::optional<std::pair<std::uint64_t, std::string>> NextAfter(std::uint64_t after) const;
  // No more appends will come.
  void Close();
  bool closed() const;
  std::size_t size() const;
  // Blocks until closed and empty, or the deadline passes; true if drained.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline) const;
  // Called (outside the lock) after every Append and Close, to wake the uplink.
  void SetListener(std::function<void()> listener);

 private:
  void Notify();

  const StreamId stream_id_;
  mutable std::mutex mu_;
  mutable std::condition_variable drained_;
  std::map<std::uint64_t, std::string> batches_;  // GUARDED_BY(mu_)
  std::uint64_t next_seq_ = 1;                    // GUARDED_BY(mu_)
  bool closed_ = false;                           // GUARDED_BY(mu_)
  std::function<void()> listener_;                // GUARDED_BY(mu_)
};

}  // namespace canvoy::agent
