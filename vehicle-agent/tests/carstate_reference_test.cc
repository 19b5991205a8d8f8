// The RAV4 drive decoded by the agent against the data set's own decode of the same drive
// (comma2k19's processed car state), an independent reference.
//
// What the reference's columns are, and how they are rebuilt here from the powertrain DBC:
// - t: the log timestamp of a WHEEL_SPEEDS frame (0xAA); one row per such frame, in log order.
// - wheel_{fl,fr,rl,rr}_mps: WHEEL_SPEEDS.WHEEL_SPEED_{FL,FR,RL,RR} (km/h) / 3.6.
// - speed_mps: the mean of the four wheel speeds in m/s (the unfiltered vEgoRaw, not a filtered
//   speed, and not SPEED.SPEED, which is a separate 0.01 km/h sensor value).
// - steering_angle_deg: STEER_ANGLE_SENSOR.STEER_ANGLE + STEER_ANGLE_SENSOR.STEER_FRACTION of the
//   latest 0x25 frame whose timestamp is at or before the row's; a 0x25 frame with the same
//   timestamp counts even when it comes after the 0xAA line in the log (the reference's producer
//   received both in one batch).
// Every one of the six values of every row is compared within 1e-9 relative; nothing is left
// out. The remaining differences are double rounding (the reference computes in binary floating
// point, the decoder rounds decimal scalings exactly), about 1e-16.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/decoder.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

using testing::CanData;
using testing::LoadDbcOrDie;

constexpr double kRelativeTolerance = 1e-9;
constexpr double kKmhPerMps = 3.6;

struct ReferenceRow {
  std::string t;
  std::array<double, 6> values{};  // speed, steering, fl, fr, rl, rr (the CSV's column order)
};

std::vector<ReferenceRow> ReadReference(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "t,speed_mps,steering_angle_deg,wheel_fl_mps,wheel_fr_mps,wheel_rl_mps,"
                  "wheel_rr_mps");
  std::vector<ReferenceRow> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    ReferenceRow row;
    std::getline(fields, row.t, ',');
    for (double& value : row.values) {
      std::string text;
      std::getline(fields, text, ',');
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << line;
    }
    rows.push_back(row);
  }
  return rows;
}

double Physical(const DecodedFrame& decoded, std::string_view name) {
  for (const DecodedSignal& signal : decoded.signals()) {
    if (decoded.message()->signals[signal.signal_index].name == name) {
      EXPECT_EQ(signal.physical.index(), 2u) << name;
      return std::get<double>(signal.physical);
    }
  }
  ADD_FAILURE() << "signal " << name << " not decoded";
  return std::nan("");
}

double RelativeDifference(double a, double b) {
  if (a == b) return 0;
  return std::abs(a - b) / std::max(std::abs(a), std::abs(b));
}

struct Steering {
  std::int64_t timestamp_us;
  double degrees;
};

struct WheelRow {
  std::string t;
  std::int64_t timestamp_us;
  std::array<double, 4> mps;  // fl, fr, rl, rr
};

TEST(CarstateReferenceTest, RavPowertrainDecodeMatchesTheDataSetsCarState) {
  auto decoder = Decoder::Create({LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc")});
  ASSERT_TRUE(decoder) << decoder.error().message();
  auto reader = CandumpLogReader::Open(CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log"));
  ASSERT_TRUE(reader) << reader.error().message();
  DecodedFrame decoded = decoder.value().MakeFrameBuffer();

  std::vector<Steering> steering;
  std::vector<WheelRow> wheels;
  CanFrame frame;
  while (true) {
    auto more = reader.value().Next(&frame);
    ASSERT_TRUE(more) << more.error().message();
    if (!more.value()) break;
    if (decoder.value().Decode(frame, &decoded) != DecodeOutcome::kDecoded) continue;
    const std::string& message = decoded.message()->name;
    if (message == "STEER_ANGLE_SENSOR") {
      steering.push_back({frame.timestamp_us, Physical(decoded, "STEER_ANGLE") +
                                                  Physical(decoded, "STEER_FRACTION")});
    } else if (message == "WHEEL_SPEEDS") {
      wheels.push_back({std::string(reader.value().last_timestamp_text()), frame.timestamp_us,
                        {Physical(decoded, "WHEEL_SPEED_FL") / kKmhPerMps,
                         Physical(decoded, "WHEEL_SPEED_FR") / kKmhPerMps,
                         Physical(decoded, "WHEEL_SPEED_RL") / kKmhPerMps,
                         Physical(decoded, "WHEEL_SPEED_RR") / kKmhPerMps}});
    }
  }
  ASSERT_TRUE(std::is_sorted(steering.begin(), steering.end(), [](const auto& a, const auto& b) {
    return a.timestamp_us < b.timestamp_us;
  }));

  const std::vector<ReferenceRow> reference =
      ReadReference(CanData("logs/comma2k19_rav4_2017_seg40_reference_carstate.csv"));
  ASSERT_EQ(reference.size(), 4974u);
  ASSERT_EQ(wheels.size(), reference.size());

  static constexpr std::array<const char*, 6> kColumns = {
      "speed_mps", "steering_angle_deg", "wheel_fl_mps", "wheel_fr_mps", "wheel_rl_mps",
      "wheel_rr_mps"};
  std::size_t compared = 0;
  std::array<double, 6> max_difference{};
  for (std::size_t row = 0; row < reference.size(); ++row) {
    const WheelRow& ours = wheels[row];
    ASSERT_EQ(ours.t, reference[row].t) << "row " << row;
    const auto latest = std::upper_bound(
        steering.begin(), steering.end(), ours.timestamp_us,
        [](std::int64_t t, const Steering& s) { return t < s.timestamp_us; });
    ASSERT_NE(latest, steering.begin()) << "no steering angle before t=" << ours.t;
    const double speed = (ours.mps[0] + ours.mps[1] + ours.mps[2] + ours.mps[3]) / 4;
    const std::array<double, 6> values = {speed,       std::prev(latest)->degrees, ours.mps[0],
                                          ours.mps[1], ours.mps[2],                ours.mps[3]};
    for (std::size_t column = 0; column < values.size(); ++column) {
      const double difference = RelativeDifference(values[column], reference[row].values[column]);
      max_difference[column] = std::max(max_difference[column], difference);
      EXPECT_LE(difference, kRelativeTolerance)
          << kColumns[column] << " at t=" << ours.t << ": decoded " << values[column]
          << ", reference " << reference[row].values[column];
      ++compared;
    }
  }
  EXPECT_EQ(compared, 6 * reference.size());
  std::ostringstream summary;
  summary << compared << " values compared; max relative difference:";
  for (std::size_t column = 0; column < kColumns.size(); ++column) {
    summary << " " << kColumns[column] << "=" << max_difference[column];
  }
  RecordProperty("summary", summary.str());
  std::cout << "[ carstate ] " << summary.str() << "\n";
}

}  // namespace
}  // namespace canvoy::agent
