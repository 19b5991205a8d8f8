// The ingest service: accepts vehicles over mutually authenticated TLS 1.3 and writes their
// batches to Kafka, acknowledging each only after Kafka has it.
//
// Threads: `options.threads` io threads run every connection (one strand per connection) and
// the metrics endpoint; librdkafka's own threads plus one poll thread deliver reports, which are
// posted back to the connection's strand.
#pragma once

#include <cstdint>
#include <memory>

#include "canvoy/common/error.h"
#include "canvoy/ingest/options.h"

namespace canvoy::ingest {

class IngestServer {
 public:
  virtual ~IngestServer() = default;
  static Result<std::unique_ptr<IngestServer>> Create(const IngestOptions& options);

  // Binds, starts the io threads, and returns; port() is then valid.
  virtual Status Start() = 0;
  virtual std::uint16_t port() const = 0;
  virtual std::uint16_t metrics_port() const = 0;
  // Reads the TLS files again (server certificate and key, CA, CRL) for new handshakes; open
  // connections stay, except those whose certificate the new CRL revokes, which are closed.
  // Session tickets issued before stay valid. On error (it names the file) the current files
  // stay in use. One caller at a time, on any thread (main calls it on SIGHUP).
  virtual Status ReloadTls() = 0;
  // Stops accepting, stops reading, waits (bounded) for Kafka to deliver what was accepted, acks
  // it, closes connections and joins the threads.
  virtual void Shutdown() = 0;
};

}  // namespace canvoy::ingest
