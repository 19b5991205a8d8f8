#include "storage/rollup_codec.h"

#include <rocksdb/merge_operator.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <variant>

#include "storage/encoding.h"

namespace canvoy::fleet_store::storage {
namespace {

constexpr std::uint8_t kRollupVersion = 1;
// The fewest bytes a slot takes: index gap, n = 0, one double, one timestamp.
constexpr std::size_t kMinSlotBytes = 1 + 1 + 8 + 1;

Error Corrupt(std::string_view what, std::size_t at) {
  return Error(Errc::kStorage,
               "rollup value: " + std::string(what) + " at byte " + std::to_string(at));
}

// IEEE 754 totalOrder: -0.0 < +0.0, so ties keep the same bits whatever the order.
bool Less(double a, double b) {
  const auto key = [](double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    return bits ^ ((0 - (bits >> 63)) | (std::uint64_t{1} << 63));
  };
  return key(a) < key(b);
}

std::uint64_t ZigZag(std::uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
std::uint64_t UnZigZag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

bool SameBits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool IsSingle(const Rollup& r) {
  return r.count == 1 && r.first_us == r.last_us && SameBits(r.min, r.first) &&
         SameBits(r.max, r.first) && SameBits(r.sum, r.first) && SameBits(r.last, r.first);
}

void AppendDouble(std::string& out, double v) { AppendBe64(out, std::bit_cast<std::uint64_t>(v)); }

void AppendDelta(std::string& out, std::int64_t from, std::int64_t to) {
  AppendVarint(out, ZigZag(static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from)));
}

// Sorts by index and merges slots of the same index; drops empty slots.
std::vector<RollupSlot> Normalize(std::vector<RollupSlot> slots) {
  std::stable_sort(slots.begin(), slots.end(),
                   [](const RollupSlot& a, const RollupSlot& b) { return a.first < b.first; });
  std::vector<RollupSlot> merged;
  merged.reserve(slots.size());
  for (const auto& [index, rollup] : slots) {
    if (rollup.count == 0) continue;
    if (!merged.empty() && merged.back().first == index) {
      MergeRollup(merged.back().second, rollup);
    } else {
      merged.emplace_back(index, rollup);
    }
  }
  return merged;
}

bool Normalized(std::span<const RollupSlot> slots) {
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].second.count == 0) return false;
    if (i > 0 && slots[i].first <= slots[i - 1].first) return false;
  }
  return true;
}

// Decodes every value and operand and encodes their slots merged; false on corrupt input.
template <class Operands>
bool MergeValues(const rocksdb::Slice* existing, const Operands& operands, std::string* out) {
  std::vector<RollupSlot> slots;
  if (existing && !DecodeRollupSlots(std::string_view(existing->data(), existing->size()), &slots))
    return false;
  for (const auto& operand : operands) {
    if (!DecodeRollupSlots(std::string_view(operand.data(), operand.size()), &slots)) return false;
  }
  *out = EncodeRollupSlots(Normalize(std::move(slots)));
  return true;
}

class RollupMergeOperator final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "canvoy.rollup.v1"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    return MergeValues(in.existing_value, in.operand_list, &out->new_value);
  }

  bool PartialMerge(const rocksdb::Slice& /*key*/, const rocksdb::Slice& left,
                    const rocksdb::Slice& right, std::string* new_value,
                    rocksdb::Logger* /*logger*/) const override {
    const rocksdb::Slice operands[] = {left, right};
    return MergeValues(nullptr, operands, new_value);
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    return MergeValues(nullptr, operands, new_value);
  }
};

}  // namespace

std::optional<double> NumericValue(const SignalValue& value) {
  switch (value.index()) {
    case 0:
      return std::get<0>(value) ? 1.0 : 0.0;
    case 1:
      return static_cast<double>(std::get<1>(value));
    case 2:
      return static_cast<double>(std::get<2>(value));
    case 3:
      if (std::isnan(std::get<3>(value))) return std::nullopt;
      return std::get<3>(value);
    default:
      return std::nullopt;
  }
}

void AddSample(Rollup& r, std::int64_t t, double v) {
  if (std::isnan(v)) return;
  MergeRollup(r, Rollup{1, v, v, v, t, v, t, v});
}

void MergeRollup(Rollup& into, const Rollup& from) {
  if (from.count == 0) return;
  if (into.count == 0) {
    into = from;
    return;
  }
  into.count += from.count;
  if (Less(from.min, into.min)) into.min = from.min;
  if (Less(into.max, from.max)) into.max = from.max;
  into.sum += from.sum;
  if (from.first_us < into.first_us ||
      (from.first_us == into.first_us && Less(from.first, into.first))) {
    into.first_us = from.first_us;
    into.first = from.first;
  }
  if (from.last_us > into.last_us || (from.last_us == into.last_us && Less(into.last, from.last))) {
    into.last_us = from.last_us;
    into.last = from.last;
  }
}

