#include "canvoy/agent/merged_source.h"

#include <gtest/gtest.h>

#include <sstream>

#include "canvoy/agent/candump_log.h"

namespace canvoy::agent {
namespace {

std::unique_ptr<FrameSource> LogOf(const std::string& text) {
  return std::make_unique<CandumpLogReader>(std::make_unique<std::istringstream>(text), "bus.log");
}

// Fails on its second call, as a socket that breaks after one frame.
class FailingSource final : public FrameSource {
 public:
  Result<bool> Next(CanFrame* frame) override {
    if (calls_++ == 0) {
      frame->timestamp_us = 5;
      frame->id = 0x7;
      return true;
    }
    return Error(Errc::kIo, "read failed");
  }

 private:
  int calls_ = 0;
};

struct Seen {
  std::int64_t t;
  std::uint32_t id;
  std::uint16_t bus;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> Drain(MergedSource& merged) {
  std::vector<Seen> seen;
  CanFrame frame;
  for (;;) {
    auto more = merged.Next(&frame);
    EXPECT_TRUE(more) << more.error().message();
    if (!more || !more.value()) return seen;
    seen.push_back({frame.timestamp_us, frame.id, frame.interface_index});
  }
}

TEST(MergedSourceTest, InterleavesBusesByTimestampAndNumbersThemByPosition) {
  std::vector<std::unique_ptr<FrameSource>> inputs;
  inputs.push_back(LogOf("(1.000000) can0 001#01\n(3.000000) can0 003#03\n(6.000000) can0 006#06\n"));
  inputs.push_back(LogOf("(2.000000) can1 002#02\n(4.000000) can1 004#04\n"));
  inputs.push_back(LogOf(""));
  inputs.push_back(LogOf("(3.000000) can3 013#13\n(5.000000) can3 015#15\n"));
  MergedSource merged(std::move(inputs));
  const std::vector<Seen> expected = {{1'000'000, 0x1, 0}, {2'000'000, 0x2, 1}, {3'000'000, 0x3, 0},
                                      {3'000'000, 0x13, 3}, {4'000'000, 0x4, 1}, {5'000'000, 0x15, 3},
                                      {6'000'000, 0x6, 0}};
  EXPECT_EQ(Drain(merged), expected);
  CanFrame frame;
  auto again = merged.Next(&frame);  // stays at the end
  ASSERT_TRUE(again);
  EXPECT_FALSE(again.value());
}

TEST(MergedSourceTest, NoInputsIsAnEmptyStream) {
  MergedSource merged({});
  EXPECT_TRUE(Drain(merged).empty());
}

TEST(MergedSourceTest, AnInputsErrorNamesItsPosition) {
  std::vector<std::unique_ptr<FrameSource>> inputs;
  inputs.push_back(LogOf("(0.000001) can0 001#01\n(0.000009) can0 002#02\n"));
  inputs.push_back(std::make_unique<FailingSource>());
  MergedSource merged(std::move(inputs));
  CanFrame frame;
  auto first = merged.Next(&frame);
  ASSERT_TRUE(first);
  EXPECT_EQ(frame.id, 0x1u);
  auto second = merged.Next(&frame);  // bus 1's frame at t=5 µs
  ASSERT_TRUE(second);
  EXPECT_EQ(frame.interface_index, 1);
  auto failed = merged.Next(&frame);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), Errc::kIo);
  EXPECT_NE(failed.error().message().find("bus input 1"), std::string::npos) << failed.error().message();
}

}  // namespace
}  // namespace canvoy::agent
