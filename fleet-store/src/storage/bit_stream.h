// The bit streams of history blocks (history_block.h documents the layout): a writer that
// appends bits most significant first, a reader with a branch-light fast path, and the variable
// width integer classes both use; and the integer maps both chunk versions use. Internal to
// history_block.cc and packed_chunk.cc.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace canvoy::fleet_store::storage::bits {

// Integers are handled as their two's complement bits, so all arithmetic wraps and is exact.
inline std::uint64_t ZigZag(std::uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
inline std::uint64_t UnZigZag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

// Unsigned order of the result is IEEE 754 totalOrder of the doubles with these bits.
inline std::uint64_t DoubleKey(std::uint64_t bits) {
  return bits ^ ((0 - (bits >> 63)) | (std::uint64_t{1} << 63));
}

inline std::size_t VarintLength(std::uint64_t v) { return (std::bit_width(v | 1) + 6) / 7; }

// Appends bits most significant first to a string; Finish() pads the last byte with zeros.
class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}

  // The low n bits of v; n <= 32 and v < 2^n.
  void Put(std::uint64_t v, unsigned n) {
    acc_ = (acc_ << n) | v;
    fill_ += n;
    if (fill_ >= 32) {
      fill_ -= 32;
      const auto word = static_cast<std::uint32_t>(acc_ >> fill_);
      const char bytes[4] = {static_cast<char>(word >> 24), static_cast<char>(word >> 16),
                             static_cast<char>(word >> 8), static_cast<char>(word)};
      out_.append(bytes, 4);
    }
  }
  // 1 <= n <= 64, v < 2^n.
  void PutWide(std::uint64_t v, unsigned n) {
    if (n > 32) {
      Put(v >> 32, n - 32);
      v &= 0xFFFF'FFFF;
      n = 32;
    }
    Put(v, n);
  }
  void Finish() {
    while (fill_ >= 8) {
      fill_ -= 8;
      out_.push_back(static_cast<char>(acc_ >> fill_));
    }
    if (fill_ > 0) out_.push_back(static_cast<char>(acc_ << (8 - fill_)));
    fill_ = 0;
  }

 private:
  std::string& out_;
  std::uint64_t acc_ = 0;
  unsigned fill_ = 0;  // pending bits in the low end of acc_, < 32 between calls
};

// The integer classes (see history_block.h), indexed by the next 5 bits of the stream.
struct IntClass {
  std::uint8_t total;  // prefix + payload bits (payloads of 64 bits are read separately)
  std::uint8_t width;  // payload bits
  std::uint64_t mask;
};
constexpr std::array<IntClass, 32> kIntClasses = [] {
  constexpr std::uint8_t kWidths[] = {0, 7, 12, 20, 32, 64};
  std::array<IntClass, 32> table{};
  for (unsigned i = 0; i < 32; ++i) {
    const int ones = std::countl_one(static_cast<std::uint8_t>(i << 3));
    const auto prefix = static_cast<std::uint8_t>(ones == 5 ? 5 : ones + 1);
    const std::uint8_t width = kWidths[ones];
    table[i] = {static_cast<std::uint8_t>(prefix + width), width,
                width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1};
  }
  return table;
}();

inline void PutInt(BitWriter& w, std::uint64_t z) {
  if (z == 0) {
    w.Put(0, 1);
  } else if (z < (1u << 7)) {
    w.Put((std::uint64_t{0b10} << 7) | z, 9);
  } else if (z < (1u << 12)) {
    w.Put((std::uint64_t{0b110} << 12) | z, 15);
  } else if (z < (1u << 20)) {
    w.Put((std::uint64_t{0b1110} << 20) | z, 24);
  } else if ((z >> 32) == 0) {
    w.Put(0b11110, 5);
    w.Put(z, 32);
  } else {
    w.Put(0b11111, 5);
    w.PutWide(z, 64);
  }
}

inline unsigned IntBits(std::uint64_t z) {
  if (z == 0) return 1;
  if (z < (1u << 7)) return 9;
  if (z < (1u << 12)) return 15;
  if (z < (1u << 20)) return 24;
  return (z >> 32) == 0 ? 37 : 69;
}

#define CANVOY_BITS_INLINE [[gnu::always_inline]] inline

// Reads bits most significant first. Bits past the end read as zeros and set overrun(), which
// callers check once per sample, so reads need no bounds branch of their own. Always inlined, so
// that a decode loop keeps the reader in registers.
class BitReader {
 public:
  explicit BitReader(std::string_view bytes)
      : data_(reinterpret_cast<const unsigned char*>(bytes.data())), size_(bytes.size()) {}

  // The next 57 or more bits, most significant first (zeros past the end).
  CANVOY_BITS_INLINE std::uint64_t Window() const {
    const std::size_t byte = pos_ >> 3;
    std::uint64_t w = 0;
    if (byte + 8 <= size_) [[likely]] {
      std::memcpy(&w, data_ + byte, 8);
      if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    } else {
      for (std::size_t i = byte; i < byte + 8; ++i) w = (w << 8) | (i < size_ ? data_[i] : 0u);
    }
    return w << (pos_ & 7);
  }
  CANVOY_BITS_INLINE void Skip(unsigned n) { pos_ += n; }
  // 1 <= n <= 57.
  CANVOY_BITS_INLINE std::uint64_t Read(unsigned n) {
    const std::uint64_t v = Window() >> (64 - n);
    pos_ += n;
    return v;
  }
  // 1 <= n <= 64.
  CANVOY_BITS_INLINE std::uint64_t ReadWide(unsigned n) {
    if (n <= 57) return Read(n);
    const std::uint64_t high = Read(n - 32);
    return (high << 32) | Read(32);
  }
  CANVOY_BITS_INLINE std::uint64_t ReadInt() {
    const std::uint64_t w = Window();
    if ((w >> 63) == 0) {  // the common zero: one bit
      ++pos_;
      return 0;
    }
    const IntClass& c = kIntClasses[w >> 59];
    if (c.width != 64) [[likely]] {
      pos_ += c.total;
      return (w >> (64 - c.total)) & c.mask;
    }
    pos_ += 5;
    return ReadWide(64);
  }
  bool overrun() const { return pos_ > size_ * 8; }
  std::size_t bit_pos() const { return pos_; }

 private:
  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

#undef CANVOY_BITS_INLINE

}  // namespace canvoy::fleet_store::storage::bits
