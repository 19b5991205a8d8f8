#include "session.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "canvoy/common/catalog_hash.h"
#include "canvoy/common/frame.h"
#include "canvoy/common/time.h"
#include "canvoy/common/tls.h"
#include "decompress.h"
#include "handshake_result.h"
#include "validate.h"

namespace canvoy::ingest {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

Session::Session(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> ssl,
                 SessionShared& shared)
    : ssl_(std::move(ssl)), stream_(beast::tcp_stream(std::move(socket)), *ssl_), shared_(shared),
      wake_(stream_.get_executor()) {
  boost::system::error_code ec;
  const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
  shared_.metrics.connections.Increment();
}

Session::~Session() { shared_.metrics.connections.Decrement(); }

void Session::Start() {
  asio::co_spawn(stream_.get_executor(), [self = shared_from_this()] { return self->Run(); },
                 asio::detached);
}

void Session::Drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->StopReading(); });
}

void Session::Recheck(std::shared_ptr<asio::ssl::context> ssl) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), ssl = std::move(ssl)] {
    if (!self->vin_ || self->closed_ || self->draining_) return;
    X509* cert = SSL_get0_peer_certificate(self->stream_.native_handle());
    if (tls::VerifyClientCertificate(ssl->native_handle(), cert) != X509_V_ERR_CERT_REVOKED) return;
    spdlog::warn("msg=\"certificate revoked, closing the connection\" peer={} vin={}", self->peer_,
                 self->vin_->str());
    self->shared_.metrics.connections_revoked.Increment();
    self->StopReading();
  });
}

void Session::StopReading() {
  draining_ = true;
  boost::system::error_code ignored;
  // Ends a pending read at once; writes (acks) go on.
  beast::get_lowest_layer(stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
  Wake();
}

asio::awaitable<void> Session::Run() {
  if (co_await Handshake()) {
    while (!draining_) {
      co_await WaitForWindow();
      if (draining_ || closed_) break;
      auto frame = co_await ReadFrame();
      if (!frame) break;
      bool keep_going = true;
      switch (frame->kind_case()) {
        case AgentFrame::kHello: keep_going = OnHello(frame->hello()); break;
        case AgentFrame::kCatalog: keep_going = OnCatalog(frame->catalog()); break;
        case AgentFrame::kBatch: keep_going = co_await OnBatch(frame->batch()); break;
        case AgentFrame::KIND_NOT_SET:
          shared_.metrics.Reject("malformed").Increment();
          SendError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, 0, "frame: no kind set", true);
          keep_going = false;
          break;
      }
      if (!keep_going) break;
    }
    co_await FinishInFlight();
  }
  closed_ = true;
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(stream_).close();
}

asio::awaitable<bool> Session::Handshake() {
  auto& tcp = beast::get_lowest_layer(stream_);
  tcp.expires_after(shared_.options.handshake_timeout);
  auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kTuple);
  tcp.expires_never();
  SSL* ssl = stream_.native_handle();
  const auto refuse = [&](std::string_view result, const std::string& why) {
    shared_.metrics.Handshake(std::string(result)).Increment();
    spdlog::info("msg=\"handshake refused\" peer={} result={} error=\"{}\"", peer_, result, why);
  };
  if (ec) {
    const long verify = SSL_get_verify_result(ssl);
    refuse(HandshakeFailureLabel(ec, verify),
           verify == X509_V_OK ? ec.message() : ec.message() + ": " + X509_verify_cert_error_string(verify));
    co_return false;
  }
  if (SSL_version(ssl) != TLS1_3_VERSION) {  // the context allows nothing else; a guard
    refuse("protocol_version", std::string("negotiated ") + SSL_get_version(ssl));
    co_return false;
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  const bool resumed = SSL_session_reused(ssl) == 1;
  if (resumed) {
    // OpenSSL verified the certificate when the session began; since then the CRL may list it,
    // or it may have expired.
    const int verify = tls::VerifyClientCertificate(ssl_->native_handle(), cert);
    if (verify != X509_V_OK) {
      refuse(VerifyFailureLabel(verify), std::string("resumed session: ") + X509_verify_cert_error_string(verify));
      co_return false;
    }
  }
  if (auto current = shared_.current_tls(); current != ssl_) {
    // The TLS files were reloaded during this handshake; the new CRL applies to it as well.
    const int verify = tls::VerifyClientCertificate(current->native_handle(), cert);
    if (verify == X509_V_ERR_CERT_REVOKED) {
      refuse("revoked", "revoked by a CRL reloaded during the handshake");
      co_return false;
    }
  }
  auto vin = tls::VinFromCertificate(cert);
  if (!vin) {
    shared_.metrics.Handshake("no_vin").Increment();
    spdlog::info("msg=\"certificate without a valid VIN\" peer={} error=\"{}\"", peer_, vin.error().message());
    co_return false;
  }
  vin_ = vin.value();
  shared_.metrics.Handshake("ok").Increment();
  if (resumed) shared_.metrics.handshakes_resumed.Increment();
  spdlog::debug("msg=\"vehicle connected\" peer={} vin={}", peer_, vin_->str());
  co_return true;
}

