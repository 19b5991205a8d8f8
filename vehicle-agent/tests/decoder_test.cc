#include "canvoy/agent/decoder.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>

#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::ParseOrDie;

Decoder MakeDecoder(std::string_view dbc_text, DecoderOptions options = {}) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie(dbc_text));
  auto decoder = Decoder::Create(std::move(dbs), options);
  EXPECT_TRUE(decoder) << decoder.error().message();
  return std::move(decoder).value();
}

CanFrame Frame(std::uint32_t id, std::vector<std::uint8_t> bytes, bool extended = false) {
  CanFrame frame;
  frame.id = id;
  frame.extended = extended;
  frame.len = static_cast<std::uint8_t>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), frame.data.begin());
  return frame;
}

// name -> physical value of the decoded signals.
std::map<std::string, PhysicalValue> Values(const DecodedFrame& decoded) {
  std::map<std::string, PhysicalValue> values;
  for (const DecodedSignal& s : decoded.signals()) {
    values[decoded.message()->signals[s.signal_index].name] = s.physical;
  }
  return values;
}

TEST(DecoderTest, IntegerScalingGivesExactInt64) {
  const Decoder decoder = MakeDecoder("BO_ 1 M: 8 X\n SG_ T : 0|8@1+ (10,-40) [0|0] \"\" X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {3}), &out), DecodeOutcome::kDecoded);
  ASSERT_EQ(out.signals().size(), 1u);
  EXPECT_EQ(out.signals()[0].physical, PhysicalValue(std::int64_t{-10}));
  EXPECT_EQ(out.signals()[0].raw, 3u);
}

TEST(DecoderTest, Unsigned64BitSignalIsExactUint64) {
  const Decoder decoder = MakeDecoder("BO_ 1 M: 8 X\n SG_ U : 0|64@1+ (1,0) [0|0] \"\" X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), &out),
            DecodeOutcome::kDecoded);
  EXPECT_EQ(out.signals()[0].physical, PhysicalValue(std::numeric_limits<std::uint64_t>::max()));
}

TEST(DecoderTest, Signed64BitMotorolaSignalIsExactInt64) {
  const Decoder decoder = MakeDecoder("BO_ 1 M: 8 X\n SG_ S : 7|64@0- (1,0) [0|0] \"\" X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {0x80, 0, 0, 0, 0, 0, 0, 1}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.signals()[0].physical, PhysicalValue(std::numeric_limits<std::int64_t>::min() + 1));
}

TEST(DecoderTest, DecimalFactorIsRoundedOnceFromTheExactValue) {
  // 3 * 0.1 in doubles is 0.30000000000000004; the exact decimal result rounds to 0.3.
  // 0.5 * 5 - 2.5 is exactly zero.
  const Decoder decoder = MakeDecoder(
      "BO_ 1 M: 8 X\n SG_ A : 0|8@1+ (0.1,0) [0|0] \"\" X\n SG_ B : 8|8@1+ (0.5,-2.5) [0|0] \"\" "
      "X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {3, 5}), &out), DecodeOutcome::kDecoded);
  const auto values = Values(out);
  EXPECT_EQ(values.at("A"), PhysicalValue(0.3));
  EXPECT_EQ(values.at("B"), PhysicalValue(0.0));
}

TEST(DecoderTest, LabelsComeFromTheValueTableIncludingNegativeKeys) {
  const Decoder decoder = MakeDecoder(
      "BO_ 1 M: 8 X\n SG_ S : 0|8@1- (1,0) [0|0] \"\" X\n"
      "VAL_ 1 S -1 \"minus one\" 2 \"two\" ;\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {0xFF}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.signals()[0].label, "minus one");
  ASSERT_EQ(decoder.Decode(Frame(1, {3}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.signals()[0].label, "");
}

TEST(DecoderTest, MultiplexedSignalsDecodeOnlyWhenSelected) {
  const Decoder decoder = MakeDecoder(
      "BO_ 1 M: 8 X\n SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" X\n"
      " SG_ A m0 : 8|8@1+ (1,0) [0|0] \"\" X\n SG_ B m1 : 8|16@1+ (1,0) [0|0] \"\" X\n"
      " SG_ Always : 56|8@1+ (1,0) [0|0] \"\" X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {1, 0x34, 0x12, 0, 0, 0, 0, 9}), &out),
            DecodeOutcome::kDecoded);
  auto values = Values(out);
  EXPECT_EQ(values.size(), 3u);
  EXPECT_EQ(values.at("B"), PhysicalValue(std::int64_t{0x1234}));
  EXPECT_EQ(values.count("A"), 0u);
  ASSERT_EQ(decoder.Decode(Frame(1, {0, 0x34, 0x12, 0, 0, 0, 0, 9}), &out),
            DecodeOutcome::kDecoded);
  values = Values(out);
  EXPECT_EQ(values.at("A"), PhysicalValue(std::int64_t{0x34}));
  EXPECT_EQ(values.count("B"), 0u);
  ASSERT_EQ(decoder.Decode(Frame(1, {7, 0, 0, 0, 0, 0, 0, 9}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(Values(out).size(), 2u);  // Sel and Always
}

TEST(DecoderTest, SgMulValRangesSelectSeveralValues) {
  const DbcDatabase db = testing::LoadDbcOrDie("cantools_multiplex_2.dbc");
  auto decoder = Decoder::Create({db});
  ASSERT_TRUE(decoder);
  const DbcMessage* shared =
      testing::FindMessageByName(db, "Shared");  // S2: S0 in 2..5; S1: 1 or 3
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  const auto names_for = [&](std::uint8_t s0) {
    EXPECT_EQ(decoder.value().Decode(Frame(shared->id, {s0, 0, 0, 0, 0, 0, 0, 0}, true), &out),
              DecodeOutcome::kDecoded);
    std::set<std::string> names;
    for (const auto& [name, value] : Values(out)) names.insert(name);
    return names;
  };
  EXPECT_EQ(names_for(1), (std::set<std::string>{"S0", "S1"}));
  EXPECT_EQ(names_for(3), (std::set<std::string>{"S0", "S1", "S2"}));
  EXPECT_EQ(names_for(5), (std::set<std::string>{"S0", "S2"}));
  EXPECT_EQ(names_for(6), (std::set<std::string>{"S0"}));
}

TEST(DecoderTest, ShortFrameDecodesOnlySignalsInsideAndCountsTheRest) {
  const std::string dbc =
      "BO_ 1 M: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n"
      " SG_ B : 15|16@0+ (1,0) [0|0] \"\" X\n SG_ C : 56|8@1+ (1,0) [0|0] \"\" X\n";
  const Decoder decoder = MakeDecoder(dbc);
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(1, {1, 2}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(Values(out).size(), 1u);
  EXPECT_EQ(out.signals_outside_frame(), 2u);

  const Decoder skipping = MakeDecoder(dbc, {ShortFrames::kSkipFrame});
  EXPECT_EQ(skipping.Decode(Frame(1, {1, 2}), &out), DecodeOutcome::kTooShort);
  EXPECT_TRUE(out.signals().empty());
}

TEST(DecoderTest, UnknownIdsRemoteAndErrorFramesAreNotDecoded) {
  const Decoder decoder = MakeDecoder("BO_ 1 M: 1 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n");
  DecodedFrame out = decoder.MakeFrameBuffer();
  EXPECT_EQ(decoder.Decode(Frame(2, {1}), &out), DecodeOutcome::kUnknownId);
  EXPECT_EQ(decoder.Decode(Frame(1, {1}, /*extended=*/true), &out), DecodeOutcome::kUnknownId);
  CanFrame remote = Frame(1, {});
  remote.remote = true;
  EXPECT_EQ(decoder.Decode(remote, &out), DecodeOutcome::kNotData);
  CanFrame error = Frame(1, {1});
  error.error = true;
  EXPECT_EQ(decoder.Decode(error, &out), DecodeOutcome::kNotData);
}

TEST(DecoderTest, DecodingIntoAReusedBufferDoesNotReallocate) {
  const DbcDatabase db = testing::LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc");
  auto decoder = Decoder::Create({db});
  ASSERT_TRUE(decoder);
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  const DecodedSignal* storage = nullptr;
  for (const DbcMessage& message : db.messages) {
    CanFrame frame =
        Frame(message.id, std::vector<std::uint8_t>(message.length, 0xA5), message.extended);
    ASSERT_EQ(decoder.value().Decode(frame, &out), DecodeOutcome::kDecoded) << message.name;
    EXPECT_EQ(out.signals().size(), message.signals.size());
    if (storage == nullptr) storage = out.signals().data();
    EXPECT_EQ(out.signals().data(), storage) << message.name;
  }
}

TEST(DecoderTest, FirstDatabaseWinsASharedFrameId) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie("BO_ 1 First: 1 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n", "a.dbc"));
  dbs.push_back(ParseOrDie("BO_ 1 Second: 1 X\n SG_ B : 0|8@1+ (2,0) [0|0] \"\" X\n", "b.dbc"));
  auto decoder = Decoder::Create(std::move(dbs));
  ASSERT_TRUE(decoder);
  EXPECT_EQ(decoder.value().conflicts().size(), 1u);
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  ASSERT_EQ(decoder.value().Decode(Frame(1, {4}), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "First");
  EXPECT_EQ(out.message_ref().database, 0u);
}

TEST(PhysicalKindTest, FollowsTheExactnessRule) {
  const DbcDatabase db = ParseOrDie(
      "BO_ 1 M: 8 X\n"
      " SG_ Int : 0|8@1- (2,-5) [0|0] \"\" X\n"
      " SG_ U64 : 0|64@1+ (1,0) [0|0] \"\" X\n"
      " SG_ U64Scaled : 0|64@1+ (2,0) [0|0] \"\" X\n"
      " SG_ U63Doubled : 0|63@1+ (2,0) [0|0] \"\" X\n"
      " SG_ S64Doubled : 0|64@1- (2,0) [0|0] \"\" X\n"
      " SG_ Fraction : 0|8@1+ (0.5,0) [0|0] \"\" X\n"
      " SG_ F : 0|32@1- (1,0) [0|0] \"\" X\n"
      "SIG_VALTYPE_ 1 F : 1;\n");
  const auto& s = db.messages[0].signals;
  EXPECT_EQ(PhysicalKindOf(s[0]), PhysicalKind::kInt64);
  EXPECT_EQ(PhysicalKindOf(s[1]), PhysicalKind::kUint64);
  EXPECT_EQ(PhysicalKindOf(s[2]), PhysicalKind::kDouble);  // 2 * (2^64 - 1) fits neither
  EXPECT_EQ(PhysicalKindOf(s[3]), PhysicalKind::kUint64);  // up to 2^64 - 2
  EXPECT_EQ(PhysicalKindOf(s[4]), PhysicalKind::kDouble);
  EXPECT_EQ(PhysicalKindOf(s[5]), PhysicalKind::kDouble);
  EXPECT_EQ(PhysicalKindOf(s[6]), PhysicalKind::kDouble);
}

}  // namespace
}  // namespace canvoy::agent
