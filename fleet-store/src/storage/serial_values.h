// Version 1 ("bit-serial") chunks' per-type value codecs, for history_block.cc: each encoder
// writes one value to a BitWriter, each decoder reads one back (returning nullptr or what is
// wrong) and orders values as CanonicalLess does. The chunk around them (timestamps, header,
// string section) is history_block.cc's.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/bit_stream.h"
#include "storage/encoding.h"

namespace canvoy::fleet_store::storage::serial {

using bits::BitReader;
using bits::BitWriter;
using bits::IntBits;
using bits::PutInt;
using bits::UnZigZag;
using bits::ZigZag;

inline std::uint64_t DoubleKey(double d) {
  return bits::DoubleKey(std::bit_cast<std::uint64_t>(d));
}

// Per-type value codecs. Decoders return nullptr or what is wrong.
struct BoolEncoder {
  void Put(BitWriter& w, bool v) { w.Put(v ? 1 : 0, 1); }
};
struct BoolDecoder {
  using Value = bool;
  [[gnu::always_inline]] const char* Next(BitReader& r, bool& v) {
    v = r.Read(1) != 0;
    return nullptr;
  }
  const char* Finish() const { return nullptr; }
  static bool Less(bool a, bool b) { return a < b; }
};

// Deltas (mask 0) or deltas of deltas (mask ~0) of the values' bits, from 0.
struct IntEncoder {
  std::uint64_t mask;
  std::uint64_t prev = 0;
  std::uint64_t delta = 0;
  void Put(BitWriter& w, std::uint64_t v) {
    const std::uint64_t next_delta = v - prev;
    PutInt(w, ZigZag(next_delta - (delta & mask)));
    delta = next_delta;
    prev = v;
  }
};
template <class T>
struct IntDecoder {
  using Value = T;
  std::uint64_t mask = 0;
  std::uint64_t prev = 0;
  std::uint64_t delta = 0;
  [[gnu::always_inline]] const char* Next(BitReader& r, T& v) {
    delta = (delta & mask) + UnZigZag(r.ReadInt());
    prev += delta;
    v = static_cast<T>(prev);
    return nullptr;
  }
  const char* Finish() const { return nullptr; }
  static bool Less(T a, T b) { return a < b; }
};

// Chooses deltas or deltas of deltas, whichever is smaller (deltas on a tie).
template <class At>
bool IntsUseDod(std::size_t n, At value_at) {
  std::uint64_t prev = 0, delta = 0, delta_bits = 0, dod_bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<std::uint64_t>(value_at(i));
    const std::uint64_t next_delta = v - prev;
    delta_bits += IntBits(ZigZag(next_delta));
    dod_bits += IntBits(ZigZag(next_delta - delta));
    delta = next_delta;
    prev = v;
  }
  return dod_bits < delta_bits;
}

struct DoubleEncoder {
  std::uint64_t prev = 0;
  unsigned lead = 0, trail = 0;  // the window: a full one until the first new window
  void Put(BitWriter& w, double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    const std::uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      w.Put(0, 1);
      return;
    }
    const auto new_lead = std::min(static_cast<unsigned>(std::countl_zero(x)), 31u);
    const auto new_trail = static_cast<unsigned>(std::countr_zero(x));
    const unsigned old_width = 64 - lead - trail, width = 64 - new_lead - new_trail;
    // Reuse the window when x fits and a new window's 11 header bits would not pay off.
    if (new_lead >= lead && new_trail >= trail && old_width <= width + 11) {
      w.Put(0b10, 2);
      w.PutWide(x >> trail, old_width);
      return;
    }
    w.Put((std::uint64_t{0b11} << 11) | (new_lead << 6) | (width - 1), 13);
    w.PutWide(x >> new_trail, width);
    lead = new_lead;
    trail = new_trail;
  }
};
struct DoubleDecoder {
  using Value = double;
  std::uint64_t prev = 0;
  unsigned lead = 0, trail = 0;
  [[gnu::always_inline]] const char* Next(BitReader& r, double& v) {
    const std::uint64_t w = r.Window();  // 57 bits or more
    if ((w >> 63) == 0) {
      r.Skip(1);
      v = std::bit_cast<double>(prev);
      return nullptr;
    }
    unsigned header = 2;
    if (((w >> 62) & 1) != 0) {
      const auto new_lead = static_cast<unsigned>((w >> 57) & 31);
      const auto width = static_cast<unsigned>((w >> 51) & 63) + 1;
      if (new_lead + width > 64) return "double window wider than 64 bits";
      lead = new_lead;
      trail = 64 - new_lead - width;
      header = 13;
    }
    const unsigned width = 64 - lead - trail;
    if (header + width <= 57) {  // the usual case: the bits are in the window already
      prev ^= ((w << header) >> (64 - width)) << trail;
      r.Skip(header + width);
    } else {
      r.Skip(header);
      prev ^= r.ReadWide(width) << trail;
    }
    v = std::bit_cast<double>(prev);
    return nullptr;
  }
  const char* Finish() const { return nullptr; }
  static bool Less(double a, double b) { return DoubleKey(a) < DoubleKey(b); }
};

struct StringEncoder {
  std::string* section;
  std::string_view prev;
  void Put(BitWriter& w, const std::string& v) {
    if (v == prev) {
      w.Put(0, 1);
      return;
    }
    w.Put(1, 1);
    AppendLengthPrefixed(*section, v);
    prev = v;
  }
};
struct StringDecoder {
  using Value = std::string_view;
  Reader section;
  std::string_view prev;
  [[gnu::always_inline]] const char* Next(BitReader& r, std::string_view& v) {
    if (r.Read(1) != 0) {
      auto next = section.LengthPrefixed();
      if (!next) return "truncated string section";
      prev = *next;
    }
    v = prev;
    return nullptr;
  }
  const char* Finish() const {
    return section.empty() ? nullptr : "unused bytes in the string section";
  }
  static bool Less(std::string_view a, std::string_view b) { return a < b; }
};

}  // namespace canvoy::fleet_store::storage::serial