asio::awaitable<std::optional<AgentFrame>> Session::ReadFrame() {
  auto& tcp = beast::get_lowest_layer(stream_);
  const auto ended = [&](const boost::system::error_code& ec, const char* timeout_kind) {
    // Otherwise closed by the peer, or draining.
    if (ec == beast::error::timeout) {
      shared_.metrics.Timeout(timeout_kind).Increment();
      spdlog::info("msg=\"connection timed out\" peer={} vin={} kind={}", peer_, vin_ ? vin_->str() : "-",
                   timeout_kind);
    }
    return std::nullopt;
  };
  std::array<std::uint8_t, kFrameHeaderSize> header{};
  tcp.expires_after(shared_.options.idle_timeout);
  auto [ec, got] = co_await stream_.async_read_some(asio::buffer(header), kTuple);
  if (ec) co_return ended(ec, "idle");
  // From its first byte, the whole frame must arrive within frame_timeout (slowloris).
  tcp.expires_after(shared_.options.frame_timeout);
  if (got < header.size()) {
    auto [hec, hn] = co_await asio::async_read(stream_, asio::buffer(header.data() + got, header.size() - got),
                                                kTuple);
    if (hec) co_return ended(hec, "frame");
  }
  auto size = DecodeFrameHeader(header.data(), shared_.options.max_frame_bytes);
  if (!size) {
    shared_.metrics.Reject("frame_size").Increment();
    SendError(uplink::v1::ERROR_CODE_FRAME_TOO_LARGE, 0, size.error().message(), true);
    co_return std::nullopt;
  }
  // The body grows with the bytes that arrive: a header alone does not reserve max_frame_bytes.
  constexpr std::size_t kChunk = 64 * 1024;
  std::string body;
  while (body.size() < size.value()) {
    const std::size_t at = body.size();
    const std::size_t chunk = std::min<std::size_t>(size.value() - at, kChunk);
    body.resize(at + chunk);
    auto [bec, bn] = co_await asio::async_read(stream_, asio::buffer(body.data() + at, chunk), kTuple);
    if (bec) co_return ended(bec, "frame");
  }
  tcp.expires_never();
  AgentFrame frame;
  if (!frame.ParseFromString(body)) {
    shared_.metrics.Reject("malformed").Increment();
    SendError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, 0,
              "frame of " + std::to_string(body.size()) + " bytes is not an AgentFrame", true);
    co_return std::nullopt;
  }
  co_return frame;
}

asio::awaitable<void> Session::WaitForWindow() {
  if (unacked_ >= shared_.options.max_unacked_batches && !draining_ && !closed_) {
    shared_.metrics.window_full.Increment();
  }
  while (unacked_ >= shared_.options.max_unacked_batches && !draining_ && !closed_) {
    wake_.expires_at(asio::steady_timer::time_point::max());
    co_await wake_.async_wait(kTuple);
  }
}

asio::awaitable<void> Session::FinishInFlight() {
  // Delivery reports arrive by themselves; Kafka may be away for a while (message.timeout.ms=0),
  // and the agent resends whatever it did not see acked, so waiting here is bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (unacked_ > 0 && std::chrono::steady_clock::now() < deadline) {
    wake_.expires_at(deadline);
    co_await wake_.async_wait(kTuple);
  }
  // Let queued acks reach the wire.
  while ((writing_ || !outbox_.empty()) && std::chrono::steady_clock::now() < deadline) {
    wake_.expires_after(std::chrono::milliseconds(20));
    co_await wake_.async_wait(kTuple);
  }
}

