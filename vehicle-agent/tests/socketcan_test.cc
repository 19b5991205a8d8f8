#include "canvoy/agent/socketcan.h"

#include <gtest/gtest.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace canvoy::agent {
namespace {

std::vector<CanIdFilter> ParseOrFail(std::string_view spec) {
  auto parsed = ParseCanFilterSpec(spec);
  EXPECT_TRUE(parsed) << spec << ": " << (parsed ? "" : parsed.error().message());
  return parsed ? parsed.value() : std::vector<CanIdFilter>{};
}

TEST(CanFilterSpecTest, ParsesStandardExtendedAndInvertedItems) {
  const auto filters = ParseOrFail("0x123:0x7FF, 18FF0000:1FFFFF00,0x100~0x700");
  ASSERT_EQ(filters.size(), 3u);
  EXPECT_EQ(filters[0].id, 0x123u);
  EXPECT_EQ(filters[0].mask, 0x7FFu);
  EXPECT_FALSE(filters[0].extended);
  EXPECT_FALSE(filters[0].inverted);
  EXPECT_EQ(filters[1].id, 0x18FF0000u);
  EXPECT_EQ(filters[1].mask, 0x1FFFFF00u);
  EXPECT_TRUE(filters[1].extended);
  EXPECT_EQ(filters[2].id, 0x100u);
  EXPECT_TRUE(filters[2].inverted);
}

TEST(CanFilterSpecTest, EightDigitSmallIdIsExtended) {
  const auto filters = ParseOrFail("00000123:1FFFFFFF");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_TRUE(filters[0].extended);
  EXPECT_EQ(filters[0].id, 0x123u);
}

TEST(CanFilterSpecTest, EmptySpecGivesNoFilters) { EXPECT_TRUE(ParseOrFail("  ").empty()); }

TEST(CanFilterSpecTest, RejectsItemWithoutSeparatorNamingIt) {
  auto parsed = ParseCanFilterSpec("123:7FF,456");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("item 2 \"456\""), std::string::npos)
      << parsed.error().message();
}

TEST(CanFilterSpecTest, RejectsNonHexAndOversizedValues) {
  EXPECT_FALSE(ParseCanFilterSpec("12G:7FF"));
  EXPECT_FALSE(ParseCanFilterSpec("123:"));
  EXPECT_FALSE(ParseCanFilterSpec("123:FFF"));             // 12-bit mask on an 11-bit id
  EXPECT_FALSE(ParseCanFilterSpec("3FFFFFFF:1FFFFFFF"));   // 30-bit id
  EXPECT_FALSE(ParseCanFilterSpec("123:7FF,"));            // empty item
}

TEST(KernelCanFilterTest, StandardFilterPassesOnlyMatching11BitFrames) {
  const KernelCanFilter filter = ToKernelFilter(ParseOrFail("123:7FF")[0]);
  EXPECT_EQ(filter.can_id, 0x123u);
  EXPECT_EQ(filter.can_mask, 0x7FFu | CAN_EFF_FLAG);
  EXPECT_TRUE(KernelFilterPasses(filter, 0x123));
  EXPECT_TRUE(KernelFilterPasses(filter, 0x123 | CAN_RTR_FLAG));
  EXPECT_FALSE(KernelFilterPasses(filter, 0x124));
  EXPECT_FALSE(KernelFilterPasses(filter, 0x123 | CAN_EFF_FLAG));
}

TEST(KernelCanFilterTest, ExtendedMaskedFilterPassesARangeOf29BitFrames) {
  const KernelCanFilter filter = ToKernelFilter(ParseOrFail("18FF0000:1FFFFF00")[0]);
  EXPECT_EQ(filter.can_id, 0x18FF0000u | CAN_EFF_FLAG);
  EXPECT_TRUE(KernelFilterPasses(filter, 0x18FF00A5 | CAN_EFF_FLAG));
  EXPECT_FALSE(KernelFilterPasses(filter, 0x18FE00A5 | CAN_EFF_FLAG));
  EXPECT_FALSE(KernelFilterPasses(filter, 0x0A5));
}

TEST(KernelCanFilterTest, InvertedFilterPassesEverythingElse) {
  const KernelCanFilter filter = ToKernelFilter(ParseOrFail("100~700")[0]);
  EXPECT_NE(filter.can_id & CAN_INV_FILTER, 0u);
  EXPECT_FALSE(KernelFilterPasses(filter, 0x123));
  EXPECT_TRUE(KernelFilterPasses(filter, 0x223));
  EXPECT_TRUE(KernelFilterPasses(filter, 0x123 | CAN_EFF_FLAG));
}

