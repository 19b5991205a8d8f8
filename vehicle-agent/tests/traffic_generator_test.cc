#include "canvoy/agent/traffic_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "canvoy/agent/decoder.h"
#include "canvoy/agent/encoder.h"
#include "dbc/bit_layout.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::FindMessageByName;
using testing::LoadDbcOrDie;
using testing::ParseOrDie;

// How far a decoded value may be from the value encoded: integers exactly; scaled doubles within
// half a raw step (plus double rounding); IEEE float signals within their own precision.
double Tolerance(const DbcSignal& signal, double expected) {
  switch (signal.value_type) {
    case ValueType::kFloat32:
      return std::abs(expected) * 1e-6 + 1e-30;
    case ValueType::kFloat64:
      return std::abs(expected) * 1e-14;
    case ValueType::kInteger:
      break;
  }
  return std::abs(signal.factor.value) / 2 + std::abs(expected) * 1e-15;
}

std::string Show(const PhysicalValue& value) {
  return std::visit([](auto v) { return std::to_string(v); }, value);
}

using Bits = std::array<std::uint8_t, kMaxFdLen>;

// The payload bits `signal` occupies (zero when it does not fit in 64 bytes).
Bits BitsOf(const DbcSignal& signal) {
  Bits bits{};
  const std::uint64_t ones =
      signal.length >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << signal.length) - 1;
  (void)EncodeRaw(signal, signal.is_signed ? ~std::uint64_t{0} : ones, bits);
  return bits;
}

bool Overlap(const Bits& a, const Bits& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] & b[i]) != 0) return true;
  }
  return false;
}

// Encodes `values` into a frame of `message`, decodes it and checks that every value comes back;
// signals decoded without having been sent must share bits with a sent one (overlapping signals
// of real DBCs). Adds the decoded signals' names to *decoded_names.
void ExpectRoundTrip(const Decoder& decoder, const DbcMessage& message, const SignalValues& values,
                     DecodedFrame* decoded, std::set<std::string>* decoded_names) {
  auto frame = EncodeMessage(message, values);
  ASSERT_TRUE(frame) << message.name << ": " << frame.error().message();
  ASSERT_EQ(decoder.Decode(frame.value(), decoded), DecodeOutcome::kDecoded) << message.name;
  ASSERT_NE(decoded->message(), nullptr);
  std::size_t sent_and_decoded = 0;
  for (const DecodedSignal& signal : decoded->signals()) {
    const DbcSignal& dbc_signal = decoded->message()->signals[signal.signal_index];
    decoded_names->insert(dbc_signal.name);
    const auto it = values.find(dbc_signal.name);
    if (it == values.end()) {
      const Bits bits = BitsOf(dbc_signal);
      EXPECT_TRUE(std::any_of(values.begin(), values.end(), [&](const auto& sent) {
        return Overlap(bits, BitsOf(*testing::FindSignal(message, sent.first)));
      })) << message.name << "." << dbc_signal.name << " decoded but neither sent nor overlapping";
      continue;
    }
    ++sent_and_decoded;
    const PhysicalValue& expected = it->second;
    ASSERT_EQ(signal.physical.index(), expected.index()) << message.name << "." << dbc_signal.name;
    if (expected.index() != 2) {
      EXPECT_EQ(signal.physical, expected) << message.name << "." << dbc_signal.name << " sent "
                                           << Show(expected) << " got " << Show(signal.physical);
    } else {
      const double want = std::get<double>(expected);
      const double got = std::get<double>(signal.physical);
      EXPECT_NEAR(got, want, Tolerance(dbc_signal, want)) << message.name << "." << dbc_signal.name;
    }
  }
  EXPECT_EQ(sent_and_decoded, values.size()) << message.name << ": sent signals not decoded";
}

// The DBC length rounded up to a length a CAN FD frame can have.
unsigned FrameLengthOf(const DbcMessage& message) {
  unsigned len = message.length;
  while (!IsValidCanFdLength(len)) ++len;
  return len;
}

class TrafficRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TrafficRoundTripTest, EveryMessageDecodesBackToTheGeneratedValues) {
  DbcDatabase db = LoadDbcOrDie(GetParam());
  ASSERT_FALSE(db.messages.empty());
  auto decoder = Decoder::Create({db});
  ASSERT_TRUE(decoder) << decoder.error().message();
  auto generator = TrafficGenerator::Create(db, TrafficGeneratorOptions{.seed = 7});
  ASSERT_TRUE(generator) << generator.error().message();
  DecodedFrame decoded = decoder.value().MakeFrameBuffer();
  constexpr std::uint64_t kSteps = 64;  // covers every multiplexer combination of these files
  std::size_t values_checked = 0;
  for (std::size_t m = 0; m < db.messages.size(); ++m) {
    const DbcMessage& message = db.messages[m];
    std::set<std::string> decoded_names;
    for (std::uint64_t step = 0; step < kSteps; ++step) {
      const SignalValues values = generator.value().ValuesAt(m, step);
      values_checked += values.size();
      ExpectRoundTrip(decoder.value(), message, values, &decoded, &decoded_names);
      if (::testing::Test::HasFatalFailure()) return;
    }
    // Every branch of every multiplexer was sent; only signals reaching past the frame (DBC
    // warnings) are never there.
    for (const DbcSignal& signal : message.signals) {
      const auto layout = dbc::ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
      const bool fits = std::get<dbc::BitLayout>(layout).bytes_needed <= FrameLengthOf(message);
      EXPECT_EQ(decoded_names.contains(signal.name), fits) << message.name << "." << signal.name;
    }
  }
  EXPECT_GT(values_checked, db.messages.size());
}

