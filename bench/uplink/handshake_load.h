// Full and resumed TLS 1.3 handshakes against ingest, each followed by a clean close: the client
// sends close_notify and reads until ingest closes (which also takes in the session tickets).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "canvoy/common/error.h"
#include "canvoy/common/tls.h"
#include "uplink/vehicle_pool.h"

namespace canvoy::bench {

struct HandshakeOptions {
  boost::asio::ip::tcp::endpoint ingest;
  std::string server_name = "localhost";
  tls::Files tls;              // CA to pin; cert and key only fill the context (each connection sets its own)
  std::size_t parallel = 16;   // connections in progress at once
  std::chrono::duration<double> duration{5};
  bool resume = false;         // offer each vehicle's last session ticket
};

struct HandshakeResult {
  std::uint64_t completed = 0;  // handshake and clean close succeeded
  std::uint64_t resumed = 0;    // of those, how many resumed a session
  std::uint64_t failed = 0;
  double seconds = 0;
  std::vector<double> handshake_us;  // TCP connect + TLS handshake, per completed connection
  std::string first_error;
};

// Runs `parallel` loops of connect, handshake (vehicle i's certificate, i round-robin over the
// pool) and close on `io` (its threads must run) for the duration. With resume, one untimed
// pass first gives every vehicle of the pool a ticket.
Result<HandshakeResult> RunHandshakes(boost::asio::io_context& io, const VehiclePool& vehicles,
                                      const HandshakeOptions& options);

}  // namespace canvoy::bench
