// Chunk formats version 2 ("packed"), 3 and 4 of history blocks, for bool, int64, uint64 and double
// chunks (history_block.h documents the layout): residuals in groups of 64, each group
// bit-packed at one width with the few wider residuals as exceptions ("patched frame of
// reference"), so a group decodes without a branch per sample. Written by packed_chunk.cc, read by
// packed_reader.cc, used by history_block.cc only;
// every function is pure and may be called from any thread.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "canvoy/common/error.h"
#include "canvoy/fleet_store/types.h"

namespace canvoy::fleet_store::storage::packed {

inline constexpr std::uint8_t kVersion = 2;
// Version 2 with a timestamp unit: the body has a varint unit (>= 2) after the time span, every
// timestamp is the first plus a multiple of it, and the timestamp residuals count units.
inline constexpr std::uint8_t kVersionUnit = 3;
// Timestamps on a grid: they rise strictly and each is the first plus a multiple of the unit
// (>= 1), so the body holds the slots that have a sample as a bitmap (none when every slot has
// one) instead of a timestamp section.
inline constexpr std::uint8_t kVersionGrid = 4;
inline bool IsPacked(std::uint8_t version) {
  return version == kVersion || version == kVersionUnit || version == kVersionGrid;
}
inline constexpr std::size_t kGroupSize = 64;
// The value section's first byte in double chunks.
enum : std::uint8_t { kDecimal = 0, kXor = 1 };

// What the writer (packed_chunk.cc) and the reader (packed_reader.cc) share. Value kinds: the
// value types' indexes, and xor doubles.
enum : std::uint8_t { kBool = 0, kInt64 = 1, kUint64 = 2, kDouble = 3, kXorDouble = 4 };
inline constexpr unsigned kMaxExponent = 18;
// Decimal doubles' integers n have |n| <= kMaxDecimal, so that double(n) is exact.
inline constexpr std::int64_t kMaxDecimal = (std::int64_t{1} << 53) - 1;
inline constexpr std::array<double, kMaxExponent + 1> kPow10 = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};  // all exact

// Errc::kStorage "history block: <what> at byte <at>": how both chunk versions report corrupt
// input, `at` being the offset in the block.
Error Corrupt(std::string_view what, std::size_t at);

// Appends one version 2 chunk of `samples`: at least one, all bool, int64, uint64 or all
// double, in canonical order. When the gaps between the timestamps have a common divisor over 1
// (readings every 10 s, say), the chunk is version 3 with that unit, and when the timestamps
// rise strictly and a bitmap of their slots is no longer than the timestamp section, version 4
// (when `grid`). Without `unit`, version 2 only.
void AppendChunk(std::span<const Sample* const> samples, std::string& out, bool unit = true,
                 bool grid = true);

// The sections of a version 2 body, with their offsets in the block (for error messages).
struct Sections {
  std::uint64_t unit = 1;  // versions 3 and 4: the timestamp unit
  std::string_view times;  // versions 2 and 3
  std::size_t times_at = 0;
  bool grid = false;          // version 4
  std::uint64_t slots = 0;    // version 4: span / unit + 1
  std::string_view bitmap;    // version 4: slot k has a sample when bit k % 8 of byte k / 8 is
                              // set; empty when every slot has one (count == slots)
  std::string_view values;  // the value groups, after a double chunk's scheme bytes
  std::size_t values_at = 0;
  std::uint8_t scheme = kDecimal;  // double chunks
  std::uint8_t exponent = 0;       // decimal double chunks: e
};

// Parses what follows the time span in a version 2, 3 or 4 body of `count` (>= 1) samples of
// `type` (numeric) over `span` (last - first timestamp), `rest` starting at block offset `at`.
// Checks the unit, a grid's bitmap whole (its length, that it has `count` slots set, the first
// and the last among them, zero padding), and of the groups only what is cheap: the section
// sizes against their number, the double scheme and exponent.
[[nodiscard]] Result<Sections> ParseSections(std::uint8_t version, std::uint8_t type,
                                             std::uint64_t count, std::uint64_t span,
                                             std::string_view rest, std::size_t at);

// Decodes a version 2 chunk a group at a time; every group is checked whole (widths,
// exceptions, value ranges, canonical order) before its samples are handed out. A reader is
// local to one decode (one thread).
class GroupReader {
 public:
  // `s` from ParseSections for the same type and count; it must outlive the reader.
  GroupReader(std::uint8_t type, std::uint64_t count, std::int64_t first_us, std::int64_t last_us,
              const Sections& s);

