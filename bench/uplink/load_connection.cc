#include "uplink/load_connection.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "canvoy/common/frame.h"
#include "canvoy/common/ids.h"
#include "canvoy/common/time.h"

namespace canvoy::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* kAgentVersion = "canvoy_uplink_load/0.1";

// One stamper per io thread: stamping and encoding need no lock, and the templates are copied
// once per thread instead of once per connection. The process has one LoadShared.
BatchStamper& LocalStamper(const LoadShared& shared) {
  thread_local std::unique_ptr<BatchStamper> stamper;
  if (!stamper) stamper = std::make_unique<BatchStamper>(shared.templates, shared.zstd);
  return *stamper;
}

}  // namespace

void LoadShared::Fail(const std::string& stage, const std::string& message) {
  std::lock_guard lock(mu_);
  ++failures_[stage];
  if (first_error_.empty()) first_error_ = stage + ": " + message;
}

std::map<std::string, std::uint64_t> LoadShared::Failures() {
  std::lock_guard lock(mu_);
  return failures_;
}

std::string LoadShared::FirstError() {
  std::lock_guard lock(mu_);
  return first_error_;
}

void LoadShared::RecordLatency(Clock::duration seal_to_ack) {
  const double us = std::chrono::duration<double, std::micro>(seal_to_ack).count();
  std::lock_guard lock(mu_);
  latencies_us_.push_back(us);
}

std::vector<double> LoadShared::TakeLatenciesUs() {
  std::lock_guard lock(mu_);
  return std::move(latencies_us_);
}

UplinkConnection::UplinkConnection(asio::io_context& io, LoadShared& shared, std::size_t index)
    : shared_(shared), index_(index), strand_(asio::make_strand(io)),
      stream_(beast::tcp_stream(strand_), shared.ssl), wake_(strand_),
      stream_id_(StreamId::Random().bytes()), next_template_(index * 7) {}

asio::awaitable<bool> UplinkConnection::Open() {
  auto& tcp = beast::get_lowest_layer(stream_);
  tcp.expires_after(shared_.io_timeout);
  auto [cec] = co_await tcp.async_connect(shared_.ingest, kTuple);
  if (cec) {
    shared_.Fail("connect", cec.message());
    co_return false;
  }
  boost::system::error_code ignored;
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  SSL* ssl = stream_.native_handle();
  if (auto s = shared_.vehicles.Apply(ssl, index_); !s) {
    shared_.Fail("handshake", s.error().message());
    co_return false;
  }
  SSL_set_tlsext_host_name(ssl, shared_.server_name.c_str());
  stream_.set_verify_callback(asio::ssl::host_name_verification(shared_.server_name));
  tcp.expires_after(shared_.io_timeout);
  auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    shared_.Fail("handshake", hec.message());
    co_return false;
  }
  if (!co_await Introduce()) co_return false;
  open_ = true;
  ++shared_.counters.connections_open;
  shared_.counters.window_slots += window_;
  co_return true;
}

