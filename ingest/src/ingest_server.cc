#include "canvoy/ingest/ingest_server.h"

#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "canvoy/common/http_server.h"
#include "canvoy/common/metrics.h"
#include "canvoy/common/net.h"
#include "canvoy/common/tls.h"
#include "catalog_registry.h"
#include "ingest_metrics.h"
#include "kafka_producer.h"
#include "session.h"

namespace canvoy::ingest {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Server final : public IngestServer {
 public:
  Server(IngestOptions options, asio::ssl::context ssl, std::unique_ptr<KafkaProducer> producer)
      : options_(std::move(options)), ssl_(std::make_shared<asio::ssl::context>(std::move(ssl))),
        producer_(std::move(producer)),
        shared_{options_, *producer_, metrics_, catalogs_, [this] { return CurrentContext(); }},
        acceptor_(io_) {}

  ~Server() override {
    Shutdown();
    // Delivery reports of records Kafka never took run now, while the sessions' io_context and
    // the metrics still exist (their posts are never run).
    producer_.reset();
  }

  Status Start() override {
    CANVOY_RETURN_IF_ERROR(net::Listen(acceptor_, options_.listen_address, options_.port, "vehicle listener"));
    port_ = acceptor_.local_endpoint().port();
    http::ServerOptions http_options;
    http_options.address = options_.metrics_address;
    http_options.port = options_.metrics_port;
    CANVOY_ASSIGN_OR_RETURN(metrics_server_,
                            http::Server::Start(io_, http_options, [this](const http::Request& r) {
                              return HandleHttp(r);
                            }));
    asio::co_spawn(io_, Accept(), asio::detached);
    for (unsigned i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { io_.run(); });
    CANVOY_RETURN_IF_ERROR(net::WritePortFile(options_.metrics_port_file, metrics_server_->port()));
    CANVOY_RETURN_IF_ERROR(net::WritePortFile(options_.port_file, port_));
    spdlog::info("msg=\"listening\" port={} metrics_port={} node={}", port_, metrics_server_->port(),
                 options_.node_name);
    return OkStatus();
  }

  std::uint16_t port() const override { return port_; }
  std::uint16_t metrics_port() const override { return metrics_server_ ? metrics_server_->port() : 0; }

  Status ReloadTls() override {
    auto loaded = LoadContext();
    if (!loaded) {
      metrics_.TlsReload("error").Increment();
      spdlog::error("msg=\"TLS reload failed; the current files stay in use\" error=\"{}\"",
                    loaded.error().message());
      return loaded.error();
    }
    std::shared_ptr<asio::ssl::context> next = std::move(loaded).value();
    {
      std::lock_guard lock(ssl_mu_);
      ssl_ = next;
    }
    metrics_.TlsReload("ok").Increment();
    spdlog::info("msg=\"TLS files reloaded\" crl=\"{}\"", options_.crl.string());
    // Open connections stay, except those whose certificate the new CRL revokes.
    for (auto& session : LiveSessions()) session->Recheck(next);
    return OkStatus();
  }

  void Shutdown() override {
    if (threads_.empty()) return;
    spdlog::info("msg=\"shutting down\" node={}", options_.node_name);
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    for (auto& session : LiveSessions()) session->Drain();
    if (auto s = producer_->Flush(std::chrono::seconds(30)); !s) {
      spdlog::warn("msg=\"shutdown flush incomplete\" error=\"{}\"", s.error().message());
    }
    if (metrics_server_) metrics_server_->Stop();
    work_.reset();
    // Sessions close once their acks are written; HTTP keep-alive connections would linger.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(35);
    while (metrics_.connections.Value() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    spdlog::info("msg=\"stopped\" node={}", options_.node_name);
  }

 private:
  // A context from the TLS files as they are now, resuming the current context's tickets.
  Result<std::shared_ptr<asio::ssl::context>> LoadContext() {
    CANVOY_ASSIGN_OR_RETURN(auto ctx, tls::MakeServerContext(options_.tls, options_.crl));
    auto next = std::make_shared<asio::ssl::context>(std::move(ctx));
    CANVOY_RETURN_IF_ERROR(tls::ShareTicketKeys(CurrentContext()->native_handle(), next->native_handle()));
    return next;
  }

  std::shared_ptr<asio::ssl::context> CurrentContext() {
    std::lock_guard lock(ssl_mu_);
    return ssl_;
  }

  asio::awaitable<void> Accept() {
    asio::steady_timer backoff(io_);
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(asio::make_strand(io_), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        // E.g. out of file descriptors: retrying at once would spin.
        spdlog::warn("msg=\"accept failed\" error=\"{}\"", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      // The gauge counts sessions from accept until their destruction, handshakes included.
      if (metrics_.connections.Value() >= static_cast<double>(options_.max_connections)) {
        metrics_.connections_refused.Increment();
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      metrics_.connections_accepted.Increment();
      auto session = std::make_shared<Session>(std::move(socket), CurrentContext(), shared_);
      Track(session);
      session->Start();
    }
  }

  void Track(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(sessions_mu_);
    if (sessions_.size() > 64 && sessions_.size() >= 2 * live_after_prune_) {
      std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      live_after_prune_ = sessions_.size();
    }
    sessions_.push_back(session);
  }

  std::vector<std::shared_ptr<Session>> LiveSessions() {
    std::lock_guard lock(sessions_mu_);
    std::vector<std::shared_ptr<Session>> live;
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    return live;
  }

  http::Response HandleHttp(const http::Request& request) {
    if (request.path == "/metrics") {
      http::Response r;
      r.content_type = metrics::kContentType;
      metrics_.kafka_queue_records.Set(producer_->OutstandingRecords());
      r.body = metrics::Serialize(metrics_.registry());
      return r;
    }
    if (request.path == "/healthz") {
      http::Response r;
      r.body = acceptor_.is_open() ? "{\"status\":\"ok\"}" : "{\"status\":\"draining\"}";
      r.status = acceptor_.is_open() ? 200 : 503;
      return r;
    }
    return http::ErrorResponse(404, "no such path: " + request.path);
  }

  IngestOptions options_;
  std::mutex ssl_mu_;
  std::shared_ptr<asio::ssl::context> ssl_;  // GUARDED_BY(ssl_mu_); new handshakes use it
  std::unique_ptr<KafkaProducer> producer_;
  IngestMetrics metrics_;
  CatalogRegistry catalogs_;
  SessionShared shared_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<http::Server> metrics_server_;
  std::vector<std::thread> threads_;
  std::mutex sessions_mu_;
  std::vector<std::weak_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_)
  std::size_t live_after_prune_ = 0;             // GUARDED_BY(sessions_mu_)
};

}  // namespace

Result<std::unique_ptr<IngestServer>> IngestServer::Create(const IngestOptions& options) {
  CANVOY_RETURN_IF_ERROR(options.Validate());
  CANVOY_ASSIGN_OR_RETURN(auto ssl, tls::MakeServerContext(options.tls, options.crl));
  CANVOY_ASSIGN_OR_RETURN(auto producer, KafkaProducer::Create(options.bootstrap_servers));
  return std::unique_ptr<IngestServer>(new Server(options, std::move(ssl), std::move(producer)));
}

}  // namespace canvoy::ingest