INSTANTIATE_TEST_SUITE_P(
    SharedDbcFiles, TrafficRoundTripTest,
    ::testing::Values("cantools_abs.dbc", "cantools_choices.dbc", "cantools_fd_test.dbc",
                      "cantools_floating_point.dbc", "cantools_issue_184_extended_mux_cascaded.dbc",
                      "cantools_issue_199.dbc", "cantools_j1939.dbc", "cantools_motohawk.dbc",
                      "cantools_multiplex_2.dbc", "cantools_signed.dbc", "cantools_vehicle.dbc",
                      "opendbc_hyundai_canfd_generated.dbc", "opendbc_tesla_model3_party.dbc",
                      "opendbc_toyota_adas.dbc", "opendbc_toyota_new_mc_pt_generated.dbc",
                      "opendbc_toyota_new_mc_pt_generated_fb6ad76.dbc", "opendbc_vw_mqb.dbc"),
    [](const ::testing::TestParamInfo<const char*>& param_info) {
      std::string name = param_info.param;
      name = name.substr(0, name.find('.'));
      std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

const char* const kSmallDbc = R"(VERSION ""
BU_: ECU
BO_ 100 FAST: 8 ECU
 SG_ SPEED : 7|16@0+ (0.01,0) [0|250] "km/h" ECU
 SG_ TEMP : 16|8@1- (1,-40) [-40|85] "degC" ECU
BO_ 200 SLOW: 2 ECU
 SG_ COUNTER : 0|4@1+ (1,0) [0|15] "" ECU
BO_ 300 PLAIN: 1 ECU
 SG_ FLAG : 0|1@1+ (1,0) [0|1] "" ECU
BO_ 400 MUXED: 8 ECU
 SG_ MODE M : 0|8@1+ (1,0) [0|0] "" ECU
 SG_ A m1 : 8|16@1+ (1,0) [0|0] "" ECU
 SG_ B m2 : 8|16@1- (0.5,0) [0|0] "" ECU
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 100 10;
BA_ "GenMsgCycleTime" BO_ 200 50;
)";

TEST(TrafficGeneratorTest, CycleTimesComeFromTheDbcElseTheDefault) {
  const DbcDatabase db = ParseOrDie(kSmallDbc);
  const std::chrono::milliseconds fallback(100);
  EXPECT_EQ(MessageCycleTime(db, db.messages[0], fallback).count(), 10);
  EXPECT_EQ(MessageCycleTime(db, db.messages[1], fallback).count(), 50);
  EXPECT_EQ(MessageCycleTime(db, db.messages[2], fallback).count(), 100);
}

TEST(TrafficGeneratorTest, StreamSendsEachMessageAtItsCycleTimeInTimeOrder) {
  TrafficGeneratorOptions options;
  options.start_time_us = 1'000'000;
  options.interface_index = 3;
  auto generator = TrafficGenerator::Create(ParseOrDie(kSmallDbc), options);
  ASSERT_TRUE(generator);
  std::map<std::uint32_t, std::vector<std::int64_t>> times;
  std::int64_t previous = 0;
  CanFrame frame;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(generator.value().Next(&frame).value());
    EXPECT_GE(frame.timestamp_us, previous);
    EXPECT_EQ(frame.interface_index, 3);
    previous = frame.timestamp_us;
    times[frame.id].push_back(frame.timestamp_us);
  }
  const std::map<std::uint32_t, std::int64_t> cycle_us = {
      {100, 10'000}, {200, 50'000}, {300, 100'000}, {400, 100'000}};
  for (const auto& [id, stamps] : times) {
    ASSERT_GE(stamps.size(), 2u) << id;
    EXPECT_EQ(stamps[0], 1'000'000) << id;
    for (std::size_t i = 1; i < stamps.size(); ++i) {
      EXPECT_EQ(stamps[i] - stamps[i - 1], cycle_us.at(id)) << id;
    }
  }
  EXPECT_EQ(times.size(), 4u);
  EXPECT_GT(times[100].size(), 4 * times[200].size() - 4);
}

std::vector<CanFrame> FirstFrames(const DbcDatabase& db, std::uint64_t seed, int count) {
  auto generator = TrafficGenerator::Create(db, TrafficGeneratorOptions{.seed = seed});
  EXPECT_TRUE(generator);
  std::vector<CanFrame> frames(static_cast<std::size_t>(count));
  for (CanFrame& frame : frames) EXPECT_TRUE(generator.value().Next(&frame).value());
  return frames;
}

