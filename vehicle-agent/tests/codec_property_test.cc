// Property: for random signals of every width, byte order and signedness, the Encoder writes and
// the Decoder reads back the same value, touching no other bit; and the Decoder agrees with a
// naive bit-by-bit reading of the DBC definition (so that a layout bug shared by Encoder and
// Decoder cannot hide).
#include <gtest/gtest.h>

#include <random>

#include "canvoy/agent/decoder.h"
#include "canvoy/agent/encoder.h"

namespace canvoy::agent {
namespace {

constexpr int kCasesPerShape = 40;
constexpr std::uint32_t kSeed = 20240611;

bool PayloadBit(const std::array<std::uint8_t, 64>& data, std::uint32_t bit) {
  return ((data[bit / 8] >> (bit % 8)) & 1) != 0;
}

// The raw value as the DBC definition reads: Intel takes bits start.. upward; Motorola takes the
// MSB at start and walks the sawtooth down (7..0 of a byte, then 7..0 of the next).
std::uint64_t NaiveRaw(const DbcSignal& s, const std::array<std::uint8_t, 64>& data) {
  std::uint64_t value = 0;
  if (s.byte_order == ByteOrder::kLittleEndian) {
    for (std::uint32_t i = 0; i < s.length; ++i) {
      if (PayloadBit(data, s.start_bit + i)) value |= std::uint64_t{1} << i;
    }
    return value;
  }
  std::uint32_t bit = s.start_bit;
  for (std::uint32_t i = 0; i < s.length; ++i) {
    value = (value << 1) | (PayloadBit(data, bit) ? 1 : 0);
    bit = bit % 8 == 0 ? bit + 15 : bit - 1;
  }
  return value;
}

std::uint64_t RandomRaw(std::mt19937_64& rng, const DbcSignal& s) {
  const std::uint64_t bits = rng();
  if (s.length == 64) return bits;
  const std::uint64_t value = bits & ((std::uint64_t{1} << s.length) - 1);
  if (!s.is_signed || (value >> (s.length - 1)) == 0) return value;
  return value | ~((std::uint64_t{1} << s.length) - 1);  // sign-extend
}

// A random signal of this shape that fits in `payload_len` bytes.
DbcSignal RandomSignal(std::mt19937_64& rng, std::uint16_t length, ByteOrder order, bool is_signed,
                       std::size_t payload_len) {
  DbcSignal s;
  s.name = "S";
  s.length = length;
  s.byte_order = order;
  s.is_signed = is_signed;
  std::array<std::uint8_t, 64> scratch{};
  while (true) {
    s.start_bit = static_cast<std::uint16_t>(rng() % (payload_len * 8));
    if (EncodeRaw(s, 0, std::span(scratch.data(), payload_len))) return s;
  }
}

struct Shape {
  std::uint16_t length;
  ByteOrder order;
  bool is_signed;
};

void CheckShape(std::mt19937_64& rng, const Shape& shape, std::size_t payload_len) {
  for (int i = 0; i < kCasesPerShape; ++i) {
    DbcSignal signal = RandomSignal(rng, shape.length, shape.order, shape.is_signed, payload_len);
    DbcDatabase db;
    db.messages.push_back(DbcMessage{
        1, false, "M", static_cast<std::uint32_t>(payload_len), "", "", {signal}, {}, 0});
    auto decoder = Decoder::Create({db});
    ASSERT_TRUE(decoder) << decoder.error().message();

    CanFrame frame;
    frame.id = 1;
    frame.len = static_cast<std::uint8_t>(payload_len);
    for (std::size_t b = 0; b < payload_len; ++b) frame.data[b] = static_cast<std::uint8_t>(rng());
    const auto background = frame.data;
    const std::uint64_t raw = RandomRaw(rng, signal);
    const Status encoded = EncodeRaw(signal, raw, std::span(frame.data.data(), payload_len));
    ASSERT_TRUE(encoded) << encoded.error().message() << " " << raw << " len " << shape.length;

    DecodedFrame out = decoder.value().MakeFrameBuffer();
    ASSERT_EQ(decoder.value().Decode(frame, &out), DecodeOutcome::kDecoded);
    ASSERT_EQ(out.signals().size(), 1u);
    const std::string where = "length " + std::to_string(shape.length) + " start " +
                              std::to_string(signal.start_bit) +
                              (shape.order == ByteOrder::kBigEndian ? " @0" : " @1") +
                              (shape.is_signed ? "-" : "+") + " raw " + std::to_string(raw);
    ASSERT_EQ(out.signals()[0].raw, raw) << where;
    if (shape.is_signed) {
      ASSERT_EQ(out.signals()[0].physical, PhysicalValue(static_cast<std::int64_t>(raw))) << where;
    } else if (shape.length == 64) {
      ASSERT_EQ(out.signals()[0].physical, PhysicalValue(raw)) << where;
    } else {
      ASSERT_EQ(out.signals()[0].physical, PhysicalValue(static_cast<std::int64_t>(raw))) << where;
    }
    const std::uint64_t mask =
        shape.length == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << shape.length) - 1;
    ASSERT_EQ(NaiveRaw(signal, frame.data), raw & mask) << where;

    // Only the signal's own bits changed: encoding the background's old value restores it.
    std::uint64_t restore = NaiveRaw(signal, background);
    if (shape.is_signed && shape.length < 64 && (restore >> (shape.length - 1)) != 0)
      restore |= ~mask;
    ASSERT_TRUE(EncodeRaw(signal, restore, std::span(frame.data.data(), payload_len)));
    ASSERT_EQ(frame.data, background) << where;
  }
}

TEST(CodecPropertyTest, EveryWidthByteOrderAndSignRoundTripsInClassicFrames) {
  std::mt19937_64 rng(kSeed);
  for (std::uint16_t length = 1; length <= 64; ++length) {
    for (const ByteOrder order : {ByteOrder::kLittleEndian, ByteOrder::kBigEndian}) {
      for (const bool is_signed : {false, true}) CheckShape(rng, {length, order, is_signed}, 8);
    }
  }
}

TEST(CodecPropertyTest, EveryWidthByteOrderAndSignRoundTripsInCanFdFrames) {
  std::mt19937_64 rng(kSeed + 1);
  for (std::uint16_t length = 1; length <= 64; ++length) {
    for (const ByteOrder order : {ByteOrder::kLittleEndian, ByteOrder::kBigEndian}) {
      for (const bool is_signed : {false, true}) CheckShape(rng, {length, order, is_signed}, 64);
    }
  }
}

TEST(EncoderTest, RejectsValuesThatDoNotFitAndSignalsPastThePayload) {
  DbcSignal s;
  s.name = "S";
  s.start_bit = 0;
  s.length = 4;
  std::array<std::uint8_t, 8> data{};
  EXPECT_FALSE(EncodeRaw(s, 16, data));
  s.is_signed = true;
  EXPECT_TRUE(EncodeRaw(s, static_cast<std::uint64_t>(-8), data));
  EXPECT_FALSE(EncodeRaw(s, 8, data));
  s.start_bit = 62;
  EXPECT_FALSE(EncodeRaw(s, 1, data));
}

TEST(EncoderTest, RawFromPhysicalInvertsTheScaling) {
  DbcSignal s;
  s.name = "S";
  s.length = 16;
  s.is_signed = true;
  s.factor = DbcNumber{0.5, 5, -1, true};
  s.offset = DbcNumber{-10, -1, 1, true};
  auto raw = RawFromPhysical(s, PhysicalValue(-12.5));
  ASSERT_TRUE(raw);
  EXPECT_EQ(static_cast<std::int64_t>(raw.value()), -5);
  s.factor = DbcNumber{3, 3, 0, true};
  raw = RawFromPhysical(s, PhysicalValue(std::int64_t{-1}));  // (-1 - -10) / 3 = 3
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw.value(), 3u);
  EXPECT_FALSE(RawFromPhysical(s, PhysicalValue(std::int64_t{0})));        // not a multiple of 3
  EXPECT_FALSE(RawFromPhysical(s, PhysicalValue(std::int64_t{299'990})));  // raw 100000 > 16 bits
}

}  // namespace
}  // namespace canvoy::agent
