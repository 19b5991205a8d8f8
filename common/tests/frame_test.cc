#include "canvoy/common/frame.h"

#include <gtest/gtest.h>

#include "canvoy/uplink/v1/uplink.pb.h"

namespace canvoy {
namespace {

TEST(FrameTest, HeaderCarriesBigEndianLengthOfPayload) {
  uplink::v1::AgentFrame frame;
  frame.mutable_hello()->set_agent_version("test");
  std::string wire;
  AppendFrame(frame, &wire);
  ASSERT_GE(wire.size(), kFrameHeaderSize);
  auto size = DecodeFrameHeader(reinterpret_cast<const std::uint8_t*>(wire.data()), 1024);
  ASSERT_TRUE(size);
  EXPECT_EQ(size.value(), wire.size() - kFrameHeaderSize);
  uplink::v1::AgentFrame parsed;
  ASSERT_TRUE(parsed.ParseFromArray(wire.data() + kFrameHeaderSize, static_cast<int>(size.value())));
  EXPECT_EQ(parsed.hello().agent_version(), "test");
}

TEST(FrameTest, RejectsFrameOverLimit) {
  const std::uint8_t header[4] = {0x00, 0x10, 0x00, 0x01};
  auto size = DecodeFrameHeader(header, 1 << 20);
  ASSERT_FALSE(size);
  EXPECT_NE(size.error().message().find("1048577"), std::string::npos);
}

TEST(FrameTest, RejectsEmptyFrame) {
  const std::uint8_t header[4] = {0, 0, 0, 0};
  EXPECT_FALSE(DecodeFrameHeader(header, 1024));
}

}  // namespace
}  // namespace canvoy
