// A Spool in memory: batches survive reconnects but not a restart. For tests and the fleet
// simulator (thousands of simulated vehicles in one process, no disk each). No byte cap.
// Thread-safe like every Spool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "canvoy/common/ids.h"
#include "spool/spool.h"

namespace canvoy::agent {

class MemorySpool final : public Spool {
 public:
  MemorySpool() : stream_id_(StreamId::Random()) {}

  const StreamId& stream_id() const override { return stream_id_; }
  std::uint64_t NextSeq() const override;
  [[nodiscard]] Status Append(std::uint64_t seq, std::string payload,
                              BatchPriority priority) override;
  void Ack(std::uint64_t seq) override;
  std::optional<std::pair<std::uint64_t, std::string>> NextAfter(std::uint64_t after) override;
  void Close() override;
  bool closed() const override;
  std::size_t size() const override;
  bool WaitDrained(std::chrono::steady_clock::time_point deadline) const override;
  void SetListener(std::function<void()> listener) override;
  SpoolStats stats() const override;

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
