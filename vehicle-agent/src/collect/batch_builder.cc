#include "canvoy/agent/batch_builder.h"

#include <string>

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;

// Catalog ids are small (1..N); ids beyond this are treated as not in the catalog rather than
// sizing tables by them.
constexpr SignalId kMaxSignalId = 1U << 24;

bool Matches(tv1::SignalType type, const PhysicalValue& value) {
  switch (type) {
    case tv1::SIGNAL_TYPE_INT64:
      return std::holds_alternative<std::int64_t>(value);
    case tv1::SIGNAL_TYPE_UINT64:
      return std::holds_alternative<std::uint64_t>(value);
    case tv1::SIGNAL_TYPE_DOUBLE:
      return std::holds_alternative<double>(value);
    default:
      return false;
  }
}

void Append(tv1::SignalSeries* series, const PhysicalValue& value) {
  switch (value.index()) {
    case 0:
      series->mutable_int64s()->add_values(std::get<std::int64_t>(value));
      break;
    case 1:
      series->mutable_uint64s()->add_values(std::get<std::uint64_t>(value));
      break;
    default:
      series->mutable_doubles()->add_values(std::get<double>(value));
      break;
  }
}

}  // namespace

BatchBuilder::BatchBuilder(const tv1::Catalog& catalog) {
  SignalId max_id = 0;
  for (const auto& signal : catalog.signals()) {
    if (signal.id() < kMaxSignalId) max_id = std::max(max_id, signal.id());
  }
  types_.assign(max_id + 1, tv1::SIGNAL_TYPE_UNSPECIFIED);
  series_.assign(max_id + 1, SeriesState{});
  for (const auto& signal : catalog.signals()) {
    if (signal.id() < kMaxSignalId) types_[signal.id()] = signal.type();
  }
}

Status BatchBuilder::Add(SignalId id, std::int64_t timestamp_us, const PhysicalValue& value) {
  if (id >= types_.size() || types_[id] == tv1::SIGNAL_TYPE_UNSPECIFIED) {
    return Error(Errc::kInvalidArgument,
                 "signal id " + std::to_string(id) + " is not in the catalog");
  }
  if (!Matches(types_[id], value)) {
    return Error(Errc::kInvalidArgument, "signal id " + std::to_string(id) + " is " +
                                             tv1::SignalType_Name(types_[id]) +
                                             " in the catalog, the value is not");
  }
  if (sample_count_ == 0) batch_.set_base_time_us(timestamp_us);
  SeriesState& state = series_[id];
  tv1::SignalSeries* series = nullptr;
  std::int64_t previous = 0;
  if (state.position < 0) {
    state.position = batch_.series_size();
    series = batch_.add_series();
    series->set_signal_id(id);
    touched_.push_back(id);
    previous = batch_.base_time_us();
  } else {
    series = batch_.mutable_series(state.position);
    previous = state.last_time_us;
  }
  series->add_time_deltas_us(timestamp_us - previous);
  Append(series, value);
  state.last_time_us = timestamp_us;
  ++sample_count_;
  return OkStatus();
}

bool BatchBuilder::ShouldSeal(std::size_t max_samples, std::int64_t max_age_us,
                              std::int64_t now_us) const {
  if (sample_count_ == 0) return false;
  return sample_count_ >= max_samples || now_us - batch_.base_time_us() >= max_age_us;
}

tv1::Batch BatchBuilder::Seal(const StreamId& stream_id, std::uint64_t seq,
                              std::string_view catalog_hash) {
  tv1::Batch sealed = std::move(batch_);
  batch_ = tv1::Batch();
  sealed.set_stream_id(std::string(stream_id.bytes()));
  sealed.set_seq(seq);
  sealed.set_catalog_hash(std::string(catalog_hash));
  for (const SignalId id : touched_) series_[id] = SeriesState{};
  touched_.clear();
  sample_count_ = 0;
  return sealed;
}

}  // namespace canvoy::agent