TEST(FrameFromKernelTest, ClassicStandardDataFrame) {
  canfd_frame kernel{};
  kernel.can_id = 0x260;
  kernel.len = 3;
  kernel.data[0] = 0x08;
  kernel.data[2] = 0xFB;
  auto frame = FrameFromKernel(kernel, CAN_MTU, 1'533'197'087'584'930, 2);
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_EQ(frame.value().id, 0x260u);
  EXPECT_FALSE(frame.value().extended);
  EXPECT_FALSE(frame.value().fd);
  EXPECT_FALSE(frame.value().remote);
  EXPECT_FALSE(frame.value().error);
  EXPECT_EQ(frame.value().len, 3);
  EXPECT_EQ(frame.value().data[0], 0x08);
  EXPECT_EQ(frame.value().data[2], 0xFB);
  EXPECT_EQ(frame.value().timestamp_us, 1'533'197'087'584'930);
  EXPECT_EQ(frame.value().interface_index, 2);
}

TEST(FrameFromKernelTest, ExtendedIdLosesTheFlag) {
  canfd_frame kernel{};
  kernel.can_id = 0x18FF1234 | CAN_EFF_FLAG;
  kernel.len = 8;
  auto frame = FrameFromKernel(kernel, CAN_MTU, 0, 0);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame.value().extended);
  EXPECT_EQ(frame.value().id, 0x18FF1234u);
}

TEST(FrameFromKernelTest, RemoteFrameKeepsRequestedLengthWithoutPayload) {
  canfd_frame kernel{};
  kernel.can_id = 0x7DF | CAN_RTR_FLAG;
  kernel.len = 4;
  kernel.data[0] = 0xAA;  // garbage a driver might leave
  auto frame = FrameFromKernel(kernel, CAN_MTU, 0, 0);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame.value().remote);
  EXPECT_EQ(frame.value().id, 0x7DFu);
  EXPECT_EQ(frame.value().len, 4);
  EXPECT_EQ(frame.value().data[0], 0);
}

TEST(FrameFromKernelTest, ErrorFrameCarriesErrorClass) {
  canfd_frame kernel{};
  kernel.can_id = CAN_ERR_FLAG | CAN_ERR_CRTL | CAN_ERR_BUSERROR;
  kernel.len = CAN_ERR_DLC;
  kernel.data[1] = CAN_ERR_CRTL_RX_WARNING;
  auto frame = FrameFromKernel(kernel, CAN_MTU, 0, 0);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame.value().error);
  EXPECT_FALSE(frame.value().extended);
  EXPECT_FALSE(frame.value().remote);
  EXPECT_EQ(frame.value().id, static_cast<std::uint32_t>(CAN_ERR_CRTL | CAN_ERR_BUSERROR));
  EXPECT_EQ(frame.value().data[1], CAN_ERR_CRTL_RX_WARNING);
}

TEST(FrameFromKernelTest, FdFrameOf64BytesKeepsFlags) {
  canfd_frame kernel{};
  kernel.can_id = 0x1A0;
  kernel.len = 64;
  kernel.flags = CANFD_BRS;
  for (int i = 0; i < 64; ++i) kernel.data[i] = static_cast<std::uint8_t>(i + 1);
  auto frame = FrameFromKernel(kernel, CANFD_MTU, 0, 0);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame.value().fd);
  EXPECT_EQ(frame.value().len, 64);
  EXPECT_EQ(frame.value().fd_flags, CANFD_BRS);
  EXPECT_EQ(frame.value().data[63], 64);
}

TEST(FrameFromKernelTest, RejectsUnknownSizesAndImpossibleLengths) {
  canfd_frame kernel{};
  kernel.can_id = 0x100;
  kernel.len = 8;
  EXPECT_FALSE(FrameFromKernel(kernel, 10, 0, 0));
  kernel.len = 9;
  EXPECT_FALSE(FrameFromKernel(kernel, CAN_MTU, 0, 0));
  kernel.len = 13;
  EXPECT_FALSE(FrameFromKernel(kernel, CANFD_MTU, 0, 0));
}

// A recvmsg() result with the given control messages, as the kernel lays them out.
class ControlBuffer {
 public:
  template <class T>
  void Add(int level, int type, const T& value) {
    const std::size_t at = size_;
    size_ += CMSG_SPACE(sizeof(T));
    ASSERT_LE(size_, sizeof(bytes_));
    message_.msg_control = bytes_;
    message_.msg_controllen = size_;
    cmsghdr* header = reinterpret_cast<cmsghdr*>(bytes_ + at);
    header->cmsg_level = level;
    header->cmsg_type = type;
    header->cmsg_len = CMSG_LEN(sizeof(T));
    std::memcpy(CMSG_DATA(header), &value, sizeof(T));
  }
  const msghdr& message() const { return message_; }

