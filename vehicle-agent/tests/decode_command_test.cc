#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "canvoy/agent/commands.h"
#include "decode_output.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::CanData;

struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};

CommandResult RunDecode(std::vector<std::string> args) {
  args.insert(args.begin(), "decode");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = RunDecodeCommand(static_cast<int>(args.size()), argv.data());
  std::fflush(stdout);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  return {code, std::move(out), std::move(err)};
}

std::size_t CountLines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string PhysicalText(const PhysicalValue& value) {
  std::string text;
  AppendPhysical(value, &text);
  return text;
}

TEST(DecodeOutputTest, PhysicalValuesPrintExactly) {
  EXPECT_EQ(PhysicalText(std::int64_t{-5}), "-5");
  EXPECT_EQ(PhysicalText(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(PhysicalText(0.1), "0.1");
  EXPECT_EQ(PhysicalText(-204.8), "-204.8");
  EXPECT_EQ(PhysicalText(166.96875), "166.96875");
  EXPECT_EQ(PhysicalText(1e22), "1e+22");
  EXPECT_EQ(PhysicalText(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(PhysicalText(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(PhysicalText(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(DecodeOutputTest, FrameIdsAreUpperCaseHexOfThreeOrEightDigits) {
  std::string text;
  AppendFrameId(0xEA, false, &text);
  text.push_back(' ');
  AppendFrameId(0x1, true, &text);
  text.push_back(' ');
  AppendFrameId(0x1ABCDEF0, true, &text);
  EXPECT_EQ(text, "0EA 00000001 1ABCDEF0");
}

TEST(DecodeCommandTest, PrintsTheCsvOfTheSignedKnownAnswers) {
  const auto result = RunDecode({"--dbc", CanData("dbc/cantools_signed.dbc"), "--log",
                                 CanData("kat/cantools_signed_float.log")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string expected =
      "timestamp,interface,frame_id,message,signal,raw,physical,label\n"
      "1.000000,can0,002,Message64,s64,-5,-5,\n"
      "1.000001,can0,001,Message33,s33,-5,-5,\n"
      "1.000002,can0,000,Message32,s32,-5,-5,\n"
      "1.000003,can0,003,Message64big,s64big,-5,-5,\n"
      "1.000004,can0,004,Message33big,s33big,-5,-5,\n"
      "1.000005,can0,005,Message32big,s32big,-5,-5,\n"
      "1.000006,can0,00A,Message378910,s3big,-4,-4,\n"
      "1.000006,can0,00A,Message378910,s3,1,1,\n"
      "1.000006,can0,00A,Message378910,s10big,-253,-253,\n"
      "1.000006,can0,00A,Message378910,s8big,90,90,\n"
      "1.000006,can0,00A,Message378910,s7big,-9,-9,\n"
      "1.000006,can0,00A,Message378910,s9,165,165,\n"
      "1.000006,can0,00A,Message378910,s8,-43,-43,\n"
      "1.000006,can0,00A,Message378910,s7,-40,-40,\n";
  EXPECT_EQ(result.out, expected);
}

TEST(DecodeCommandTest, LabelsAreQuotedAndFloatsPrintShortest) {
  const auto result =
      RunDecode({"--dbc", CanData("dbc/opendbc_hyundai_canfd_generated.dbc"), "--log",
                 CanData("kat/canfd_hyundai_mdps.log"), "--short-frames", "skip"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find(
                "4.000000,can0,0EA,MDPS,MDPS_OutTqVal,0,-204.8,\"0x0x000~0xFFD:real values\"\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find("decoded_frames=1 "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("short_frames_skipped=2 "), std::string::npos) << result.err;
}

TEST(DecodeCommandTest, JsonLinesCarryTheSameFields) {
  const auto result = RunDecode({"--dbc", CanData("dbc/cantools_floating_point.dbc"), "--log",
                                 CanData("kat/cantools_float.log"), "--format", "jsonl"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.substr(0, result.out.find('\n')),
            "{\"timestamp\":\"2.000000\",\"timestamp_us\":2000000,\"interface\":\"can0\",\"frame_"
            "id\":\"400\","
            "\"message\":\"Message1\",\"signal\":\"Signal1\",\"raw\":13862130600017171317,"
            "\"physical\":-129.448,\"label\":null}");
  EXPECT_EQ(CountLines(result.out), 3u);
}

TEST(DecodeCommandTest, JsonLinesReportTheJ1939SourceAddress) {
  // cantools_j1939.dbc's Message1 is 0x15340201; sent by source 0x2A and with another priority
  // it is still Message1, and the row names the sender.
  const auto log = std::filesystem::temp_directory_path() / ("j1939-" + std::to_string(::getpid()) + ".log");
  std::ofstream(log) << "(1.000000) can0 0D34022A#0100000000000000\n";
  const auto result = RunDecode({"--dbc", CanData("dbc/cantools_j1939.dbc"), "--log", log.string(),
                                 "--format", "jsonl"});
  std::filesystem::remove(log);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_GE(CountLines(result.out), 1u) << result.err;
  EXPECT_NE(result.out.find("\"frame_id\":\"0D34022A\",\"source_address\":42,\"message\":\"Message1\""),
            std::string::npos)
      << result.out;
  // CSV keeps its fixed columns.
  std::ofstream(log) << "(1.000000) can0 0D34022A#0100000000000000\n";
  const auto csv = RunDecode({"--dbc", CanData("dbc/cantools_j1939.dbc"), "--log", log.string()});
  std::filesystem::remove(log);
  EXPECT_EQ(csv.out.find("source_address"), std::string::npos);
  EXPECT_NE(csv.out.find(",0D34022A,Message1,"), std::string::npos) << csv.out;
}

TEST(DecodeCommandTest, RavPowertrainLogCounts) {
  const auto result = RunDecode({"--dbc", CanData("dbc/opendbc_toyota_new_mc_pt_generated.dbc"),
                                 "--log", CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(
      result.err,
      "frames=53800 decoded_frames=38983 unknown_id_frames=14817 unknown_ids=58 not_data_frames=0 "
      "short_frames_skipped=0 filtered_frames=0 signals=210706 signals_outside_frame=0 "
      "malformed_lines=0\n");
  EXPECT_EQ(CountLines(result.out), 210707u);
}

TEST(DecodeCommandTest, IfaceDecodesOnlyThatInterface) {
  const auto result =
      RunDecode({"--dbc", CanData("dbc/opendbc_toyota_adas.dbc"), "--log",
                 CanData("logs/comma2k19_rav4_2017_seg40_allbuses.log"), "--iface", "can1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("frames=135468 "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("filtered_frames=90468 "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("decoded_frames=39000 "), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find(",can0,"), std::string::npos);
  EXPECT_EQ(result.out.find(",can128,"), std::string::npos);
}

TEST(DecodeCommandTest, CatalogPrintsOnlyTheSignalsItCollects) {
  const std::filesystem::path catalog =
      std::filesystem::temp_directory_path() / ("decode_catalog_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(catalog);
    out << R"({"default": {"collect": false}, "signals": {"WHEEL_SPEEDS.WHEEL_SPEED_FL": {}}})";
  }
  const auto all = RunDecode({"--dbc", CanData("dbc/opendbc_toyota_new_mc_pt_generated.dbc"), "--log",
                              CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log")});
  const auto some = RunDecode({"--dbc", CanData("dbc/opendbc_toyota_new_mc_pt_generated.dbc"), "--log",
                               CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log"), "--catalog",
                               catalog.string()});
  std::filesystem::remove(catalog);
  ASSERT_EQ(some.exit_code, 0) << some.err;
  std::size_t expected = 0;  // rows of that signal in the full output
  for (std::size_t at = all.out.find(",WHEEL_SPEEDS,WHEEL_SPEED_FL,"); at != std::string::npos;
       at = all.out.find(",WHEEL_SPEEDS,WHEEL_SPEED_FL,", at + 1)) {
    ++expected;
  }
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(CountLines(some.out), expected + 1);  // plus the header
  EXPECT_EQ(some.out.find(",WHEEL_SPEED_FR,"), std::string::npos);
}

TEST(DecodeCommandTest, MissingDbcIsOneLineNamingTheFile) {
  const auto result =
      RunDecode({"--dbc", "/nonexistent/a.dbc", "--log", CanData("kat/cantools_float.log")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(CountLines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find("/nonexistent/a.dbc: cannot open"), std::string::npos) << result.err;
}

TEST(DecodeCommandTest, MalformedDbcNamesFileLineAndColumn) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("canvoy_bad_" + std::to_string(::getpid()) + ".dbc");
  std::ofstream(path) << "VERSION \"\"\nBO_ 1 M: 8 X\n SG_ S : 0|8@1+ (1,0 [0|0] \"\" X\n";
  const auto result =
      RunDecode({"--dbc", path.string(), "--log", CanData("kat/cantools_float.log")});
  std::filesystem::remove(path);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "canvoy-agent decode: " + path.string() +
                            ":3:22: expected ')' after the offset, found '['\n");
}

TEST(DecodeCommandTest, MissingLogIsOneLineNamingTheFile) {
  const auto result =
      RunDecode({"--dbc", CanData("dbc/cantools_signed.dbc"), "--log", "/nonexistent/x.log"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(CountLines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find("/nonexistent/x.log: cannot open"), std::string::npos) << result.err;
}

TEST(DecodeCommandTest, BadOptionsExitWithTwo) {
  EXPECT_EQ(RunDecode({"--dbc", "a.dbc", "--log", "b.log", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(RunDecode({"--log", "b.log"}).exit_code, 2);
}

}  // namespace
}  // namespace canvoy::agent
