// canvoy-ingest: wires options to the ingest server, reloads its TLS files on SIGHUP and stops
// on SIGTERM or SIGINT.
#include <csignal>
#include <iostream>

#include "canvoy/common/logging.h"
#include "canvoy/common/options.h"
#include "canvoy/ingest/ingest_server.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  // Block the signals before any thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  canvoy::ingest::IngestOptions o;
  std::string ca, cert, key, crl, port_file, metrics_port_file, log_level;
  unsigned handshake_timeout_s = static_cast<unsigned>(o.handshake_timeout.count());
  unsigned idle_timeout_s = static_cast<unsigned>(o.idle_timeout.count());
  unsigned frame_timeout_s = static_cast<unsigned>(o.frame_timeout.count());
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()
      ("listen", po::value(&o.listen_address)->default_value(o.listen_address), "listen address")
      ("port", po::value(&o.port)->default_value(o.port), "listen port (0: pick a free one)")
      ("port-file", po::value(&port_file), "write the bound port to FILE once listening")
      ("ca", po::value(&ca)->required(), "CA certificate that vehicle certificates chain to")
      ("cert", po::value(&cert)->required(), "server certificate chain (PEM)")
      ("key", po::value(&key)->required(), "server private key (PEM)")
      ("crl", po::value(&crl), "vehicles' certificate revocation list (PEM, signed by --ca); SIGHUP rereads it")
      ("bootstrap", po::value(&o.bootstrap_servers)->required(), "Kafka bootstrap servers")
      ("telemetry-topic", po::value(&o.telemetry_topic)->default_value(o.telemetry_topic), "telemetry topic")
      ("catalog-topic", po::value(&o.catalog_topic)->default_value(o.catalog_topic), "catalog topic (compacted)")
      ("node-name", po::value(&o.node_name)->default_value(o.node_name), "this node's name, written into records")
      ("max-frame-bytes", po::value(&o.max_frame_bytes)->default_value(o.max_frame_bytes), "largest accepted frame")
      ("max-unacked-batches", po::value(&o.max_unacked_batches)->default_value(o.max_unacked_batches),
       "batches per connection waiting for Kafka before reading stops")
      ("max-connections", po::value(&o.max_connections)->default_value(o.max_connections),
       "connection cap; further connections are closed at accept")
      ("handshake-timeout", po::value(&handshake_timeout_s)->default_value(handshake_timeout_s),
       "seconds from accept to the end of the TLS handshake")
      ("idle-timeout", po::value(&idle_timeout_s)->default_value(idle_timeout_s),
       "seconds without a frame beginning before the connection is closed")
      ("frame-timeout", po::value(&frame_timeout_s)->default_value(frame_timeout_s),
       "seconds from a frame's first byte to its last (closes slow senders)")
      ("threads", po::value(&o.threads)->default_value(o.threads), "io threads")
      ("metrics-address", po::value(&o.metrics_address)->default_value(o.metrics_address), "metrics listen address")
      ("metrics-port", po::value(&o.metrics_port)->default_value(o.metrics_port), "metrics port (/metrics, /healthz)")
      ("metrics-port-file", po::value(&metrics_port_file), "write the bound metrics port to FILE")
      ("log-level", po::value(&log_level)->default_value("info"), "trace, debug, info, warn, error");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(argc, argv, desc, vm, "usage: canvoy-ingest --ca F --cert F --key F --bootstrap HOST:PORT [options]");
  if (!parsed) {
    std::cerr << "canvoy-ingest: " << parsed.error().message() << "\n";
    return 2;
  }
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) return 0;
  if (auto s = canvoy::InitLogging("ingest", log_level); !s) {
    std::cerr << "canvoy-ingest: " << s.error().message() << "\n";
    return 2;
  }
  o.tls = {ca, cert, key};
  o.crl = crl;
  o.handshake_timeout = std::chrono::seconds(handshake_timeout_s);
  o.idle_timeout = std::chrono::seconds(idle_timeout_s);
  o.frame_timeout = std::chrono::seconds(frame_timeout_s);
  o.port_file = port_file;
  o.metrics_port_file = metrics_port_file;

  auto server = canvoy::ingest::IngestServer::Create(o);
  if (!server) {
    std::cerr << "canvoy-ingest: " << server.error().message() << "\n";
    return 1;
  }
  if (auto s = server.value()->Start(); !s) {
    std::cerr << "canvoy-ingest: " << s.error().message() << "\n";
    return 1;
  }
  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGHUP) break;
    // Logged by the server either way; a failed reload keeps the current files.
    (void)server.value()->ReloadTls();
  }
  server.value()->Shutdown();
  return 0;
}
