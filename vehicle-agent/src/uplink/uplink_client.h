// The agent's connection to ingest: TLS 1.3 with the vehicle certificate, hello and catalog
// exchange, then a window of unacknowledged batches from the spool, and after any failure a
// reconnect (exponential backoff with jitter) that resends everything unacknowledged.
// Runs on its own strand of the given io_context; Start/Stop may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <random>
#include <set>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "canvoy/uplink/v1/uplink.pb.h"

#include "canvoy/common/tls.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "spool/spool.h"

namespace canvoy::agent {

struct UplinkOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7443;
  std::string server_name = "localhost";  // checked against the server certificate, sent as SNI
  std::uint32_t max_unacked_batches = 32;  // the smaller of this and ingest's limit applies
  std::uint32_t max_frame_bytes = 4u << 20;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds read_timeout{60};  // no frame from ingest for this long while waiting: reconnect
  // TCP keep-alive: the first probe after this long without traffic, then every keepalive_idle/3,
  // and the connection is declared dead after 3 unanswered probes. Keeps a cellular NAT mapping
  // alive and finds a silently vanished peer while the agent waits for acks.
  std::chrono::seconds keepalive_idle{30};
  // Give up after this many connection attempts in a row that fail; 0: never give up.
  std::uint32_t max_connect_attempts = 0;
};

struct UplinkStats {
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> batches_sent{0};
  std::atomic<std::uint64_t> batches_acked{0};
  std::atomic<std::uint64_t> batches_rejected{0};  // ingest refused them for good (counted, dropped)
  std::atomic<std::uint64_t> catalog_uploads{0};
  std::atomic<std::uint64_t> resumed_connections{0};  // TLS handshakes that resumed a session
};

class UplinkClient : public std::enable_shared_from_this<UplinkClient> {
 public:
  UplinkClient(boost::asio::io_context& io, boost::asio::ssl::context& ssl, UplinkOptions options,
               Spool& spool, telemetry::v1::Catalog catalog, std::string catalog_hash);
  ~UplinkClient();

  // Connects and sends until Stop(), or until the spool is closed and fully acknowledged.
  // The spool must outlive finished(); its owner then clears the spool's listener.
  void Start();
  void Stop();
  // True once the client has ended (stopped, or the closed spool drained).
  bool finished() const { return finished_.load(); }
  // True when it ended because max_connect_attempts failed in a row.
  bool gave_up() const { return gave_up_.load(); }
  const UplinkStats& stats() const { return stats_; }

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  boost::asio::awaitable<void> Loop();
  // One connection's life; returns true when everything was sent and acknowledged.
  boost::asio::awaitable<bool> RunConnection();
  boost::asio::awaitable<bool> Connect(Stream& stream);
  boost::asio::awaitable<bool> Introduce(Stream& stream, std::uint32_t* window);
  boost::asio::awaitable<void> ReadAcks(std::shared_ptr<Stream> stream);
  boost::asio::awaitable<bool> ReadFrame(Stream& stream, uplink::v1::IngestFrame* frame);
  boost::asio::awaitable<bool> WriteFrame(Stream& stream, const uplink::v1::AgentFrame& frame);
  boost::asio::awaitable<void> Wait(std::chrono::steady_clock::duration max);
  void Wake();
  // OpenSSL's new-session callback: keeps the newest session ticket for the next connection.
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ssl::context& ssl_;
  const UplinkOptions options_;
  Spool& spool_;
  const telemetry::v1::Catalog catalog_;
  const std::string catalog_hash_;
  boost::asio::steady_timer wake_;
  std::mt19937_64 rng_{std::random_device{}()};
  // Per connection, on the strand only:
  std::set<std::uint64_t> in_flight_;
  bool connection_failed_ = false;
  bool reader_running_ = false;
  bool stopping_ = false;
  UplinkStats stats_;
  // The newest TLS session ingest issued, offered on reconnect so the handshake resumes it
  // (one round trip, no certificate exchange). On the strand only.
  std::unique_ptr<SSL_SESSION, void (*)(SSL_SESSION*)> session_{nullptr, &SSL_SESSION_free};
  std::atomic<bool> gave_up_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace canvoy::agent
