// canvoy_uplink_load: a load generator for ingest. Many simulated vehicles, each with its own
// certificate, connect over mutually authenticated TLS 1.3 and speak the uplink protocol as the
// agent does, sending real RAV4 batches. Every connection runs on a small asio thread pool in
// this one process. Prints figures as `key=value` lines; asserts nothing.
//
//   throughput --connections N --seconds S   every connection keeps its window full
//   latency --rate R [--connections N]        R batches/s in total, paced; seal-to-ack percentiles
//   handshakes --seconds S --parallel P       full TLS 1.3 handshakes/s, then resumed ones
//   idle --connections N [--ready-file F]     opens N, holds them until SIGTERM or --hold
//   certs --vehicles N                        issues the missing vehicle certificates, and exits
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "canvoy/common/options.h"
#include "canvoy/common/tls.h"
#include "uplink/handshake_load.h"
#include "uplink/load_connection.h"

namespace {

namespace asio = boost::asio;
namespace po = boost::program_options;
using canvoy::bench::Clock;
using canvoy::bench::LoadShared;
using canvoy::bench::UplinkConnection;
using Connections = std::vector<std::shared_ptr<UplinkConnection>>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
const std::string kCan = CANVOY_SHARED_DATA_DIR "/can";

struct Options {
  std::string mode;
  std::string ingest;  // host:port
  std::string server_name = "localhost";
  std::string pki;
  std::size_t vehicles = 0;  // 0: one per connection (handshakes: 1000)
  std::string dbc = kCan + "/dbc/opendbc_toyota_new_mc_pt_generated.dbc";
  std::string log = kCan + "/logs/comma2k19_rav4_2017_seg40_can0_pt.log";
  std::string compression = "zstd";
  unsigned threads = 2;
  std::size_t connections = 0;  // 0: 1000 (idle: 10000)
  double seconds = 0;           // 0: the mode's default
  double warmup = 1;
  double rate = 0;
  std::size_t parallel = 16;       // handshakes in progress at once (handshakes mode)
  std::size_t open_parallel = 64;  // connections being opened at once (other modes)
  std::uint32_t window = 32;
  double hold = 600;
  std::string ready_file;
  int ingest_pid = 0;  // when set, ingest's CPU time over the measurement is reported too
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "canvoy_uplink_load: " << what << "\n";
  std::exit(1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds that process `pid` used so far (utime + stime of /proc/PID/stat), or 0.
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Ten thousand connections need more descriptors than a default soft limit allows.
rlim_t RaiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

void SleepFor(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

std::string FailureSummary(LoadShared& shared) {
  std::string text;
  for (const auto& [stage, count] : shared.Failures()) {
    text += (text.empty() ? "" : ",") + stage + ":" + std::to_string(count);
  }
  return text.empty() ? "none" : text;
}

void PrintFirstError(LoadShared& shared) {
  const std::string first = shared.FirstError();
  if (!first.empty()) std::cout << "first_error=\"" << first << "\"\n";
}

// Opens connections [0, n), `parallel` at a time; the first one alone, so that exactly one
// uploads the catalog. Returns the ones that opened.
Connections OpenAll(asio::io_context& io, LoadShared& shared, std::size_t n, std::size_t parallel) {
  Connections all;
  for (std::size_t i = 0; i < n; ++i) all.push_back(std::make_shared<UplinkConnection>(io, shared, i));
  std::vector<char> opened(n, 0);
  std::atomic<std::size_t> next{0};
  auto run_workers = [&](std::size_t workers, std::size_t end) {
    std::latch done(static_cast<std::ptrdiff_t>(workers));
    for (std::size_t w = 0; w < workers; ++w) {
      asio::co_spawn(asio::make_strand(io), [&]() -> asio::awaitable<void> {
        for (std::size_t i = next++; i < end; i = next++) {
          auto c = all[i];
          opened[i] = co_await asio::co_spawn(c->executor(), c->Open(), asio::use_awaitable) ? 1 : 0;
        }
        done.count_down();
      }, asio::detached);
    }
    done.wait();
  };
  run_workers(1, std::min<std::size_t>(n, 1));
  next = 1;  // the first worker took index 1 on its way out
  run_workers(std::max<std::size_t>(1, std::min(parallel, n)), n);
  Connections open;
  for (std::size_t i = 0; i < n; ++i) {
    if (opened[i]) open.push_back(all[i]);
  }
  return open;
}

// Waits until `done` or `max_s` passed; returns the seconds waited.
template <class Done>
double WaitUntil(Done done, double max_s) {
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_s));
  while (!done() && Clock::now() < until) SleepFor(0.05);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Stops sending, waits (bounded) for what is in flight, closes everything. Returns the seconds
// the in-flight batches took to be acked: the next run starts with ingest's queues empty.
double Finish(LoadShared& shared, const Connections& conns, double max_wait_s) {
  shared.stopping = true;
  const double drain_s = WaitUntil([&] { return shared.counters.in_flight.load() <= 0; }, max_wait_s);
  for (const auto& c : conns) c->Close();
  SleepFor(0.2);
  return drain_s;
}

void RunThroughput(asio::io_context& io, LoadShared& shared, const Options& o) {
  const auto opening = Clock::now();
  const Connections conns = OpenAll(io, shared, o.connections, o.open_parallel);
  const double open_s = std::chrono::duration<double>(Clock::now() - opening).count();
  if (conns.empty()) Die("no connection opened: " + shared.FirstError());
  auto& k = shared.counters;
  for (const auto& c : conns) c->StartStreaming(UplinkConnection::Pace::kFlatOut);
  // Measured only once every window is (nearly) full: while the generator fills them, it encodes
  // batches as fast as it can and takes CPU that ingest shares.
  const double fill_s = WaitUntil([&] { return 10 * k.in_flight.load() >= 9 * static_cast<std::int64_t>(k.window_slots.load()); }, 60);
  SleepFor(o.warmup);
  const std::uint64_t b0 = k.batches_acked, s0 = k.signals_acked, sent0 = k.batches_sent, bytes0 = k.bytes_sent;
  const double cpu0 = CpuSeconds(), ingest_cpu0 = ProcessCpuSeconds(o.ingest_pid);
  const auto t0 = Clock::now();
  SleepFor(o.seconds);
  const std::uint64_t b1 = k.batches_acked, s1 = k.signals_acked, sent1 = k.batches_sent, bytes1 = k.bytes_sent;
  const double cpu1 = CpuSeconds(), ingest_cpu1 = ProcessCpuSeconds(o.ingest_pid);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::uint64_t open_at_end = k.connections_open;
  const double drain_s = Finish(shared, conns, 120);
  const double batches = static_cast<double>(b1 - b0);
  std::printf("throughput connections=%zu open_at_end=%llu compression=%s seconds=%.1f batches_acked_per_s=%.0f "
              "signals_acked_per_s=%.0f batches_sent_per_s=%.0f wire_mb_per_s=%.2f mean_frame_bytes=%.0f "
              "rejected=%llu failures=%s open_seconds=%.1f fill_seconds=%.1f drain_seconds=%.1f loadgen_cpu_cores=%.2f "
              "ingest_cpu_cores=%.2f\n",
              conns.size(), static_cast<unsigned long long>(open_at_end), o.compression.c_str(), wall, batches / wall,
              static_cast<double>(s1 - s0) / wall, static_cast<double>(sent1 - sent0) / wall,
              static_cast<double>(bytes1 - bytes0) / wall / 1e6,
              sent1 > sent0 ? static_cast<double>(bytes1 - bytes0) / static_cast<double>(sent1 - sent0) : 0.0,
              static_cast<unsigned long long>(k.batches_rejected.load()), FailureSummary(shared).c_str(), open_s, fill_s,
              drain_s, (cpu1 - cpu0) / wall, (ingest_cpu1 - ingest_cpu0) / wall);
  PrintFirstError(shared);
}

// Hands batch k to connection k % n at start + k / rate; records those sealed after the warmup.
asio::awaitable<void> Pace(const Connections& conns, double rate, double warmup_s, double seconds) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto start = Clock::now();
  auto at = [&](double s) { return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  const auto record_from = at(warmup_s);
  const auto end = at(warmup_s + seconds);
  for (std::uint64_t k = 0;; ++k) {
    const auto due = at(static_cast<double>(k) / rate);
    if (due >= end) break;
    if (Clock::now() < due) {
      timer.expires_at(due);
      co_await timer.async_wait(kTuple);
    }
    conns[k % conns.size()]->Seal(due >= record_from);
  }
}

void RunLatency(asio::io_context& io, LoadShared& shared, const Options& o) {
  const Connections conns = OpenAll(io, shared, o.connections, o.open_parallel);
  if (conns.empty()) Die("no connection opened: " + shared.FirstError());
  for (const auto& c : conns) c->StartStreaming(UplinkConnection::Pace::kPaced);
  std::latch paced(1);
  const std::uint64_t acked0 = shared.counters.batches_acked;
  const double ingest_cpu0 = ProcessCpuSeconds(o.ingest_pid);
  const auto t0 = Clock::now();
  asio::co_spawn(asio::make_strand(io), [&]() -> asio::awaitable<void> {
    co_await Pace(conns, o.rate, o.warmup, o.seconds);
    paced.count_down();
  }, asio::detached);
  paced.wait();
  const double ingest_cpu = ProcessCpuSeconds(o.ingest_pid) - ingest_cpu0;
  const double paced_s = std::chrono::duration<double>(Clock::now() - t0).count();
  Finish(shared, conns, 15);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> us = shared.TakeLatenciesUs();
  std::sort(us.begin(), us.end());
  std::printf("latency rate=%.0f connections=%zu compression=%s seconds=%.1f recorded=%zu acked_per_s=%.0f "
              "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f rejected=%llu failures=%s ingest_cpu_cores=%.2f\n",
              o.rate, conns.size(), o.compression.c_str(), o.seconds, us.size(),
              static_cast<double>(shared.counters.batches_acked - acked0) / wall, Percentile(us, 0.5) / 1e3,
              Percentile(us, 0.9) / 1e3, Percentile(us, 0.99) / 1e3, us.empty() ? 0.0 : us.back() / 1e3,
              static_cast<unsigned long long>(shared.counters.batches_rejected.load()), FailureSummary(shared).c_str(),
              ingest_cpu / paced_s);
  PrintFirstError(shared);
}

void RunHandshakesMode(asio::io_context& io, const canvoy::bench::VehiclePool& vehicles, const Options& o,
                   const asio::ip::tcp::endpoint& ingest) {
  for (const bool resume : {false, true}) {
    canvoy::bench::HandshakeOptions h;
    h.ingest = ingest;
    h.server_name = o.server_name;
    const std::string first = (std::filesystem::path(o.pki) / "vehicles" / vehicles.vin(0)).string();
    h.tls = {std::filesystem::path(o.pki) / "ca.crt", first + ".crt", first + ".key"};
    h.parallel = o.parallel;
    h.duration = std::chrono::duration<double>(o.seconds);
    h.resume = resume;
    auto r = canvoy::bench::RunHandshakes(io, vehicles, h);
    if (!r) Die(r.error().message());
    auto& res = r.value();
    std::sort(res.handshake_us.begin(), res.handshake_us.end());
    std::printf("handshakes kind=%s parallel=%zu seconds=%.1f per_s=%.0f resumed=%llu failed=%llu "
                "handshake_p50_ms=%.2f handshake_p99_ms=%.2f\n",
                resume ? "resumed" : "full", o.parallel, res.seconds,
                res.seconds > 0 ? static_cast<double>(res.completed) / res.seconds : 0.0,
                static_cast<unsigned long long>(res.resumed), static_cast<unsigned long long>(res.failed),
                Percentile(res.handshake_us, 0.5) / 1e3, Percentile(res.handshake_us, 0.99) / 1e3);
    if (!res.first_error.empty()) std::printf("first_error=\"%s\"\n", res.first_error.c_str());
    std::fflush(stdout);
  }
}

void RunIdle(asio::io_context& io, LoadShared& shared, const Options& o, const sigset_t& signals) {
  const auto opening = Clock::now();
  const Connections conns = OpenAll(io, shared, o.connections, o.open_parallel);
  const double open_s = std::chrono::duration<double>(Clock::now() - opening).count();
  for (const auto& c : conns) c->StartHolding();
  SleepFor(0.2);
  std::printf("idle attempted=%zu opened=%zu open_now=%llu open_seconds=%.1f failures=%s\n", o.connections,
              conns.size(), static_cast<unsigned long long>(shared.counters.connections_open.load()), open_s,
              FailureSummary(shared).c_str());
  PrintFirstError(shared);
  std::fflush(stdout);
  if (!o.ready_file.empty()) std::ofstream(o.ready_file) << shared.counters.connections_open.load() << "\n";
  timespec hold{static_cast<time_t>(o.hold), 0};
  sigtimedwait(&signals, nullptr, &hold);
  std::printf("idle open_at_end=%llu\n", static_cast<unsigned long long>(shared.counters.connections_open.load()));
  for (const auto& c : conns) c->Close();
  SleepFor(0.2);
}

Options Parse(int argc, char** argv) {
  Options o;
  if (argc < 2 || argv[1][0] == '-') Die("usage: canvoy_uplink_load throughput|latency|handshakes|idle|certs [options] (MODE --help)");
  o.mode = argv[1];
  po::options_description desc("Options");
  canvoy::AddCommonOptions(desc);
  desc.add_options()
      ("ingest", po::value(&o.ingest), "ingest address HOST:PORT (every mode but certs)")
      ("server-name", po::value(&o.server_name)->default_value(o.server_name), "name in ingest's certificate")
      ("pki", po::value(&o.pki)->required(), "PKI dir with ca.crt and ca.key; vehicle certificates are cached in it")
      ("vehicles", po::value(&o.vehicles)->default_value(0), "vehicle certificates to use (0: one per connection; handshakes: 1000)")
      ("dbc", po::value(&o.dbc)->default_value(o.dbc), "DBC file")
      ("log", po::value(&o.log)->default_value(o.log), "candump log the batches are made from")
      ("compression", po::value(&o.compression)->default_value(o.compression), "zstd or none")
      ("threads", po::value(&o.threads)->default_value(o.threads), "io threads")
      ("connections", po::value(&o.connections)->default_value(0), "connections (0: 1000; idle: 10000)")
      ("seconds", po::value(&o.seconds)->default_value(0), "measured duration (0: 20; latency 15; handshakes 10 per kind)")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "seconds before measuring (throughput, latency)")
      ("rate", po::value(&o.rate)->default_value(0), "latency: batches per second in total")
      ("parallel", po::value(&o.parallel)->default_value(o.parallel), "handshakes: connections in progress at once")
      ("open-parallel", po::value(&o.open_parallel)->default_value(o.open_parallel), "connections opened at once")
      ("window", po::value(&o.window)->default_value(o.window), "most unacked batches per connection (ingest's limit, if lower, wins)")
      ("hold", po::value(&o.hold)->default_value(o.hold), "idle: seconds to hold the connections (SIGTERM ends sooner)")
      ("ready-file", po::value(&o.ready_file), "idle: written once every connection is open")
      ("ingest-pid", po::value(&o.ingest_pid)->default_value(0), "ingest's pid, to report its CPU use (throughput, latency)");
  po::variables_map vm;
  auto parsed = canvoy::ParseOptions(argc - 1, argv + 1, desc, vm, "usage: canvoy_uplink_load MODE --ingest HOST:PORT --pki DIR [options]");
  if (!parsed) Die(parsed.error().message());
  if (parsed.value() == canvoy::ParseOutcome::kHelpShown) std::exit(0);
  if (o.mode != "throughput" && o.mode != "latency" && o.mode != "handshakes" && o.mode != "idle" && o.mode != "certs") {
    Die("unknown mode '" + o.mode + "'");
  }
  if (o.mode != "certs" && o.ingest.empty()) Die("--ingest: required");
  if (o.compression != "zstd" && o.compression != "none") Die("--compression: zstd or none");
  if (o.mode == "latency" && o.rate <= 0) Die("latency: --rate must be positive");
  if (o.connections == 0) o.connections = o.mode == "idle" ? 10000 : 1000;
  if (o.seconds == 0) o.seconds = o.mode == "latency" ? 15 : o.mode == "handshakes" ? 10 : 20;
  if (o.vehicles == 0) o.vehicles = o.mode == "handshakes" ? 1000 : o.connections;
  if (o.threads == 0 || o.parallel == 0 || o.open_parallel == 0 || o.window == 0) Die("--threads, --parallel, --open-parallel, --window: at least 1");
  return o;
}

asio::ip::tcp::endpoint ParseEndpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) Die("--ingest '" + text + "': HOST:PORT");
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(text.substr(0, colon), ec);
  if (ec) Die("--ingest '" + text + "': the host must be an IP address");
  return {address, static_cast<unsigned short>(std::stoul(text.substr(colon + 1)))};
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const auto ingest = o.mode == "certs" ? asio::ip::tcp::endpoint() : ParseEndpoint(o.ingest);
  const rlim_t files = RaiseFileLimit();
  if (o.mode == "idle" && files < o.connections + 100) {
    std::cerr << "canvoy_uplink_load: warning: the descriptor limit is " << files << "\n";
  }
  // Only idle waits for signals; they are blocked before any thread starts so sigtimedwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (o.mode == "idle") pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::size_t issued = 0;
  const auto prepared = Clock::now();
  auto vehicles = canvoy::bench::VehiclePool::Load(o.pki, o.vehicles, &issued);
  if (!vehicles) Die(vehicles.error().message());
  if (o.mode == "certs") {
    std::printf("certs vehicles=%zu issued=%zu seconds=%.1f\n", vehicles.value().size(), issued,
                std::chrono::duration<double>(Clock::now() - prepared).count());
    return 0;
  }
  auto templates = canvoy::bench::BatchTemplates::Load(o.dbc, o.log);
  if (!templates) Die(templates.error().message());
  std::printf("setup vehicles=%zu issued=%zu batch_templates=%zu mean_samples_per_batch=%.0f seconds=%.1f nofile=%llu\n",
              vehicles.value().size(), issued, templates.value().size(), templates.value().mean_samples(),
              std::chrono::duration<double>(Clock::now() - prepared).count(), static_cast<unsigned long long>(files));
  std::fflush(stdout);

  const std::string first = (std::filesystem::path(o.pki) / "vehicles" / vehicles.value().vin(0)).string();
  auto ssl = canvoy::tls::MakeClientContext({std::filesystem::path(o.pki) / "ca.crt", first + ".crt", first + ".key"});
  if (!ssl) Die(ssl.error().message());
  SSL_CTX_set_mode(ssl.value().native_handle(), SSL_MODE_RELEASE_BUFFERS);  // idle connections hold no buffers

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  LoadShared shared(ssl.value(), vehicles.value(), templates.value());
  shared.ingest = ingest;
  shared.server_name = o.server_name;
  shared.max_window = o.window;
  shared.zstd = o.compression == "zstd";
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });

  if (o.mode == "throughput") RunThroughput(io, shared, o);
  if (o.mode == "latency") RunLatency(io, shared, o);
  if (o.mode == "handshakes") RunHandshakesMode(io, vehicles.value(), o, ingest);
  if (o.mode == "idle") RunIdle(io, shared, o, signals);
  std::fflush(stdout);

  work.reset();
  io.stop();
  for (auto& t : threads) t.join();
  return 0;
}
