#include "storage/values.h"

#include <bit>

#include "storage/encoding.h"

namespace canvoy::fleet_store::storage {
namespace {

constexpr std::uint8_t kVersion1 = 1;

Error Corrupt(std::string_view what) {
  return Error(Errc::kStorage, "corrupt " + std::string(what) + " value");
}

}  // namespace

std::string EncodeVehicle(const VehicleRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kVersion1));
  AppendBe64(out, record.sample_count);
  AppendBe64(out, record.batch_count);
  AppendOrderedInt64(out, record.last_seen_us);
  return out;
}

Result<VehicleRecord> DecodeVehicle(std::string_view bytes) {
  Reader reader(bytes);
  auto version = reader.Byte();
  auto samples = reader.Be64();
  auto batches = reader.Be64();
  auto last_seen = reader.OrderedInt64();
  if (!version || *version != kVersion1 || !samples || !batches || !last_seen)
    return Corrupt("vehicles");
  return VehicleRecord{*samples, *batches, *last_seen};
}

std::string EncodeLatest(const LatestRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kVersion1));
  out.push_back(static_cast<char>(record.sample.value.index()));
  AppendOrderedInt64(out, record.sample.timestamp_us);
  AppendLengthPrefixed(out, record.unit);
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out.push_back(v ? '\1' : '\0');
        } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) {
          AppendBe64(out, static_cast<std::uint64_t>(v));
        } else if constexpr (std::is_same_v<T, double>) {
          AppendBe64(out, std::bit_cast<std::uint64_t>(v));
        } else {
          out.append(v);
        }
      },
      record.sample.value);
  return out;
}

Result<LatestRecord> DecodeLatest(std::string_view bytes) {
  Reader reader(bytes);
  auto version = reader.Byte();
  auto type = reader.Byte();
  auto timestamp = reader.OrderedInt64();
  auto unit = reader.LengthPrefixed();
  if (!version || *version != kVersion1 || !type || !timestamp || !unit) return Corrupt("latest");
  LatestRecord record{std::string(*unit), Sample{*timestamp, false}};
  switch (*type) {
    case 0: {
      auto b = reader.Byte();
      if (!b || *b > 1) return Corrupt("latest");
      record.sample.value = *b == 1;
      break;
    }
    case 1:
    case 2:
    case 3: {
      auto bits = reader.Be64();
      if (!bits) return Corrupt("latest");
      if (*type == 1) record.sample.value = static_cast<std::int64_t>(*bits);
      if (*type == 2) record.sample.value = *bits;
      if (*type == 3) record.sample.value = std::bit_cast<double>(*bits);
      break;
    }
    case 4:
      record.sample.value = std::string(reader.rest());
      return record;
    default:
      return Corrupt("latest");
  }
  if (!reader.empty()) return Corrupt("latest");
  return record;
}

std::string EncodeOffset(std::int64_t next_offset) {
  std::string out;
  AppendBe64(out, static_cast<std::uint64_t>(next_offset));
  return out;
}

Result<std::int64_t> DecodeOffset(std::string_view bytes) {
  Reader reader(bytes);
  auto v = reader.Be64();
  if (!v || !reader.empty()) return Corrupt("offsets");
  return static_cast<std::int64_t>(*v);
}

namespace {

template <class Repeated>
void AppendSamples(const std::vector<std::int64_t>& times, const Repeated& values,
                   std::vector<Sample>& out) {
  for (int i = 0; i < values.size(); ++i) {
    using T = std::decay_t<decltype(values.Get(i))>;
    if constexpr (std::is_same_v<T, std::string>) {
      out.push_back(Sample{times[static_cast<std::size_t>(i)], values.Get(i)});
    } else {
      out.push_back(Sample{times[static_cast<std::size_t>(i)], SignalValue(values.Get(i))});
    }
  }
}

}  // namespace

std::string EncodeSeries(telemetry::v1::SignalSeries series, std::int64_t first_us) {
  series.clear_signal_id();
  series.set_time_deltas_us(0, first_us);
  return series.SerializeAsString();
}

Result<std::vector<Sample>> DecodeSeries(std::string_view bytes) {
  telemetry::v1::SignalSeries series;
  if (!series.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Corrupt("samples");
  std::vector<std::int64_t> times;
  times.reserve(static_cast<std::size_t>(series.time_deltas_us_size()));
  std::int64_t t = 0;
  for (std::int64_t delta : series.time_deltas_us()) {
    // The write path checked every sum; an overflow here means the bytes are not ours.
    if (__builtin_add_overflow(t, delta, &t)) return Corrupt("samples");
    times.push_back(t);
  }
  using S = telemetry::v1::SignalSeries;
  int count = 0;
  switch (series.values_case()) {
    case S::kBools:
      count = series.bools().values_size();
      break;
    case S::kInt64S:
      count = series.int64s().values_size();
      break;
    case S::kUint64S:
      count = series.uint64s().values_size();
      break;
    case S::kDoubles:
      count = series.doubles().values_size();
      break;
    case S::kStrings:
      count = series.strings().values_size();
      break;
    case S::VALUES_NOT_SET:
      break;
  }
  if (static_cast<std::size_t>(count) != times.size()) return Corrupt("samples");
  std::vector<Sample> out;
  out.reserve(times.size());
  switch (series.values_case()) {
    case S::kBools:
      AppendSamples(times, series.bools().values(), out);
      break;
    case S::kInt64S:
      AppendSamples(times, series.int64s().values(), out);
      break;
    case S::kUint64S:
      AppendSamples(times, series.uint64s().values(), out);
      break;
    case S::kDoubles:
      AppendSamples(times, series.doubles().values(), out);
      break;
    case S::kStrings:
      AppendSamples(times, series.strings().values(), out);
      break;
    case S::VALUES_NOT_SET:
      break;
  }
  return out;
}

std::string EncodeRejected(std::string_view reason, std::string_view record_key,
                           std::string_view record_value) {
  std::string out;
  AppendLengthPrefixed(out, reason);
  AppendLengthPrefixed(out, record_key);
  out.append(record_value);
  return out;
}

Result<std::string> DecodeRejectedReason(std::string_view bytes) {
  Reader reader(bytes);
  auto reason = reader.LengthPrefixed();
  if (!reason) return Corrupt("rejected");
  return std::string(*reason);
}

std::string EncodeBatchMarker(std::int64_t received_time_us) {
  std::string out;
  AppendOrderedInt64(out, received_time_us);
  return out;
}

}  // namespace canvoy::fleet_store::storage
