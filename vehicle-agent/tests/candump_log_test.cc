#include "canvoy/agent/candump_log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "test_data.h"

namespace canvoy::agent {
namespace {

CandumpLogReader ReaderOf(const std::string& text) {
  return CandumpLogReader(std::make_unique<std::istringstream>(text), "test.log");
}

// The frames of `text`; fails the test on an I/O error.
std::vector<CanFrame> ReadAll(CandumpLogReader& reader) {
  std::vector<CanFrame> frames;
  CanFrame frame;
  while (true) {
    auto more = reader.Next(&frame);
    EXPECT_TRUE(more);
    if (!more || !more.value()) break;
    frames.push_back(frame);
  }
  return frames;
}

CanFrame ReadOne(const std::string& line) {
  auto reader = ReaderOf(line);
  const auto frames = ReadAll(reader);
  EXPECT_EQ(frames.size(), 1u) << line;
  EXPECT_EQ(reader.malformed_lines(), 0u)
      << (reader.problems().empty() ? "" : reader.problems()[0]);
  return frames.empty() ? CanFrame{} : frames[0];
}

TEST(CandumpLogReaderTest, ParsesClassicFrameWith11BitId) {
  const CanFrame frame = ReadOne("(1533197087.584930) can0 260#08FFFB0000001884\n");
  EXPECT_EQ(frame.timestamp_us, 1533197087584930);
  EXPECT_EQ(frame.id, 0x260u);
  EXPECT_FALSE(frame.extended);
  EXPECT_FALSE(frame.fd);
  EXPECT_FALSE(frame.remote);
  EXPECT_FALSE(frame.error);
  ASSERT_EQ(frame.len, 8);
  const std::array<std::uint8_t, 8> expected = {0x08, 0xFF, 0xFB, 0x00, 0x00, 0x00, 0x18, 0x84};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), frame.data.begin()));
}

TEST(CandumpLogReaderTest, EightDigitIdIsExtended) {
  const CanFrame frame = ReadOne("(1.000000) can1 1F334455#1122\n");
  EXPECT_TRUE(frame.extended);
  EXPECT_EQ(frame.id, 0x1F334455u);
  EXPECT_EQ(frame.len, 2);
  EXPECT_EQ(frame.data[1], 0x22);
}

TEST(CandumpLogReaderTest, EightDigitSmallIdStaysExtended) {
  const CanFrame frame = ReadOne("(3.000000) can0 00000001#01\n");
  EXPECT_TRUE(frame.extended);
  EXPECT_EQ(frame.id, 1u);
}

TEST(CandumpLogReaderTest, ParsesCanFdFrameWithFlagsNibble) {
  const CanFrame frame =
      ReadOne("(4.000000) can0 0EA##134122A050000000000000000000000000000000000000000\n");
  EXPECT_TRUE(frame.fd);
  EXPECT_EQ(frame.fd_flags, 1);
  EXPECT_EQ(frame.len, 24);
  EXPECT_EQ(frame.data[0], 0x34);
  EXPECT_EQ(frame.data[3], 0x05);
}

TEST(CandumpLogReaderTest, ParsesEmptyCanFdFrame) {
  const CanFrame frame = ReadOne("(4.000000) can0 123##0\n");
  EXPECT_TRUE(frame.fd);
  EXPECT_EQ(frame.len, 0);
}

TEST(CandumpLogReaderTest, ParsesRemoteFrameWithoutLength) {
  const CanFrame frame = ReadOne("(1.000000) can0 123#R\n");
  EXPECT_TRUE(frame.remote);
  EXPECT_EQ(frame.len, 0);
}

TEST(CandumpLogReaderTest, ParsesRemoteFrameWithLengthDigit) {
  const CanFrame frame = ReadOne("(1.000000) can0 12345678#R5\n");
  EXPECT_TRUE(frame.remote);
  EXPECT_TRUE(frame.extended);
  EXPECT_EQ(frame.len, 5);
}

TEST(CandumpLogReaderTest, ErrorFlagInIdMakesAnErrorFrame) {
  const CanFrame frame = ReadOne("(1.000000) can0 20000080#0000000000000000\n");
  EXPECT_TRUE(frame.error);
  EXPECT_FALSE(frame.extended);
  EXPECT_EQ(frame.id, 0x80u);
  EXPECT_EQ(frame.len, 8);
}

TEST(CandumpLogReaderTest, AcceptsTrailingDirectionMarkers) {
  auto reader = ReaderOf("(1.000000) can0 123#11 T\n(1.000001) can0 124#22 R\n");
  const auto frames = ReadAll(reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].id, 0x123u);
  EXPECT_EQ(frames[1].data[0], 0x22);
  EXPECT_EQ(reader.malformed_lines(), 0u);
}

