#include "canvoy/ingest/options.h"

namespace canvoy::ingest {

Status IngestOptions::Validate() const {
  if (bootstrap_servers.empty()) return Error(Errc::kInvalidArgument, "--bootstrap: required");
  if (telemetry_topic.empty() || catalog_topic.empty()) {
    return Error(Errc::kInvalidArgument, "topic names must not be empty");
  }
  if (max_frame_bytes < 1024) return Error(Errc::kInvalidArgument, "--max-frame-bytes: at least 1024");
  if (max_unacked_batches == 0) return Error(Errc::kInvalidArgument, "--max-unacked-batches: at least 1");
  if (threads == 0 || threads > 64) return Error(Errc::kInvalidArgument, "--threads: 1 to 64");
  if (node_name.empty()) return Error(Errc::kInvalidArgument, "--node-name: must not be empty");
  if (max_connections == 0) return Error(Errc::kInvalidArgument, "--max-connections: at least 1");
  if (handshake_timeout.count() <= 0 || idle_timeout.count() <= 0 || frame_timeout.count() <= 0) {
    return Error(Errc::kInvalidArgument, "--handshake-timeout, --idle-timeout, --frame-timeout: at least 1 s");
  }
  return OkStatus();
}

}  // namespace canvoy::ingest
