#include "storage/history_block.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include "storage/bit_stream.h"
#include "storage/encoding.h"
#include "storage/packed_chunk.h"
#include "storage/serial_values.h"

namespace canvoy::fleet_store::storage {
namespace {

using bits::BitReader;
using bits::BitWriter;
using bits::PutInt;
using bits::UnZigZag;
using bits::VarintLength;
using bits::ZigZag;
using packed::Corrupt;
using namespace serial;  // version 1's value codecs

constexpr std::uint8_t kChunkVersion = 1;  // bit-serial; packed::kVersion for numeric chunks
constexpr std::size_t kTypeCount = std::variant_size_v<SignalValue>;
enum : std::uint8_t { kBool = 0, kInt64 = 1, kUint64 = 2, kDouble = 3, kString = 4 };
constexpr std::int64_t kMinUs = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxUs = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxReserve = std::size_t{1} << 20;  // samples

// ---- chunks --------------------------------------------------------------------------------

struct ChunkView {
  std::uint8_t version = kChunkVersion;
  std::uint8_t type = 0;
  std::uint64_t count = 0;
  std::int64_t first_us = 0;
  std::int64_t last_us = 0;
  std::string_view strings;  // string chunks: the string section
  std::size_t strings_at = 0;
  std::string_view stream;  // the bit stream
  std::size_t stream_at = 0;
  packed::Sections packed;  // versions 2, 3 and 4
};

// Parses the header of the chunk at block[*offset] and moves *offset past the chunk. With
// `header_only`, only version, type, count and body length (the body unchecked, and the
// timestamps and sections not set).
Result<ChunkView> ParseChunk(std::string_view block, std::size_t* offset,
                             bool header_only = false) {
  Reader r(block.substr(*offset));
  const auto at = [&] { return block.size() - r.rest().size(); };
  ChunkView c;
  const std::size_t start = at();
  const auto version = r.Byte();
  const auto type = r.Byte();
  if (!type) return Corrupt("truncated chunk header", start);
  if (*version != kChunkVersion && !packed::IsPacked(*version))
    return Corrupt("unknown chunk version " + std::to_string(*version), start);
  if (*type >= kTypeCount) return Corrupt("unknown value type " + std::to_string(*type), start + 1);
  if (packed::IsPacked(*version) && *type == kString)
    return Corrupt("string chunk in version " + std::to_string(*version), start + 1);
  c.version = *version;
  c.type = *type;
  const std::size_t count_at = at();
  const auto count = r.Varint();
  if (!count) return Corrupt("truncated chunk header", count_at);
  if (*count == 0) return Corrupt("empty chunk", count_at);
  c.count = *count;
  const std::size_t length_at = at();
  const auto length = r.Varint();
  if (!length) return Corrupt("truncated chunk header", length_at);
  if (*length > r.rest().size()) return Corrupt("chunk body past the end of the block", length_at);
  const std::size_t body_at = at();
  const std::string_view body = r.rest().substr(0, static_cast<std::size_t>(*length));
  *offset = body_at + body.size();
  if (header_only) return c;

  Reader b(body);
  const auto body_pos = [&] { return body_at + body.size() - b.rest().size(); };
  const auto first = b.Be64();
  if (!first) return Corrupt("truncated chunk body", body_pos());
  const std::size_t span_at = body_pos();
  const auto span = b.Varint();
  if (!span) return Corrupt("truncated chunk body", span_at);
  c.first_us = static_cast<std::int64_t>(*first);
  c.last_us = static_cast<std::int64_t>(*first + *span);
  if (c.last_us < c.first_us) return Corrupt("time span past the largest timestamp", span_at);
  if (packed::IsPacked(c.version)) {
    CANVOY_ASSIGN_OR_RETURN(
        c.packed, packed::ParseSections(c.version, c.type, c.count, *span, b.rest(), body_pos()));
    return c;
  }
  if (c.type == kString) {
    const std::size_t section_at = body_pos();
    const auto section = b.LengthPrefixed();
    if (!section) return Corrupt("truncated string section", section_at);
    c.strings = *section;
    c.strings_at = body_pos() - section->size();
  }
  c.stream = b.rest();
  c.stream_at = body_pos();
  // Every sample after the first takes at least 2 bits, the first at least 1.
  if (c.count - 1 > c.stream.size() * 4)
    return Corrupt("more samples than the body holds", count_at);
  return c;
}

// Passes the samples of `c` (either version) with from_us <= t <= last_us to emit(t, value);
// stops at the first one after last_us.
template <std::uint8_t K, class Decoder, class Emit>
Status DecodeSamples(const ChunkView& c, Decoder dec, std::int64_t from_us, std::int64_t last_us,
                     Emit&& emit) {
  if constexpr (K != kString) {
    if (packed::IsPacked(c.version)) {
      packed::GroupReader reader(c.type, c.count, c.first_us, c.last_us, c.packed);
      return packed::EmitSamples<typename Decoder::Value>(reader, from_us, last_us, emit);
    }
  }
  BitReader r(c.stream);
  if constexpr (K == kInt64 || K == kUint64) dec.mask = 0 - r.Read(1);
  const auto byte_at = [&c](std::size_t bit) {
    return c.stream_at + std::min(bit / 8, c.stream.size());
  };
  std::int64_t t = c.first_us;
  std::uint64_t t_delta = 0;
  typename Decoder::Value v{}, prev_v{};
  // Bits past the end read as zeros, so overrun is checked once, after the loop (the count is
  // bounded by the body's size); a chunk inside the range needs no per-sample range test.
  const bool inside = c.first_us >= from_us && c.last_us <= last_us;
  for (std::uint64_t i = 0; i < c.count; ++i) {
    const std::int64_t prev_t = t;
    if (i > 0) {
      t_delta += UnZigZag(r.ReadInt());
      t = static_cast<std::int64_t>(static_cast<std::uint64_t>(t) + t_delta);
    }
    const std::size_t bit = r.bit_pos();
    if (const char* error = dec.Next(r, v)) [[unlikely]]
      return Corrupt(error, byte_at(bit));
    if (i > 0 && (t < prev_t || (t == prev_t && Decoder::Less(v, prev_v)))) [[unlikely]] {
      if (r.overrun()) break;
      return Corrupt("samples out of order", byte_at(bit));
    }
    // Found at once, not at the chunk's end, which a reader that stops early never reaches.
    if (t > c.last_us) [[unlikely]] {
      if (r.overrun()) break;
      return Corrupt("timestamp past the header's last", byte_at(bit));
    }
    prev_v = v;
    if (!inside) {
      if (t > last_us) {
        if (r.overrun()) break;
        return OkStatus();
      }
      if (t < from_us) continue;
    }
    emit(t, v);
  }
  if (r.overrun()) return Corrupt("truncated bit stream", c.stream_at + c.stream.size());
  if (t != c.last_us) return Corrupt("last timestamp differs from the header", c.stream_at);
  const std::size_t used = (r.bit_pos() + 7) / 8;
  if (used != c.stream.size()) return Corrupt("bytes after the bit stream", c.stream_at + used);
  if (const unsigned pad = (8 - r.bit_pos() % 8) % 8; pad != 0 && r.Read(pad) != 0)
    return Corrupt("nonzero padding", c.stream_at + used - 1);
  if (const char* error = dec.Finish()) return Corrupt(error, c.strings_at);
  return OkStatus();
}

template <std::uint8_t K, class Decoder>
Status DecodeInto(const ChunkView& c, Decoder dec, std::int64_t from_us, std::int64_t last_us,
                  std::vector<Sample>* out) {
  return DecodeSamples<K>(c, dec, from_us, last_us, [out](std::int64_t t, const auto& v) {
    out->push_back(Sample{t, SignalValue(std::in_place_index<K>, v)});
  });
}

Status DecodeChunk(const ChunkView& c, std::int64_t from_us, std::int64_t last_us,
                   std::vector<Sample>* out) {
  switch (c.type) {
    case kBool:
      return DecodeInto<kBool>(c, BoolDecoder{}, from_us, last_us, out);
    case kInt64:
      return DecodeInto<kInt64>(c, IntDecoder<std::int64_t>{}, from_us, last_us, out);
    case kUint64:
      return DecodeInto<kUint64>(c, IntDecoder<std::uint64_t>{}, from_us, last_us, out);
    case kDouble:
      return DecodeInto<kDouble>(c, DoubleDecoder{}, from_us, last_us, out);
    default:
      return DecodeInto<kString>(c, StringDecoder{Reader(c.strings), {}}, from_us, last_us, out);
  }
}

// A group's raw words (packed::GroupReader) as numbers, as DecodeChunkColumns's emit converts
// them, and for integers also as exact bits.
void ConvertRaw(std::uint8_t type, const std::uint64_t* raw, std::size_t g, double* num,
                std::uint64_t* bits) {
  switch (type) {
    case kBool:
      for (std::size_t i = 0; i < g; ++i) num[i] = raw[i] != 0 ? 1.0 : 0.0;
      break;
    case kInt64:
      for (std::size_t i = 0; i < g; ++i) num[i] = static_cast<double>(static_cast<std::int64_t>(raw[i]));
      std::memcpy(bits, raw, g * sizeof raw[0]);
      break;
    case kUint64:
      for (std::size_t i = 0; i < g; ++i) num[i] = static_cast<double>(raw[i]);
      std::memcpy(bits, raw, g * sizeof raw[0]);
      break;
    default:
      std::memcpy(num, raw, g * sizeof raw[0]);  // a double's bits
  }
}

// A numeric chunk's samples as columns: t, the value as a double, and integers' exact bits.
// The outputs grow by the chunk's count first and are written through pointers, which keeps the
// decode loop in registers; they are cut to what was decoded, also on error.
template <class Out>
Status DecodeChunkColumns(const ChunkView& c, std::int64_t from_us, std::int64_t last_us,
                          Out& out) {
  const bool exact = c.type == kInt64 || c.type == kUint64;
  const std::size_t base = out.t->size();
  out.t->resize(base + c.count);
  out.num->resize(base + c.count);
  if (exact) out.bits->resize(base + c.count);
  std::int64_t* t_out = out.t->data() + base;
  double* num_out = out.num->data() + base;
  std::uint64_t* bits_out = exact ? out.bits->data() + base : nullptr;
  std::size_t n = 0;
  const auto emit = [&](std::int64_t t, auto v) {
    t_out[n] = t;
    num_out[n] = static_cast<double>(v);
    if constexpr (std::is_same_v<decltype(v), std::int64_t> ||
                  std::is_same_v<decltype(v), std::uint64_t>)
      bits_out[n] = static_cast<std::uint64_t>(v);
    ++n;
  };
  if (out.maybe_nan != nullptr && c.type == kDouble &&
      !(packed::IsPacked(c.version) && c.packed.scheme == packed::kDecimal))
    *out.maybe_nan = true;  // decimals are integers over a power of ten: never NaN
  Status status = OkStatus();
  if (packed::IsPacked(c.version) && c.first_us >= from_us && c.last_us <= last_us) {
    // Wholly in range: each group's timestamps go straight to the output, its values are
    // converted from the group's raw words (as emit converts them).
    packed::GroupReader reader(c.type, c.count, c.first_us, c.last_us, c.packed);
    alignas(64) std::uint64_t raw[packed::kGroupSize];
    while (!reader.done()) {
      auto group = reader.Next(t_out + n, raw);
      if (!group) {
        status = group.error();
        break;
      }
      const std::size_t g = group.value();
      ConvertRaw(c.type, raw, g, num_out + n, exact ? bits_out + n : nullptr);
      n += g;
    }
    if (status) status = reader.Finish();
  } else {
    switch (c.type) {
      case kBool:
        status = DecodeSamples<kBool>(c, BoolDecoder{}, from_us, last_us, emit);
        break;
      case kInt64:
        status = DecodeSamples<kInt64>(c, IntDecoder<std::int64_t>{}, from_us, last_us, emit);
        break;
      case kUint64:
        status = DecodeSamples<kUint64>(c, IntDecoder<std::uint64_t>{}, from_us, last_us, emit);
        break;
      default:
        status = DecodeSamples<kDouble>(c, DoubleDecoder{}, from_us, last_us, emit);
        break;
    }
  }
  out.t->resize(base + n);
  out.num->resize(base + n);
  if (exact) out.bits->resize(base + n);
  return status;
}

// Appends the samples with from_us <= t <= last_us of every chunk, in canonical order.
Status DecodeInRange(std::string_view block, std::int64_t from_us, std::int64_t last_us,
                     std::vector<Sample>* out) {
  // First the headers: validates them and sizes *out once.
  std::size_t reserve = 0;
  for (std::size_t offset = 0; offset < block.size();) {
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
    if (c.first_us >= from_us && c.last_us <= last_us) reserve += c.count;
  }
  // Capped, so that a corrupt count cannot reserve much more than the samples that exist.
  out->reserve(out->size() + std::min(reserve, kMaxReserve));
  const std::size_t begin = out->size();
  for (std::size_t offset = 0; offset < block.size();) {
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
    if (c.last_us < from_us || c.first_us > last_us) continue;
    const std::size_t mid = out->size();
    CANVOY_RETURN_IF_ERROR(DecodeChunk(c, from_us, last_us, out));
    // Each chunk is sorted; fold it into the sorted samples before it.
    if (mid > begin && mid < out->size() && CanonicalLess((*out)[mid], (*out)[mid - 1])) {
      const auto first = out->begin() + static_cast<std::ptrdiff_t>(begin);
      std::inplace_merge(first, out->begin() + static_cast<std::ptrdiff_t>(mid), out->end(),
                         CanonicalLess);
    }
  }
  return OkStatus();
}

// Appends one chunk of the n samples at(0..n-1), all of type K, in canonical order.
template <std::uint8_t K, class At>
void EncodeTyped(std::size_t n, const At& at, std::string& out) {
  using T = std::variant_alternative_t<K, SignalValue>;
  const auto value_at = [&at](std::size_t i) -> const T& { return *std::get_if<K>(&at(i).value); };
  std::string bits, section;
  bits.reserve(n + 16);
  BitWriter w(bits);
  const auto encode = [&](auto& encoder) {
    std::uint64_t t_prev = static_cast<std::uint64_t>(at(0).timestamp_us), t_delta = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) {
        const auto t = static_cast<std::uint64_t>(at(i).timestamp_us);
        PutInt(w, ZigZag(t - t_prev - t_delta));
        t_delta = t - t_prev;
        t_prev = t;
      }
      encoder.Put(w, value_at(i));
    }
  };
  if constexpr (K == kBool) {
    BoolEncoder encoder;
    encode(encoder);
  } else if constexpr (K == kInt64 || K == kUint64) {
    const bool dod = IntsUseDod(n, value_at);
    w.Put(dod ? 1 : 0, 1);
    IntEncoder encoder{dod ? ~std::uint64_t{0} : 0};
    encode(encoder);
  } else if constexpr (K == kDouble) {
    DoubleEncoder encoder;
    encode(encoder);
  } else {
    StringEncoder encoder{&section, {}};
    encode(encoder);
  }
  w.Finish();

