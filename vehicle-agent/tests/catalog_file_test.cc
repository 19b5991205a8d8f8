#include "canvoy/agent/catalog_file.h"

#include <gtest/gtest.h>

#include "collect/collector.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;
using testing::ParseOrDie;

constexpr std::string_view kDbc =
    "BO_ 10 Engine: 8 X\n"
    " SG_ Rpm : 0|16@1+ (1,0) [0|0] \"rpm\" X\n"
    " SG_ Temp : 16|8@1+ (0.5,-40) [0|0] \"degC\" X\n"
    " SG_ Checksum : 56|8@1+ (1,0) [0|0] \"\" X\n"
    "BO_ 11 Wheels: 8 X\n"
    " SG_ FL : 0|16@1+ (0.01,0) [0|0] \"kph\" X\n"
    " SG_ FR : 16|16@1+ (0.01,0) [0|0] \"kph\" X\n";

std::string Example() { return std::string(CANVOY_AGENT_EXAMPLES_DIR) + "/rav4_catalog.json"; }

Result<BuiltCatalog> Build(std::string_view json) {
  CANVOY_ASSIGN_OR_RETURN(auto file, CatalogFile::Parse(json, "cat.json"));
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie(kDbc));
  return BuildCatalog(dbs, file);
}

std::string ErrorOf(std::string_view json) {
  auto built = Build(json);
  return built ? "built" : built.error().message();
}

const tv1::SignalDescriptor* ByName(const tv1::Catalog& catalog, std::string_view name) {
  for (const auto& s : catalog.signals()) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

TEST(CatalogFileTest, NamesUnitsPoliciesAndExclusionsApply) {
  auto built = Build(R"({
    // comments and trailing commas are fine
    "default": {"policy": {"min_interval": {"ms": 250}}},
    "signals": {
      "Engine.Rpm": {"name": "Vehicle.Powertrain.CombustionEngine.Speed", "policy": "every_sample"},
      "Engine.Temp": {"unit": "celsius", "policy": {"on_change": {"deadband": 0.5}}},
      "Engine.Checksum": {"collect": false},
    },
  })");
  ASSERT_TRUE(built) << built.error().message();
  const auto& c = built.value().catalog;
  ASSERT_EQ(c.signals_size(), 4);
  EXPECT_EQ(c.signals(0).name(), "Vehicle.Powertrain.CombustionEngine.Speed");
  EXPECT_TRUE(c.signals(0).policy().has_every_sample());
  EXPECT_EQ(c.signals(1).name(), "Engine.Temp");
  EXPECT_EQ(c.signals(1).unit(), "celsius");
  EXPECT_DOUBLE_EQ(c.signals(1).policy().on_change().deadband(), 0.5);
  EXPECT_EQ(c.signals(2).name(), "Wheels.FL");  // the checksum got no id: ids stay 1..N
  EXPECT_EQ(c.signals(2).id(), 3u);
  EXPECT_EQ(c.signals(2).unit(), "kph");
  EXPECT_EQ(c.signals(2).policy().min_interval().interval_us(), 250'000);
  EXPECT_EQ(built.value().ids.Find({0, 0}, 2), SignalIdMap::kNone);
  EXPECT_EQ(built.value().ids.Find({0, 1}, 0), 3u);
}

TEST(CatalogFileTest, DefaultCollectFalseListsOnlyTheNamedSignals) {
  auto built = Build(R"({"default": {"collect": false}, "signals": {"Wheels.FR": {}}})");
  ASSERT_TRUE(built) << built.error().message();
  ASSERT_EQ(built.value().catalog.signals_size(), 1);
  EXPECT_EQ(built.value().catalog.signals(0).name(), "Wheels.FR");
  EXPECT_EQ(built.value().ids.Find({0, 1}, 1), 1u);
}

TEST(CatalogFileTest, TriggersGoIntoTheCatalogAndTheirCapturesGetOnTrigger) {
  auto built = Build(R"({
    "signals": {"Wheels.FL": {"name": "Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed"}},
    "triggers": [{"name": "hot", "when": "Engine.Temp > 100 and avg(Engine.Rpm, 500) > 3000",
                  "pre_ms": 1500, "post_ms": 500,
                  "capture": ["Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed", "Wheels.FR"]}]
  })");
  ASSERT_TRUE(built) << built.error().message();
  const auto& c = built.value().catalog;
  ASSERT_EQ(c.triggers_size(), 1);
  EXPECT_EQ(c.triggers(0).name(), "hot");
  EXPECT_EQ(c.triggers(0).pre_us(), 1'500'000);
  EXPECT_EQ(c.triggers(0).post_us(), 500'000);
  EXPECT_EQ(std::vector<std::uint32_t>(c.triggers(0).capture_ids().begin(), c.triggers(0).capture_ids().end()),
            (std::vector<std::uint32_t>{4, 5}));
  EXPECT_EQ(c.signals(3).policy().on_trigger().triggers(0), "hot");
  EXPECT_TRUE(c.signals(0).policy().has_every_sample());
  EXPECT_TRUE(Collector::Create(c));
}

TEST(CatalogFileTest, TheRav4ExampleLoadsAgainstTheRav4Dbc) {
  auto file = CatalogFile::LoadFile(Example());
  ASSERT_TRUE(file) << file.error().message();
  std::vector<DbcDatabase> dbs;
  dbs.push_back(testing::LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc"));
  auto built = BuildCatalog(dbs, file.value());
  ASSERT_TRUE(built) << built.error().message();
  const auto& c = built.value().catalog;
  const auto* speed = ByName(c, "Vehicle.Speed");
  ASSERT_NE(speed, nullptr);
  EXPECT_EQ(speed->dbc_message(), "SPEED");
  EXPECT_EQ(speed->unit(), "km/h");
  EXPECT_EQ(speed->policy().min_interval().interval_us(), 100'000);
  EXPECT_NE(ByName(c, "Vehicle.Chassis.Axle.Row2.Wheel.Right.Speed"), nullptr);
  EXPECT_EQ(ByName(c, "SPEED.CHECKSUM"), nullptr);
  EXPECT_TRUE(ByName(c, "Vehicle.Chassis.SteeringWheel.Angle")->policy().has_on_trigger());
  EXPECT_TRUE(ByName(c, "GEAR_PACKET.GEAR")->policy().has_on_change());
  ASSERT_EQ(c.triggers_size(), 1);
  EXPECT_TRUE(Collector::Create(c));
}

TEST(CatalogFileTest, MalformedJsonErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("{\n  \"signals\": {\n    \"Engine.Rpm\": {\"name\": x}\n  }\n}"),
            "cat.json:3:28: malformed JSON (syntax error)");
  EXPECT_EQ(ErrorOf("{\"signals\": {}"), "cat.json:1:15: malformed JSON (incomplete JSON)");
  EXPECT_EQ(ErrorOf("{} {}"), "cat.json:1:4: unexpected text after the JSON object");
}

TEST(CatalogFileTest, BadEntriesAreNamedByTheirJsonPath) {
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Rpm": {"nmae": "x"}}})"),
            "cat.json: signals[\"Engine.Rpm\"].nmae: unknown key (expected one of: name, unit, policy, collect)");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Rpm": {"policy": {"min_interval": {"ms": -5}}}}})"),
            "cat.json: signals[\"Engine.Rpm\"].policy.min_interval.ms: expected a whole number of milliseconds "
            "from 1 to 3600000");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Rpm": {"policy": "sometimes"}}})"),
            "cat.json: signals[\"Engine.Rpm\"].policy: unknown policy 'sometimes' (expected every_sample, "
            "min_interval or on_change; capture around events with \"triggers\")");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Rmp": {}}})"),
            "cat.json: signals[\"Engine.Rmp\"]: no such signal in the DBC files (or its message is shadowed)");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Rpm": {"collect": false, "name": "A"}}})"),
            "cat.json: signals[\"Engine.Rpm\"]: \"collect\": false with a name, unit or policy (which one is meant?)");
  EXPECT_EQ(ErrorOf(R"({"default": {"policy": {"on_change": {"deadband": "big"}}}})"),
            "cat.json: default.policy.on_change.deadband: expected a number");
  EXPECT_EQ(ErrorOf(R"({"triggers": [{"name": "t", "when": "1"}]})"), "cat.json: triggers[0]: missing \"capture\"");
}