std::string EncodeRollupSlots(std::span<const RollupSlot> slots) {
  if (!Normalized(slots)) {
    const auto merged = Normalize(std::vector<RollupSlot>(slots.begin(), slots.end()));
    return EncodeRollupSlots(merged);
  }
  std::string out;
  out.reserve(2 + slots.size() * 24);
  out.push_back(static_cast<char>(kRollupVersion));
  AppendVarint(out, slots.size());
  std::uint32_t next_index = 0;
  std::int64_t base = 0;
  for (const auto& [index, r] : slots) {
    AppendVarint(out, index - next_index);
    next_index = index + 1;
    if (IsSingle(r)) {
      AppendVarint(out, 0);
      AppendDouble(out, r.first);
      AppendDelta(out, base, r.first_us);
    } else {
      AppendVarint(out, r.count);
      for (double v : {r.min, r.max, r.sum, r.first, r.last}) AppendDouble(out, v);
      AppendDelta(out, base, r.first_us);
      AppendDelta(out, r.first_us, r.last_us);
    }
    base = r.last_us;
  }
  return out;
}

Status DecodeRollupSlots(std::string_view bytes, std::vector<RollupSlot>* out,
                         std::uint64_t end_index, std::uint64_t begin_index) {
  Reader reader(bytes);
  const auto at = [&] { return bytes.size() - reader.rest().size(); };
  const auto version = reader.Byte();
  if (!version) return Corrupt("empty value", 0);
  if (*version != kRollupVersion) return Corrupt("unknown version " + std::to_string(*version), 0);
  const auto slot_count = reader.Varint();
  if (!slot_count) return Corrupt("truncated slot count", at());
  if (*slot_count > reader.rest().size() / kMinSlotBytes)
    return Corrupt("more slots than the value holds", 1);
  out->reserve(out->size() + static_cast<std::size_t>(*slot_count));
  std::uint64_t next_index = 0;
  std::int64_t base = 0;
  const auto timestamp = [&](std::int64_t from) -> std::optional<std::int64_t> {
    const auto delta = reader.Varint();
    if (!delta) return std::nullopt;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(from) + UnZigZag(*delta));
  };
  const auto number = [&]() -> std::optional<double> {
    const auto bits = reader.Be64();
    if (!bits) return std::nullopt;
    return std::bit_cast<double>(*bits);
  };
  for (std::uint64_t i = 0; i < *slot_count; ++i) {
    const std::size_t slot_at = at();
    const auto gap = reader.Varint();
    if (!gap) return Corrupt("truncated slot", slot_at);
    if (*gap > std::numeric_limits<std::uint32_t>::max() ||
        next_index + *gap > std::numeric_limits<std::uint32_t>::max())
      return Corrupt("slot index above 2^32-1", slot_at);
    const auto index = static_cast<std::uint32_t>(next_index + *gap);
    if (index >= end_index) return OkStatus();
    next_index = std::uint64_t{index} + 1;
    const auto n = reader.Varint();
    if (!n) return Corrupt("truncated slot", slot_at);
    if (index < begin_index) {  // only its timestamps, the base of the next slot's
      if (!reader.Skip(*n == 0 ? 8 : 40)) return Corrupt("truncated slot", slot_at);
      const auto first_us = timestamp(base);
      const auto last_us = first_us && *n != 0 ? timestamp(*first_us) : first_us;
      if (!last_us) return Corrupt("truncated slot", slot_at);
      base = *last_us;
      continue;
    }
    Rollup r;
    if (*n == 0) {
      const auto v = number();
      const auto t = timestamp(base);
      if (!v || !t) return Corrupt("truncated slot", slot_at);
      r = Rollup{1, *v, *v, *v, *t, *v, *t, *v};
    } else {
      double values[5];
      for (double& v : values) {
        const auto read = number();
        if (!read) return Corrupt("truncated slot", slot_at);
        v = *read;
      }
      const auto first_us = timestamp(base);
      const auto last_us = first_us ? timestamp(*first_us) : std::nullopt;
      if (!last_us) return Corrupt("truncated slot", slot_at);
      r = Rollup{*n, values[0], values[1], values[2], *first_us, values[3], *last_us, values[4]};
    }
    base = r.last_us;
    out->emplace_back(index, r);
  }
  if (!reader.empty()) return Corrupt("bytes after the last slot", at());
  return OkStatus();
}

std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator() {
  return std::make_shared<RollupMergeOperator>();
}

}  // namespace canvoy::fleet_store::storage
