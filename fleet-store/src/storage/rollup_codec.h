// Rollups: per-slot statistics (types.h `Rollup`) of one signal, and the RocksDB value that holds
// the slots of one key span (the minutes of an hour, the hours of a day). The merge operator
// combines slot lists, so writers Merge() a rollup without reading it first. Every function here
// is pure and may be called from any thread.
//
// Value, version 1:
//   u8 version (1) | varint slot count | per slot, by increasing index:
//     varint index gap (the first slot: its index; then index - previous index - 1)
//     varint n: 0 = one sample (count 1, min = max = sum = first = last, first_us = last_us):
//                   be64 value bits | zigzag varint (first_us - base)
//               n >= 1 = count n: be64 bits of min, max, sum, first, last
//                   | zigzag varint (first_us - base) | zigzag varint (last_us - first_us)
//   where base is the previous slot's last_us (0 for the first slot); differences mod 2^64.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/types.h"

namespace rocksdb {
class MergeOperator;
}

namespace canvoy::fleet_store::storage {

// The value a rollup counts: bools as 0/1, integers and doubles as doubles (integers above 2^53
// rounded); nullopt for strings and NaN, which rollups do not count.
std::optional<double> NumericValue(const SignalValue& value);

// Adds the sample (t, v) to r; a NaN v is ignored. Ties between equal doubles of different bits
// (-0.0 and +0.0) are broken by IEEE 754 totalOrder, so that min, max, first and last keep the
// same bits whatever the order of the samples; only sum may differ, by rounding.
void AddSample(Rollup& r, std::int64_t t, double v);

// Folds `from` into `into` as if `into` had seen every sample of `from`. An empty rollup
// (count 0) on either side is the identity.
void MergeRollup(Rollup& into, const Rollup& from);

using RollupSlot = std::pair<std::uint32_t, Rollup>;

// Encodes the slots; expected sorted by index and unique, otherwise slots of the same index are
// merged. Empty slots (count 0) are left out.
std::string EncodeRollupSlots(std::span<const RollupSlot> slots);

// Appends the slots of `bytes` to *out, by increasing index. Corrupt or truncated input gives
// Errc::kStorage "rollup value: <what> at byte N"; no input reads out of bounds. With `end_index`,
// stops at the first slot whose index is not below it (what follows is not checked); slots whose
// index is below `begin_index` are checked and stepped over, not appended.
[[nodiscard]] Status DecodeRollupSlots(std::string_view bytes, std::vector<RollupSlot>* out,
                                       std::uint64_t end_index = UINT64_MAX,
                                       std::uint64_t begin_index = 0);

// The merge operator of the rollup column families, named "canvoy.rollup.v1". Operands and the
// result are encoded slot lists; full and partial merges combine them slot by slot with
// MergeRollup. Corrupt input fails the merge, which RocksDB reports as corruption.
std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator();

}  // namespace canvoy::fleet_store::storage