  const auto first = static_cast<std::uint64_t>(at(0).timestamp_us);
  const std::uint64_t span = static_cast<std::uint64_t>(at(n - 1).timestamp_us) - first;
  std::size_t body = 8 + VarintLength(span) + bits.size();
  if constexpr (K == kString) body += VarintLength(section.size()) + section.size();
  out.push_back(static_cast<char>(kChunkVersion));
  out.push_back(static_cast<char>(K));
  AppendVarint(out, n);
  AppendVarint(out, body);
  AppendBe64(out, first);
  AppendVarint(out, span);
  if constexpr (K == kString) AppendLengthPrefixed(out, section);
  out.append(bits);
}

// Which chunk versions EncodeChunks writes for numbers (strings are always version 1).
enum class Form { kCurrent, kNoGrid, kNoUnit, kV1 };

template <class At>
void EncodeOneType(Form form, std::size_t type, std::size_t n, const At& at, std::string& out) {
  if (form != Form::kV1 && type != kString) {
    std::vector<const Sample*> run(n);
    for (std::size_t i = 0; i < n; ++i) run[i] = &at(i);
    return packed::AppendChunk(run, out, form != Form::kNoUnit, form == Form::kCurrent);
  }
  switch (type) {
    case kBool:
      return EncodeTyped<kBool>(n, at, out);
    case kInt64:
      return EncodeTyped<kInt64>(n, at, out);
    case kUint64:
      return EncodeTyped<kUint64>(n, at, out);
    case kDouble:
      return EncodeTyped<kDouble>(n, at, out);
    default:
      return EncodeTyped<kString>(n, at, out);
  }
}

