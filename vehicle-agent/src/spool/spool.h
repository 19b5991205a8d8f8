// Where sealed batches wait for ingest's acknowledgement. The collector appends, the uplink reads
// and acks: every method may be called from any thread, without external synchronization.
// DiskSpool (crash-safe, the agent's) and MemorySpool (tests, simulators) implement it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"

namespace canvoy::agent {

// Counters since the spool was opened (eviction and corruption are never silent).
struct SpoolStats {
  std::uint64_t batches = 0;            // held now: appended, neither acknowledged nor evicted
  std::uint64_t bytes = 0;              // counted against the byte cap (0 for MemorySpool)
  std::uint64_t segments = 0;           // segment files (DiskSpool)
  std::uint64_t evicted_batches = 0;    // dropped to stay within the byte cap
  std::uint64_t evicted_bytes = 0;      // their payload bytes
  std::uint64_t corrupt_cuts = 0;       // torn or corrupt places found (on open, or on read)
  std::uint64_t corrupt_bytes_cut = 0;  // bytes cut there, never replayed as data
  std::uint64_t fsyncs = 0;
  std::uint64_t ack_write_errors =
      0;  // ack records that could not be written (resent after restart)
};

// Batch priority: higher is more important; under the byte cap the lowest goes first.
using BatchPriority = std::uint8_t;

class Spool {
 public:
  virtual ~Spool() = default;

  // Created once with the spool; (stream_id, seq) names a batch for ever.
  virtual const StreamId& stream_id() const = 0;
  // The seq the next Append must use.
  virtual std::uint64_t NextSeq() const = 0;
  // Stores a sealed batch (opaque bytes). REQUIRES: seq == NextSeq(), not closed. When the byte
  // cap leaves no room even after evicting everything of lower priority, the batch itself is
  // the one evicted: counted, logged, and Append still succeeds. Errors: I/O (the batch is not
  // stored and the seq is not used).
  [[nodiscard]] virtual Status Append(std::uint64_t seq, std::string payload,
                                      BatchPriority priority) = 0;
  // Removes the batch: ingest has it in Kafka (or rejected it for good). Unknown seqs (evicted,
  // acknowledged twice) are ignored.
  virtual void Ack(std::uint64_t seq) = 0;
  // The first held batch with a seq greater than `after`. May drop a batch that fails its
  // checksum when read back (counted as corrupt), hence not const.
  virtual std::optional<std::pair<std::uint64_t, std::string>> NextAfter(std::uint64_t after) = 0;
  // No more appends will come.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // Batches held.
  virtual std::size_t size() const = 0;
  // Blocks until closed and empty, or the deadline passes; true if drained.
  virtual bool WaitDrained(std::chrono::steady_clock::time_point deadline) const = 0;
  // Called (outside the lock) after every Append and Close, to wake the uplink.
  virtual void SetListener(std::function<void()> listener) = 0;
  virtual SpoolStats stats() const = 0;
};

}  // namespace canvoy::agent
