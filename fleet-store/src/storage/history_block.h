// History blocks: the compressed samples of one (vehicle, signal, time bucket), the value of the
// `history` column family. A block is a concatenation of self-delimiting chunks, so a RocksDB
// Merge appends samples by appending a chunk; the merge operator folds a block of several chunks
// into one chunk per value type. Every function here is pure and may be called from any thread.
//
// Chunk, version 1 (all of one SignalValue type):
//   u8 version (1) | u8 type (SignalValue's index) | varint count (>= 1) | varint body length |
//   body
// Body:
//   be64 first timestamp | varint (last - first timestamp, mod 2^64)
//   | string chunks only: varint length + the new string values, each varint length + bytes
//   | a bit stream, most significant bit first, zero-padded to a byte:
//       int64/uint64 chunks: 1 bit, 0 = values as deltas, 1 = values as deltas of deltas;
//       then per sample: its timestamp's delta of delta (not for the first sample), its value.
// Integers (timestamp dods, value deltas or dods, all mod 2^64, zigzagged) use the classes
//   0 -> '0' | < 2^7 -> '10'+7 bits | < 2^12 -> '110'+12 | < 2^20 -> '1110'+20
//   | < 2^32 -> '11110'+32 | else '11111'+64,
// doubles are Gorilla XORs with the previous value's bits (the first with 0):
//   '0' same bits | '10' + the bits in the previous window | '11' + 5 bits leading zeros
//   + 6 bits (width - 1) + width bits; bools are 1 bit; strings 1 bit: 0 = the previous value
//   (initially ""), 1 = the next value of the string section.
//
// Chunk, version 2 ("packed"; bool, int64, uint64 and double chunks only):
//   u8 version (2) | u8 type | varint count (>= 1) | varint body length | body
// Body:
//   be64 first timestamp | varint (last - first timestamp, mod 2^64)
//   | varint length of the timestamp section | timestamp section | value section (the rest).
// Each section holds `count` residuals (unsigned 64-bit) in groups of 64, the last group
// possibly shorter; a reader decodes group k of both sections together.
//   Timestamps: residual i = zigzag(delta of delta), residual 0 = 0; t = first, delta = 0,
//     then per sample delta += unzigzag(r), t += delta (all mod 2^64).
//   bool: the bit. int64/uint64: zigzag of the delta of the value's bits (mod 2^64, from 0).
//   double: the section starts with a u8 scheme:
//     0 decimal: u8 e (0..18); every value is bitwise double(n) / 10^e for an int64 n with
//       |n| < 2^53, and the residuals are zigzag deltas of n (from 0). The encoder takes the
//       smallest e that fits the whole chunk, and scheme 1 when none does.
//     1 xor: each group starts with a u8 shift (the least trailing zero count of the group's
//       nonzero xors, 0 if all are zero), residual = (bits ^ previous bits) >> shift, the
//       previous bits starting at 0.
// Group ("patched frame of reference"): u8 width w (0..64) | u8 exception count x |
//   ceil(g * w / 8) bytes, the low w bits of each of the g residuals packed little-endian
//   (residual j at bit j * w, the padding bits zero) | x exceptions, each u8 index (< g,
//   increasing) + varint (residual >> w) (nonzero, and w + its bit width <= 64). The encoder
//   takes the w that makes the group smallest, the smallest such w on a tie.
// Decoders also reject a nonzero residual 0, a shift other than the one above, bool residuals
// over 1, and a last timestamp other than the header's (a sample past it as soon as it is read,
// so that no reader hands one out); e is not checked to be the smallest.
//
// Chunk, version 3: version 2 with a timestamp unit u, for timestamps at a coarser step than a
// microsecond (readings every 10 s, some missing):
//   u8 version (3) | u8 type | varint count | varint body length | body, the body being
//   be64 first timestamp | varint span | varint u (>= 2) | then as version 2,
// the timestamp residuals counting units: t = first, delta = 0, then per sample
// delta += unzigzag(r), t += delta * u (mod 2^64). The encoder takes u = the greatest common
// divisor of the gaps between consecutive timestamps, and writes version 2 when that is 1 (or
// when there is no gap); u is not checked to be the greatest.
//
// Chunk, version 4 ("grid"): version 3 for timestamps that rise strictly, each the first plus a
// multiple of u (>= 1), so that they are slots k = (t - first) / u in [0, span / u]:
//   u8 version (4) | u8 type | varint count | varint body length | body, the body being
//   be64 first timestamp | varint span (a multiple of u) | varint u | varint bitmap length
//   | bitmap | value section (as version 2),
// the bitmap having bit k % 8 of byte k / 8 set when slot k has a sample: ceil(slots / 8) bytes,
// count bits set, slot 0 and the last slot among them, padding bits zero; or empty (length 0)
// when every slot has a sample (count = span / u + 1). Sample i is at the i-th slot set. The
// encoder writes version 4 when the timestamps rise strictly and the bitmap with its length
// and u takes no more bytes than version 3's unit and timestamp section (readings every 10 s
// with some lost: 1 bit per slot instead of 2 or 3 per sample; a regular signal: no bitmap),
// with u the greatest common divisor of the gaps (1 for a single sample). Two signals of one
// message lost apart (one is NULL in a reading) then pair by slot, without timestamps.
//
// Samples within a chunk are in canonical order (CanonicalLess); decoders reject other orders.
// EncodeChunk writes version 2, 3 or 4 for numeric chunks and version 1 for strings; blocks may
// mix versions (stores written before version 2 hold version 1 chunks, and before version 3 or 4
// none of those).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/cells.h"
#include "canvoy/fleet_store/types.h"

namespace rocksdb {
class MergeOperator;
}