bool Session::OnHello(const uplink::v1::Hello& hello) {
  if (!stream_id_.empty()) {
    shared_.metrics.Reject("protocol").Increment();
    SendError(uplink::v1::ERROR_CODE_PROTOCOL, 0, "hello: sent twice", true);
    return false;
  }
  if (!StreamId::FromBytes(hello.stream_id()) || hello.catalog_hash().size() != 32) {
    shared_.metrics.Reject("protocol").Increment();
    SendError(uplink::v1::ERROR_CODE_PROTOCOL, 0,
              "hello: stream_id must be 16 bytes and catalog_hash 32 bytes", true);
    return false;
  }
  stream_id_ = hello.stream_id();
  catalog_hash_ = hello.catalog_hash();
  catalog_ready_ = shared_.catalogs.Known(catalog_hash_);
  IngestFrame out;
  auto* ack = out.mutable_hello_ack();
  ack->set_catalog_needed(!catalog_ready_);
  ack->set_max_unacked_batches(shared_.options.max_unacked_batches);
  ack->set_ingest_node(shared_.options.node_name);
  Send(out);
  return true;
}

bool Session::OnCatalog(const uplink::v1::CatalogUpload& upload) {
  if (stream_id_.empty()) {
    shared_.metrics.Reject("protocol").Increment();
    SendError(uplink::v1::ERROR_CODE_PROTOCOL, 0, "catalog: before hello", true);
    return false;
  }
  if (CatalogHash(upload.catalog()) != catalog_hash_) {
    shared_.metrics.Reject("catalog").Increment();
    SendError(uplink::v1::ERROR_CODE_UNKNOWN_CATALOG, 0,
              "catalog: its hash differs from the one in hello", true);
    return false;
  }
  auto send_ack = [self = shared_from_this()] {
    self->catalog_ready_ = true;
    IngestFrame out;
    out.mutable_catalog_ack()->set_catalog_hash(self->catalog_hash_);
    self->Send(out);
  };
  if (shared_.catalogs.Known(catalog_hash_)) {
    send_ack();
    return true;
  }
  telemetry::v1::CatalogRecord record;
  *record.mutable_catalog() = upload.catalog();
  record.set_catalog_hash(catalog_hash_);
  ++unacked_;
  auto status = shared_.producer.Produce(
      shared_.options.catalog_topic, catalog_hash_, record.SerializeAsString(),
      [self = shared_from_this(), send_ack](Status delivered) {
        asio::post(self->stream_.get_executor(), [self, send_ack, delivered] {
          --self->unacked_;
          if (delivered) {
            self->shared_.catalogs.Add(self->catalog_hash_);
            self->shared_.metrics.catalogs_produced.Increment();
            send_ack();
          } else {
            spdlog::warn("msg=\"catalog not delivered\" error=\"{}\"", delivered.error().message());
          }
          self->Wake();
        });
      });
  if (!status) {
    --unacked_;
    spdlog::warn("msg=\"catalog not produced\" error=\"{}\"", status.error().message());
    return false;  // the agent reconnects and uploads again
  }
  return true;
}

