// Known answers: the small logs in data/can/kat/ with the values cantools' own tests assert.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/decoder.h"
#include "dbc/bit_layout.h"
#include "decode_output.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

struct Row {
  std::string frame_id;
  std::string message;
  std::string raw;
  double physical = 0;
  std::string label;
  bool integer_signal = true;  // raw is compared only for integer signals (floats print IEEE bits)
};
using Rows = std::map<std::string, Row>;  // "timestamp signal" -> row

// One CSV record, with RFC 4180 quotes.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back().push_back('"');
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  return fields;
}

Rows ReadExpected(const std::string& file) {
  std::istringstream in(testing::ReadFileOrDie(testing::CanData("kat/" + file)));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "timestamp,interface,frame_id,message,signal,raw,physical,label");
  Rows rows;
  while (std::getline(in, line)) {
    const auto f = SplitCsv(line);
    EXPECT_EQ(f.size(), 8u) << line;
    if (f.size() != 8) continue;
    rows[f[0] + " " + f[4]] = Row{f[2], f[3], f[5], std::stod(f[6]), f[7], true};
  }
  return rows;
}

Rows DecodeKat(const std::string& dbc_file, const std::string& log_file, ShortFrames short_frames) {
  auto decoder = Decoder::Create({testing::LoadDbcOrDie(dbc_file)}, {short_frames});
  EXPECT_TRUE(decoder);
  auto reader = CandumpLogReader::Open(testing::CanData("kat/" + log_file));
  EXPECT_TRUE(reader);
  Rows rows;
  if (!decoder || !reader) return rows;
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  CanFrame frame;
  while (reader.value().Next(&frame).value()) {
    if (decoder.value().Decode(frame, &out) != DecodeOutcome::kDecoded) continue;
    for (const DecodedSignal& s : out.signals()) {
      const DbcSignal& signal = out.message()->signals[s.signal_index];
      Row row;
      AppendFrameId(frame.id, frame.extended, &row.frame_id);
      row.message = out.message()->name;
      row.raw = s.raw_signed ? std::to_string(s.raw_as_int64()) : std::to_string(s.raw);
      std::string physical;
      AppendPhysical(s.physical, &physical);
      row.physical = std::stod(physical);
      row.label = std::string(s.label);
      row.integer_signal = signal.value_type == ValueType::kInteger;
      rows[std::string(reader.value().last_timestamp_text()) + " " + signal.name] = row;
    }
  }
  EXPECT_EQ(reader.value().malformed_lines(), 0u);
  return rows;
}

bool Close(double expected, double actual) {
  return expected == actual ||
         std::fabs(expected - actual) <= 1e-9 * std::max(std::fabs(expected), std::fabs(actual));
}

void ExpectRowsMatch(const Rows& expected, const Rows& actual) {
  EXPECT_EQ(expected.size(), actual.size());
  for (const auto& [key, want] : expected) {
    const auto it = actual.find(key);
    if (it == actual.end()) {
      ADD_FAILURE() << "not decoded: " << key;
      continue;
    }
    const Row& got = it->second;
    EXPECT_EQ(got.frame_id, want.frame_id) << key;
    EXPECT_EQ(got.message, want.message) << key;
    EXPECT_TRUE(Close(want.physical, got.physical))
        << key << ": " << got.physical << " != " << want.physical;
    if (got.integer_signal) {
      EXPECT_EQ(got.raw, want.raw) << key;
    }
    EXPECT_EQ(got.label, want.label) << key;
  }
  for (const auto& [key, row] : actual) EXPECT_TRUE(expected.count(key)) << "unexpected: " << key;
}

TEST(DecoderKatTest, SignedSignalsOfEveryWidthAndByteOrderMatchCantools) {
  ExpectRowsMatch(
      ReadExpected("cantools_signed_float.expected.csv"),
      DecodeKat("cantools_signed.dbc", "cantools_signed_float.log", ShortFrames::kSkipFrame));
}

TEST(DecoderKatTest, FloatAndDoubleSignalsMatchCantools) {
  ExpectRowsMatch(
      ReadExpected("cantools_float.expected.csv"),
      DecodeKat("cantools_floating_point.dbc", "cantools_float.log", ShortFrames::kSkipFrame));
}

