#include "canvoy/common/http_server.h"

#include <atomic>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include "canvoy/common/net.h"

namespace canvoy::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

class ServerImpl final : public Server, public std::enable_shared_from_this<ServerImpl> {
 public:
  ServerImpl(asio::io_context& io, ServerOptions options, Handler handler)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        options_(std::move(options)),
        handler_(std::move(handler)) {}

  Status Listen() {
    CANVOY_RETURN_IF_ERROR(net::Listen(acceptor_, options_.address, options_.port, "http"));
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(acceptor_.get_executor(), Accept(shared_from_this()), asio::detached);
    return OkStatus();
  }

  std::uint16_t port() const override { return port_; }

  void Stop() override {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  static asio::awaitable<void> Accept(std::shared_ptr<ServerImpl> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(
          asio::make_strand(self->io_), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
        continue;
      }
      if (self->connections_.load() >= self->options_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(socket.get_executor(), Serve(self, std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<void> Serve(std::shared_ptr<ServerImpl> self, tcp::socket socket) {
    ++self->connections_;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(self->options_.body_limit);
      stream.expires_after(self->options_.read_timeout);
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) break;
      const auto& req = parser.get();
      bhttp::response<bhttp::string_body> res = self->Handle(req);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec || !req.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    --self->connections_;
  }

  bhttp::response<bhttp::string_body> Handle(const bhttp::request<bhttp::string_body>& req) {
    Response out;
    auto url = boost::urls::parse_origin_form(req.target());
    if (!url) {
      out = ErrorResponse(400, "request target '" + std::string(req.target()) + "': " + url.error().message());
    } else {
      Request request;
      request.method = std::string(req.method_string());
      request.path = url->path();
      for (auto param : url->params()) request.query[param.key] = param.value;
      request.body = req.body();
      try {
        out = handler_(request);
      } catch (const std::exception& e) {
        spdlog::error("msg=\"http handler failed\" path=\"{}\" error=\"{}\"", request.path, e.what());
        out = ErrorResponse(500, "internal error");
      }
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), req.version()};
    res.set(bhttp::field::content_type, out.content_type);
    res.body() = std::move(out.body);
    return res;
  }

  // The acceptor and each connection run on strands of their own, so that the io_context may
  // have several threads: handlers of different connections then run in parallel.
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  ServerOptions options_;
  Handler handler_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
};

}  // namespace

Result<std::shared_ptr<Server>> Server::Start(asio::io_context& io, const ServerOptions& options,
                                              Handler handler) {
  auto server = std::make_shared<ServerImpl>(io, options, std::move(handler));
  CANVOY_RETURN_IF_ERROR(server->Listen());
  return std::shared_ptr<Server>(server);
}

Response ErrorResponse(unsigned status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(boost::json::object{{"error", message}});
  return r;
}

}  // namespace canvoy::http
