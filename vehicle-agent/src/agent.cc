#include "canvoy/agent/agent.h"

#include <openssl/ssl.h>

#include <limits>
#include <thread>

#include <spdlog/spdlog.h>

#include "canvoy/agent/batch_builder.h"
#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/catalog.h"
#include "canvoy/agent/catalog_file.h"
#include "canvoy/agent/replay_source.h"
#include "canvoy/common/time.h"
#include "collect/collector.h"
#include "spool/disk_spool.h"
#include "spool/memory_spool.h"
#include "uplink/batch_codec.h"
#include "uplink/uplink_client.h"

namespace canvoy::agent {

namespace {

// Every batch the agent seals has this priority for now; the spool evicts lower ones first.
constexpr BatchPriority kBatchPriority = 100;

DiskSpoolOptions SpoolOptionsOf(const AgentOptions& o) {
  return {o.spool_dir, o.spool_max_bytes, o.spool_segment_bytes, o.spool_fsync};
}

}  // namespace

Status AgentOptions::Validate() const {
  if (dbc_files.empty()) return Error(Errc::kInvalidArgument, "--dbc: at least one DBC file is required");
  if (log_file.empty()) return Error(Errc::kInvalidArgument, "--log: required");
  if (batch_max_samples == 0) return Error(Errc::kInvalidArgument, "--batch-max-samples: at least 1");
  if (batch_max_age.count() <= 0) return Error(Errc::kInvalidArgument, "--batch-max-age-ms: at least 1");
  if (ingest_port == 0) return Error(Errc::kInvalidArgument, "--ingest: a port is required");
  if (!name_mapping_file.empty() && !catalog_file.empty()) {
    return Error(Errc::kInvalidArgument, "--names and --catalog: give one (the catalog file has names too)");
  }
  if (!(replay_speed >= 0) || replay_speed == std::numeric_limits<double>::infinity()) {
    return Error(Errc::kInvalidArgument, "--replay-speed: a finite number, 0 or more");
  }
  if (!spool_dir.empty()) CANVOY_RETURN_IF_ERROR(SpoolOptionsOf(*this).Validate());
  return OkStatus();
}

struct Agent::State {
  AgentOptions options;
  boost::asio::io_context* io = nullptr;
  std::unique_ptr<boost::asio::ssl::context> ssl;
  Decoder decoder;
  BuiltCatalog catalog;
  std::unique_ptr<Spool> spool;  // DiskSpool with spool_dir, else MemorySpool
  std::string vin;               // from the vehicle certificate; every batch names it
};

Agent::Agent(std::unique_ptr<State> state) : state_(std::move(state)) {}
Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options, boost::asio::io_context& io) {
  CANVOY_RETURN_IF_ERROR(options.Validate());
  std::vector<DbcDatabase> databases;
  for (const auto& path : options.dbc_files) {
    CANVOY_ASSIGN_OR_RETURN(auto db, ParseDbcFile(path));
    databases.push_back(std::move(db));
  }
  std::optional<NameMapping> mapping;
  if (!options.name_mapping_file.empty()) {
    CANVOY_ASSIGN_OR_RETURN(mapping, NameMapping::LoadFile(options.name_mapping_file));
  }
  BuiltCatalog catalog;
  if (!options.catalog_file.empty()) {
    CANVOY_ASSIGN_OR_RETURN(const CatalogFile file, CatalogFile::LoadFile(options.catalog_file));
    CANVOY_ASSIGN_OR_RETURN(catalog, BuildCatalog(databases, file));
  } else {
    CANVOY_ASSIGN_OR_RETURN(catalog, BuildCatalog(databases, mapping ? &*mapping : nullptr));
  }
  CANVOY_RETURN_IF_ERROR(Collector::Create(catalog.catalog));  // checks the triggers once, up front
  CANVOY_ASSIGN_OR_RETURN(auto decoder, Decoder::Create(std::move(databases)));
  CANVOY_ASSIGN_OR_RETURN(auto ssl, tls::MakeClientContext(options.tls));
  CANVOY_ASSIGN_OR_RETURN(const Vin vin, tls::VinFromCertificate(SSL_CTX_get0_certificate(ssl.native_handle())));
  std::unique_ptr<Spool> spool;
  if (options.spool_dir.empty()) {
    spool = std::make_unique<MemorySpool>();
  } else {
    CANVOY_ASSIGN_OR_RETURN(spool, DiskSpool::Open(SpoolOptionsOf(options)));
  }
  auto state = std::unique_ptr<State>(new State{options, &io,
                                                std::make_unique<boost::asio::ssl::context>(std::move(ssl)),
                                                std::move(decoder), std::move(catalog), std::move(spool), vin.str()});
  return std::unique_ptr<Agent>(new Agent(std::move(state)));
}