TEST(CandumpLogReaderTest, AcceptsDotSeparatedBytesAndRawDlcSuffix) {
  auto reader = ReaderOf("(1.0) can0 123#11.22.33\n(1.0) can0 123#1122334455667788_C\n");
  const auto frames = ReadAll(reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].len, 3);
  EXPECT_EQ(frames[1].len, 8);
}

TEST(CandumpLogReaderTest, TimestampIsExactMicrosecondsAndKeptAsWritten) {
  // 9007199254.740993 s is not a double: parsing through double would lose the last microsecond.
  auto reader = ReaderOf("(9007199254.740993) can0 001#\n(46408.5) can0 001#\n");
  CanFrame frame;
  ASSERT_TRUE(reader.Next(&frame).value());
  EXPECT_EQ(frame.timestamp_us, 9007199254740993);
  EXPECT_EQ(reader.last_timestamp_text(), "9007199254.740993");
  ASSERT_TRUE(reader.Next(&frame).value());
  EXPECT_EQ(frame.timestamp_us, 46408500000);
  EXPECT_EQ(reader.last_timestamp_text(), "46408.5");
  EXPECT_EQ(reader.last_line_number(), 2u);
}

TEST(CandumpLogReaderTest, InterfaceTableMapsNamesToIndexesInOrderOfAppearance) {
  auto reader = ReaderOf("(1.0) can1 001#\n(1.0) can0 001#\n(1.0) can1 001#\n");
  const auto frames = ReadAll(reader);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].interface_index, 0);
  EXPECT_EQ(frames[1].interface_index, 1);
  EXPECT_EQ(frames[2].interface_index, 0);
  EXPECT_EQ(reader.interfaces(), (std::vector<std::string>{"can1", "can0"}));
}

TEST(CandumpLogReaderTest, MalformedLinesAreCountedWithLineNumbersAndSkipped) {
  auto reader = ReaderOf(
      "(1.000000) can0 123#11\n"
      "garbage\n"
      "(1.000002) can0 1234#11\n"                   // 4-digit id
      "(1.000003) can0 123#112\n"                   // odd number of hex digits
      "(1.000004) can0 123#112233445566778899\n"    // 9 bytes in a classic frame
      "(1.000005) can0 123##1112233445566778899\n"  // 9 bytes is no CAN FD length
      "(1.000006 can0 123#11\n"                     // no ')'
      "(1.000007) can0 800#11\n"                    // 11-bit id above 7FF
      "(1.000008) can0 123#11 X\n"                  // unknown direction
      "(1.000009) can0\n"                           // no frame
      "(1.00000x) can0 123#11\n"                    // bad timestamp
      "(1.000011) can0 123#R9\n"                    // remote length above 8
      "(1.000012) can0 124#22\n");
  const auto frames = ReadAll(reader);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].id, 0x124u);
  EXPECT_EQ(reader.last_line_number(), 13u);
  EXPECT_EQ(reader.malformed_lines(), 11u);
  ASSERT_EQ(reader.problems().size(), 11u);
  EXPECT_EQ(reader.problems()[0].rfind("test.log:2: ", 0), 0u) << reader.problems()[0];
  EXPECT_EQ(reader.problems()[1].rfind("test.log:3: ", 0), 0u) << reader.problems()[1];
  EXPECT_NE(reader.problems()[2].find("odd number"), std::string::npos) << reader.problems()[2];
  EXPECT_EQ(reader.problems()[10].rfind("test.log:12: ", 0), 0u) << reader.problems()[10];
}

TEST(CandumpLogReaderTest, BlankLinesAndCarriageReturnsAreNotProblems) {
  auto reader = ReaderOf("\n(1.000000) can0 123#11\r\n   \n");
  EXPECT_EQ(ReadAll(reader).size(), 1u);
  EXPECT_EQ(reader.malformed_lines(), 0u);
}

TEST(CandumpLogReaderTest, OpeningAMissingFileNamesIt) {
  auto reader = CandumpLogReader::Open("/nonexistent/dir/x.log");
  ASSERT_FALSE(reader);
  EXPECT_NE(reader.error().message().find("/nonexistent/dir/x.log"), std::string::npos);
}

TEST(CandumpLogReaderTest, ReadsTheWholeRavPowertrainLog) {
  auto reader =
      CandumpLogReader::Open(testing::CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log"));
  ASSERT_TRUE(reader) << reader.error().message();
  const auto frames = ReadAll(reader.value());
  EXPECT_EQ(frames.size(), 53800u);
  EXPECT_EQ(reader.value().malformed_lines(), 0u);
  EXPECT_EQ(reader.value().interfaces(), std::vector<std::string>{"can0"});
  EXPECT_EQ(frames.front().timestamp_us, 46408584930);
}

}  // namespace
}  // namespace canvoy::agent
