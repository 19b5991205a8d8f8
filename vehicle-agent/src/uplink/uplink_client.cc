#include "uplink/uplink_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "canvoy/common/frame.h"

namespace canvoy::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* kAgentVersion = "canvoy-agent/0.1";

// Where an SSL object keeps a pointer to the UplinkClient that owns its connection.
int ClientIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void SetKeepAlive(int fd, std::chrono::seconds idle) {
  const int on = 1;
  const int idle_s = static_cast<int>(std::max<long>(1, idle.count()));
  const int interval_s = std::max(1, idle_s / 3);
  const int probes = 3;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof(interval_s));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
}

}  // namespace

UplinkClient::UplinkClient(asio::io_context& io, asio::ssl::context& ssl, UplinkOptions options,
                           Spool& spool, telemetry::v1::Catalog catalog, std::string catalog_hash)
    : strand_(asio::make_strand(io)), ssl_(ssl), options_(std::move(options)), spool_(spool),
      catalog_(std::move(catalog)), catalog_hash_(std::move(catalog_hash)), wake_(strand_) {
  // Sessions are kept per client (OnNewSession), not in the context's cache, which agents
  // sharing a context would otherwise share.
  SSL_CTX_set_session_cache_mode(ssl_.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ssl_.native_handle(), &UplinkClient::OnNewSession);
}

int UplinkClient::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<UplinkClient*>(SSL_get_ex_data(ssl, ClientIndex()));
  if (self == nullptr) return 0;
  // A copy: OpenSSL marks the connection's own session object not resumable when the connection
  // ends without close_notify, as ours do (RunConnection), and that would spoil the ticket.
  self->session_.reset(SSL_SESSION_dup(session));
  return 0;  // OpenSSL keeps and frees the original
}

// The last reference may go on an io thread after the spool's owner moved on: touch nothing here.
UplinkClient::~UplinkClient() = default;

void UplinkClient::Start() {
  std::weak_ptr<UplinkClient> weak = weak_from_this();
  spool_.SetListener([weak] {
    if (auto self = weak.lock()) asio::post(self->strand_, [self] { self->Wake(); });
  });
  asio::co_spawn(strand_, [self = shared_from_this()] { return self->Loop(); }, asio::detached);
}

void UplinkClient::Stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopping_ = true;
    self->connection_failed_ = true;
    self->Wake();
  });
}

void UplinkClient::Wake() { wake_.cancel(); }

asio::awaitable<void> UplinkClient::Wait(std::chrono::steady_clock::duration max) {
  wake_.expires_after(max);
  co_await wake_.async_wait(kTuple);
}

