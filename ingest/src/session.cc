#include "session.h"

#include <openssl/ssl.h>

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
#include "validate.h"

namespace canvoy::ingest {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A short label for a failed handshake, from OpenSSL's reason.
std::string HandshakeFailure(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  const std::string text = ec.message();
  if (text.find("unsupported protocol") != std::string::npos ||
      text.find("wrong version") != std::string::npos) {
    return "tls_version";
  }
  if (text.find("did not return a certificate") != std::string::npos ||
      text.find("certificate required") != std::string::npos) {
    return "no_certificate";
  }
  if (text.find("certificate verify failed") != std::string::npos) return "certificate_invalid";
  return "other";
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, asio::ssl::context& ssl, SessionShared& shared)
    : stream_(beast::tcp_stream(std::move(socket)), ssl), shared_(shared),
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
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    boost::system::error_code ignored;
    // Ends a pending read at once; writes (acks) go on.
    beast::get_lowest_layer(self->stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_receive,
                                                            ignored);
    self->Wake();
  });
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
  beast::get_lowest_layer(stream_).expires_after(shared_.options.handshake_timeout);
  auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    const std::string result = HandshakeFailure(ec);
    shared_.metrics.Handshake(result).Increment();
    spdlog::info("msg=\"handshake refused\" peer={} result={} error=\"{}\"", peer_, result, ec.message());
    co_return false;
  }
  X509* cert = SSL_get0_peer_certificate(stream_.native_handle());
  auto vin = tls::VinFromCertificate(cert);
  if (!vin) {
    shared_.metrics.Handshake("no_vin").Increment();
    spdlog::info("msg=\"certificate without a valid VIN\" peer={} error=\"{}\"", peer_, vin.error().message());
    co_return false;
  }
  vin_ = vin.value();
  shared_.metrics.Handshake("ok").Increment();
  spdlog::debug("msg=\"vehicle connected\" peer={} vin={}", peer_, vin_->str());
  co_return true;
}

asio::awaitable<std::optional<AgentFrame>> Session::ReadFrame() {
  std::array<std::uint8_t, kFrameHeaderSize> header{};
  beast::get_lowest_layer(stream_).expires_after(shared_.options.idle_timeout);
  auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(header), kTuple);
  if (ec) co_return std::nullopt;  // closed, idle too long, or draining
  auto size = DecodeFrameHeader(header.data(), shared_.options.max_frame_bytes);
  if (!size) {
    shared_.metrics.Reject("frame_size").Increment();
    SendError(uplink::v1::ERROR_CODE_FRAME_TOO_LARGE, 0, size.error().message(), true);
    co_return std::nullopt;
  }
  std::string body(size.value(), '\0');
  beast::get_lowest_layer(stream_).expires_after(shared_.options.idle_timeout);
  auto [bec, bn] = co_await asio::async_read(stream_, asio::buffer(body), kTuple);
  if (bec) co_return std::nullopt;
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
  telemetry::v1::Batch batch;
  if (!batch.ParseFromString(frame.batch())) {
    shared_.metrics.Reject("malformed").Increment();
    SendError(uplink::v1::ERROR_CODE_MALFORMED_FRAME, 0, "batch: not a telemetry Batch", true);
    co_return false;
  }
  const auto& o = shared_.options;
  BatchLimits limits{NowMicros(), std::chrono::duration_cast<std::chrono::microseconds>(o.max_batch_age).count(),
                     std::chrono::duration_cast<std::chrono::microseconds>(o.max_clock_skew).count(),
                     o.max_samples_per_batch};
  Rejection rejection;
  auto samples = ValidateBatch(batch, stream_id_, catalog_hash_, limits, &rejection);
  if (!samples) {
    shared_.metrics.Reject(rejection.reason).Increment();
    SendError(uplink::v1::ERROR_CODE_INVALID_BATCH, batch.seq(), rejection.message, false);
    co_return true;
  }
  telemetry::v1::TelemetryRecord record;
  record.set_batch(frame.batch());
  record.set_vin(vin_->str());
  record.set_ingest_node(o.node_name);
  record.set_received_time_us(limits.now_us);
  const std::string value = record.SerializeAsString();
  const std::uint64_t seq = batch.seq();
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    auto status = shared_.producer.Produce(
        o.telemetry_topic, vin_->str(), value,
        [self = shared_from_this(), seq, started](Status delivered) {
          asio::post(self->stream_.get_executor(), [self, seq, started, delivered] {
            --self->unacked_;
            self->shared_.metrics.unacked_batches.Decrement();
            if (delivered) {
              const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
              self->shared_.metrics.produce_latency_seconds.Observe(took.count());
              self->shared_.metrics.batches_acked.Increment();
              IngestFrame out;
              out.mutable_ack()->set_stream_id(self->stream_id_);
              out.mutable_ack()->set_seq(seq);
              self->Send(out);
            } else {
              // Not acked: the agent resends it after it reconnects.
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
  shared_.metrics.signals_in.Increment(static_cast<double>(samples.value()));
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