  bool done() const { return remaining_ == 0; }
  std::int64_t first_us() const { return first_us_; }
  std::int64_t last_us() const { return last_us_; }
  // Writes the next group's timestamps and raw values to t[0, n) and raw[0, n) and returns n
  // (<= kGroupSize). REQUIRES: !done().
  [[nodiscard]] Result<std::size_t> Next(std::int64_t* t, std::uint64_t* raw);
  // Next without the timestamps, for grid chunks (version 4), whose samples' slots are the
  // bitmap's: raw values only. REQUIRES: !done(), a grid chunk, and no call of Next.
  [[nodiscard]] Result<std::size_t> NextValues(std::uint64_t* raw);
  // After the last group: both sections are used up and the last timestamp is the header's.
  [[nodiscard]] Status Finish() const;

 private:
  static constexpr std::size_t kSlack = 16;  // bytes 8-byte loads may read past a group's bits
  struct Cursor {
    const unsigned char* data;
    std::size_t size;
    std::size_t at;  // the block offset of data[0]
    std::size_t pos = 0;
  };
  // Reads and checks the next group of g residuals of `in` into group_; false with error_ and
  // error_at_ set when corrupt.
  bool ReadGroup(Cursor& in, std::size_t g);
  // The residuals of group_: r[0, g), zeros in r[g, kGroupSize).
  void Residuals(std::size_t g, std::uint64_t* r) const;
  bool Fail(const char* what, std::size_t at);
  bool DecodeValues(std::size_t g, std::uint64_t* r, std::uint64_t* raw);
  // A grid's next g timestamps, from its bitmap (or every slot).
  void GridTimes(std::size_t g, std::int64_t* t);

  std::uint8_t kind_;  // the type, or 4 for xor doubles
  std::uint64_t remaining_;
  std::int64_t first_us_, last_us_;
  double scale_ = 1;    // decimal doubles: 10^e
  std::uint64_t unit_;  // timestamps: t += delta * unit
  Cursor times_, values_;
  // Grids: the bitmap, the slot of its next word's bit 0, and what is left of the current word.
  bool grid_;
  std::string_view bitmap_;
  std::uint64_t word_slot_ = 0, word_ = 0, next_slot_ = 0;  // next_slot_: grids of every slot
  std::uint64_t t_, t_delta_ = 0, prev_ = 0;  // running timestamp, delta, value (or n)
  std::int64_t order_t_;                      // the previous sample, for the order check
  std::uint64_t order_key_ = 0;
  struct Group {                  // the last group read
    const unsigned char* packed;  // its low bits: 8 * width + kSlack readable bytes
    unsigned width = 0;
    unsigned bits = 0;  // no residual is wider
    unsigned exceptions = 0;
    std::uint8_t index[kGroupSize];  // the exceptions
    std::uint64_t residual[kGroupSize];
  } group_;
  unsigned char buffer_[kGroupSize * 8 + kSlack];  // a group's low bits near a section's end
  const char* error_ = nullptr;
  std::size_t error_at_ = 0;
};

// Values are decoded as raw 64-bit words: bools 0/1, integers' two's complement bits, doubles'
// bits.
template <class T>
T FromRaw(std::uint64_t raw) {
  if constexpr (std::is_same_v<T, double>) {
    return std::bit_cast<double>(raw);
  } else if constexpr (std::is_same_v<T, bool>) {
    return raw != 0;
  } else {
    return static_cast<T>(raw);
  }
}

// Passes the samples with from_us <= t <= last_us to emit(t, value as T), stopping at the first
// after last_us (as version 1's decoder does); a chunk wholly inside needs no per-sample test.
template <class T, class Emit>
Status EmitSamples(GroupReader& reader, std::int64_t from_us, std::int64_t last_us, Emit&& emit) {
  alignas(64) std::int64_t t[kGroupSize];
  alignas(64) std::uint64_t raw[kGroupSize];
  const bool inside = reader.first_us() >= from_us && reader.last_us() <= last_us;
  while (!reader.done()) {
    CANVOY_ASSIGN_OR_RETURN(const std::size_t n, reader.Next(t, raw));
    if (inside && n == kGroupSize) {  // a fixed count, and t and raw are not what emit writes:
#if defined(__GNUC__) && !defined(__clang__)  // so compilers may vectorize
#pragma GCC ivdep
#endif
      for (std::size_t i = 0; i < kGroupSize; ++i) emit(t[i], FromRaw<T>(raw[i]));
      continue;
    }
    if (inside) {
      for (std::size_t i = 0; i < n; ++i) emit(t[i], FromRaw<T>(raw[i]));
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (t[i] > last_us) return OkStatus();
      if (t[i] >= from_us) emit(t[i], FromRaw<T>(raw[i]));
    }
  }
  return reader.Finish();
}

}  // namespace canvoy::fleet_store::storage::packed