asio::awaitable<void> UplinkClient::Loop() {
  auto backoff = options_.backoff_initial;
  std::uint32_t failures_in_a_row = 0;
  while (!stopping_) {
    const auto connects_before = stats_.connects.load();
    const bool done = co_await RunConnection();
    if (done || stopping_) break;
    if (stats_.connects.load() != connects_before) {
      backoff = options_.backoff_initial;
      failures_in_a_row = 0;
    } else if (++failures_in_a_row == options_.max_connect_attempts) {
      spdlog::error("msg=\"giving up\" failed_attempts={}", failures_in_a_row);
      gave_up_ = true;
      break;
    }
    // Exponential backoff with full jitter: spreads a fleet's reconnects after an outage.
    std::uniform_int_distribution<long> jitter(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds delay(jitter(rng_));
    spdlog::debug("msg=\"reconnecting\" in_ms={}", delay.count());
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      co_await Wait(until - std::chrono::steady_clock::now());
    }
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  finished_ = true;
}

asio::awaitable<bool> UplinkClient::Connect(Stream& stream) {
  auto& tcp = beast::get_lowest_layer(stream);
  asio::ip::tcp::resolver resolver(strand_);
  auto [rec, endpoints] = co_await resolver.async_resolve(options_.host, std::to_string(options_.port), kTuple);
  if (rec) {
    spdlog::warn("msg=\"cannot resolve ingest\" host={} error=\"{}\"", options_.host, rec.message());
    co_return false;
  }
  tcp.expires_after(options_.connect_timeout);
  auto [cec, endpoint] = co_await tcp.async_connect(endpoints, kTuple);
  if (cec) {
    spdlog::debug("msg=\"connect failed\" host={} port={} error=\"{}\"", options_.host, options_.port, cec.message());
    co_return false;
  }
  boost::system::error_code ignored;
  SetKeepAlive(tcp.socket().native_handle(), options_.keepalive_idle);
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  SSL* ssl = stream.native_handle();
  SSL_set_ex_data(ssl, ClientIndex(), this);
  if (session_ != nullptr) SSL_set_session(ssl, session_.get());
  SSL_set_tlsext_host_name(ssl, options_.server_name.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(options_.server_name));
  tcp.expires_after(options_.connect_timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    spdlog::warn("msg=\"tls handshake failed\" host={} error=\"{}\"", options_.host, hec.message());
    session_.reset();  // a refused session must not be offered again
    co_return false;
  }
  if (SSL_session_reused(ssl) == 1) ++stats_.resumed_connections;
  co_return true;
}

asio::awaitable<bool> UplinkClient::ReadFrame(Stream& stream, IngestFrame* frame) {
  std::array<std::uint8_t, kFrameHeaderSize> header{};
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  auto [ec, n] = co_await asio::async_read(stream, asio::buffer(header), kTuple);
  if (ec) co_return false;
  auto size = DecodeFrameHeader(header.data(), options_.max_frame_bytes);
  if (!size) {
    spdlog::warn("msg=\"bad frame from ingest\" error=\"{}\"", size.error().message());
    co_return false;
  }
  std::string body(size.value(), '\0');
  auto [bec, bn] = co_await asio::async_read(stream, asio::buffer(body), kTuple);
  if (bec) co_return false;
  if (!frame->ParseFromString(body)) {
    spdlog::warn("msg=\"ingest sent a frame that is not an IngestFrame\" bytes={}", body.size());
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> UplinkClient::WriteFrame(Stream& stream, const AgentFrame& frame) {
  std::string wire;
  AppendFrame(frame, &wire);
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), kTuple);
  co_return !ec;
}

asio::awaitable<bool> UplinkClient::Introduce(Stream& stream, std::uint32_t* window) {
  AgentFrame hello;
  hello.mutable_hello()->set_agent_version(kAgentVersion);
  hello.mutable_hello()->set_stream_id(std::string(spool_.stream_id().bytes()));
  hello.mutable_hello()->set_catalog_hash(catalog_hash_);
  if (!co_await WriteFrame(stream, hello)) co_return false;
  IngestFrame reply;
  if (!co_await ReadFrame(stream, &reply)) co_return false;
  if (!reply.has_hello_ack()) {
    spdlog::warn("msg=\"ingest refused hello\" error=\"{}\"", reply.error().message());
    co_return false;
  }
  *window = std::max<std::uint32_t>(1, std::min(options_.max_unacked_batches, reply.hello_ack().max_unacked_batches()));
  if (!reply.hello_ack().catalog_needed()) co_return true;
  AgentFrame upload;
  *upload.mutable_catalog()->mutable_catalog() = catalog_;
  if (!co_await WriteFrame(stream, upload)) co_return false;
  ++stats_.catalog_uploads;
  if (!co_await ReadFrame(stream, &reply)) co_return false;
  if (!reply.has_catalog_ack()) {
    spdlog::warn("msg=\"ingest refused the catalog\" error=\"{}\"", reply.error().message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> UplinkClient::ReadAcks(std::shared_ptr<Stream> stream) {
  IngestFrame frame;
  while (!connection_failed_) {
    if (!co_await ReadFrame(*stream, &frame)) break;
    if (frame.has_ack()) {
      spool_.Ack(frame.ack().seq());
      in_flight_.erase(frame.ack().seq());
      ++stats_.batches_acked;
    } else if (frame.has_error() && !frame.error().fatal() && frame.error().seq() != 0) {
      // Ingest will never take this batch: drop it from the spool, counted and logged.
      spdlog::error("msg=\"batch rejected by ingest\" seq={} error=\"{}\"", frame.error().seq(),
                    frame.error().message());
      spool_.Ack(frame.error().seq());
      in_flight_.erase(frame.error().seq());
      ++stats_.batches_rejected;
    } else {
      spdlog::warn("msg=\"ingest ended the session\" error=\"{}\"", frame.error().message());
      break;
    }
    Wake();
  }
  connection_failed_ = true;
  reader_running_ = false;
  Wake();
}

asio::awaitable<bool> UplinkClient::RunConnection() {
  auto stream = std::make_shared<Stream>(beast::tcp_stream(strand_), ssl_);
  connection_failed_ = false;
  in_flight_.clear();
  std::uint32_t window = 1;
  if (!co_await Connect(*stream) || !co_await Introduce(*stream, &window)) {
    ++stats_.connect_failures;
    co_return false;
  }
  ++stats_.connects;
  reader_running_ = true;
  asio::co_spawn(strand_, ReadAcks(stream), asio::detached);
  std::uint64_t sent_upto = 0;  // everything unacknowledged is resent on a new connection
  bool done = false;
  while (!connection_failed_) {
    if (spool_.closed() && spool_.size() == 0) {
      done = true;
      break;
    }
    if (in_flight_.size() < window) {
      if (auto next = spool_.NextAfter(sent_upto)) {
        AgentFrame frame;
        if (!frame.mutable_batch()->ParseFromString(next->second)) {
          // The spool's checksums make this unreachable short of a bug: drop it, loudly.
          spdlog::error("msg=\"spooled batch is not a BatchFrame; dropped\" seq={}", next->first);
          spool_.Ack(next->first);
          continue;
        }
        if (!co_await WriteFrame(*stream, frame)) break;
        sent_upto = next->first;
        in_flight_.insert(next->first);
        ++stats_.batches_sent;
        continue;
      }
    }
    co_await Wait(std::chrono::seconds(5));
  }
  connection_failed_ = true;
  // No TLS close_notify exchange: the reader's pending read would race it. Everything sent was
  // acknowledged (or will be resent), so closing the socket loses nothing.
  boost::system::error_code ignored;
  beast::get_lowest_layer(*stream).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(*stream).close();
  while (reader_running_) co_await Wait(std::chrono::milliseconds(100));
  co_return done;
}

}  // namespace canvoy::agent
