// The decode loop of the agent (log -> decoder -> collector) with the shipped RAV4 example catalog
// over the real powertrain log; expected counts are recomputed here from the raw decode.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/catalog_file.h"
#include "canvoy/agent/decoder.h"
#include "collect/collector.h"
#include "collect_test_util.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;

struct Sample {
  std::int64_t t;
  PhysicalValue value;
};

class Rav4CollectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto file = CatalogFile::LoadFile(std::string(CANVOY_AGENT_EXAMPLES_DIR) + "/rav4_catalog.json");
    ASSERT_TRUE(file) << file.error().message();
    std::vector<DbcDatabase> dbs;
    dbs.push_back(testing::LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc"));
    auto built = BuildCatalog(dbs, file.value());
    ASSERT_TRUE(built) << built.error().message();
    catalog_ = new BuiltCatalog(std::move(built).value());
    auto decoder = Decoder::Create(std::move(dbs));
    ASSERT_TRUE(decoder);
    auto collector = Collector::Create(catalog_->catalog);
    ASSERT_TRUE(collector) << collector.error().message();
    auto reader = CandumpLogReader::Open(testing::CanData("logs/comma2k19_rav4_2017_seg40_can0_pt.log"));
    ASSERT_TRUE(reader) << reader.error().message();

    raw_ = new std::map<SignalId, std::vector<Sample>>();
    sink_ = new testing::RecordingSink();
    DecodedFrame decoded = decoder.value().MakeFrameBuffer();
    CanFrame frame;
    for (;;) {
      auto more = reader.value().Next(&frame);
      ASSERT_TRUE(more);
      if (!more.value()) break;
      if (decoder.value().Decode(frame, &decoded) != DecodeOutcome::kDecoded) continue;
      for (const DecodedSignal& s : decoded.signals()) {
        const SignalId id = catalog_->ids.Find(decoded.message_ref(), s.signal_index);
        if (id == SignalIdMap::kNone) continue;
        (*raw_)[id].push_back({frame.timestamp_us, s.physical});
        ASSERT_TRUE(collector.value().Add(id, frame.timestamp_us, s.physical, *sink_));
      }
    }
    fired_ = collector.value().trigger_counts().at(0);
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete raw_;
    delete sink_;
  }

  static SignalId Id(std::string_view name) {
    for (const auto& s : catalog_->catalog.signals()) {
      if (s.name() == name) return s.id();
    }
    ADD_FAILURE() << "no signal " << name;
    return 0;
  }
  static std::size_t Emitted(SignalId id) { return sink_->Times(id).size(); }
  static double AsDouble(const PhysicalValue& v) {
    return std::visit([](auto x) { return static_cast<double>(x); }, v);
  }

  static BuiltCatalog* catalog_;
  static std::map<SignalId, std::vector<Sample>>* raw_;
  static testing::RecordingSink* sink_;
  static std::uint64_t fired_;
};

BuiltCatalog* Rav4CollectTest::catalog_ = nullptr;
std::map<SignalId, std::vector<Sample>>* Rav4CollectTest::raw_ = nullptr;
testing::RecordingSink* Rav4CollectTest::sink_ = nullptr;
std::uint64_t Rav4CollectTest::fired_ = 0;

TEST_F(Rav4CollectTest, MinIntervalCountMatchesARecountOverTheEverySampleStream) {
  for (const char* name : {"Vehicle.Speed", "Vehicle.Powertrain.CombustionEngine.Speed"}) {
    const auto& samples = raw_->at(Id(name));
    std::size_t expected = 0;
    std::int64_t last = 0;
    for (const Sample& s : samples) {
      if (expected == 0 || s.t - last >= 100'000) {
        ++expected;
        last = s.t;
      }
    }
    EXPECT_EQ(Emitted(Id(name)), expected) << name;
    // 60 s of log at 10 per second at most, and far fewer than the raw stream.
    EXPECT_LE(expected, 601u) << name;
    EXPECT_GE(expected, 450u) << name;  // a 100 ms interval over ~24 ms frames: ~120 ms apart
    EXPECT_LT(expected, samples.size() / 3) << name;
  }
}