bool SamePayloads(const std::vector<CanFrame>& a, const std::vector<CanFrame>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const CanFrame& x, const CanFrame& y) {
    return x.id == y.id && x.timestamp_us == y.timestamp_us && x.len == y.len && x.data == y.data;
  });
}

TEST(TrafficGeneratorTest, SameSeedGivesTheSameStreamAndAnotherSeedAnother) {
  const DbcDatabase db = LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc");
  EXPECT_TRUE(SamePayloads(FirstFrames(db, 11, 500), FirstFrames(db, 11, 500)));
  EXPECT_FALSE(SamePayloads(FirstFrames(db, 11, 500), FirstFrames(db, 12, 500)));
}

TEST(TrafficGeneratorTest, ValuesVaryWithinTheSignalRange) {
  const DbcDatabase db = ParseOrDie(kSmallDbc);
  auto generator = TrafficGenerator::Create(db);
  ASSERT_TRUE(generator);
  std::set<double> speeds;
  std::set<std::int64_t> temps;
  for (std::uint64_t step = 0; step < 100; ++step) {
    const SignalValues values = generator.value().ValuesAt(0, step);
    const double speed = std::get<double>(values.at("SPEED"));
    const std::int64_t temp = std::get<std::int64_t>(values.at("TEMP"));
    EXPECT_GE(speed, 0);
    EXPECT_LE(speed, 250);
    EXPECT_GE(temp, -40);
    EXPECT_LE(temp, 85);
    speeds.insert(speed);
    temps.insert(temp);
  }
  EXPECT_GT(speeds.size(), 20u);
  EXPECT_GT(temps.size(), 20u);
}

TEST(TrafficGeneratorTest, MultiplexedMessageCyclesThroughItsBranches) {
  auto generator = TrafficGenerator::Create(ParseOrDie(kSmallDbc));
  ASSERT_TRUE(generator);
  const SignalValues first = generator.value().ValuesAt(3, 0);
  const SignalValues second = generator.value().ValuesAt(3, 1);
  EXPECT_EQ(first.at("MODE"), PhysicalValue(std::int64_t{1}));
  EXPECT_TRUE(first.contains("A"));
  EXPECT_FALSE(first.contains("B"));
  EXPECT_EQ(second.at("MODE"), PhysicalValue(std::int64_t{2}));
  EXPECT_TRUE(second.contains("B"));
  EXPECT_FALSE(second.contains("A"));
}

TEST(EncodeMessageTest, UnnamedSignalsGetRawZero) {
  const DbcDatabase db = ParseOrDie(kSmallDbc);
  auto frame = EncodeMessage(db.messages[0], {{"SPEED", PhysicalValue(12.34)}});
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_EQ(frame.value().id, 100u);
  EXPECT_EQ(frame.value().len, 8);
  EXPECT_FALSE(frame.value().fd);
  EXPECT_EQ(frame.value().data[0], 0x04);  // 1234 = 0x04D2, Motorola
  EXPECT_EQ(frame.value().data[1], 0xD2);
  EXPECT_EQ(frame.value().data[2], 0x00);  // TEMP raw 0 (= -40 degC)
}

TEST(EncodeMessageTest, SetsTheMultiplexerBranchGiven) {
  const DbcDatabase db = ParseOrDie(kSmallDbc);
  auto frame = EncodeMessage(db.messages[3], {{"MODE", PhysicalValue(std::int64_t{2})},
                                              {"B", PhysicalValue(-1.5)}});
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_EQ(frame.value().data[0], 2);
  EXPECT_EQ(frame.value().data[1], 0xFD);  // raw -3
  EXPECT_EQ(frame.value().data[2], 0xFF);
}

TEST(EncodeMessageTest, RejectsUnknownUnselectedAndOutOfRangeSignals) {
  const DbcDatabase db = ParseOrDie(kSmallDbc);
  EXPECT_FALSE(EncodeMessage(db.messages[0], {{"NOPE", PhysicalValue(1.0)}}));
  EXPECT_FALSE(EncodeMessage(db.messages[3], {{"MODE", PhysicalValue(std::int64_t{1})},
                                              {"B", PhysicalValue(1.0)}}));
  EXPECT_FALSE(EncodeMessage(db.messages[2], {{"FLAG", PhysicalValue(std::int64_t{2})}}));
}

TEST(EncodeMessageTest, LongMessageBecomesAnFdFrameOfAValidLength) {
  const DbcDatabase db = ParseOrDie("BO_ 5 BIG: 10 X\n SG_ S : 72|8@1+ (1,0) [0|0] \"\" X\n");
  auto frame = EncodeMessage(db.messages[0], {{"S", PhysicalValue(std::int64_t{9})}});
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_TRUE(frame.value().fd);
  EXPECT_EQ(frame.value().len, 12);
  EXPECT_EQ(frame.value().data[9], 9);
}

}  // namespace
}  // namespace canvoy::agent
