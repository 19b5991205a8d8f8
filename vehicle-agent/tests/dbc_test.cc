#include "canvoy/agent/dbc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::FindMessageByName;
using testing::FindSignal;
using testing::LoadDbcOrDie;
using testing::ParseOrDie;

bool HasWarningContaining(const DbcDatabase& db, std::string_view text) {
  return std::any_of(db.warnings.begin(), db.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

// Lines that start with `keyword` (after blanks): a rough count that the parser must match.
std::size_t CountStatements(const std::string& text, std::string_view keyword) {
  std::istringstream in(text);
  std::size_t count = 0;
  for (std::string line; std::getline(in, line);) {
    const std::size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line.compare(first, keyword.size(), keyword) == 0) ++count;
  }
  return count;
}

TEST(DbcParserTest, ParsesEveryShippedDbcFileWithoutLosingMessagesOrSignals) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::CanData("dbc"))) {
    if (entry.path().extension() != ".dbc") continue;
    ++files;
    auto db = ParseDbcFile(entry.path().string());
    ASSERT_TRUE(db) << db.error().message();
    const std::string text = testing::ReadFileOrDie(entry.path().string());
    std::size_t signals = 0;
    for (const DbcMessage& message : db.value().messages) signals += message.signals.size();
    EXPECT_EQ(db.value().messages.size(), CountStatements(text, "BO_ ")) << entry.path();
    EXPECT_EQ(signals, CountStatements(text, "SG_ ")) << entry.path();
  }
  EXPECT_GE(files, 17u);
}

TEST(DbcParserTest, ToyotaPowertrainHasMotorolaSignedSignalsAfterLeadingComments) {
  const DbcDatabase db = LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc");
  EXPECT_EQ(db.messages.size(), 58u);
  const DbcMessage* message = FindMessageByName(db, "STEER_ANGLE_SENSOR");
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(message->id, 37u);
  EXPECT_FALSE(message->extended);
  EXPECT_EQ(message->length, 8u);
  const DbcSignal* angle = FindSignal(*message, "STEER_ANGLE");
  ASSERT_NE(angle, nullptr);
  EXPECT_EQ(angle->start_bit, 3);
  EXPECT_EQ(angle->length, 12);
  EXPECT_EQ(angle->byte_order, ByteOrder::kBigEndian);
  EXPECT_TRUE(angle->is_signed);
  EXPECT_EQ(angle->factor.value, 1.5);
  EXPECT_EQ(angle->unit, "deg");
  EXPECT_EQ(angle->minimum, -500);
  EXPECT_EQ(angle->receivers, std::vector<std::string>{"XXX"});
}

TEST(DbcParserTest, KeepsValueTablesAndComments) {
  const DbcDatabase db = LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc");
  const DbcMessage* gear = FindMessageByName(db, "GEAR_PACKET_HYBRID");
  ASSERT_NE(gear, nullptr);
  const DbcSignal* signal = FindSignal(*gear, "GEAR");
  ASSERT_NE(signal, nullptr);
  ASSERT_FALSE(signal->labels.empty());
  EXPECT_EQ(signal->labels.front(), (std::pair<std::int64_t, std::string>{0, "P"}));
}

TEST(DbcParserTest, NegativeValueTableKeysAreKept) {
  const DbcDatabase db = LoadDbcOrDie("opendbc_tesla_model3_party.dbc");
  const DbcSignal* speed = FindSignal(*FindMessageByName(db, "DI_torque"), "DI_axleSpeed");
  ASSERT_NE(speed, nullptr);
  ASSERT_EQ(speed->labels.size(), 1u);
  EXPECT_EQ(speed->labels[0].first, -32768);
  EXPECT_EQ(speed->labels[0].second, "SNA");
}

TEST(DbcParserTest, Bit31OfTheIdMeansExtended) {
  const DbcDatabase db = LoadDbcOrDie("cantools_j1939.dbc");
  const DbcMessage* message = FindMessageByName(db, "Message1");
  ASSERT_NE(message, nullptr);
  EXPECT_TRUE(message->extended);
  EXPECT_EQ(message->id, 2503213569u & 0x1FFFFFFFu);
}

TEST(DbcParserTest, IdsAbove7FFWithoutTheFlagAreExtended) {
  const DbcDatabase db = LoadDbcOrDie("cantools_issue_199.dbc");
  const DbcMessage* message = FindMessageByName(db, "Chime");
  ASSERT_NE(message, nullptr);
  EXPECT_TRUE(message->extended);
  EXPECT_EQ(message->id, 272629760u);
}

