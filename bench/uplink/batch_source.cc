#include "uplink/batch_source.h"

#include <algorithm>
#include <cstdio>

#include "canvoy/agent/batch_builder.h"
#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/catalog.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/common/ids.h"
#include "uplink/batch_codec.h"

namespace canvoy::bench {
namespace {

// The agent's defaults (AgentOptions::batch_max_samples, batch_max_age).
constexpr std::size_t kBatchMaxSamples = 5000;
constexpr std::int64_t kBatchMaxAgeUs = 1'000'000;

// Newest sample time relative to base_time_us, and the sample count.
void Measure(BatchTemplate* t) {
  t->span_us = 0;
  t->samples = 0;
  for (const auto& series : t->batch.series()) {
    std::int64_t time = 0;
    for (const std::int64_t delta : series.time_deltas_us()) {
      time += delta;
      t->span_us = std::max(t->span_us, time);
    }
    t->samples += static_cast<std::size_t>(series.time_deltas_us_size());
  }
}

void AppendVarint(std::uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace

std::string BenchVin(std::size_t index) {
  char text[32];
  std::snprintf(text, sizeof(text), "CNVYB%012zu", index);
  return text;
}

Result<BatchTemplates> BatchTemplates::Load(const std::string& dbc_file, const std::string& log_file) {
  CANVOY_ASSIGN_OR_RETURN(auto db, agent::ParseDbcFile(dbc_file));
  std::vector<agent::DbcDatabase> dbs;
  dbs.push_back(std::move(db));
  CANVOY_ASSIGN_OR_RETURN(auto built, agent::BuildCatalog(dbs));
  CANVOY_ASSIGN_OR_RETURN(auto decoder, agent::Decoder::Create(std::move(dbs)));
  CANVOY_ASSIGN_OR_RETURN(auto reader, agent::CandumpLogReader::Open(log_file));

  BatchTemplates out;
  out.catalog_ = built.catalog;
  out.catalog_hash_ = built.hash;
  agent::BatchBuilder builder(built.catalog);
  agent::DecodedFrame decoded = decoder.MakeFrameBuffer();
  agent::CanFrame frame;
  const auto no_stream = StreamId::Random();  // replaced by every stamp
  for (;;) {
    CANVOY_ASSIGN_OR_RETURN(const bool more, reader.Next(&frame));
    if (!more) break;
    if (decoder.Decode(frame, &decoded) != agent::DecodeOutcome::kDecoded) continue;
    for (const agent::DecodedSignal& s : decoded.signals()) {
      const SignalId id = built.ids.Find(decoded.message_ref(), s.signal_index);
      if (id == agent::SignalIdMap::kNone) continue;
      CANVOY_RETURN_IF_ERROR(builder.Add(id, frame.timestamp_us, s.physical));
    }
    if (builder.ShouldSeal(kBatchMaxSamples, kBatchMaxAgeUs, frame.timestamp_us)) {
      BatchTemplate t;
      t.batch = builder.Seal(no_stream, 1, built.hash);
      Measure(&t);
      out.templates_.push_back(std::move(t));
    }
  }
  // The last, partial batch is left out: every template is a full second or 5,000 samples.
  if (out.templates_.empty()) {
    return Error(Errc::kInvalidArgument, "log '" + log_file + "': no batch could be built from it");
  }
  return out;
}

double BatchTemplates::mean_samples() const {
  double total = 0;
  for (const auto& t : templates_) total += static_cast<double>(t.samples);
  return total / static_cast<double>(templates_.size());
}

BatchStamper::BatchStamper(const BatchTemplates& templates, bool zstd)
    : templates_(templates), catalog_hash_(templates.catalog_hash()) {
  batches_.reserve(templates.size());
  for (std::size_t i = 0; i < templates.size(); ++i) batches_.push_back(templates.at(i).batch);
  agent::BatchCompression compression;
  compression.enabled = zstd;
  encoder_ = std::make_unique<agent::BatchEncoder>(compression);
}

BatchStamper::~BatchStamper() = default;

const telemetry::v1::Batch& BatchStamper::Stamp(std::size_t index, const BatchIdentity& identity) {
  const std::size_t i = index % batches_.size();
  telemetry::v1::Batch& batch = batches_[i];
  batch.set_stream_id(identity.stream_id.data(), identity.stream_id.size());
  batch.set_seq(identity.seq);
  batch.set_catalog_hash(catalog_hash_);
  batch.set_base_time_us(identity.now_us - templates_.at(i).span_us);
  batch.set_vin(identity.vin.data(), identity.vin.size());
  return batch;
}

void BatchStamper::AppendWireFrame(std::size_t index, const BatchIdentity& identity, std::string* wire) {
  // What the agent sends: the BatchFrame its encoder made at seal time, as AgentFrame.batch
  // (field 3, length-delimited), behind the 4-byte big-endian frame length.
  const std::string frame = encoder_->Encode(Stamp(index, identity));
  std::string field;
  field.push_back(static_cast<char>((3 << 3) | 2));
  AppendVarint(frame.size(), &field);
  const std::uint32_t size = static_cast<std::uint32_t>(field.size() + frame.size());
  const char header[4] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                          static_cast<char>(size >> 8), static_cast<char>(size)};
  wire->append(header, 4);
  wire->append(field);
  wire->append(frame);
}

}  // namespace canvoy::bench
