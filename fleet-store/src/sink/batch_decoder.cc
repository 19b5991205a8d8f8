#include "sink/batch_decoder.h"

#include <unordered_set>

#include "storage/values.h"

namespace canvoy::fleet_store::sink {
namespace {

using telemetry::v1::SignalSeries;
using telemetry::v1::SignalType;

// The protobuf oneof case that carries values of `type`.
SignalSeries::ValuesCase CaseOf(SignalType type) {
  switch (type) {
    case telemetry::v1::SIGNAL_TYPE_BOOL:
      return SignalSeries::kBools;
    case telemetry::v1::SIGNAL_TYPE_INT64:
      return SignalSeries::kInt64S;
    case telemetry::v1::SIGNAL_TYPE_UINT64:
      return SignalSeries::kUint64S;
    case telemetry::v1::SIGNAL_TYPE_DOUBLE:
      return SignalSeries::kDoubles;
    case telemetry::v1::SIGNAL_TYPE_STRING:
      return SignalSeries::kStrings;
    default:
      return SignalSeries::VALUES_NOT_SET;
  }
}

int ValueCount(const SignalSeries& series) {
  switch (series.values_case()) {
    case SignalSeries::kBools:
      return series.bools().values_size();
    case SignalSeries::kInt64S:
      return series.int64s().values_size();
    case SignalSeries::kUint64S:
      return series.uint64s().values_size();
    case SignalSeries::kDoubles:
      return series.doubles().values_size();
    case SignalSeries::kStrings:
      return series.strings().values_size();
    case SignalSeries::VALUES_NOT_SET:
      return 0;
  }
  return 0;
}

SignalValue ValueAt(const SignalSeries& series, int i) {
  switch (series.values_case()) {
    case SignalSeries::kBools:
      return series.bools().values(i);
    case SignalSeries::kInt64S:
      return std::int64_t{series.int64s().values(i)};
    case SignalSeries::kUint64S:
      return std::uint64_t{series.uint64s().values(i)};
    case SignalSeries::kDoubles:
      return series.doubles().values(i);
    case SignalSeries::kStrings:
      return series.strings().values(i);
    case SignalSeries::VALUES_NOT_SET:
      break;
  }
  return false;  // unreachable: callers checked the count first
}

Error SeriesError(int index, const SignalSeries& series, const std::string& what) {
  return Error(Errc::kParse, "series " + std::to_string(index) + " (signal id " +
                                 std::to_string(series.signal_id()) + "): " + what);
}

Result<DecodedSeries> DecodeOne(const DecodedRecord& record, int index,
                                const CatalogIndex& catalog) {
  const SignalSeries& series = record.batch.series(index);
  const SignalInfo* signal = catalog.Find(series.signal_id());
  if (signal == nullptr) return SeriesError(index, series, "not in the batch's catalog");
  if (signal->ambiguous)
    return SeriesError(index, series, "the catalog lists this id more than once");
  if (signal->name.empty() || signal->name.find('\0') != std::string::npos) {
    return SeriesError(index, series, "the catalog's name for it is empty or contains NUL");
  }
  const auto expected = CaseOf(signal->type);
  if (expected == SignalSeries::VALUES_NOT_SET) {
    return SeriesError(index, series, "the catalog gives '" + signal->name + "' no type");
  }
  const int count = series.time_deltas_us_size();
  if (ValueCount(series) != count) {
    return SeriesError(index, series,
                       std::to_string(count) + " timestamps but " +
                           std::to_string(ValueCount(series)) + " values");
  }
  if (count > 0 && series.values_case() != expected) {
    return SeriesError(index, series,
                       "values do not have the catalog's type for '" + signal->name + "'");
  }

  DecodedSeries out;
  out.signal = signal;
  out.sample_count = static_cast<std::size_t>(count);
  std::int64_t t = record.batch.base_time_us();
  std::int64_t newest_t = 0;
  int newest_index = -1;
  out.samples.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (__builtin_add_overflow(t, series.time_deltas_us(i), &t)) {
      return SeriesError(index, series, "timestamp " + std::to_string(i) + " overflows int64");
    }
    if (i == 0) out.first_us = t;
    if (newest_index < 0 || t >= newest_t) {
      newest_t = t;
      newest_index = i;
    }
    out.samples.push_back(Sample{t, ValueAt(series, i)});
  }
  if (count > 0) out.newest = out.samples[static_cast<std::size_t>(newest_index)];
  return out;
}

}  // namespace

std::string DecodedRecord::Describe() const {
  return "vin=" + vin.str() + " stream=" + stream.Hex() + " seq=" + std::to_string(seq);
}

Result<DecodedRecord> DecodeRecord(std::string_view value) {
  telemetry::v1::TelemetryRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Error(Errc::kParse, "value is not a TelemetryRecord");
  }
  auto vin = Vin::Parse(record.vin());
  if (!vin) return vin.error();
  telemetry::v1::Batch batch;
  if (!batch.ParseFromString(record.batch())) {
    return Error(Errc::kParse, "vin=" + record.vin() + ": batch is not a Batch");
  }
  auto stream = StreamId::FromBytes(batch.stream_id());
  if (!stream)
    return stream.error().WithContext("vin=" + record.vin() +
                                      " seq=" + std::to_string(batch.seq()));
  return DecodedRecord{std::move(vin).value(), stream.value(), batch.seq(),
                       record.received_time_us(), std::move(batch)};
}

Result<std::vector<DecodedSeries>> DecodeSeries(const DecodedRecord& record,
                                                const CatalogIndex& catalog) {
  std::vector<DecodedSeries> out;
  out.reserve(static_cast<std::size_t>(record.batch.series_size()));
  std::unordered_set<SignalId> seen;
  for (int i = 0; i < record.batch.series_size(); ++i) {
    const auto& series = record.batch.series(i);
    if (!seen.insert(series.signal_id()).second) {
      return SeriesError(i, series, "the batch has another series of this signal");
    }
    CANVOY_ASSIGN_OR_RETURN(auto decoded, DecodeOne(record, i, catalog));
    if (decoded.sample_count > 0) out.push_back(std::move(decoded));
  }
  return out;
}

}  // namespace canvoy::fleet_store::sink
