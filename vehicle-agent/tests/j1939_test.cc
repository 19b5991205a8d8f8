// J1939: messages of a DBC whose ProtocolType is "J1939" are matched by PGN.
#include <gtest/gtest.h>

#include "canvoy/agent/decoder.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::LoadDbcOrDie;
using testing::ParseOrDie;

// cantools_j1939.dbc: Message1 is 0x15340201 (priority 5, PDU1: PF 0x34, destination 0x02,
// source 0x01); Message2 is 0x15F01002 (priority 5, PDU2: PF 0xF0, PS 0x10, source 0x02).
constexpr std::uint32_t kMessage1Id = 0x15340201;
constexpr std::uint32_t kMessage2Id = 0x15F01002;

Decoder MakeDecoder(std::vector<DbcDatabase> dbs) {
  auto decoder = Decoder::Create(std::move(dbs));
  EXPECT_TRUE(decoder) << decoder.error().message();
  return std::move(decoder).value();
}

Decoder J1939Decoder() {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(LoadDbcOrDie("cantools_j1939.dbc"));
  return MakeDecoder(std::move(dbs));
}

CanFrame Frame(std::uint32_t id, std::uint8_t first_byte) {
  CanFrame frame;
  frame.id = id;
  frame.extended = true;
  frame.len = 8;
  frame.data[0] = first_byte;
  return frame;
}

std::uint32_t WithPriority(std::uint32_t id, std::uint32_t priority) {
  return (id & ~0x1C000000U) | priority << 26;
}
std::uint32_t WithSource(std::uint32_t id, std::uint8_t source) { return (id & ~0xFFU) | source; }

TEST(J1939Test, PgnOfPdu1LeavesOutTheDestination) {
  EXPECT_EQ(J1939Pgn(kMessage1Id), 0x13400u);
  EXPECT_EQ(J1939Pgn(0x0CEA00FE), 0x0EA00u);  // request PGN 59904 to global
}

TEST(J1939Test, PgnOfPdu2KeepsTheGroupExtension) {
  EXPECT_EQ(J1939Pgn(kMessage2Id), 0x1F010u);
  EXPECT_EQ(J1939Pgn(0x18FEF100), 0x0FEF1u);  // cruise control/vehicle speed, PGN 65265
}

TEST(J1939Test, CantoolsDbcDeclaresJ1939ThroughTheAttributeDefault) {
  const DbcDatabase db = LoadDbcOrDie("cantools_j1939.dbc");
  ASSERT_EQ(db.messages.size(), 2u);
  EXPECT_TRUE(IsJ1939(db, db.messages[0]));
  EXPECT_TRUE(IsJ1939(db, db.messages[1]));
}

TEST(J1939Test, ExactIdDecodesAndReportsItsSourceAddress) {
  const Decoder decoder = J1939Decoder();
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(kMessage2Id, 0xFE), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "Message2");
  ASSERT_EQ(out.signals().size(), 1u);
  EXPECT_EQ(out.signals()[0].physical, PhysicalValue(std::int64_t{-2}));
  EXPECT_EQ(out.source_address(), std::optional<std::uint8_t>(0x02));
}

TEST(J1939Test, OtherSourceAddressesAndPrioritiesDecodeToTheSameMessage) {
  const Decoder decoder = J1939Decoder();
  DecodedFrame out = decoder.MakeFrameBuffer();
  for (const std::uint32_t id : {kMessage1Id, kMessage2Id}) {
    const std::string name = id == kMessage1Id ? "Message1" : "Message2";
    for (const std::uint32_t priority : {0u, 3u, 6u, 7u}) {
      for (const std::uint8_t source : {0x00, 0x01, 0x02, 0x80, 0xFE, 0xFF}) {
        const std::uint32_t frame_id = WithSource(WithPriority(id, priority), source);
        ASSERT_EQ(decoder.Decode(Frame(frame_id, 0x05), &out), DecodeOutcome::kDecoded)
            << std::hex << frame_id;
        EXPECT_EQ(out.message()->name, name) << std::hex << frame_id;
        ASSERT_EQ(out.signals().size(), 1u);
        EXPECT_EQ(out.signals()[0].physical, PhysicalValue(std::int64_t{5}));
        EXPECT_EQ(out.source_address(), std::optional<std::uint8_t>(source));
      }
    }
  }
}