TEST(CatalogFileTest, TriggerErrorsNameTheTriggerAndThePosition) {
  EXPECT_EQ(ErrorOf(R"({"triggers": [{"name": "t", "when": "Engine.Rpm > (1", "capture": ["Wheels.FL"]}]})"),
            "cat.json: triggers[0].when: expression:1:16: expected ')'");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Engine.Checksum": {"collect": false}},
                       "triggers": [{"name": "t", "when": "Engine.Checksum > 1", "capture": ["Wheels.FL"]}]})"),
            "cat.json: triggers[0].when: expression:1:1: unknown signal 'Engine.Checksum' (not a collected signal "
            "of the catalog)");
  EXPECT_EQ(ErrorOf(R"({"triggers": [{"name": "t", "when": "1", "capture": ["Wheels.RR"]}]})"),
            "cat.json: triggers[0].capture[0]: unknown signal 'Wheels.RR' (not a collected signal of the catalog)");
  EXPECT_EQ(ErrorOf(R"({"signals": {"Wheels.FL": {"policy": "every_sample"}},
                       "triggers": [{"name": "t", "when": "1", "capture": ["Wheels.FL"]}]})"),
            "cat.json: triggers[0].capture[0]: Wheels.FL also has a policy in signals[\"Wheels.FL\"]; a captured "
            "signal is collected only inside capture windows, so drop one");
}

TEST(CatalogFileTest, TwoSignalsWithOneNameAreAnError) {
  EXPECT_NE(ErrorOf(R"({"signals": {"Wheels.FL": {"name": "X"}, "Wheels.FR": {"name": "X"}}})").find("catalog name X"),
            std::string::npos);
}

TEST(CatalogFileTest, WithoutAFileTheCatalogIsUnchanged) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(ParseOrDie(kDbc));
  auto plain = BuildCatalog(dbs);
  auto empty_file = Build("{}");
  ASSERT_TRUE(plain && empty_file);
  EXPECT_EQ(plain.value().hash, empty_file.value().hash);
}

}  // namespace
}  // namespace canvoy::agent
