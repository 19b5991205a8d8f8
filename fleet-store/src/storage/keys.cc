#include "storage/keys.h"

#include <limits>

#include "storage/encoding.h"

namespace canvoy::fleet_store::storage {

std::string DedupKey(const Vin& vin, const StreamId& stream) {
  std::string key;
  key.reserve(Vin::kLength + StreamId::kSize);
  key.append(vin.str());
  key.append(stream.bytes());
  return key;
}

std::string SeriesPrefix(const Vin& vin, std::string_view signal) {
  std::string key;
  key.reserve(Vin::kLength + signal.size() + 2 + 8);
  key.append(vin.str());
  key.push_back('\0');
  key.append(signal);
  key.push_back('\0');
  return key;
}

std::string SeriesKey(const Vin& vin, std::string_view signal, std::int64_t span_start_us) {
  std::string key = SeriesPrefix(vin, signal);
  AppendOrderedInt64(key, span_start_us);
  return key;
}

std::optional<std::int64_t> SeriesKeyStart(std::string_view key) {
  if (key.size() < Vin::kLength + 2 + 8) return std::nullopt;
  return Reader(key.substr(key.size() - 8)).OrderedInt64();
}

std::int64_t FloorTo(std::int64_t t, std::int64_t width) {
  std::int64_t q = t / width;
  if (t % width != 0 && t < 0) --q;
  std::int64_t out = 0;
  if (__builtin_mul_overflow(q, width, &out)) return std::numeric_limits<std::int64_t>::min();
  return out;
}

std::string AttributeKey(const Vin& vin) { return vin.str(); }

std::string LatestPrefix(const Vin& vin) {
  std::string key(vin.str());
  key.push_back('\0');
  return key;
}

std::string LatestKey(const Vin& vin, std::string_view signal) {
  std::string key = LatestPrefix(vin);
  key.append(signal);
  return key;
}

std::string VehicleKey(const Vin& vin) { return vin.str(); }

std::string OffsetKey(std::string_view topic, std::int32_t partition) {
  std::string key(topic);
  key.push_back('\0');
  AppendBe32(key, static_cast<std::uint32_t>(partition));
  return key;
}

std::optional<OffsetKeyParts> ParseOffsetKey(std::string_view key) {
  const auto nul = key.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  Reader reader(key.substr(nul + 1));
  auto partition = reader.Be32();
  if (!partition || !reader.empty()) return std::nullopt;
  return OffsetKeyParts{std::string(key.substr(0, nul)), static_cast<std::int32_t>(*partition)};
}

std::string RejectedKey(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  std::string key = OffsetKey(topic, partition);
  AppendBe64(key, static_cast<std::uint64_t>(offset));
  return key;
}

std::optional<RejectedKeyParts> ParseRejectedKey(std::string_view key) {
  const auto nul = key.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  Reader reader(key.substr(nul + 1));
  auto partition = reader.Be32();
  auto offset = reader.Be64();
  if (!partition || !offset || !reader.empty()) return std::nullopt;
  return RejectedKeyParts{std::string(key.substr(0, nul)), static_cast<std::int32_t>(*partition),
                          static_cast<std::int64_t>(*offset)};
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace canvoy::fleet_store::storage