TEST(J1939Test, Pdu1MatchesAnyDestinationAddress) {
  const Decoder decoder = J1939Decoder();
  DecodedFrame out = decoder.MakeFrameBuffer();
  const std::uint32_t to_global = (kMessage1Id & ~0xFF00U) | 0xFF00U;
  ASSERT_EQ(decoder.Decode(Frame(to_global, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "Message1");
}

TEST(J1939Test, Pdu2WithAnotherGroupExtensionIsAnotherPgn) {
  const Decoder decoder = J1939Decoder();
  DecodedFrame out = decoder.MakeFrameBuffer();
  EXPECT_EQ(decoder.Decode(Frame(kMessage2Id | 0x0100, 1), &out), DecodeOutcome::kUnknownId);
  EXPECT_EQ(decoder.Decode(Frame(kMessage2Id ^ 0x01000000, 1), &out),  // data page flipped
            DecodeOutcome::kUnknownId);
}

TEST(J1939Test, StandardFramesAreNeverMatchedByPgn) {
  const Decoder decoder = J1939Decoder();
  DecodedFrame out = decoder.MakeFrameBuffer();
  CanFrame frame = Frame(0x002, 1);
  frame.extended = false;
  EXPECT_EQ(decoder.Decode(frame, &out), DecodeOutcome::kUnknownId);
}

constexpr std::string_view kTwoSources = R"(
BO_ 2566844672 FromEngine: 8 Engine
 SG_ A : 0|8@1+ (1,0) [0|0] "" X
BO_ 2566844683 FromBrakes: 8 Brakes
 SG_ B : 8|8@1+ (1,0) [0|0] "" X
BA_ "ProtocolType" "J1939";
)";  // PGN 0xFEF1 from sources 0x00 and 0x0B

TEST(J1939Test, MessageWithTheFramesSourceAddressWinsOverOtherSources) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie(kTwoSources));
  ASSERT_EQ(dbs[0].attributes.size(), 1u);
  const Decoder decoder = MakeDecoder(std::move(dbs));
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(0x0CFEF10B, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "FromBrakes");
  ASSERT_EQ(decoder.Decode(Frame(0x18FEF100, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "FromEngine");
  ASSERT_EQ(decoder.Decode(Frame(0x18FEF133, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "FromEngine");  // unknown source: the first with the PGN
  EXPECT_EQ(out.source_address(), std::optional<std::uint8_t>(0x33));
}

TEST(J1939Test, PerMessageProtocolTypeSelectsOnlyThatMessage) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie(R"(
BO_ 2566844672 ByPgn: 8 Engine
 SG_ A : 0|8@1+ (1,0) [0|0] "" X
BO_ 2566844928 ById: 8 Engine
 SG_ B : 0|8@1+ (1,0) [0|0] "" X
BA_ "ProtocolType" BO_ 2566844672 "J1939";
)"));
  const Decoder decoder = MakeDecoder(std::move(dbs));
  DecodedFrame out = decoder.MakeFrameBuffer();
  ASSERT_EQ(decoder.Decode(Frame(0x18FEF1AA, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "ByPgn");
  EXPECT_EQ(decoder.Decode(Frame(0x18FEF2AA, 1), &out), DecodeOutcome::kUnknownId);
  ASSERT_EQ(decoder.Decode(Frame(0x18FEF200, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(out.message()->name, "ById");
  EXPECT_FALSE(out.source_address().has_value());
}

TEST(J1939Test, WithoutProtocolTypeExtendedIdsMatchExactly) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie("BO_ 2566844672 M: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n"));
  const Decoder decoder = MakeDecoder(std::move(dbs));
  DecodedFrame out = decoder.MakeFrameBuffer();
  EXPECT_EQ(decoder.Decode(Frame(0x18FEF100, 1), &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(decoder.Decode(Frame(0x18FEF101, 1), &out), DecodeOutcome::kUnknownId);
  EXPECT_EQ(decoder.Decode(Frame(0x0CFEF100, 1), &out), DecodeOutcome::kUnknownId);
}

}  // namespace
}  // namespace canvoy::agent
