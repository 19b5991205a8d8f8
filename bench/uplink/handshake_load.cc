#include "uplink/handshake_load.h"

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace canvoy::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kTimeout{10};

// The newest session ticket of each vehicle: a resumed session carries the identity of the
// certificate it was made with, so tickets are never shared between vehicles. Thread-safe.
class SessionStore {
 public:
  explicit SessionStore(std::size_t vehicles) : sessions_(vehicles, nullptr) {}
  ~SessionStore() {
    for (SSL_SESSION* s : sessions_) SSL_SESSION_free(s);
  }
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  // Takes the reference the caller holds.
  void Put(std::size_t vehicle, SSL_SESSION* session) {
    std::lock_guard lock(mu_);
    SSL_SESSION_free(sessions_[vehicle]);
    sessions_[vehicle] = session;
  }
  // Offers the vehicle's ticket on `ssl`, if it has one.
  void Offer(std::size_t vehicle, SSL* ssl) {
    std::lock_guard lock(mu_);
    if (sessions_[vehicle] != nullptr) SSL_set_session(ssl, sessions_[vehicle]);
  }

 private:
  std::mutex mu_;
  std::vector<SSL_SESSION*> sessions_;  // GUARDED_BY(mu_)
};

// Where a connection's new tickets go; lives in the connection's coroutine frame.
struct TicketSlot {
  SessionStore* store;
  std::size_t vehicle;
};

int SlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Keeps a copy, as the agent does: OpenSSL marks the session it passes here not resumable when
// the connection later ends without the peer's close_notify, and ingest closes without one.
int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<TicketSlot*>(SSL_get_ex_data(ssl, SlotIndex()));
  if (slot == nullptr) return 0;
  slot->store->Put(slot->vehicle, SSL_SESSION_dup(session));
  return 0;  // the original stays OpenSSL's
}

class Run {
 public:
  Run(asio::io_context& io, asio::ssl::context& ctx, const VehiclePool& vehicles, const HandshakeOptions& options)
      : io_(io), ctx_(ctx), vehicles_(vehicles), options_(options), store_(vehicles.size()) {}

  // prime: each vehicle once, untimed, to collect tickets. Otherwise until the duration ends.
  void Pass(bool prime) {
    prime_ = prime;
    next_ = 0;
    until_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(options_.duration);
    {
      std::lock_guard lock(mu_);
      workers_left_ = options_.parallel;
    }
    const auto started = Clock::now();
    for (std::size_t i = 0; i < options_.parallel; ++i) {
      asio::co_spawn(asio::make_strand(io_), Worker(), asio::detached);
    }
    std::unique_lock lock(mu_);
    done_.wait(lock, [this] { return workers_left_ == 0; });
    if (!prime) result_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }

  HandshakeResult result() {
    std::lock_guard lock(mu_);
    return result_;
  }

 private:
  asio::awaitable<void> Worker() {
    for (;;) {
      const std::size_t i = next_++;
      if (prime_ ? i >= vehicles_.size() : Clock::now() >= until_) break;
      co_await Connection(i % vehicles_.size());
    }
    std::lock_guard lock(mu_);
    if (--workers_left_ == 0) done_.notify_all();
  }

  asio::awaitable<void> Connection(std::size_t vehicle) {
    TicketSlot slot{&store_, vehicle};  // declared first: outlives the SSL object
    beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, ctx_);
    auto& tcp = beast::get_lowest_layer(stream);
    const auto started = Clock::now();
    tcp.expires_after(kTimeout);
    auto [cec] = co_await tcp.async_connect(options_.ingest, kTuple);
    if (cec) {
      Failed("connect: " + cec.message());
      co_return;
    }
    boost::system::error_code ignored;
    tcp.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    SSL* ssl = stream.native_handle();
    if (auto s = vehicles_.Apply(ssl, vehicle); !s) {
      Failed(s.error().message());
      co_return;
    }
    if (options_.resume) {  // full handshakes keep no tickets
      SSL_set_ex_data(ssl, SlotIndex(), &slot);
      store_.Offer(vehicle, ssl);
    }
    SSL_set_tlsext_host_name(ssl, options_.server_name.c_str());
    stream.set_verify_callback(asio::ssl::host_name_verification(options_.server_name));
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      // As the agent does: a refused ticket is not offered again; the next try is a full handshake.
      if (options_.resume) store_.Put(vehicle, nullptr);
      Failed("handshake: " + hec.message());
      co_return;
    }
    const auto handshake = Clock::now() - started;
    const bool resumed = SSL_session_reused(ssl) == 1;
    // close_notify, then read until ingest closes: that also reads the tickets ingest sent, and
    // an alert if ingest refused the certificate after the client's side of the handshake ended.
    tcp.expires_after(kTimeout);
    auto [sec] = co_await stream.async_shutdown(kTuple);
    tcp.socket().close(ignored);
    if (sec && sec != asio::error::eof && sec != asio::ssl::error::stream_truncated) {
      Failed("close: " + sec.message());
      co_return;
    }
    if (prime_) co_return;
    std::lock_guard lock(mu_);
    ++result_.completed;
    if (resumed) ++result_.resumed;
    result_.handshake_us.push_back(std::chrono::duration<double, std::micro>(handshake).count());
  }

  // Counted in the timed pass; the first reason is kept from either pass.
  void Failed(const std::string& why) {
    std::lock_guard lock(mu_);
    if (!prime_) ++result_.failed;
    if (result_.first_error.empty()) result_.first_error = why;
  }

  asio::io_context& io_;
  asio::ssl::context& ctx_;
  const VehiclePool& vehicles_;
  const HandshakeOptions& options_;
  SessionStore store_;
  bool prime_ = false;  // set before workers start, read by them
  std::atomic<std::size_t> next_{0};
  Clock::time_point until_;
  std::mutex mu_;
  std::condition_variable done_;  // workers_left_ reached 0
  std::size_t workers_left_ = 0;  // GUARDED_BY(mu_)
  HandshakeResult result_;        // GUARDED_BY(mu_)
};

}  // namespace

Result<HandshakeResult> RunHandshakes(asio::io_context& io, const VehiclePool& vehicles,
                                      const HandshakeOptions& options) {
  CANVOY_ASSIGN_OR_RETURN(auto ctx, tls::MakeClientContext(options.tls));
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.native_handle(), &OnNewSession);
  Run run(io, ctx, vehicles, options);
  if (options.resume) run.Pass(true);
  run.Pass(false);
  return run.result();
}

}  // namespace canvoy::bench