std::string EncodeChunks(std::span<const Sample> samples, Form form) {
  std::string out;
  if (samples.empty()) return out;
  out.reserve(samples.size() * 2 + 32);
  const std::size_t type = samples.front().value.index();
  const bool one_type = std::all_of(samples.begin(), samples.end(),
                                    [type](const Sample& s) { return s.value.index() == type; });
  if (one_type && std::is_sorted(samples.begin(), samples.end(), CanonicalLess)) {
    EncodeOneType(
        form, type, samples.size(),
        [samples](std::size_t i) -> const Sample& { return samples[i]; }, out);
    return out;
  }
  // Sort pointers, not samples: no string is copied. Grouped by type, then canonical.
  std::vector<const Sample*> order(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) order[i] = &samples[i];
  std::sort(order.begin(), order.end(), [](const Sample* a, const Sample* b) {
    if (a->value.index() != b->value.index()) return a->value.index() < b->value.index();
    return CanonicalLess(*a, *b);
  });
  for (std::size_t begin = 0; begin < order.size();) {
    const std::size_t run_type = order[begin]->value.index();
    std::size_t end = begin;
    while (end < order.size() && order[end]->value.index() == run_type) ++end;
    const auto run = std::span(order).subspan(begin, end - begin);
    EncodeOneType(
        form, run_type, run.size(), [run](std::size_t i) -> const Sample& { return *run[i]; }, out);
    begin = end;
  }
  return out;
}

}  // namespace