asio::awaitable<bool> Session::OnBatch(const uplink::v1::BatchFrame& frame) {
  if (!catalog_ready_) {
    shared_.metrics.Reject("protocol").Increment();
    SendError(uplink::v1::ERROR_CODE_UNKNOWN_CATALOG, 0, "batch: before hello or catalog ack", true);
    co_return false;
  }
  const auto& o = shared_.options;
  std::string decompressed;
  auto bytes = BatchBytes(frame, o.max_frame_bytes, &decompressed);
  if (!bytes) {
    // The batch's seq is inside what cannot be decoded: the frame is broken, not one batch.
    shared_.metrics.Reject("compression").Increment();
    SendError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, 0, bytes.error().message(), true);
    co_return false;
  }
  telemetry::v1::Batch batch;
  if (!batch.ParseFromArray(bytes.value().data(), static_cast<int>(bytes.value().size()))) {
    shared_.metrics.Reject("malformed").Increment();
    SendError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, 0, "batch: not a telemetry Batch", true);
    co_return false;
  }
  BatchLimits limits{NowMicros(), std::chrono::duration_cast<std::chrono::microseconds>(o.max_batch_age).count(),
                     std::chrono::duration_cast<std::chrono::microseconds>(o.max_clock_skew).count(),
                     o.max_samples_per_batch};
  Rejection rejection;
  auto samples = ValidateBatch(batch, Connection{*vin_, stream_id_, catalog_hash_}, limits, &rejection);
  if (!samples) {
    shared_.metrics.Reject(rejection.reason).Increment();
    SendError(uplink::v1::ERROR_CODE_INVALID_BATCH, batch.seq(), rejection.message, false);
    co_return true;
  }
  telemetry::v1::TelemetryRecord record;
  // The uncompressed Batch exactly as the vehicle serialized it.
  if (frame.compression() == uplink::v1::COMPRESSION_NONE) {
    record.set_batch(frame.batch());
  } else {
    record.set_batch(std::move(decompressed));
  }
  record.set_vin(vin_->str());
  record.set_ingest_node(o.node_name);
  record.set_received_time_us(limits.now_us);
  const std::string value = record.SerializeAsString();
  const std::uint64_t seq = batch.seq();
  const std::size_t sample_count = samples.value();
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    auto status = shared_.producer.Produce(
        o.telemetry_topic, vin_->str(), value,
        [self = shared_from_this(), seq, sample_count, started](Status delivered) {
          // On the producer's poll thread: measure here, act on the strand.
          if (delivered) {
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
            self->shared_.metrics.produce_latency_seconds.Observe(took.count());
          }
          asio::post(self->stream_.get_executor(), [self, seq, sample_count, delivered] {
            --self->unacked_;
            self->shared_.metrics.unacked_batches.Decrement();
            if (delivered) {
              self->shared_.metrics.batches_acked.Increment();
              self->shared_.metrics.signals_acked.Increment(static_cast<double>(sample_count));
              IngestFrame out;
              out.mutable_ack()->set_stream_id(self->stream_id_);
              out.mutable_ack()->set_seq(seq);
              self->Send(out);
            } else {
              // Not acked: the agent resends it after it reconnects.
              self->shared_.metrics.batches_undelivered.Increment();
              spdlog::warn("msg=\"batch not delivered\" seq={} error=\"{}\"", seq, delivered.error().message());
            }
            self->Wake();
          });
        });
    if (status) break;
    if (status.error().code() != Errc::kUnavailable || draining_) {
      spdlog::warn("msg=\"batch not produced\" seq={} error=\"{}\"", seq, status.error().message());
      co_return false;
    }
    // The producer's queue is full: Kafka is slow. Wait for it instead of dropping.
    wake_.expires_after(std::chrono::milliseconds(50));
    co_await wake_.async_wait(kTuple);
  }
  ++unacked_;
  shared_.metrics.unacked_batches.Increment();
  shared_.metrics.batches_in.Increment();
  shared_.metrics.signals_in.Increment(static_cast<double>(sample_count));
  co_return true;
}

void Session::SendError(uplink::v1::ErrorCode code, std::uint64_t seq, const std::string& message,
                        bool fatal) {
  spdlog::info("msg=\"rejected\" peer={} vin={} code={} seq={} error=\"{}\"", peer_,
               vin_ ? vin_->str() : "-", uplink::v1::ErrorCode_Name(code), seq, message);
  IngestFrame out;
  auto* e = out.mutable_error();
  e->set_code(code);
  e->set_seq(seq);
  e->set_message(message);
  e->set_fatal(fatal);
  Send(out);
}

void Session::Send(const IngestFrame& frame) {
  if (closed_) return;
  std::string wire;
  AppendFrame(frame, &wire);
  outbox_.push_back(std::move(wire));
  if (!writing_) WriteNext();
}

void Session::WriteNext() {
  if (outbox_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  beast::get_lowest_layer(stream_).expires_after(shared_.options.idle_timeout);
  asio::async_write(stream_, asio::buffer(outbox_.front()),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->outbox_.pop_front();
                      if (ec) {
                        if (ec == beast::error::timeout) self->shared_.metrics.Timeout("write").Increment();
                        self->outbox_.clear();
                        self->writing_ = false;
                        self->closed_ = true;
                        self->Wake();
                        return;
                      }
                      self->WriteNext();
                    });
}

void Session::Wake() { wake_.cancel(); }

}  // namespace canvoy::ingest
