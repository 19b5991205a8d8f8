// The uplink against a small in-process ingest that speaks the protocol and, to force
// reconnects, closes every connection after acknowledging its first batch.
#include "uplink/uplink_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "canvoy/common/frame.h"
#include "canvoy/common/pki.h"
#include "canvoy/common/tls.h"
#include "spool/memory_spool.h"

namespace canvoy::agent {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using uplink::v1::AgentFrame;
using uplink::v1::IngestFrame;

class OneBatchPerConnectionIngest {
 public:
  explicit OneBatchPerConnectionIngest(asio::ssl::context& ssl) : ssl_(ssl), acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~OneBatchPerConnectionIngest() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_.load(); }
  int resumed() const { return resumed_.load(); }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<bool> Read(asio::ssl::stream<tcp::socket>& s, AgentFrame* frame) {
    std::uint8_t header[kFrameHeaderSize];
    co_await asio::async_read(s, asio::buffer(header), asio::use_awaitable);
    auto size = DecodeFrameHeader(header, 1 << 20);
    if (!size) co_return false;
    std::string body(size.value(), '\0');
    co_await asio::async_read(s, asio::buffer(body), asio::use_awaitable);
    co_return frame->ParseFromString(body);
  }
  static asio::awaitable<void> Write(asio::ssl::stream<tcp::socket>& s, const IngestFrame& frame) {
    std::string wire;
    AppendFrame(frame, &wire);
    co_await asio::async_write(s, asio::buffer(wire), asio::use_awaitable);
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> s(std::move(socket), ssl_);
    try {
      co_await s.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
      ++connections_;
      if (SSL_session_reused(s.native_handle()) == 1) ++resumed_;
      AgentFrame in;
      if (!co_await Read(s, &in) || !in.has_hello()) co_return;
      IngestFrame out;
      out.mutable_hello_ack()->set_max_unacked_batches(4);
      co_await Write(s, out);
      if (!co_await Read(s, &in) || !in.has_batch()) co_return;
      telemetry::v1::Batch batch;
      if (!batch.ParseFromString(in.batch().batch())) co_return;
      out.Clear();
      out.mutable_ack()->set_stream_id(batch.stream_id());
      out.mutable_ack()->set_seq(batch.seq());
      co_await Write(s, out);
    } catch (const std::exception&) {
    }
    boost::system::error_code ignored;
    s.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    s.lowest_layer().close(ignored);
  }

  asio::io_context io_;
  asio::ssl::context& ssl_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> connections_{0}, resumed_{0};
};

TEST(UplinkClientTest, ReconnectsResumeTheTlsSessionAndEveryBatchIsAcked) {
  const fs::path dir = fs::temp_directory_path() / ("canvoy-uplink-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string vin = "CNVYU000000000001";
  ASSERT_TRUE(pki::CreateCa(dir, "test CA"));
  pki::CertificateSpec server_spec;
  server_spec.common_name = "localhost";
  server_spec.dns_names = {"localhost"};
  server_spec.server = true;
  ASSERT_TRUE(pki::Issue(dir, server_spec, dir / "server"));
  ASSERT_TRUE(pki::IssueVehicle(dir, vin));
  auto server_ssl = tls::MakeServerContext({dir / "ca.crt", dir / "server.crt", dir / "server.key"});
  ASSERT_TRUE(server_ssl) << server_ssl.error().message();
  auto client_ssl = tls::MakeClientContext(
      {dir / "ca.crt", dir / "vehicles" / (vin + ".crt"), dir / "vehicles" / (vin + ".key")});
  ASSERT_TRUE(client_ssl) << client_ssl.error().message();

  OneBatchPerConnectionIngest ingest(server_ssl.value());
  MemorySpool spool;
  constexpr int kBatches = 4;
  for (int i = 0; i < kBatches; ++i) {
    telemetry::v1::Batch batch;
    batch.set_stream_id(std::string(spool.stream_id().bytes()));
    batch.set_seq(spool.NextSeq());
    uplink::v1::BatchFrame frame;
    frame.set_batch(batch.SerializeAsString());
    ASSERT_TRUE(spool.Append(batch.seq(), frame.SerializeAsString(), 100));
  }
  spool.Close();

  asio::io_context io;
  UplinkOptions options;
  options.port = ingest.port();
  options.backoff_initial = std::chrono::milliseconds(1);
  options.backoff_max = std::chrono::milliseconds(10);
  auto client = std::make_shared<UplinkClient>(io, client_ssl.value(), options, spool, telemetry::v1::Catalog(),
                                               std::string(32, 'c'));
  client->Start();
  std::thread runner([&] { io.run_for(std::chrono::seconds(60)); });
  const bool drained = spool.WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(60));
  client->Stop();
  runner.join();
  spool.SetListener(nullptr);
  fs::remove_all(dir);

  ASSERT_TRUE(drained) << spool.size() << " batches left unacknowledged";
  EXPECT_EQ(client->stats().batches_acked.load(), static_cast<std::uint64_t>(kBatches));
  // One batch per connection: a connection per batch, each after the first resuming its session.
  EXPECT_EQ(ingest.connections(), kBatches);
  EXPECT_EQ(client->stats().resumed_connections.load(), static_cast<std::uint64_t>(kBatches - 1));
  EXPECT_EQ(ingest.resumed(), kBatches - 1);
}

}  // namespace
}  // namespace canvoy::agent