namespace canvoy::fleet_store::storage {

// The canonical order of samples: Sample's operator< (timestamp, then type, then value), made
// total for doubles by IEEE 754 totalOrder (-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN,
// NaNs by payload). Samples equal under it are bit for bit identical.
bool CanonicalLess(const Sample& a, const Sample& b);

// Encodes `samples` (any order; the copy is sorted) as one chunk per value type present, in type
// order; normally the caller groups samples by type and gets exactly one chunk. An empty span
// gives an empty string (a block of no chunks). Exact for every value, NaN payloads included.
std::string EncodeChunk(std::span<const Sample> samples);

// EncodeChunk in version 1 for every type, as stores written before version 2 hold. Exists for
// compatibility tests and benchmarks; the store itself always writes with EncodeChunk.
std::string EncodeChunkV1(std::span<const Sample> samples);
// EncodeChunk without the timestamp unit (version 2 where EncodeChunk writes 3), as stores
// written before version 3 hold. For the same tests and benchmarks.
std::string EncodeChunkV2(std::span<const Sample> samples);
// EncodeChunk without grids (version 2 or 3 where EncodeChunk writes 4), as stores written
// before version 4 hold. For the same tests and benchmarks.
std::string EncodeChunkV3(std::span<const Sample> samples);

// Appends every sample of `block` to *out; the appended samples are in canonical order even when
// the block has several chunks. A block may be empty. Corrupt or truncated input gives
// Errc::kStorage "history block: <what> at byte N" and leaves *out with a prefix of the samples
// appended; no input reads out of bounds.
[[nodiscard]] Status DecodeBlock(std::string_view block, std::vector<Sample>* out);

// Like DecodeBlock, but appends only samples with from_us <= timestamp < to_us, skipping chunks
// outside the range without decoding them and stopping inside a chunk at to_us (so corruption
// after that point is not detected).
[[nodiscard]] Status DecodeBlockRange(std::string_view block, std::int64_t from_us,
                                      std::int64_t to_us, std::vector<Sample>* out);

// Where DecodeBlockColumns appends: timestamps, values as doubles (bools 0/1, integers
// converted, NaN kept), and for int64/uint64 the exact bits; in vectors, or in cells that are
// not zeroed before they are written (SampleCellsOut).
template <template <class> class Vector>
struct ColumnsOut {
  Vector<std::int64_t>* t;
  Vector<double>* num;
  Vector<std::uint64_t>* bits;
  bool* maybe_nan = nullptr;  // when set, made true where a double chunk could hold NaN
};
template <class T>
using StdVector = std::vector<T>;
using SampleColumnsOut = ColumnsOut<StdVector>;
using SampleCellsOut = ColumnsOut<Cells>;

// DecodeBlockRange as columns, for readers that want numbers in bulk: possible when the chunks
// in range are numeric, of one type, and follow each other in time (a compacted block has one
// chunk per type). Returns that type (SignalValue's index), or nullopt with nothing appended when
// the block must be read with DecodeBlockRange instead (strings, mixed types, overlapping
// chunks) or nothing is in range. Errors as DecodeBlockRange's.
[[nodiscard]] Result<std::optional<std::uint8_t>> DecodeBlockColumns(std::string_view block,
                                                                     std::int64_t from_us,
                                                                     std::int64_t to_us,
                                                                     SampleColumnsOut out);
[[nodiscard]] Result<std::optional<std::uint8_t>> DecodeBlockColumns(std::string_view block,
                                                                     std::int64_t from_us,
                                                                     std::int64_t to_us,
                                                                     SampleCellsOut out);

// Where the samples of a grid chunk (version 4) lie: sample i at the i-th slot that has one,
// slot k at first_us + k * unit.
struct GridColumns {
  std::uint8_t type = 0;  // SignalValue's index, numeric
  std::int64_t first_us = 0;
  std::uint64_t unit = 1;
  std::uint64_t slots = 0;  // slots k in [0, slots)
  // Slot k has a sample when bit k % 8 of byte k / 8 is set; empty when every slot has one.
  // A view of the block.
  std::string_view bitmap;
  bool maybe_nan = false;  // doubles other than decimals
};
// DecodeBlockColumns without the timestamps, for a block that is one grid chunk wholly inside
// [from_us, to_us): appends its values to out.num (and out.bits), leaves out.t alone, and returns
// where they lie. nullopt with nothing appended for every other block. Errors as
// DecodeBlockRange's.
[[nodiscard]] Result<std::optional<GridColumns>> DecodeGridColumns(std::string_view block,
                                                                   std::int64_t from_us,
                                                                   std::int64_t to_us,
                                                                   SampleCellsOut out);

// The number of chunks of `block`, reading only their headers.
[[nodiscard]] Result<std::size_t> CountChunks(std::string_view block);

// Whether every chunk of `block` holds bools, integers or doubles (no strings), reading only
// their headers.
[[nodiscard]] Result<bool> BlockIsNumeric(std::string_view block);

// Decodes `block` and encodes it again as one chunk per value type present: the same multiset of
// samples always gives the same bytes, whatever chunks it came in.
[[nodiscard]] Result<std::string> CompactBlock(std::string_view block);

// The merge operator of the history column family, named "canvoy.history.v1". Operands are
// blocks (usually one EncodeChunk each). A full merge whose result has more than one chunk
// compacts it (CompactBlock), so reads and compactions fold operands; a partial merge
// concatenates. Duplicate samples are kept (a block is a multiset). Corrupt input fails the
// merge, which RocksDB reports as corruption.
std::shared_ptr<rocksdb::MergeOperator> NewHistoryMergeOperator();

}  // namespace canvoy::fleet_store::storage
