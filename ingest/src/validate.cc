#include "validate.h"

namespace canvoy::ingest {
namespace {

using telemetry::v1::SignalSeries;

std::size_t ValueCount(const SignalSeries& s) {
  switch (s.values_case()) {
    case SignalSeries::kBools: return static_cast<std::size_t>(s.bools().values_size());
    case SignalSeries::kInt64S: return static_cast<std::size_t>(s.int64s().values_size());
    case SignalSeries::kUint64S: return static_cast<std::size_t>(s.uint64s().values_size());
    case SignalSeries::kDoubles: return static_cast<std::size_t>(s.doubles().values_size());
    case SignalSeries::kStrings: return static_cast<std::size_t>(s.strings().values_size());
    case SignalSeries::VALUES_NOT_SET: return 0;
  }
  return 0;
}

Error Reject(Rejection* r, std::string reason, std::string message) {
  r->reason = std::move(reason);
  r->message = std::move(message);
  return Error(Errc::kRejected, r->message);
}

}  // namespace

std::string Printable(std::string_view text, std::size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

Result<std::size_t> ValidateBatch(const telemetry::v1::Batch& batch, const Connection& connection,
                                  const BatchLimits& limits, Rejection* rejection) {
  const std::string where = "batch seq " + std::to_string(batch.seq());
  if (batch.vin().empty()) {
    return Reject(rejection, "vin", where + ": no vin; it must be the certificate's, " + connection.vin.str());
  }
  if (batch.vin() != connection.vin.str()) {
    return Reject(rejection, "vin", where + ": vin '" + Printable(batch.vin()) + "' is not the certificate's, " +
                                        connection.vin.str());
  }
  if (batch.stream_id() != connection.stream_id) {
    return Reject(rejection, "stream", where + ": stream id differs from the connection's hello");
  }
  if (batch.seq() == 0) return Reject(rejection, "seq", "batch: seq must be at least 1");
  if (batch.catalog_hash() != connection.catalog_hash) {
    return Reject(rejection, "catalog", where + ": catalog hash differs from the connection's hello");
  }
  if (batch.series_size() == 0) return Reject(rejection, "shape", where + ": no series");
  std::size_t samples = 0;
  const std::int64_t oldest = limits.now_us - limits.max_age_us;
  const std::int64_t newest = limits.now_us + limits.max_skew_us;
  for (int i = 0; i < batch.series_size(); ++i) {
    const SignalSeries& s = batch.series(i);
    const std::string series = where + ", series " + std::to_string(i) + " (signal " +
                               std::to_string(s.signal_id()) + ")";
    const std::size_t n = static_cast<std::size_t>(s.time_deltas_us_size());
    if (n == 0) return Reject(rejection, "shape", series + ": no samples");
    if (ValueCount(s) != n) {
      return Reject(rejection, "shape", series + ": " + std::to_string(n) + " timestamps but " +
                                            std::to_string(ValueCount(s)) + " values");
    }
    std::int64_t t = batch.base_time_us();
    for (std::size_t k = 0; k < n; ++k) {
      const std::int64_t d = s.time_deltas_us(static_cast<int>(k));
      if (__builtin_add_overflow(t, d, &t) || t < oldest || t > newest) {
        return Reject(rejection, "time", series + ", sample " + std::to_string(k) +
                                             ": timestamp outside the accepted window");
      }
    }
    samples += n;
    if (samples > limits.max_samples) {
      return Reject(rejection, "size", where + ": more than " + std::to_string(limits.max_samples) +
                                           " samples");
    }
  }
  return samples;
}

}  // namespace canvoy::ingest
