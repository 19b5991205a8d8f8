#include "canvoy/agent/replay_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "canvoy/agent/candump_log.h"

namespace canvoy::agent {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Time moves only when the replay sleeps or the test advances it.
class FakeReplayClock : public ReplayClock {
 public:
  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint deadline) override {
    sleeps_.push_back(deadline - start_);
    if (deadline > now_) now_ = deadline;
  }
  void Advance(ReplayClock::TimePoint::duration by) { now_ += by; }
  // Offsets from the start of every SleepUntil deadline.
  const std::vector<TimePoint::duration>& sleeps() const { return sleeps_; }
  microseconds Elapsed() const {
    return std::chrono::duration_cast<microseconds>(now_ - start_);
  }

 private:
  TimePoint start_ = TimePoint() + std::chrono::hours(1);
  TimePoint now_ = start_;
  std::vector<TimePoint::duration> sleeps_;
};

std::unique_ptr<FrameSource> LogOf(const std::string& text) {
  return std::make_unique<CandumpLogReader>(std::make_unique<std::istringstream>(text),
                                            "replay.log");
}

const char* const kLog =
    "(100.000000) can0 123#01\n"
    "(100.500000) can0 124#02\n"
    "(102.000000) can0 125#03\n";

ReplaySource MakeReplay(const std::string& text, double speed, ReplayClock* clock) {
  auto replay = ReplaySource::Create(LogOf(text), ReplayOptions{speed}, clock);
  EXPECT_TRUE(replay) << (replay ? "" : replay.error().message());
  return std::move(replay).value();
}

// Pulls every frame; returns their ids and, per frame, the fake time it was released at.
std::vector<std::pair<std::uint32_t, microseconds>> Drain(ReplaySource& replay,
                                                         FakeReplayClock& clock) {
  std::vector<std::pair<std::uint32_t, microseconds>> released;
  CanFrame frame;
  while (true) {
    auto more = replay.Next(&frame);
    EXPECT_TRUE(more);
    if (!more || !more.value()) break;
    released.emplace_back(frame.id, clock.Elapsed());
  }
  return released;
}

TEST(ReplaySourceTest, AsFastAsPossibleNeverSleeps) {
  FakeReplayClock clock;
  ReplaySource replay = MakeReplay(kLog, 0, &clock);
  const auto released = Drain(replay, clock);
  ASSERT_EQ(released.size(), 3u);
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(released[2].second, microseconds(0));
}

TEST(ReplaySourceTest, RealTimeReleasesFramesAtTheirLogOffsets) {
  FakeReplayClock clock;
  ReplaySource replay = MakeReplay(kLog, 1, &clock);
  const auto released = Drain(replay, clock);
  ASSERT_EQ(released.size(), 3u);
  EXPECT_EQ(released[0], std::make_pair(0x123u, microseconds(0)));
  EXPECT_EQ(released[1], std::make_pair(0x124u, microseconds(500'000)));
  EXPECT_EQ(released[2], std::make_pair(0x125u, microseconds(2'000'000)));
  EXPECT_EQ(clock.sleeps().size(), 2u);
}

TEST(ReplaySourceTest, WakeIntervalReleasesFramesDueMeanwhileWithoutSleeping) {
  FakeReplayClock clock;
  auto replay = ReplaySource::Create(LogOf(kLog), ReplayOptions{1, microseconds(1'600'000)}, &clock);
  ASSERT_TRUE(replay);
  const auto released = Drain(replay.value(), clock);
  ASSERT_EQ(released.size(), 3u);
  // The second frame is due at 0.5 s: the reader wakes at 2.1 s, when the third is due too.
  EXPECT_EQ(released[1].second, microseconds(2'100'000));
  EXPECT_EQ(released[2].second, microseconds(2'100'000));
  EXPECT_EQ(clock.sleeps().size(), 1u);
}

TEST(ReplaySourceTest, SpeedFactorScalesTheOffsets) {
  FakeReplayClock clock;
  ReplaySource replay = MakeReplay(kLog, 4, &clock);
  const auto released = Drain(replay, clock);
  ASSERT_EQ(released.size(), 3u);
  EXPECT_EQ(released[1].second, microseconds(125'000));
  EXPECT_EQ(released[2].second, microseconds(500'000));
}

TEST(ReplaySourceTest, FramesKeepTheirLogTimestamps) {
  FakeReplayClock clock;
  ReplaySource replay = MakeReplay(kLog, 1, &clock);
  CanFrame frame;
  ASSERT_TRUE(replay.Next(&frame).value());
  ASSERT_TRUE(replay.Next(&frame).value());
  EXPECT_EQ(frame.timestamp_us, 100'500'000);
}

TEST(ReplaySourceTest, ALateConsumerIsNotMadeToSleep) {
  FakeReplayClock clock;
  ReplaySource replay = MakeReplay(kLog, 1, &clock);
  CanFrame frame;
  ASSERT_TRUE(replay.Next(&frame).value());
  clock.Advance(milliseconds(700));  // the consumer took longer than the 500 ms gap
  ASSERT_TRUE(replay.Next(&frame).value());
  EXPECT_TRUE(clock.sleeps().empty());
  ASSERT_TRUE(replay.Next(&frame).value());  // still paced against the first frame
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(clock.sleeps()[0], milliseconds(2000));
}

TEST(ReplaySourceTest, FrameEarlierThanTheFirstIsReleasedAtOnce) {
  FakeReplayClock clock;
  ReplaySource replay =
      MakeReplay("(10.000000) can0 001#\n(9.000000) can0 002#\n(10.250000) can0 003#\n", 1, &clock);
  const auto released = Drain(replay, clock);
  ASSERT_EQ(released.size(), 3u);
  EXPECT_EQ(released[1].second, microseconds(0));
  EXPECT_EQ(released[2].second, microseconds(250'000));
}

TEST(ReplaySourceTest, RejectsNegativeAndNonFiniteSpeeds) {
  FakeReplayClock clock;
  EXPECT_FALSE(ReplaySource::Create(LogOf(kLog), ReplayOptions{-1}, &clock));
  EXPECT_FALSE(ReplaySource::Create(LogOf(kLog), ReplayOptions{std::nan("")}, &clock));
  EXPECT_FALSE(ReplaySource::Create(
      LogOf(kLog), ReplayOptions{std::numeric_limits<double>::infinity()}, &clock));
  EXPECT_TRUE(ReplaySource::Create(LogOf(kLog), ReplayOptions{0.5}, &clock));
}

}  // namespace
}  // namespace canvoy::agent
