// One vehicle connection: TLS handshake, identity from the certificate, then frames in, records
// to Kafka, acks out after delivery. Everything of a session runs on its own strand; Kafka's
// delivery reports are posted to it. Lifetime: shared_ptr, held by its coroutine and by pending
// delivery callbacks. Deadlines: the handshake, the wait for a frame to begin (idle), each frame
// from its first byte to its last, and each write.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/ingest/options.h"
#include "canvoy/uplink/v1/uplink.pb.h"
#include "catalog_registry.h"
#include "ingest_metrics.h"
#include "kafka_producer.h"

namespace canvoy::ingest {

// What all sessions share. Owned by the server, outlives every session.
struct SessionShared {
  const IngestOptions& options;
  KafkaProducer& producer;
  IngestMetrics& metrics;
  CatalogRegistry& catalogs;
  // The TLS context new handshakes use now (a reload replaces it). Thread-safe.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> current_tls;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Keeps `ssl` (the TLS context current at accept) for its whole life.
  Session(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> ssl,
          SessionShared& shared);
  ~Session();

  void Start();
  // Stop reading; deliver and ack what was accepted; then close. Any thread.
  void Drain();
  // Verifies the connection's certificate again against `ssl` (a reloaded context); when that
  // fails (a new CRL revokes it), closes the connection as Drain does. Any thread.
  void Recheck(std::shared_ptr<boost::asio::ssl::context> ssl);

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<bool> Handshake();
  // The next frame, or nullopt when the connection should end (error already sent/counted).
  boost::asio::awaitable<std::optional<uplink::v1::AgentFrame>> ReadFrame();
  boost::asio::awaitable<void> WaitForWindow();
  boost::asio::awaitable<void> FinishInFlight();

  bool OnHello(const uplink::v1::Hello& hello);
  bool OnCatalog(const uplink::v1::CatalogUpload& upload);
  boost::asio::awaitable<bool> OnBatch(const uplink::v1::BatchFrame& frame);

  void SendError(uplink::v1::ErrorCode code, std::uint64_t seq, const std::string& message, bool fatal);
  void Send(const uplink::v1::IngestFrame& frame);
  void WriteNext();
  void Wake();
  void StopReading();

  std::shared_ptr<boost::asio::ssl::context> ssl_;  // outlives stream_
  Stream stream_;
  SessionShared& shared_;
  boost::asio::steady_timer wake_;  // cancelled to wake the reader: an ack arrived
  std::string peer_;                // remote address, for logs
  std::optional<Vin> vin_;
  std::string stream_id_;
  std::string catalog_hash_;
  bool catalog_ready_ = false;
  std::size_t unacked_ = 0;          // batches produced and not yet reported
  std::deque<std::string> outbox_;  // encoded frames waiting to be written
  bool writing_ = false;
  bool closed_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace canvoy::ingest