TEST_F(Rav4CollectTest, OnChangeCountMatchesARecountWithTheDeadband) {
  const SignalId id = Id("Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed");
  const auto& samples = raw_->at(id);
  std::size_t expected = 0;
  double last = 0;
  for (const Sample& s : samples) {
    const double v = AsDouble(s.value);
    if (expected == 0 || std::abs(v - last) > 0.5) {
      ++expected;
      last = v;
    }
  }
  EXPECT_EQ(Emitted(id), expected);
  EXPECT_GT(expected, 1u);
  EXPECT_LT(expected, samples.size());
}

TEST_F(Rav4CollectTest, DefaultOnChangeKeepsOneSampleForAConstantSignal) {
  const SignalId id = Id("BRAKE_MODULE.BRAKE_PRESSED");  // 0 through the whole log
  EXPECT_GT(raw_->at(id).size(), 1000u);
  EXPECT_EQ(Emitted(id), 1u);
}

TEST_F(Rav4CollectTest, ExcludedSignalsAreNeitherCatalogedNorEmitted) {
  auto file = CatalogFile::LoadFile(std::string(CANVOY_AGENT_EXAMPLES_DIR) + "/rav4_catalog.json");
  ASSERT_TRUE(file);
  std::set<std::string> excluded;
  for (const auto& s : file.value().signals) {
    if (!s.collect) excluded.insert(s.key);
  }
  EXPECT_TRUE(excluded.count("SPEED.CHECKSUM"));
  for (const auto& s : catalog_->catalog.signals()) {
    EXPECT_FALSE(excluded.count(s.dbc_message() + "." + s.dbc_signal())) << s.name();
  }
  for (const auto& e : sink_->emitted) {
    ASSERT_GE(e.id, 1u);
    ASSERT_LE(e.id, static_cast<SignalId>(catalog_->catalog.signals_size()));
  }
}

// The trigger's firings recomputed by brute force: avg of ACCEL_X over (t - 200 ms, t] below -1.4
// and the newest SPEED above 10, evaluated at each sample of either, rising edges only.
TEST_F(Rav4CollectTest, TriggerFiresAtTheRecomputedRisingEdgesAndCapturesTheirWindows) {
  const SignalId accel = Id("Vehicle.Acceleration.Longitudinal");
  const SignalId speed = Id("Vehicle.Speed");
  std::vector<std::pair<std::int64_t, SignalId>> events;
  for (SignalId id : {accel, speed}) {
    for (std::size_t i = 0; i < raw_->at(id).size(); ++i) events.push_back({raw_->at(id)[i].t, id});
  }
  std::stable_sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.first < b.first; });
  // Equal timestamps come from one frame or frames in log order; ACCEL_X and SPEED are in different
  // frames, so the order between them only matters at identical times, which the log does not have.
  std::vector<std::int64_t> fire_times;
  bool was_true = false;
  std::size_t seen_accel = 0, seen_speed = 0;
  for (const auto& [t, id] : events) {
    (id == accel ? seen_accel : seen_speed)++;
    if (seen_accel == 0 || seen_speed == 0) continue;
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < seen_accel; ++i) {
      const Sample& s = raw_->at(accel)[i];
      if (s.t > t - 200'000 && s.t <= t) {
        sum += AsDouble(s.value);
        ++n;
      }
    }
    const bool now = n > 0 && sum / n < -1.4 && AsDouble(raw_->at(speed)[seen_speed - 1].value) > 10;
    if (now && !was_true) fire_times.push_back(t);
    was_true = now;
  }
  // At the very start, 0.15 s later (overlapping windows) and 38.6 s into the drive.
  ASSERT_EQ(fire_times.size(), 3u);
  EXPECT_EQ(fired_, fire_times.size());

  for (const char* name : {"Vehicle.Acceleration.Longitudinal", "Vehicle.Chassis.SteeringWheel.Angle"}) {
    const SignalId id = Id(name);
    std::size_t expected = 0;
    for (const Sample& s : raw_->at(id)) {
      bool inside = false;
      for (std::int64_t f : fire_times) inside = inside || (s.t >= f - 2'000'000 && s.t <= f + 1'000'000);
      expected += inside ? 1 : 0;
    }
    const auto times = sink_->Times(id);
    EXPECT_EQ(times.size(), expected) << name;
    EXPECT_EQ(std::set<std::int64_t>(times.begin(), times.end()).size(), times.size()) << name << ": duplicates";
    EXPECT_LT(expected, raw_->at(id).size()) << name;
  }
}

}  // namespace
}  // namespace canvoy::agent
