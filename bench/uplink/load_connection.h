// One simulated vehicle's uplink connection, speaking the protocol as the agent does: TLS 1.3
// with its own vehicle certificate, Hello (random stream id, catalog hash), CatalogUpload when
// asked, then BatchFrames with at most `window` unacknowledged, reading Acks.
//
// Threads: everything of a connection runs on its own strand of the shared io_context; the
// public functions may be called from any thread. Lifetime: shared_ptr, held by its coroutines.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "canvoy/uplink/v1/uplink.pb.h"
#include "uplink/batch_source.h"
#include "uplink/vehicle_pool.h"

namespace canvoy::bench {

using Clock = std::chrono::steady_clock;

// Totals over every connection; updated from the connections' strands.
struct LoadCounters {
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> batches_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};     // wire bytes of batch frames
  std::atomic<std::uint64_t> batches_acked{0};  // ingest had Kafka's delivery report
  std::atomic<std::uint64_t> signals_acked{0};  // samples in the acked batches
  std::atomic<std::uint64_t> batches_rejected{0};
  std::atomic<std::int64_t> in_flight{0};       // sent and neither acked nor rejected
  std::atomic<std::uint64_t> window_slots{0};   // the windows of the connections opened, summed
};

// What every connection shares. Owned by the caller; outlives every connection.
struct LoadShared {
  LoadShared(boost::asio::ssl::context& ssl_context, const VehiclePool& vehicle_pool,
             const BatchTemplates& batch_templates)
      : ssl(ssl_context), vehicles(vehicle_pool), templates(batch_templates) {}

  boost::asio::ssl::context& ssl;
  const VehiclePool& vehicles;
  const BatchTemplates& templates;
  boost::asio::ip::tcp::endpoint ingest;
  std::string server_name = "localhost";  // checked against ingest's certificate, sent as SNI
  std::uint32_t max_window = 32;          // the agent's default; the smaller of this and ingest's applies
  bool zstd = true;
  std::chrono::seconds io_timeout{30};    // connect, handshake, hello and catalog

  LoadCounters counters;
  std::atomic<bool> stopping{false};      // writers send nothing more

  // Failures by stage ("connect", "handshake", "hello", "catalog", "stream"), with the first message.
  void Fail(const std::string& stage, const std::string& message);
  std::map<std::string, std::uint64_t> Failures();
  std::string FirstError();
  void RecordLatency(Clock::duration seal_to_ack);
  std::vector<double> TakeLatenciesUs();

 private:
  std::mutex mu_;
  std::map<std::string, std::uint64_t> failures_;  // GUARDED_BY(mu_)
  std::string first_error_;                        // GUARDED_BY(mu_)
  std::vector<double> latencies_us_;               // GUARDED_BY(mu_)
};

class UplinkConnection : public std::enable_shared_from_this<UplinkConnection> {
 public:
  // `index` picks the vehicle (its certificate and VIN) and the first batch template.
  UplinkConnection(boost::asio::io_context& io, LoadShared& shared, std::size_t index);

  boost::asio::strand<boost::asio::io_context::executor_type> executor() const { return strand_; }

  // Connects, handshakes, and exchanges hello (and the catalog when asked). Runs on the
  // connection's strand; true when the connection is ready for batches.
  boost::asio::awaitable<bool> Open();

  // Streams batches: kFlatOut keeps the window full; kPaced sends only what Seal() handed over.
  enum class Pace { kFlatOut, kPaced };
  void StartStreaming(Pace pace);
  // Seals one batch now (encodes it and notes the time) and queues it for sending; with
  // `record`, its seal-to-ack time goes to LoadShared::RecordLatency.
  void Seal(bool record);
  // Holds the connection idle, watching for ingest closing it (counters.connections_open).
  void StartHolding();
  void Close();

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  struct Outgoing {
    std::string wire;  // the whole frame, header included
    std::uint64_t seq = 0;
    std::size_t samples = 0;
    Clock::time_point sealed_at;
    bool record = false;
  };

  boost::asio::awaitable<bool> Introduce();
  boost::asio::awaitable<bool> ReadFrame(uplink::v1::IngestFrame* frame);
  boost::asio::awaitable<bool> WriteFrame(const uplink::v1::AgentFrame& frame);
  boost::asio::awaitable<void> Writer();
  boost::asio::awaitable<void> Reader();
  boost::asio::awaitable<void> Hold();
  Outgoing MakeBatch(bool record);
  void OnAck(std::uint64_t seq, bool acked);
  void Lost();

  LoadShared& shared_;
  const std::size_t index_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Stream stream_;
  boost::asio::steady_timer wake_;  // cancelled to wake the writer
  std::string stream_id_;
  std::uint32_t window_ = 1;
  std::uint64_t next_seq_ = 1;
  std::size_t next_template_;
  Pace pace_ = Pace::kFlatOut;
  std::deque<Outgoing> pending_;    // sealed, waiting for the window (kPaced)
  std::deque<Outgoing> in_flight_;  // sent, waiting for the ack; `wire` emptied once written
  bool open_ = false;
  bool lost_ = false;
};

}  // namespace canvoy::bench
