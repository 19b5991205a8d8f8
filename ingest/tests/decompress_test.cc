#include "decompress.h"

#include <zstd.h>

#include <gtest/gtest.h>

namespace canvoy::ingest {
namespace {

using uplink::v1::BatchFrame;

constexpr std::uint32_t kLimit = 64 * 1024;

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame that does not state its content size (streaming compression).
std::string ZstdWithoutContentSize(const std::string& data) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), data.data(), data.size());
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

BatchFrame Frame(std::string bytes, uplink::v1::Compression compression, std::uint32_t uncompressed_size) {
  BatchFrame frame;
  frame.set_batch(std::move(bytes));
  frame.set_compression(compression);
  frame.set_uncompressed_size(uncompressed_size);
  return frame;
}

std::string Refusal(const BatchFrame& frame) {
  std::string storage;
  auto r = BatchBytes(frame, kLimit, &storage);
  EXPECT_FALSE(r) << "accepted";
  EXPECT_LE(storage.capacity(), kLimit + 64);
  return r ? "" : r.error().message();
}

const std::string kPayload = [] {
  std::string s;
  for (int i = 0; i < 2000; ++i) s += "sample " + std::to_string(i % 17) + ";";
  return s;
}();

TEST(BatchBytesTest, UncompressedIsReturnedAsIs) {
  std::string storage;
  auto frame = Frame(kPayload, uplink::v1::COMPRESSION_NONE, 0);
  auto r = BatchBytes(frame, kLimit, &storage);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), kPayload);
  EXPECT_TRUE(storage.empty());
}

TEST(BatchBytesTest, UncompressedWithWrongSizeIsRefused) {
  EXPECT_NE(Refusal(Frame(kPayload, uplink::v1::COMPRESSION_NONE, 5)).find("uncompressed_size says 5"),
            std::string::npos);
}

TEST(BatchBytesTest, ZstdIsDecompressed) {
  std::string storage;
  auto frame = Frame(Zstd(kPayload), uplink::v1::COMPRESSION_ZSTD, static_cast<std::uint32_t>(kPayload.size()));
  ASSERT_LT(frame.batch().size(), kPayload.size());
  auto r = BatchBytes(frame, kLimit, &storage);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), kPayload);
}

TEST(BatchBytesTest, ZstdDeclaredLargerThanTheLimitIsRefusedBeforeDecompressing) {
  const std::string big(kLimit + 1, 'x');
  const std::string message = Refusal(Frame(Zstd(big), uplink::v1::COMPRESSION_ZSTD, kLimit + 1));
  EXPECT_NE(message.find("exceeds the limit"), std::string::npos) << message;
}

TEST(BatchBytesTest, ZstdBombDeclaredSmallIsRefused) {
  // 16 MiB of zeros compress to a few hundred bytes; the frame claims a small batch.
  const std::string bomb = Zstd(std::string(16u << 20, '\0'));
  ASSERT_LT(bomb.size(), 4096u);
  const std::string message = Refusal(Frame(bomb, uplink::v1::COMPRESSION_ZSTD, 1000));
  EXPECT_NE(message.find("differs from uncompressed_size 1000"), std::string::npos) << message;
}

TEST(BatchBytesTest, ZstdWhoseHeaderUnderstatesItsContentIsRefused) {
  // A real frame of 100000 bytes whose header is patched to claim 1024: decompression into
  // the declared 1024 bytes must fail rather than grow.
  std::string frame = Zstd(std::string(100000, 'z'));
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), 100000u);
  // Frame header: magic (4), descriptor (1), window descriptor unless single-segment, then
  // the content size field, here 4 bytes little-endian (descriptor bits 7-6 = 2).
  const auto descriptor = static_cast<unsigned char>(frame[4]);
  ASSERT_EQ(descriptor >> 6, 2) << "expected a 4-byte content size field";
  const std::size_t at = 5 + ((descriptor & 0x20) != 0 ? 0 : 1);
  const char claimed[4] = {0x00, 0x04, 0x00, 0x00};  // 1024
  frame.replace(at, 4, claimed, 4);
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), 1024u);
  const std::string message = Refusal(Frame(frame, uplink::v1::COMPRESSION_ZSTD, 1024));
  EXPECT_NE(message.find("zstd: "), std::string::npos) << message;
}

TEST(BatchBytesTest, ZstdWithoutContentSizeIsRefused) {
  const std::string message = Refusal(Frame(ZstdWithoutContentSize(kPayload), uplink::v1::COMPRESSION_ZSTD,
                                            static_cast<std::uint32_t>(kPayload.size())));
  EXPECT_NE(message.find("does not state its content size"), std::string::npos) << message;
}

TEST(BatchBytesTest, ZstdWithoutUncompressedSizeIsRefused) {
  EXPECT_NE(Refusal(Frame(Zstd(kPayload), uplink::v1::COMPRESSION_ZSTD, 0)).find("without uncompressed_size"),
            std::string::npos);
}

TEST(BatchBytesTest, BytesAfterTheZstdFrameAreRefused) {
  const std::string message = Refusal(Frame(Zstd(kPayload) + Zstd(""), uplink::v1::COMPRESSION_ZSTD,
                                            static_cast<std::uint32_t>(kPayload.size())));
  EXPECT_NE(message.find("follow the zstd frame"), std::string::npos) << message;
}

TEST(BatchBytesTest, GarbageMarkedZstdIsRefused) {
  const std::string message = Refusal(Frame(std::string(100, '\x7f'), uplink::v1::COMPRESSION_ZSTD, 100));
  EXPECT_NE(message.find("not a zstd frame"), std::string::npos) << message;
}

TEST(BatchBytesTest, UnknownCompressionIsRefused) {
  const std::string message = Refusal(Frame(kPayload, static_cast<uplink::v1::Compression>(7), 0));
  EXPECT_NE(message.find("unknown compression 7"), std::string::npos) << message;
}

}  // namespace
}  // namespace canvoy::ingest