TEST(DbcParserTest, ResolvesExtendedMultiplexingFromSgMulVal) {
  const DbcDatabase db = LoadDbcOrDie("cantools_issue_184_extended_mux_cascaded.dbc");
  const DbcMessage& message = db.messages.at(0);
  const DbcSignal* b1 = FindSignal(message, "muxed_B_1");
  const DbcSignal* a2 = FindSignal(message, "muxed_A_2_MUX_B");
  ASSERT_TRUE(b1 && a2);
  EXPECT_TRUE(a2->is_multiplexer);
  EXPECT_EQ(a2->multiplexer_value, 2u);
  ASSERT_TRUE(b1->switch_index);
  EXPECT_EQ(message.signals[*b1->switch_index].name, "muxed_A_2_MUX_B");
  ASSERT_EQ(b1->switch_ranges.size(), 1u);
  EXPECT_EQ(b1->switch_ranges[0].low, 1u);
  ASSERT_TRUE(a2->switch_index);
  EXPECT_EQ(message.signals[*a2->switch_index].name, "MUX_A");
}

TEST(DbcParserTest, PlainMultiplexedSignalsHangOffTheMSignal) {
  const DbcDatabase db = ParseOrDie(
      "BO_ 100 Mux: 8 X\n"
      " SG_ A m1 : 8|8@1+ (1,0) [0|0] \"\" X\n"
      " SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" X\n");
  const DbcSignal& a = db.messages[0].signals[0];
  ASSERT_TRUE(a.switch_index);
  EXPECT_EQ(*a.switch_index, 1u);
  ASSERT_EQ(a.switch_ranges.size(), 1u);
  EXPECT_EQ(a.switch_ranges[0].low, 1u);
  EXPECT_EQ(a.switch_ranges[0].high, 1u);
}

TEST(DbcParserTest, MultiplexedSignalWithoutAnySwitchIsAnError) {
  auto db = ParseDbc("BO_ 100 Mux: 8 X\n SG_ A m1 : 8|8@1+ (1,0) [0|0] \"\" X\n", "nomux.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message().rfind("nomux.dbc:2:", 0), 0u) << db.error().message();
}

TEST(DbcParserTest, SigValTypeMakesFloatAndDoubleSignals) {
  const DbcDatabase db = LoadDbcOrDie("cantools_floating_point.dbc");
  EXPECT_EQ(FindSignal(*FindMessageByName(db, "Message1"), "Signal1")->value_type,
            ValueType::kFloat64);
  EXPECT_EQ(FindSignal(*FindMessageByName(db, "Message2"), "Signal1")->value_type,
            ValueType::kFloat32);
  EXPECT_EQ(FindSignal(*FindMessageByName(db, "Message2"), "Signal2")->value_type,
            ValueType::kFloat32);
}

TEST(DbcParserTest, SigValTypeWithTheWrongLengthIsAnError) {
  auto db = ParseDbc("BO_ 1 M: 8 X\n SG_ S : 0|16@1+ (1,0) [0|0] \"\" X\nSIG_VALTYPE_ 1 S : 1;\n",
                     "v.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message().rfind("v.dbc:3:1: ", 0), 0u) << db.error().message();
}

TEST(DbcParserTest, Latin1TextBecomesUtf8) {
  const DbcDatabase db = LoadDbcOrDie("cantools_abs.dbc");
  const DbcSignal* yaw = nullptr;
  for (const DbcMessage& m : db.messages) {
    if (const DbcSignal* s = FindSignal(m, "Yaw_Rate")) yaw = s;
  }
  ASSERT_NE(yaw, nullptr);
  EXPECT_EQ(yaw->unit, "\xC2\xB0/s");  // "°/s"
}

TEST(DbcParserTest, KeepsMessageAttributes) {
  const DbcDatabase db = LoadDbcOrDie("cantools_multiplex_2.dbc");
  const DbcMessage* message = FindMessageByName(db, "ExtendedTypes");
  ASSERT_NE(message, nullptr);
  EXPECT_NE(std::find(message->attributes.begin(), message->attributes.end(),
                      std::pair<std::string, std::string>{"VFrameFormat", "3"}),
            message->attributes.end());
}

TEST(DbcParserTest, MissingSemicolonBeforeTheNextStatementIsAWarning) {
  const DbcDatabase db = LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated_fb6ad76.dbc");
  EXPECT_TRUE(HasWarningContaining(db, ":569:1: VAL_ has no ';'"));
  // The statement without ';' still counts, and the one after it too.
  const DbcMessage* clutch = FindMessageByName(db, "CLUTCH");
  ASSERT_NE(clutch, nullptr);
  EXPECT_EQ(FindSignal(*clutch, "CLUTCH_RELEASED")->labels.size(), 2u);
  EXPECT_EQ(
      FindSignal(*FindMessageByName(db, "PCM_CRUISE_SM"), "CRUISE_CONTROL_STATE")->labels.size(),
      5u);
}

TEST(DbcParserTest, ReferencesToUnknownSignalsAreWarningsWithTheirPosition) {
  const DbcDatabase db = ParseOrDie(
      "BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n"
      "VAL_ 1 Nope 1 \"one\" ;\nCM_ BO_ 2 \"no such message\";\n",
      "w.dbc");
  EXPECT_TRUE(HasWarningContaining(db, "w.dbc:3:1: VAL_ for unknown signal M.Nope"));
  EXPECT_TRUE(HasWarningContaining(db, "w.dbc:4:5: CM_ for unknown message id 2"));
}

TEST(DbcParserTest, MalformedSignalReportsFileLineAndColumn) {
  auto db =
      ParseDbc("VERSION \"\"\nBO_ 100 Msg: 8 X\n SG_ Sig : 0|8@2+ (1,0) [0|0] \"\" X\n", "bad.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), Errc::kParse);
  EXPECT_EQ(db.error().message().rfind("bad.dbc:3:16: byte order and sign '2+'", 0), 0u)
      << db.error().message();
}

TEST(DbcParserTest, UnterminatedStringReportsWhereItStarts) {
  auto db = ParseDbc("VERSION \"\"\nCM_ BO_ 1 \"never closed;\n", "s.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message().rfind("s.dbc:2:11: ", 0), 0u) << db.error().message();
}

TEST(DbcParserTest, UnknownKeywordIsAnError) {
  auto db = ParseDbc("VERSION \"\"\nFOO_ 1 2;\n", "k.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message(), "k.dbc:2:1: unknown keyword 'FOO_'");
}

TEST(DbcParserTest, SignalPastByte63IsAnError) {
  auto db = ParseDbc("BO_ 1 M: 64 X\n SG_ S : 505|16@1+ (1,0) [0|0] \"\" X\n", "p.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message().rfind("p.dbc:2:1: signal S", 0), 0u) << db.error().message();
}

TEST(DbcParserTest, DuplicateMessageIdIsAnError) {
  auto db = ParseDbc("BO_ 1 A: 8 X\nBO_ 1 B: 8 X\n", "d.dbc");
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message().find("d.dbc:2:1: message id 1 already defined at line 1"),
            std::string::npos)
      << db.error().message();
}

TEST(DbcParserTest, MissingFileErrorNamesThePath) {
  auto db = ParseDbcFile("/nonexistent/x.dbc");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), Errc::kIo);
  EXPECT_EQ(db.error().message().rfind("/nonexistent/x.dbc: ", 0), 0u);
}

TEST(DbcParserTest, FactorAndOffsetKeepTheirExactDecimalValue) {
  const DbcDatabase db = ParseOrDie(
      "BO_ 1 M: 8 X\n SG_ S : 0|8@1+ (0.03589,-18.375) [0|0] \"\" X\n"
      " SG_ T : 8|8@1+ (1E-005,+2.50) [0|0] \"\" X\n");
  const DbcSignal& s = db.messages[0].signals[0];
  EXPECT_EQ(s.factor.mantissa, 3589);
  EXPECT_EQ(s.factor.exponent, -5);
  EXPECT_EQ(s.offset.mantissa, -18375);
  EXPECT_EQ(s.offset.exponent, -3);
  const DbcSignal& t = db.messages[0].signals[1];
  EXPECT_EQ(t.factor.mantissa, 1);
  EXPECT_EQ(t.factor.exponent, -5);
  EXPECT_EQ(t.offset.mantissa, 25);
  EXPECT_EQ(t.offset.exponent, -1);
  EXPECT_FALSE(t.offset.IsInteger());
}

TEST(SelectMessagesTest, FirstDatabaseWinsAFrameIdAndTheLoserIsReported) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie("BO_ 1 A: 8 X\nBO_ 2 B: 8 X\n", "first.dbc"));
  dbs.push_back(ParseOrDie("BO_ 2 C: 8 X\nBO_ 2147483650 D: 8 X\n", "second.dbc"));
  std::vector<std::string> conflicts;
  const auto selected = SelectMessages(dbs, &conflicts);
  ASSERT_EQ(selected.size(), 3u);  // A, B and the extended D; C loses to B
  EXPECT_EQ(selected[2].database, 1u);
  EXPECT_EQ(selected[2].message, 1u);
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0], "second.dbc: message C (id 0x2) is shadowed by B of first.dbc");
}

}  // namespace
}  // namespace canvoy::agent