asio::awaitable<bool> UplinkConnection::Introduce() {
  AgentFrame hello;
  hello.mutable_hello()->set_agent_version(kAgentVersion);
  hello.mutable_hello()->set_stream_id(stream_id_);
  hello.mutable_hello()->set_catalog_hash(shared_.templates.catalog_hash());
  IngestFrame reply;
  if (!co_await WriteFrame(hello) || !co_await ReadFrame(&reply)) {
    shared_.Fail("hello", "connection closed during hello");
    co_return false;
  }
  if (!reply.has_hello_ack()) {
    shared_.Fail("hello", reply.error().message());
    co_return false;
  }
  window_ = std::max<std::uint32_t>(1, std::min(shared_.max_window, reply.hello_ack().max_unacked_batches()));
  if (!reply.hello_ack().catalog_needed()) co_return true;
  AgentFrame upload;
  *upload.mutable_catalog()->mutable_catalog() = shared_.templates.catalog();
  if (!co_await WriteFrame(upload) || !co_await ReadFrame(&reply)) {
    shared_.Fail("catalog", "connection closed during the catalog upload");
    co_return false;
  }
  if (!reply.has_catalog_ack()) {
    shared_.Fail("catalog", reply.error().message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> UplinkConnection::ReadFrame(IngestFrame* frame) {
  std::array<std::uint8_t, kFrameHeaderSize> header{};
  auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(header), kTuple);
  if (ec) co_return false;
  auto size = DecodeFrameHeader(header.data(), kDefaultMaxFrameBytes);
  if (!size) co_return false;
  std::string body(size.value(), '\0');
  auto [bec, bn] = co_await asio::async_read(stream_, asio::buffer(body), kTuple);
  co_return !bec && frame->ParseFromString(body);
}

asio::awaitable<bool> UplinkConnection::WriteFrame(const AgentFrame& frame) {
  std::string wire;
  AppendFrame(frame, &wire);
  beast::get_lowest_layer(stream_).expires_after(shared_.io_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(wire), kTuple);
  co_return !ec;
}

void UplinkConnection::StartStreaming(Pace pace) {
  asio::post(strand_, [self = shared_from_this(), pace] {
    self->pace_ = pace;
    // No deadlines while streaming: acks take as long as Kafka does, and the stream has one
    // expiry for reads and writes, which a write would set for the reader's next read too. The
    // run's own deadline bounds every wait, and Close() ends what is pending.
    beast::get_lowest_layer(self->stream_).expires_never();
    asio::co_spawn(self->strand_, self->Reader(), asio::detached);
    asio::co_spawn(self->strand_, self->Writer(), asio::detached);
  });
}

UplinkConnection::Outgoing UplinkConnection::MakeBatch(bool record) {
  Outgoing out;
  out.seq = next_seq_++;
  const std::size_t template_index = next_template_++;
  const BatchIdentity identity{shared_.vehicles.vin(index_), stream_id_, out.seq, NowMicros()};
  LocalStamper(shared_).AppendWireFrame(template_index, identity, &out.wire);
  out.samples = shared_.templates.at(template_index).samples;
  out.sealed_at = Clock::now();
  out.record = record;
  return out;
}

void UplinkConnection::Seal(bool record) {
  asio::post(strand_, [self = shared_from_this(), record] {
    if (self->lost_) return;
    self->pending_.push_back(self->MakeBatch(record));
    self->wake_.cancel();
  });
}

asio::awaitable<void> UplinkConnection::Writer() {
  while (!lost_ && !shared_.stopping.load(std::memory_order_relaxed)) {
    if (in_flight_.size() < window_ && (pace_ == Pace::kFlatOut || !pending_.empty())) {
      Outgoing out;
      if (pace_ == Pace::kFlatOut) {
        out = MakeBatch(false);
      } else {
        out = std::move(pending_.front());
        pending_.pop_front();
      }
      const std::size_t bytes = out.wire.size();
      std::string wire = std::move(out.wire);
      in_flight_.push_back(std::move(out));
      ++shared_.counters.in_flight;
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(wire), kTuple);
      if (ec) {
        if (!lost_) shared_.Fail("stream", "write: " + ec.message());
        break;
      }
      ++shared_.counters.batches_sent;
      shared_.counters.bytes_sent += bytes;
      continue;
    }
    wake_.expires_after(std::chrono::seconds(1));
    co_await wake_.async_wait(kTuple);
  }
}

asio::awaitable<void> UplinkConnection::Reader() {
  IngestFrame frame;
  while (!lost_) {
    if (!co_await ReadFrame(&frame)) {
      if (!lost_) shared_.Fail("stream", "ingest closed the connection");
      break;
    }
    if (frame.has_ack()) {
      OnAck(frame.ack().seq(), true);
    } else if (frame.has_error() && !frame.error().fatal() && frame.error().seq() != 0) {
      shared_.Fail("rejected", frame.error().message());
      OnAck(frame.error().seq(), false);
    } else {
      shared_.Fail("stream", "ingest: " + frame.error().message());
      break;
    }
  }
  Lost();
}

void UplinkConnection::OnAck(std::uint64_t seq, bool acked) {
  // Acks come in order (one vehicle's records share a partition), so this is the front.
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(), [seq](const Outgoing& o) { return o.seq == seq; });
  if (it == in_flight_.end()) return;
  if (acked) {
    ++shared_.counters.batches_acked;
    shared_.counters.signals_acked += it->samples;
    if (it->record) shared_.RecordLatency(Clock::now() - it->sealed_at);
  } else {
    ++shared_.counters.batches_rejected;
  }
  in_flight_.erase(it);
  --shared_.counters.in_flight;
  wake_.cancel();
}

void UplinkConnection::StartHolding() {
  asio::co_spawn(strand_, [self = shared_from_this()] { return self->Hold(); }, asio::detached);
}

asio::awaitable<void> UplinkConnection::Hold() {
  beast::get_lowest_layer(stream_).expires_never();
  IngestFrame frame;
  // Ingest sends nothing to an idle connection: whatever ends this read ends the connection.
  co_await ReadFrame(&frame);
  if (!lost_) shared_.Fail("idle", "ingest closed an idle connection");
  Lost();
}

void UplinkConnection::Lost() {
  if (open_) --shared_.counters.connections_open;
  open_ = false;
  lost_ = true;
  // What was sent and not acked will not be acked on this connection.
  shared_.counters.in_flight -= static_cast<std::int64_t>(in_flight_.size());
  in_flight_.clear();
  pending_.clear();
  wake_.cancel();
  boost::system::error_code ignored;
  auto& socket = beast::get_lowest_layer(stream_).socket();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void UplinkConnection::Close() {
  // lost_ goes first, so that the reader's failing read is not counted as ingest closing it.
  asio::post(strand_, [self = shared_from_this()] {
    const bool was_lost = self->lost_;
    self->lost_ = true;
    if (!was_lost) self->Lost();
  });
}

}  // namespace canvoy::bench
