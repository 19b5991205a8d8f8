#include "storage/keys.h"

#include "storage/encoding.h"

namespace canvoy::fleet_store::storage {

std::string BatchKey(const Vin& vin, const StreamId& stream, std::uint64_t seq) {
  std::string key;
  key.reserve(Vin::kLength + StreamId::kSize + 8);
  key.append(vin.str());
  key.append(stream.bytes());
  AppendBe64(key, seq);
  return key;
}

std::string SamplePrefix(const Vin& vin, std::string_view signal) {
  std::string key;
  key.reserve(Vin::kLength + signal.size() + 2 + 8 + 8 + StreamId::kSize);
  key.append(vin.str());
  key.push_back('\0');
  key.append(signal);
  key.push_back('\0');
  return key;
}

std::string SampleKey(const Vin& vin, std::string_view signal, std::int64_t first_us,
                      std::uint64_t seq, const StreamId& stream) {
  std::string key = SamplePrefix(vin, signal);
  AppendOrderedInt64(key, first_us);
  AppendBe64(key, seq);
  key.append(stream.bytes());
  return key;
}

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