bool CanonicalLess(const Sample& a, const Sample& b) {
  if (a.timestamp_us != b.timestamp_us) return a.timestamp_us < b.timestamp_us;
  if (a.value.index() != b.value.index()) return a.value.index() < b.value.index();
  switch (a.value.index()) {
    case kBool:
      return std::get<kBool>(a.value) < std::get<kBool>(b.value);
    case kInt64:
      return std::get<kInt64>(a.value) < std::get<kInt64>(b.value);
    case kUint64:
      return std::get<kUint64>(a.value) < std::get<kUint64>(b.value);
    case kDouble:
      return DoubleKey(std::get<kDouble>(a.value)) < DoubleKey(std::get<kDouble>(b.value));
    default:
      return std::get<kString>(a.value) < std::get<kString>(b.value);
  }
}

std::string EncodeChunk(std::span<const Sample> samples) {
  return EncodeChunks(samples, Form::kCurrent);
}

std::string EncodeChunkV1(std::span<const Sample> samples) {
  return EncodeChunks(samples, Form::kV1);
}

std::string EncodeChunkV2(std::span<const Sample> samples) {
  return EncodeChunks(samples, Form::kNoUnit);
}

std::string EncodeChunkV3(std::span<const Sample> samples) {
  return EncodeChunks(samples, Form::kNoGrid);
}