 private:
  alignas(cmsghdr) unsigned char bytes_[256] = {};
  std::size_t size_ = 0;
  msghdr message_{};
};

TEST(KernelTimestampTest, ReadsNanosecondTimestamp) {
  ControlBuffer control;
  control.Add(SOL_SOCKET, SCM_TIMESTAMPNS, timespec{1'700'000'000, 123'456'789});
  EXPECT_EQ(KernelTimestampUs(control.message()), std::optional<std::int64_t>(1'700'000'000'123'456));
}

TEST(KernelTimestampTest, ReadsMicrosecondTimestampAfterOtherControlMessages) {
  ControlBuffer control;
  control.Add(SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t{7});
  control.Add(SOL_SOCKET, SCM_TIMESTAMP, timeval{46'408, 584'930});
  EXPECT_EQ(KernelTimestampUs(control.message()), std::optional<std::int64_t>(46'408'584'930));
}

TEST(KernelTimestampTest, NoTimestampWithoutControlData) {
  msghdr message{};
  EXPECT_FALSE(KernelTimestampUs(message).has_value());
  ControlBuffer control;
  control.Add(SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t{7});
  EXPECT_FALSE(KernelTimestampUs(control.message()).has_value());
}

TEST(SocketCanSourceTest, OpenRejectsAnEmptyBusList) {
  auto source = SocketCanSource::Open(SocketCanOptions{});
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code(), Errc::kInvalidArgument);
}

// Whether this kernel has AF_CAN; *reason says why not.
bool AfCanAvailable(std::string* reason) {
  const int fd = ::socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  *reason = std::strerror(errno);
  return false;
}

TEST(SocketCanSourceTest, OpenNamesTheMissingPiece) {
  SocketCanOptions options;
  options.buses.push_back(SocketCanBus{"canvoynosuch0", {}});
  auto source = SocketCanSource::Open(options);
  ASSERT_FALSE(source);
  std::string reason;
  if (AfCanAvailable(&reason)) {
    EXPECT_EQ(source.error().code(), Errc::kNotFound) << source.error().message();
    EXPECT_NE(source.error().message().find("canvoynosuch0"), std::string::npos);
  } else {
    EXPECT_EQ(source.error().code(), Errc::kUnavailable) << source.error().message();
    EXPECT_NE(source.error().message().find("AF_CAN not available"), std::string::npos);
  }
}

// Needs AF_CAN and a virtual bus: `ip link add dev vcan0 type vcan && ip link set up vcan0`.
TEST(SocketCanSourceTest, ReceivesFilteredFramesFromVcanWithKernelTimestamps) {
  std::string reason;
  if (!AfCanAvailable(&reason)) GTEST_SKIP() << "AF_CAN not available: " << reason;
  if (::if_nametoindex("vcan0") == 0) GTEST_SKIP() << "no vcan0 interface";

  SocketCanOptions options;
  options.buses.push_back(SocketCanBus{"vcan0", ParseOrFail("123:7FF")});
  options.read_timeout = std::chrono::milliseconds(1000);
  auto source = SocketCanSource::Open(options);
  ASSERT_TRUE(source) << source.error().message();

  const int sender = ::socket(PF_CAN, SOCK_RAW, CAN_RAW);
  ASSERT_GE(sender, 0);
  sockaddr_can address{};
  address.can_family = AF_CAN;
  address.can_ifindex = static_cast<int>(::if_nametoindex("vcan0"));
  ASSERT_EQ(::bind(sender, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  can_frame filtered_out{};
  filtered_out.can_id = 0x124;
  filtered_out.len = 1;
  can_frame wanted{};
  wanted.can_id = 0x123;
  wanted.len = 2;
  wanted.data[1] = 0x5A;
  ASSERT_EQ(::write(sender, &filtered_out, sizeof(filtered_out)), CAN_MTU);
  ASSERT_EQ(::write(sender, &wanted, sizeof(wanted)), CAN_MTU);
  ::close(sender);

  CanFrame frame;
  auto outcome = source.value()->Receive(&frame, std::chrono::milliseconds(2000));
  ASSERT_TRUE(outcome) << outcome.error().message();
  ASSERT_EQ(outcome.value(), SocketCanSource::ReceiveOutcome::kFrame);
  EXPECT_EQ(frame.id, 0x123u);
  EXPECT_EQ(frame.data[1], 0x5A);
  EXPECT_EQ(frame.interface_index, 0);
  EXPECT_GT(frame.timestamp_us, 0);
  EXPECT_EQ(source.value()->clock_timestamped_frames(), 0u);

  source.value()->RequestStop();
  auto more = source.value()->Next(&frame);
  ASSERT_TRUE(more);
  EXPECT_FALSE(more.value());
}

}  // namespace
}  // namespace canvoy::agent