TEST(DecoderKatTest, CascadedExtendedMultiplexingMatchesCantools) {
  ExpectRowsMatch(ReadExpected("extended_mux.expected.csv"),
                  DecodeKat("cantools_issue_184_extended_mux_cascaded.dbc", "extended_mux.log",
                            ShortFrames::kSkipFrame));
}

// The expected file decodes only the full 24-byte frame: what ShortFrames::kSkipFrame does.
TEST(DecoderKatTest, CanFdFrameMatchesWhenShortFramesAreSkipped) {
  ExpectRowsMatch(ReadExpected("canfd_hyundai_mdps.expected.csv"),
                  DecodeKat("opendbc_hyundai_canfd_generated.dbc", "canfd_hyundai_mdps.log",
                            ShortFrames::kSkipFrame));
}

// By default the two 8-byte frames of the 24-byte MDPS message give exactly the signals that lie
// in their 8 bytes, with the same values as the full frame (which starts with the same bytes).
TEST(DecoderKatTest, ShortCanFdFramesGiveTheSignalsInsideTheirBytes) {
  const DbcDatabase db = testing::LoadDbcOrDie("opendbc_hyundai_canfd_generated.dbc");
  std::size_t inside = 0;
  for (const DbcSignal& s : testing::FindMessageByName(db, "MDPS")->signals) {
    auto layout = dbc::ComputeBitLayout(s.start_bit, s.length, s.byte_order);
    if (std::get<dbc::BitLayout>(layout).bytes_needed <= 8) ++inside;
  }
  ASSERT_GT(inside, 0u);
  const Rows expected = ReadExpected("canfd_hyundai_mdps.expected.csv");
  const Rows actual = DecodeKat("opendbc_hyundai_canfd_generated.dbc", "canfd_hyundai_mdps.log",
                                ShortFrames::kDecodeSignalsInside);
  EXPECT_EQ(actual.size(), expected.size() + 2 * inside);
  for (const auto& [key, row] : actual) {
    const std::string signal = key.substr(key.find(' ') + 1);
    const auto full = expected.find("4.000000 " + signal);
    ASSERT_NE(full, expected.end()) << key;
    EXPECT_TRUE(Close(full->second.physical, row.physical)) << key;
  }
}

// expected.txt: "signed: s64=-5 ...; Message378910: s7=-40 ..." and "float:
// Message1.Signal1=-129.448 ...".
TEST(DecoderKatTest, ValuesListedInExpectedTxtAreDecoded) {
  const Rows signed_rows =
      DecodeKat("cantools_signed.dbc", "cantools_signed_float.log", ShortFrames::kSkipFrame);
  const Rows float_rows =
      DecodeKat("cantools_floating_point.dbc", "cantools_float.log", ShortFrames::kSkipFrame);
  std::istringstream in(testing::ReadFileOrDie(testing::CanData("kat/expected.txt")));
  std::string line;
  std::size_t checked = 0;
  while (std::getline(in, line)) {
    const Rows* rows = line.rfind("signed:", 0) == 0  ? &signed_rows
                       : line.rfind("float:", 0) == 0 ? &float_rows
                                                      : nullptr;
    if (rows == nullptr) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      const std::size_t eq = word.find('=');
      if (eq == std::string::npos) continue;
      std::string name = word.substr(0, eq);
      std::string message;
      if (const std::size_t dot = name.find('.'); dot != std::string::npos) {
        message = name.substr(0, dot);
        name = name.substr(dot + 1);
      }
      const double value = std::stod(word.substr(eq + 1));
      std::size_t matches = 0;
      for (const auto& [key, row] : *rows) {
        if (key.substr(key.find(' ') + 1) != name || (!message.empty() && row.message != message))
          continue;
        ++matches;
        EXPECT_TRUE(Close(value, row.physical)) << word << " decoded as " << row.physical;
      }
      EXPECT_GE(matches, 1u) << word;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 17u);
}

}  // namespace
}  // namespace canvoy::agent
