#include "uplink/batch_codec.h"

#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>
#include <zstd.h>

#include "canvoy/agent/batch_builder.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;
using google::protobuf::util::MessageDifferencer;

tv1::Catalog OneSignal() {
  tv1::Catalog catalog;
  auto* s = catalog.add_signals();
  s->set_id(1);
  s->set_type(tv1::SIGNAL_TYPE_DOUBLE);
  return catalog;
}

// A batch like a slowly moving wheel speed: `samples` values 10 ms apart.
tv1::Batch SpeedBatch(int samples) {
  BatchBuilder builder(OneSignal());
  for (int i = 0; i < samples; ++i) {
    EXPECT_TRUE(builder.Add(1, 1'700'000'000'000'000 + i * 10'000, PhysicalValue(20.0 + (i / 50) * 0.01)));
  }
  tv1::Batch batch = builder.Seal(StreamId::Random(), 7, std::string(32, 'h'));
  batch.set_vin("CNVYS000000000001");
  return batch;
}

uplink::v1::BatchFrame Frame(const std::string& bytes) {
  uplink::v1::BatchFrame frame;
  EXPECT_TRUE(frame.ParseFromString(bytes));
  return frame;
}

TEST(BatchCodecTest, CompressesALargeBatchAndDecodesItExactly) {
  const tv1::Batch batch = SpeedBatch(2000);
  BatchEncoder encoder;
  const std::string encoded = encoder.Encode(batch);
  const auto frame = Frame(encoded);
  EXPECT_EQ(frame.compression(), uplink::v1::COMPRESSION_ZSTD);
  EXPECT_EQ(frame.uncompressed_size(), batch.ByteSizeLong());
  EXPECT_LT(frame.batch().size(), batch.ByteSizeLong() / 2);
  auto decoded = DecodeBatchFrame(encoded, 1 << 20);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_TRUE(MessageDifferencer::Equals(decoded.value(), batch));
  // The context is reused: a second batch encodes just the same.
  EXPECT_EQ(encoder.Encode(batch), encoded);
}

TEST(BatchCodecTest, SmallOrDisabledGoesUncompressed) {
  const tv1::Batch small = SpeedBatch(1);
  BatchEncoder encoder;
  const auto small_frame = Frame(encoder.Encode(small));
  EXPECT_EQ(small_frame.compression(), uplink::v1::COMPRESSION_NONE);
  EXPECT_EQ(small_frame.batch(), small.SerializeAsString());

  BatchEncoder off(BatchCompression{.enabled = false});
  const tv1::Batch large = SpeedBatch(2000);
  const std::string encoded = off.Encode(large);
  EXPECT_EQ(Frame(encoded).compression(), uplink::v1::COMPRESSION_NONE);
  auto decoded = DecodeBatchFrame(encoded, 1 << 20);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(MessageDifferencer::Equals(decoded.value(), large));
}

TEST(BatchCodecTest, RefusesBombsLiesAndGarbage) {
  BatchEncoder encoder;
  const tv1::Batch batch = SpeedBatch(2000);
  const std::string encoded = encoder.Encode(batch);

  auto over = DecodeBatchFrame(encoded, batch.ByteSizeLong() - 1);  // over the limit
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("limit"), std::string::npos) << over.error().message();

  auto lie = Frame(encoded);  // declares another size than the zstd frame holds
  lie.set_uncompressed_size(lie.uncompressed_size() + 1);
  EXPECT_FALSE(DecodeBatchFrame(lie.SerializeAsString(), 1 << 20));

  auto corrupt = Frame(encoded);  // content bytes damaged
  std::string bytes = corrupt.batch();
  for (std::size_t i = bytes.size() / 2; i < bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  corrupt.set_batch(bytes);
  EXPECT_FALSE(DecodeBatchFrame(corrupt.SerializeAsString(), 1 << 20));

  // A megabyte of zeros in a few hundred bytes, over a 64 KiB limit: refused before allocating.
  const std::string zeros(1 << 20, '\0');
  std::string bomb(ZSTD_compressBound(zeros.size()), '\0');
  bomb.resize(ZSTD_compress(bomb.data(), bomb.size(), zeros.data(), zeros.size(), 19));
  uplink::v1::BatchFrame bomb_frame;
  bomb_frame.set_compression(uplink::v1::COMPRESSION_ZSTD);
  bomb_frame.set_uncompressed_size(static_cast<std::uint32_t>(zeros.size()));
  bomb_frame.set_batch(bomb);
  EXPECT_FALSE(DecodeBatchFrame(bomb_frame.SerializeAsString(), 64 << 10));

  EXPECT_FALSE(DecodeBatchFrame("\xff\xff garbage", 1 << 20));
}

}  // namespace
}  // namespace canvoy::agent
