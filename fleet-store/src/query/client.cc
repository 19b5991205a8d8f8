#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "canvoy/fleet_store/query_client.h"

namespace canvoy::fleet_store {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kAnswerBodyLimit = 64 << 20;

struct Target {
  std::string host;
  std::string port;
  std::string path;  // base path + target
};

Result<Target> ParseTarget(std::string_view base_url, std::string_view target) {
  auto url = boost::urls::parse_uri(base_url);
  const auto where = "url '" + std::string(base_url) + "'";
  if (!url) return Error(Errc::kInvalidArgument, where + ": " + url.error().message());
  if (url->scheme() != "http") {
    return Error(Errc::kInvalidArgument, where + ": scheme '" + std::string(url->scheme()) +
                                             "' is not supported; use http");
  }
  if (url->host_address().empty()) return Error(Errc::kInvalidArgument, where + ": no host");
  Target out{url->host_address(), url->has_port() ? std::string(url->port()) : "80",
             std::string(url->encoded_path())};
  while (out.path.ends_with('/')) out.path.pop_back();
  out.path.append(target);
  return out;
}

struct Outgoing {
  bhttp::verb method = bhttp::verb::get;
  std::string_view body;  // POST: JSON
};

asio::awaitable<void> Exchange(tcp::resolver& resolver, beast::tcp_stream& stream,
                               const Target& target, Outgoing outgoing,
                               std::optional<Result<HttpAnswer>>& result) {
  auto fail = [&result](std::string_view step, const boost::system::error_code& ec) {
    result = Error(Errc::kUnavailable, std::string(step) + ": " + ec.message());
  };
  auto [rec, endpoints] = co_await resolver.async_resolve(target.host, target.port,
                                                          asio::as_tuple(asio::use_awaitable));
  if (rec) co_return fail("resolve '" + target.host + "'", rec);
  auto [cec, endpoint] =
      co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return fail("connect", cec);

  bhttp::request<bhttp::string_body> request{outgoing.method, target.path, 11};
  request.set(bhttp::field::host, target.host);
  request.set(bhttp::field::accept, "application/json");
  if (outgoing.method == bhttp::verb::post) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = std::string(outgoing.body);
  }
  request.prepare_payload();
  auto [wec, written] =
      co_await bhttp::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return fail("send request", wec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kAnswerBodyLimit);
  auto [rec2, read] =
      co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (rec2) co_return fail("read answer", rec2);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  result = HttpAnswer{parser.get().result_int(), std::move(parser.get().body())};
}

Result<HttpAnswer> Send(std::string_view base_url, std::string_view target, Outgoing outgoing,
                        std::chrono::milliseconds timeout) {
  CANVOY_ASSIGN_OR_RETURN(auto parsed, ParseTarget(base_url, target));
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  std::optional<Result<HttpAnswer>> result;

  // One deadline for every step, resolving included (tcp_stream's own timeout does not cover it).
  asio::steady_timer deadline(io, timeout);
  bool timed_out = false;
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    timed_out = true;
    resolver.cancel();
    stream.cancel();
  });
  asio::co_spawn(io, Exchange(resolver, stream, parsed, outgoing, result),
                 [&](const std::exception_ptr& e) {
    deadline.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      result = Error(Errc::kInternal, ex.what());
    }
  });
  io.run();

  const auto where = std::string(outgoing.method == bhttp::verb::post ? "POST " : "GET ") +
                     std::string(base_url) + std::string(target);
  if (timed_out && (!result || !*result)) {
    return Error(Errc::kUnavailable,
                 where + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (!result)
    return Error(Errc::kInternal, where + ": the request ended without a result");  // not reached
  if (!*result) return result->error().WithContext(where);
  return std::move(*result);
}

}  // namespace

Result<HttpAnswer> HttpGet(std::string_view base_url, std::string_view target,
                           std::chrono::milliseconds timeout) {
  return Send(base_url, target, Outgoing{}, timeout);
}

Result<HttpAnswer> HttpPost(std::string_view base_url, std::string_view target,
                            std::string_view json_body, std::chrono::milliseconds timeout) {
  return Send(base_url, target, Outgoing{bhttp::verb::post, json_body}, timeout);
}

}  // namespace canvoy::fleet_store
