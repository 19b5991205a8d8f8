// A real HTTP server on a loopback port, answering from a fixed handler on its own io thread:
// the CLI and client tests talk to it as to a running store.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "canvoy/common/http_server.h"

namespace canvoy::fleet_store::test_support {

class LoopbackServer {
 public:
  explicit LoopbackServer(http::Handler handler) {
    server_ = http::Server::Start(io_, http::ServerOptions{}, std::move(handler)).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopbackServer() {
    server_->Stop();
    io_.stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace canvoy::fleet_store::test_support