Status DecodeBlock(std::string_view block, std::vector<Sample>* out) {
  return DecodeInRange(block, kMinUs, kMaxUs, out);
}

Status DecodeBlockRange(std::string_view block, std::int64_t from_us, std::int64_t to_us,
                        std::vector<Sample>* out) {
  if (to_us <= from_us) return OkStatus();
  return DecodeInRange(block, from_us, to_us - 1, out);
}

namespace {

template <class Out>
Result<std::optional<std::uint8_t>> DecodeColumns(std::string_view block, std::int64_t from_us,
                                                  std::int64_t to_us, Out& out) {
  if (to_us <= from_us) return std::optional<std::uint8_t>();
  const std::int64_t last_us = to_us - 1;
  if (block.empty()) return std::optional<std::uint8_t>();
  {  // The usual block, one chunk (merges and compactions fold a block into one): one parse.
    std::size_t offset = 0;
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
    if (offset == block.size()) {
      if (c.type == kString || c.last_us < from_us || c.first_us > last_us)
        return std::optional<std::uint8_t>();
      CANVOY_RETURN_IF_ERROR(DecodeChunkColumns(c, from_us, last_us, out));
      return std::optional<std::uint8_t>(c.type);
    }
  }
  // Headers first: the chunks in range must be numeric, of one type, and follow each other in
  // time, so that appending them in block order is the canonical order.
  std::optional<std::uint8_t> type;
  std::int64_t prev_last = 0;
  for (std::size_t offset = 0; offset < block.size();) {
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
    if (c.last_us < from_us || c.first_us > last_us) continue;
    if (c.type == kString || (type && (*type != c.type || c.first_us <= prev_last)))
      return std::optional<std::uint8_t>();
    type = c.type;
    prev_last = c.last_us;
  }
  if (!type) return type;
  for (std::size_t offset = 0; offset < block.size();) {
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
    if (c.last_us < from_us || c.first_us > last_us) continue;
    CANVOY_RETURN_IF_ERROR(DecodeChunkColumns(c, from_us, last_us, out));
  }
  return type;
}

}  // namespace