namespace {

std::string TypeName(const PhysicalValue& v) {
  switch (v.index()) {
    case 0: return "int64";
    case 1: return "uint64";
    default: return "double";
  }
}

// Collected samples go into the batch and the summary.
class BatchSink : public SampleSink {
 public:
  struct Last {
    bool seen = false;
    std::int64_t timestamp_us = 0;
    PhysicalValue value;
  };

  BatchSink(BatchBuilder& builder, std::size_t max_id, AgentSummary& summary)
      : builder_(builder), last_(max_id + 1), summary_(summary) {}

  Status Emit(SignalId id, std::int64_t t, const PhysicalValue& value) override {
    CANVOY_RETURN_IF_ERROR(builder_.Add(id, t, value));
    ++summary_.samples;
    Last& l = last_[id];
    if (!l.seen || t >= l.timestamp_us) l = {true, t, value};
    return OkStatus();
  }

  const std::vector<Last>& last() const { return last_; }

 private:
  BatchBuilder& builder_;
  std::vector<Last> last_;  // by signal id
  AgentSummary& summary_;
};

}  // namespace

Result<AgentSummary> Agent::Run() {
  const AgentOptions& o = state_->options;
  CANVOY_ASSIGN_OR_RETURN(auto log, CandumpLogReader::Open(o.log_file));
  auto owned_log = std::make_unique<CandumpLogReader>(std::move(log));
  const CandumpLogReader& reader = *owned_log;
  CANVOY_ASSIGN_OR_RETURN(auto source, ReplaySource::Create(std::move(owned_log), ReplayOptions{o.replay_speed}));
  Spool& spool = *state_->spool;
  UplinkOptions uplink_options;
  uplink_options.host = o.ingest_host;
  uplink_options.port = o.ingest_port;
  uplink_options.server_name = o.server_name;
  uplink_options.max_connect_attempts = o.max_connect_attempts;
  auto uplink = std::make_shared<UplinkClient>(*state_->io, *state_->ssl, uplink_options, spool,
                                               state_->catalog.catalog, state_->catalog.hash);
  uplink->Start();

  AgentSummary summary;
  BatchBuilder builder(state_->catalog.catalog);
  DecodedFrame decoded = state_->decoder.MakeFrameBuffer();
  std::size_t max_id = 0;
  for (const auto& desc : state_->catalog.catalog.signals()) max_id = std::max<std::size_t>(max_id, desc.id());
  BatchSink sink(builder, max_id, summary);
  CANVOY_ASSIGN_OR_RETURN(auto collector, Collector::Create(state_->catalog.catalog));
  const std::int64_t base = o.time_base_us != 0 ? o.time_base_us : NowMicros();
  const std::int64_t max_age_us = std::chrono::duration_cast<std::chrono::microseconds>(o.batch_max_age).count();
  std::optional<std::int64_t> first_log_us;
  BatchEncoder encoder(BatchCompression{.enabled = o.compress_batches});
  auto seal = [&]() -> Status {
    const std::uint64_t seq = spool.NextSeq();
    telemetry::v1::Batch batch = builder.Seal(spool.stream_id(), seq, state_->catalog.hash);
    batch.set_vin(state_->vin);
    CANVOY_RETURN_IF_ERROR(spool.Append(seq, encoder.Encode(batch), kBatchPriority));
    summary.spooled.Add(batch);
    ++summary.batches;
    return OkStatus();
  };
  // The uplink holds the spool: every way out of Run stops it first.
  auto stop_uplink = [&] {
    uplink->Stop();
    while (!uplink->finished()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    spool.SetListener(nullptr);
  };

  auto replay = [&]() -> Status {
    CanFrame frame;
    for (;;) {
      CANVOY_ASSIGN_OR_RETURN(const bool more, source.Next(&frame));
      if (!more) break;
      ++summary.frames;
      if (!o.interface.empty() && reader.interfaces()[frame.interface_index] != o.interface) continue;
      if (!first_log_us) first_log_us = frame.timestamp_us;
      const std::int64_t t = base + (frame.timestamp_us - *first_log_us);
      const DecodeOutcome outcome = state_->decoder.Decode(frame, &decoded);
      if (outcome == DecodeOutcome::kUnknownId) ++summary.unknown_ids;
      if (outcome != DecodeOutcome::kDecoded) continue;
      ++summary.decoded_frames;
      for (const DecodedSignal& s : decoded.signals()) {
        const SignalId id = state_->catalog.ids.Find(decoded.message_ref(), s.signal_index);
        if (id == SignalIdMap::kNone) continue;
        CANVOY_RETURN_IF_ERROR(collector.Add(id, t, s.physical, sink));
      }
      if (builder.ShouldSeal(o.batch_max_samples, max_age_us, t)) CANVOY_RETURN_IF_ERROR(seal());
    }
    if (builder.sample_count() > 0) CANVOY_RETURN_IF_ERROR(seal());
    return OkStatus();
  };
  const Status replayed = replay();
  spool.Close();
  if (!replayed) {
    stop_uplink();
    return replayed.error();
  }
  for (const std::uint64_t fired : collector.trigger_counts()) summary.triggers_fired += fired;
  summary.malformed_lines = reader.malformed_lines();
  for (const auto& problem : reader.problems()) spdlog::warn("msg=\"skipped log line\" problem=\"{}\"", problem);
  spdlog::info("msg=\"log replayed\" frames={} decoded_frames={} samples={} batches={} triggers_fired={}",
               summary.frames, summary.decoded_frames, summary.samples, summary.batches, summary.triggers_fired);

  const auto deadline = std::chrono::steady_clock::now() + o.drain_timeout;
  while (!spool.WaitDrained(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)))) {
    if (uplink->finished() || std::chrono::steady_clock::now() >= deadline) break;
  }
  const bool drained = spool.WaitDrained(std::chrono::steady_clock::now());
  stop_uplink();
  const SpoolStats spool_stats = spool.stats();
  summary.spool_evicted_batches = spool_stats.evicted_batches;
  summary.spool_evicted_bytes = spool_stats.evicted_bytes;
  summary.spool_corrupt_bytes_cut = spool_stats.corrupt_bytes_cut;
  summary.batches_acked = uplink->stats().batches_acked;
  summary.batches_rejected = uplink->stats().batches_rejected;
  summary.connects = uplink->stats().connects;
  summary.resumed_connections = uplink->stats().resumed_connections;
  for (const auto& desc : state_->catalog.catalog.signals()) {
    const auto& last = sink.last();
    if (desc.id() >= last.size() || !last[desc.id()].seen) continue;
    const BatchSink::Last& l = last[desc.id()];
    summary.latest.push_back({desc.name(), TypeName(l.value), l.timestamp_us, l.value});
  }
  if (!drained) {
    return Error(uplink->gave_up() ? Errc::kUnavailable : Errc::kIo,
                 std::to_string(spool.size()) + " batches not acknowledged by ingest" +
                     (uplink->gave_up() ? " (gave up connecting)" : " before the drain timeout"));
  }
  return summary;
}

}  // namespace canvoy::agent
