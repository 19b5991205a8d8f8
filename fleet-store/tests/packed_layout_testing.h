// The version 2 and 3 chunk layout of history_block.h written again from the comment alone, for
// the packed chunk tests: building chunks byte by byte, parsing them group by group.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/history_block.h"

namespace canvoy::fleet_store::storage::testing_packed {

// DecodeBlockColumns' outcome, doubles as their bits.
struct Columns {
  std::string error;  // empty when it succeeded
  std::optional<std::uint8_t> type;
  std::vector<std::int64_t> t;
  std::vector<std::uint64_t> num_bits, exact;
  bool operator==(const Columns&) const = default;
};

inline Columns ColumnsOf(std::string_view block, std::int64_t from_us, std::int64_t to_us) {
  Columns c;
  std::vector<double> num;
  const auto type = DecodeBlockColumns(block, from_us, to_us, {&c.t, &num, &c.exact});
  if (type) c.type = type.value();
  if (!type) c.error = type.error().message();
  for (const double d : num) c.num_bits.push_back(std::bit_cast<std::uint64_t>(d));
  return c;
}

inline std::vector<Sample> Decoded(std::string_view block) {
  std::vector<Sample> out;
  const auto status = DecodeBlock(block, &out);
  EXPECT_TRUE(status) << status.error().ToString();
  return out;
}

// ---- the layout, written again from history_block.h alone ------------------------------------

inline std::string Varint(std::uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7F) | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}

// A group of width w: the low bits bit by bit, then (index, high bits) exceptions.
inline std::string Group(unsigned w, const std::vector<std::uint64_t>& low,
                         const std::vector<std::pair<unsigned, std::uint64_t>>& exceptions = {}) {
  std::string out = {static_cast<char>(w), static_cast<char>(exceptions.size())};
  std::string packed((low.size() * w + 7) / 8, '\0');
  for (std::size_t j = 0; j < low.size(); ++j) {
    for (unsigned b = 0; b < w; ++b) {
      const std::size_t bit = j * w + b;
      if ((low[j] >> b) & 1) packed[bit / 8] = static_cast<char>(packed[bit / 8] | 1 << (bit % 8));
    }
  }
  out += packed;
  for (const auto& [index, high] : exceptions) out += static_cast<char>(index) + Varint(high);
  return out;
}

// Version 2, or version 3 when the timestamp unit is over 1.
inline std::string Chunk(std::uint8_t type, std::uint64_t count, std::int64_t first,
                         std::uint64_t span, const std::string& times, const std::string& values,
                         std::uint64_t unit = 1) {
  std::string body;
  for (int shift = 56; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>(static_cast<std::uint64_t>(first) >> shift));
  body += Varint(span) + (unit > 1 ? Varint(unit) : "") + Varint(times.size()) + times + values;
  return std::string{static_cast<char>(unit > 1 ? 3 : 2), static_cast<char>(type)} + Varint(count) +
         Varint(body.size()) + body;
}

// What a chunk holds, and per section each group's width and exception count.
struct Layout {
  int type = 0, scheme = -1, exponent = -1;
  std::uint64_t span = 0, unit = 1;
  std::int64_t first = 0;
  std::string time_bytes, value_bytes;  // the sections
  std::vector<std::pair<unsigned, unsigned>> times, values;
};

inline Layout Parse(std::string_view chunk) {
  std::size_t pos = 0;
  const auto byte = [&] { return static_cast<unsigned char>(chunk.at(pos++)); };
  const auto varint = [&] {
    std::uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      const unsigned b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
  };
  Layout layout;
  const unsigned version = byte();
  EXPECT_TRUE(version == 2 || version == 3) << version;
  const int type = layout.type = byte();
  const std::uint64_t count = varint();
  varint();  // body length
  std::uint64_t first = 0;
  for (int i = 0; i < 8; ++i) first = first << 8 | byte();
  layout.first = static_cast<std::int64_t>(first);
  layout.span = varint();
  if (version == 3) {
    layout.unit = varint();
    EXPECT_GE(layout.unit, 2u);
  }
  const std::size_t values_at = varint() + pos;
  layout.time_bytes = chunk.substr(pos, values_at - pos);
  layout.value_bytes = chunk.substr(values_at);
  const auto groups = [&](std::vector<std::pair<unsigned, unsigned>>& out, bool shifts) {
    for (std::uint64_t left = count; left > 0;) {
      const std::uint64_t g = std::min<std::uint64_t>(left, 64);
      if (shifts) byte();
      const unsigned w = byte(), x = byte();
      out.emplace_back(w, x);
      pos += (g * w + 7) / 8;
      for (unsigned k = 0; k < x; ++k) {
        byte();
        varint();
      }
      left -= g;
    }
  };
  groups(layout.times, false);
  EXPECT_EQ(pos, values_at);
  if (type == 3) {
    layout.scheme = byte();
    if (layout.scheme == 0) layout.exponent = byte();
  }
  groups(layout.values, layout.scheme == 1);
  EXPECT_EQ(pos, chunk.size());
  return layout;
}

}  // namespace canvoy::fleet_store::storage::testing_packed
