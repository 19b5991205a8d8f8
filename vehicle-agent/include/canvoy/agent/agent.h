// The vehicle agent's replay pipeline: a candump log through the DBC decoder into batches, into
// the spool, and over the uplink to ingest.
//
// Threads: Run() decodes and batches on the calling thread; the uplink runs on the io_context
// given to Create (any number of threads may run it; several agents may share it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "canvoy/agent/decoder.h"
#include "canvoy/common/error.h"
#include "canvoy/common/sample_digest.h"
#include "canvoy/common/tls.h"

namespace canvoy::agent {

// When the disk spool forces what it wrote to storage (fdatasync). The default, every second
// plus at each segment roll, is explained in vehicle-agent/README.md ("Spool"): a killed process
// loses nothing (the page cache outlives it), a power cut loses at most the last second, and
// flash is not worn by a sync per batch.
struct FsyncPolicy {
  enum class Mode { kEveryAppend, kInterval, kNever };
  Mode mode = Mode::kInterval;
  std::chrono::milliseconds interval{1000};  // kInterval only: 1 ms to 1 h

  // "every", "interval:MS" or "never"; the error names --spool-fsync and the text.
  static Result<FsyncPolicy> Parse(std::string_view text);
  std::string ToString() const;
};

struct AgentOptions {
  std::vector<std::string> dbc_files;   // required, at least one
  std::string log_file;                 // candump -l log, required
  std::string interface;                // decode only this interface's frames; empty: all
  std::string name_mapping_file;        // optional `Message.Signal = VSS.Path` lines
  // Optional JSON catalog file (names, units, policies, triggers; see README). Not together with
  // name_mapping_file. Empty: every signal, every sample, names `<Message>.<Signal>`.
  std::string catalog_file;
  tls::Files tls;                       // vehicle certificate and key, and the pinned ingest CA
  std::string ingest_host = "127.0.0.1";
  std::uint16_t ingest_port = 7443;
  std::string server_name = "localhost";
  std::uint32_t max_connect_attempts = 0;         // failed attempts in a row before giving up; 0: never
  std::size_t batch_max_samples = 5000;           // a batch closes at this many samples...
  std::chrono::milliseconds batch_max_age{1000};  // ...or when its first sample is this old (log time)
  bool compress_batches = true;                   // zstd (level 3) when it makes a batch smaller
  // Log time t maps to time_base_us + (t - first frame's t); 0 means the wall clock at start.
  std::int64_t time_base_us = 0;
  std::chrono::seconds drain_timeout{600};        // how long Run waits for the last acks
  // Replay pacing (ReplayOptions::speed): 0 as fast as it decodes, 1 real time, 10 ten times faster.
  double replay_speed = 0;
  // The crash-safe spool's directory (created if missing; one agent at a time). Required by
  // `canvoy-agent run`; empty: batches wait in memory only (MemorySpool, the fleet simulator).
  std::string spool_dir;
  std::uint64_t spool_max_bytes = 64u << 20;     // byte cap; beyond it, eviction (README "Spool")
  std::uint64_t spool_segment_bytes = 4u << 20;  // a segment file rolls at this size
  FsyncPolicy spool_fsync;

  Status Validate() const;
};

struct AgentSummary {
  struct Latest {
    std::string name;
    std::string type;  // int64, uint64 or double
    std::int64_t timestamp_us = 0;
    PhysicalValue value;
  };
  std::uint64_t frames = 0;
  std::uint64_t decoded_frames = 0;
  std::uint64_t unknown_ids = 0;
  std::uint64_t malformed_lines = 0;
  std::uint64_t samples = 0;  // samples that went into batches (after collection policies)
  std::uint64_t triggers_fired = 0;
  std::uint64_t batches = 0;
  std::uint64_t batches_acked = 0;
  std::uint64_t batches_rejected = 0;
  std::uint64_t connects = 0;
  std::uint64_t spool_evicted_batches = 0;    // dropped by the spool's byte cap
  std::uint64_t spool_evicted_bytes = 0;
  std::uint64_t spool_corrupt_bytes_cut = 0;  // torn or corrupt spool bytes cut, never sent
  std::uint64_t resumed_connections = 0;  // reconnects that resumed a TLS session
  SampleDigest spooled;  // every sample of every batch handed to the spool
  std::vector<Latest> latest;  // the newest sample of every signal seen, by name
};

class Agent {
 public:
  // Reads the DBC files, builds the catalog, loads the TLS files. Errors name the file.
  static Result<std::unique_ptr<Agent>> Create(const AgentOptions& options, boost::asio::io_context& io);
  ~Agent();

  // Replays the log as fast as it decodes, sends every batch and returns once all are
  // acknowledged. Errors when the log cannot be read, the uplink gives up, or the drain times out.
  Result<AgentSummary> Run();

 private:
  struct State;
  explicit Agent(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace canvoy::agent