Result<std::optional<std::uint8_t>> DecodeBlockColumns(std::string_view block, std::int64_t from_us,
                                                       std::int64_t to_us, SampleColumnsOut out) {
  return DecodeColumns(block, from_us, to_us, out);
}

Result<std::optional<std::uint8_t>> DecodeBlockColumns(std::string_view block, std::int64_t from_us,
                                                       std::int64_t to_us, SampleCellsOut out) {
  return DecodeColumns(block, from_us, to_us, out);
}

Result<std::optional<GridColumns>> DecodeGridColumns(std::string_view block, std::int64_t from_us,
                                                     std::int64_t to_us, SampleCellsOut out) {
  std::size_t offset = 0;
  if (block.empty() || to_us <= from_us) return std::optional<GridColumns>();
  CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset));
  if (offset != block.size() || !c.packed.grid || c.first_us < from_us || c.last_us >= to_us)
    return std::optional<GridColumns>();
  GridColumns grid{c.type, c.first_us, c.packed.unit, c.packed.slots, c.packed.bitmap,
                   c.type == kDouble && c.packed.scheme != packed::kDecimal};
  const bool exact = c.type == kInt64 || c.type == kUint64;
  const std::size_t base = out.num->size();
  out.num->resize(base + c.count);
  if (exact) out.bits->resize(base + c.count);
  double* num_out = out.num->data() + base;
  std::uint64_t* bits_out = exact ? out.bits->data() + base : nullptr;
  packed::GroupReader reader(c.type, c.count, c.first_us, c.last_us, c.packed);
  alignas(64) std::uint64_t raw[packed::kGroupSize];
  std::size_t n = 0;
  Status status = OkStatus();
  while (!reader.done()) {
    auto group = reader.NextValues(raw);
    if (!group) {
      status = group.error();
      break;
    }
    const std::size_t g = group.value();
    ConvertRaw(c.type, raw, g, num_out + n, bits_out != nullptr ? bits_out + n : nullptr);
    n += g;
  }
  if (status) status = reader.Finish();
  out.num->resize(base + n);
  if (exact) out.bits->resize(base + n);
  CANVOY_RETURN_IF_ERROR(status);
  return std::optional<GridColumns>(grid);
}

Result<std::size_t> CountChunks(std::string_view block) {
  std::size_t chunks = 0;
  for (std::size_t offset = 0; offset < block.size(); ++chunks) {
    CANVOY_RETURN_IF_ERROR(ParseChunk(block, &offset));
  }
  return chunks;
}

Result<bool> BlockIsNumeric(std::string_view block) {
  bool numeric = true;
  for (std::size_t offset = 0; offset < block.size();) {
    CANVOY_ASSIGN_OR_RETURN(const ChunkView c, ParseChunk(block, &offset, true));
    numeric = numeric && c.type != kString;
  }
  return numeric;
}

Result<std::string> CompactBlock(std::string_view block) {
  std::vector<Sample> samples;
  CANVOY_RETURN_IF_ERROR(DecodeBlock(block, &samples));
  return EncodeChunk(samples);
}

}  // namespace canvoy::fleet_store::storage
