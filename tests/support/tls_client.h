// A TLS client for tests that plays a vehicle, or a misbehaving one: any certificate or none, an
// older TLS version, a session to resume, whole frames or raw bytes. Every operation has a
// deadline; nothing blocks for ever. Single-threaded: one test thread drives it.
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <google/protobuf/message_lite.h>

namespace canvoy::testing {

using SslSession = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;

class TlsTestClient {
 public:
  struct Options {
    std::filesystem::path ca;              // the server must chain to it
    std::filesystem::path cert, key;       // the client certificate; none when empty
    int max_version = TLS1_3_VERSION;      // TLS1_2_VERSION plays a client without TLS 1.3
    SSL_SESSION* resume = nullptr;         // a session of an earlier connection to resume
    std::chrono::milliseconds timeout{15000};  // for each operation
  };

  explicit TlsTestClient(Options options)
      : options_(std::move(options)), ctx_(boost::asio::ssl::context::tls_client) {
    SSL_CTX* native = ctx_.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, options_.max_version);
    ctx_.load_verify_file(options_.ca.string());
    ctx_.set_verify_mode(boost::asio::ssl::verify_peer);
    if (!options_.cert.empty()) {
      ctx_.use_certificate_chain_file(options_.cert.string());
      ctx_.use_private_key_file(options_.key.string(), boost::asio::ssl::context::pem);
    }
    stream_ = std::make_unique<Stream>(io_, ctx_);
  }

  // TCP connect to 127.0.0.1:port.
  boost::system::error_code ConnectTcp(std::uint16_t port) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    return Run([&](auto done) { Tcp().async_connect(endpoint, [done](auto ec) { done(ec); }); });
  }

  // TCP connect and TLS handshake. With TLS 1.3 a refused client certificate shows only at the
  // next read: the client finishes its handshake before the server checks the certificate.
  boost::system::error_code Connect(std::uint16_t port) {
    if (auto ec = ConnectTcp(port)) return ec;
    SSL_set_tlsext_host_name(stream_->native_handle(), "localhost");
    if (options_.resume != nullptr) SSL_set_session(stream_->native_handle(), options_.resume);
    return Run([&](auto done) {
      stream_->async_handshake(boost::asio::ssl::stream_base::client, [done](auto ec) { done(ec); });
    });
  }

  // Bytes over TLS, as they are: a length prefix is the caller's.
  boost::system::error_code Write(std::string_view bytes) {
    return Run([&](auto done) {
      boost::asio::async_write(*stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                               [done](auto ec, std::size_t) { done(ec); });
    });
  }

  // Bytes straight onto TCP, no TLS.
  boost::system::error_code WriteTcp(std::string_view bytes) {
    return Run([&](auto done) {
      boost::asio::async_write(Tcp(), boost::asio::buffer(bytes.data(), bytes.size()),
                               [done](auto ec, std::size_t) { done(ec); });
    });
  }

  // A frame: 4-byte big-endian length, then the message.
  boost::system::error_code WriteFrame(const google::protobuf::MessageLite& message) {
    return Write(Frame(message.SerializeAsString()));
  }

  static std::string Frame(const std::string& body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                    static_cast<char>(n)};
    return out + body;
  }

  // The next frame's body; an error when the connection ends or the deadline passes
  // (boost::beast::error::timeout).
  boost::system::error_code ReadFrame(std::string* body) {
    unsigned char header[4];
    const auto header_read = Run([&](auto done) {
      boost::asio::async_read(*stream_, boost::asio::buffer(header), [done](auto ec, std::size_t) { done(ec); });
    });
    if (header_read) return header_read;
    const std::uint32_t n = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                            (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
    if (n > (64u << 20)) return boost::asio::error::message_size;
    body->assign(n, '\0');
    return Run([&](auto done) {
      boost::asio::async_read(*stream_, boost::asio::buffer(body->data(), body->size()),
                              [done](auto ec, std::size_t) { done(ec); });
    });
  }

  // True when the server ends the connection (a read fails otherwise than by the deadline)
  // within `timeout`; frames that arrive meanwhile are skipped.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string body;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const auto saved = options_.timeout;
      options_.timeout = std::max(left, std::chrono::milliseconds(1));
      const auto ec = ReadFrame(&body);
      options_.timeout = saved;
      if (ec == boost::beast::error::timeout) return false;
      if (ec) return true;
    }
    return false;
  }

  // True when the server closes the TCP connection within `timeout` (for clients that never
  // start TLS); bytes that arrive meanwhile are skipped.
  bool WaitTcpClosed(std::chrono::milliseconds timeout) {
    const auto saved = options_.timeout;
    options_.timeout = timeout;
    boost::system::error_code result;
    char buffer[4096];
    do {
      result = Run([&](auto done) {
        Tcp().async_read_some(boost::asio::buffer(buffer), [done](auto ec, std::size_t) { done(ec); });
      });
    } while (!result);
    options_.timeout = saved;
    return result != boost::beast::error::timeout;
  }

  bool SessionReused() const { return SSL_session_reused(stream_->native_handle()) == 1; }
  // A copy of the connection's session, for a later connection to resume. A copy, because
  // OpenSSL marks the session itself not resumable when this connection ends without a TLS
  // shutdown (SSL_free of a connection that did not send close_notify).
  SslSession Session() const {
    SSL_SESSION* current = SSL_get0_session(stream_->native_handle());
    return {current != nullptr ? SSL_SESSION_dup(current) : nullptr, &SSL_SESSION_free};
  }
  std::string Version() const { return SSL_get_version(stream_->native_handle()); }

  void Close() {
    boost::system::error_code ignored;
    Tcp().socket().close(ignored);
  }

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  boost::beast::tcp_stream& Tcp() { return boost::beast::get_lowest_layer(*stream_); }

  // Starts one asynchronous operation and runs the io_context until it completes; the
  // stream's deadline ends it with boost::beast::error::timeout.
  template <class Start>
  boost::system::error_code Run(Start start) {
    boost::system::error_code result;
    bool finished = false;
    Tcp().expires_after(options_.timeout);
    start([&](boost::system::error_code ec) {
      result = ec;
      finished = true;
    });
    io_.restart();
    while (!finished && io_.run_one() > 0) {
    }
    Tcp().expires_never();
    return finished ? result : boost::asio::error::operation_aborted;
  }

  Options options_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  std::unique_ptr<Stream> stream_;
};

}  // namespace canvoy::testing
