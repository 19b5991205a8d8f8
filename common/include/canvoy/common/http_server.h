// A small HTTP/1.1 server (Boost.Beast) for /metrics, /healthz and JSON query APIs.
// One listener plus one coroutine per connection, each on a strand of its own: handlers run on
// the io_context's threads, in parallel for different connections when several threads run it,
// so they must be safe to call concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "canvoy/common/error.h"

namespace canvoy::http {

struct Request {
  std::string method;
  std::string path;                          // decoded path, without the query
  std::map<std::string, std::string> query;  // decoded query parameters (last one wins)
  std::string body;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";  // listen address
  std::uint16_t port = 0;             // 0 picks a free port; see Server::port()
  std::chrono::seconds read_timeout{30};
  std::size_t body_limit = 1 << 20;   // bytes of a request body
  std::size_t max_connections = 256;  // further connections are closed at once
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds and starts accepting on `io`.
  static Result<std::shared_ptr<Server>> Start(boost::asio::io_context& io, const ServerOptions& options,
                                               Handler handler);
  virtual std::uint16_t port() const = 0;
  // Stops accepting; open connections finish their current request.
  virtual void Stop() = 0;
};

// A JSON error body: {"error": message}.
Response ErrorResponse(unsigned status, const std::string& message);

}  // namespace canvoy::http
