#include "storage/values.h"

#include <algorithm>
#include <bit>
#include <iterator>

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

}  // namespace

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

std::string EncodeDedup(const DedupRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kVersion1));
  AppendOrderedInt64(out, record.updated_us);
  AppendVarint(out, record.ranges.size());
  std::uint64_t previous_end = 0;
  for (const auto& [first, last] : record.ranges) {
    AppendVarint(out, first - previous_end);
    AppendVarint(out, last - first);
    previous_end = last;
  }
  return out;
}

Result<DedupRecord> DecodeDedup(std::string_view bytes) {
  Reader reader(bytes);
  auto version = reader.Byte();
  auto updated = reader.OrderedInt64();
  auto count = reader.Varint();
  if (!version || *version != kVersion1 || !updated || !count || *count > bytes.size())
    return Corrupt("dedup");
  DedupRecord record;
  record.updated_us = *updated;
  record.ranges.reserve(*count);
  std::uint64_t previous_end = 0;
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto gap = reader.Varint();
    auto length = reader.Varint();
    if (!gap || !length) return Corrupt("dedup");
    const std::uint64_t first = previous_end + *gap;
    const std::uint64_t last = first + *length;
    if (first < previous_end || last < first || (i > 0 && *gap < 2)) return Corrupt("dedup");
    record.ranges.emplace_back(first, last);
    previous_end = last;
  }
  if (!reader.empty()) return Corrupt("dedup");
  return record;
}

bool DedupRecord::Contains(std::uint64_t seq) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), seq,
                             [](std::uint64_t s, const auto& range) { return s < range.first; });
  if (it == ranges.begin()) return false;
  --it;
  return seq <= it->second;
}

void DedupRecord::Insert(std::uint64_t seq) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), seq,
                             [](std::uint64_t s, const auto& range) { return s < range.first; });
  // `it` is the first range starting after seq; `prev` the one before, if any.
  if (it != ranges.begin()) {
    auto prev = std::prev(it);
    if (seq <= prev->second) return;
    if (prev->second + 1 == seq) {
      prev->second = seq;
      if (it != ranges.end() && it->first == seq + 1) {
        prev->second = it->second;
        ranges.erase(it);
      }
      return;
    }
  }
  if (it != ranges.end() && it->first == seq + 1) {
    it->first = seq;
    return;
  }
  ranges.insert(it, {seq, seq});
}

std::string EncodeAttributes(const Attributes& attributes) {
  std::string out;
  out.push_back(static_cast<char>(kVersion1));
  AppendVarint(out, attributes.size());
  for (const auto& [name, value] : attributes) {
    AppendLengthPrefixed(out, name);
    AppendLengthPrefixed(out, value);
  }
  return out;
}

Result<Attributes> DecodeAttributes(std::string_view bytes) {
  Reader reader(bytes);
  auto version = reader.Byte();
  auto count = reader.Varint();
  if (!version || *version != kVersion1 || !count || *count > bytes.size()) return Corrupt("attributes");
  Attributes out;
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto name = reader.LengthPrefixed();
    auto value = reader.LengthPrefixed();
    if (!name || !value) return Corrupt("attributes");
    out.emplace(std::string(*name), std::string(*value));
  }
  if (!reader.empty()) return Corrupt("attributes");
  return out;
}

Status DecodeAttributesInto(std::string_view bytes, Attributes& out) {
  Reader reader(bytes);
  auto version = reader.Byte();
  auto count = reader.Varint();
  bool same = version && *version == kVersion1 && count && *count == out.size();
  auto it = out.begin();
  for (std::uint64_t i = 0; same && i < *count; ++i, ++it) {
    auto name = reader.LengthPrefixed();
    auto value = reader.LengthPrefixed();
    same = name && value && *name == it->first;
    if (same) it->second.assign(*value);
  }
  if (same && reader.empty()) return OkStatus();
  out.clear();
  auto decoded = DecodeAttributes(bytes);
  if (!decoded) return decoded.error();
  out = std::move(decoded).value();
  return OkStatus();
}

}  // namespace canvoy::fleet_store::storage
