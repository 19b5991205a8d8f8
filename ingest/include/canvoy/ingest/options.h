// Options of the ingest service. Every field has its default and meaning here; Validate() once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "canvoy/common/error.h"
#include "canvoy/common/tls.h"

namespace canvoy::ingest {

struct IngestOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 7443;             // 0 picks a free port
  std::filesystem::path port_file;       // if set, the bound port is written here once listening
  tls::Files tls;                        // server certificate, key, and the vehicles' CA
  // The vehicles' certificate revocation list (PEM, signed by the vehicles' CA); none if empty.
  // Checked at every handshake; IngestServer::ReloadTls (SIGHUP) reads it again.
  std::filesystem::path crl;

  std::string bootstrap_servers;         // Kafka, required
  std::string telemetry_topic = "canvoy.telemetry.v1";
  std::string catalog_topic = "canvoy.catalog.v1";
  std::string node_name = "ingest-1";    // written into every record

  // Larger frames are refused (FRAME_TOO_LARGE) and the connection closed; also the limit of a
  // batch's size after decompression.
  std::uint32_t max_frame_bytes = 4u << 20;
  std::uint32_t max_unacked_batches = 64;         // per connection; reading stops at this many
  std::size_t max_connections = 20000;            // further connections are closed at accept
  std::chrono::seconds handshake_timeout{10};     // from accept to the end of the TLS handshake
  std::chrono::seconds idle_timeout{120};         // no frame begun for this long closes the connection
  // From a frame's first byte to its last: a peer that trickles bytes (slowloris) is closed.
  // The largest frame then needs max_frame_bytes / frame_timeout bytes per second (140 KB/s).
  std::chrono::seconds frame_timeout{30};
  std::chrono::hours max_batch_age{24 * 30};      // batches older than this are rejected
  std::chrono::minutes max_clock_skew{5};         // batches newer than now + this are rejected
  std::size_t max_samples_per_batch = 1'000'000;

  unsigned threads = 2;                           // io threads
  std::string metrics_address = "127.0.0.1";
  std::uint16_t metrics_port = 0;                 // /metrics and /healthz; 0 picks a free port
  std::filesystem::path metrics_port_file;

  Status Validate() const;
};

}  // namespace canvoy::ingest
