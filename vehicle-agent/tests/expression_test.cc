#include "collect/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "collect_test_util.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;

// Vehicle.Speed = #1, ENGINE_RPM.RPM = #2 (also reachable as Vehicle.Powertrain.CombustionEngine.Speed).
tv1::Catalog TestCatalog() {
  tv1::Catalog catalog;
  testing::AddSignal(catalog, "Vehicle.Speed");
  auto* rpm = testing::AddSignal(catalog, "Vehicle.Powertrain.CombustionEngine.Speed");
  rpm->set_dbc_message("ENGINE_RPM");
  rpm->set_dbc_signal("RPM");
  return catalog;
}

Result<Expression> Parse(std::string_view text) { return Expression::Parse(text, CatalogResolver(TestCatalog())); }

std::string Shape(std::string_view text) {
  auto e = Parse(text);
  return e ? e.value().ToString() : "error: " + e.error().message();
}

std::string ErrorOf(std::string_view text) {
  auto e = Parse(text);
  return e ? "parsed: " + e.value().ToString() : e.error().message();
}

class FixedInputs : public ExpressionInputs {
 public:
  double Value(SignalId s) const override { return values.at(s); }
  double Window(std::size_t slot) const override { return windows.at(slot); }
  std::map<SignalId, double> values;
  std::map<std::size_t, double> windows;
};

double Eval(std::string_view text, double speed, double rpm) {
  auto e = Parse(text);
  EXPECT_TRUE(e) << e.error().message();
  FixedInputs in;
  in.values = {{1, speed}, {2, rpm}};
  return e ? e.value().Evaluate(in) : -999;
}

TEST(ExpressionTest, MultiplicationBindsTighterThanAdditionAndBothAssociateLeft) {
  EXPECT_EQ(Shape("1 + 2 * 3"), "(1 + (2 * 3))");
  EXPECT_EQ(Shape("1 - 2 - 3"), "((1 - 2) - 3)");
  EXPECT_EQ(Shape("8 / 4 / 2"), "((8 / 4) / 2)");
  EXPECT_EQ(Shape("(1 + 2) * 3"), "((1 + 2) * 3)");
}

TEST(ExpressionTest, UnaryMinusBindsTighterThanMultiplication) {
  EXPECT_EQ(Shape("-Vehicle.Speed * 2"), "((-#1) * 2)");
  EXPECT_EQ(Shape("2 - -1"), "(2 - (-1))");
}

TEST(ExpressionTest, ComparisonBindsLooserThanArithmeticAndTighterThanNotAndOr) {
  EXPECT_EQ(Shape("Vehicle.Speed + 1 > 2 * 3"), "((#1 + 1) > (2 * 3))");
  EXPECT_EQ(Shape("not Vehicle.Speed > 10 and ENGINE_RPM.RPM < 900 or 1 == 2"),
            "(((not (#1 > 10)) and (#2 < 900)) or (1 == 2))");
  EXPECT_EQ(Shape("1 or 2 and 3"), "(1 or (2 and 3))");
  EXPECT_EQ(Shape("!(1 != 2) && 3 <= 4 || 5 >= 6"), "(((not (1 != 2)) and (3 <= 4)) or (5 >= 6))");
}

TEST(ExpressionTest, NamesAreCatalogNamesOrDbcNamesOfCatalogedSignals) {
  EXPECT_EQ(Shape("Vehicle.Powertrain.CombustionEngine.Speed == ENGINE_RPM.RPM"), "(#2 == #2)");
  auto e = Parse("Vehicle.Speed > 3 and ENGINE_RPM.RPM > Vehicle.Speed");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.value().signals(), (std::vector<SignalId>{1, 2}));
}

TEST(ExpressionTest, WindowFunctionsTakeASignalAndMilliseconds) {
  auto e = Parse("avg(Vehicle.Speed, 500) - min(ENGINE_RPM.RPM, 0.5) > max(Vehicle.Speed, 1e3)");
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e.value().ToString(), "((avg(#1, 500000us) - min(#2, 500us)) > max(#1, 1000000us))");
  ASSERT_EQ(e.value().windows().size(), 3u);
  EXPECT_EQ(e.value().windows()[0].func, WindowFunc::kAvg);
  EXPECT_EQ(e.value().windows()[2].window_us, 1'000'000);
}

TEST(ExpressionTest, EvaluatesArithmeticComparisonsAndLogic) {
  EXPECT_DOUBLE_EQ(Eval("Vehicle.Speed * 2 + ENGINE_RPM.RPM / 4", 10, 100), 45);
  EXPECT_EQ(Eval("Vehicle.Speed > 50 and ENGINE_RPM.RPM < 3000", 60, 2000), 1);
  EXPECT_EQ(Eval("Vehicle.Speed > 50 and ENGINE_RPM.RPM < 3000", 40, 2000), 0);
  EXPECT_EQ(Eval("not (Vehicle.Speed > 50) or 0", 40, 0), 1);
  EXPECT_EQ(Eval("-(Vehicle.Speed - 5) == -5", 10, 0), 1);
}

TEST(ExpressionTest, DivisionByZeroIsNaNAndComparisonsWithNaNAreFalse) {
  EXPECT_TRUE(std::isnan(Eval("1 / ENGINE_RPM.RPM", 0, 0)));
  EXPECT_EQ(Eval("1 / ENGINE_RPM.RPM > 0", 0, 0), 0);
  EXPECT_EQ(Eval("1 / ENGINE_RPM.RPM != 0", 0, 0), 0);
  EXPECT_EQ(Eval("1 / ENGINE_RPM.RPM", 0, 0) != 0, true);  // NaN itself is not "true" ...
  EXPECT_EQ(Eval("not (1 / ENGINE_RPM.RPM)", 0, 0), 1);     // ... so `not NaN` is 1
}

TEST(ExpressionTest, ErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("(Vehicle.Speed > 10 and 1"), "expression:1:26: expected ')'");
  EXPECT_EQ(ErrorOf("Vehicle.Speed > "), "expression:1:17: expected a number, a signal name or '('");
  EXPECT_EQ(ErrorOf("Vehicle.Speed >\n  # 3"), "expression:2:3: expected a number, a signal name or '(', not '#'");
  EXPECT_EQ(ErrorOf("1 < 2 < 3"), "expression:1:7: comparisons do not chain; combine them with 'and'");
  EXPECT_EQ(ErrorOf("1 2"), "expression:1:3: unexpected '2'");
  EXPECT_EQ(ErrorOf("avg(Vehicle.Speed)"), "expression:1:18: expected ',' and a window in milliseconds");
  EXPECT_EQ(ErrorOf("avg(Vehicle.Speed, 0)"), "expression:1:20: the window must be more than 0 and at most 86400000 ms");
  EXPECT_EQ(ErrorOf("sum(Vehicle.Speed, 5)"), "expression:1:1: unknown function 'sum' (min, max and avg are known)");
  EXPECT_EQ(ErrorOf("1 and or 2"), "expression:1:7: expected an operand before 'or'");
  EXPECT_EQ(ErrorOf("1.2.3 > 1"), "expression:1:1: bad number '1.2.3'");
}

TEST(ExpressionTest, UnknownSignalNamesAreRejectedWithTheirPosition) {
  EXPECT_EQ(ErrorOf("Vehicle.Speed > 3 and Vehicle.Sped < 4"),
            "expression:1:23: unknown signal 'Vehicle.Sped' (not a collected signal of the catalog)");
  EXPECT_EQ(ErrorOf("max(SPEED.CHECKSUM, 10) > 1"),
            "expression:1:5: unknown signal 'SPEED.CHECKSUM' (not a collected signal of the catalog)");
}

TEST(ExpressionTest, NestingIsBounded) {
  const std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  EXPECT_NE(ErrorOf(deep).find("nested deeper than"), std::string::npos);
  const std::string ok = std::string(10, '(') + "1" + std::string(10, ')');
  EXPECT_TRUE(Parse(ok));
}

TEST(ExpressionTest, KeywordsDoNotSwallowSignalNamesThatStartWithThem) {
  tv1::Catalog catalog;
  testing::AddSignal(catalog, "ORDER.notch");
  auto e = Expression::Parse("not ORDER.notch or ORDER.notch", CatalogResolver(catalog));
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e.value().ToString(), "((not #1) or #1)");
}

}  // namespace
}  // namespace canvoy::agent

namespace canvoy::agent {
namespace {

TEST(ExpressionTest, LengthIsBounded) {
  std::string chain = "1";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  EXPECT_EQ(ErrorOf(chain), "expression:1:1: more than 512 terms and operators");
}

}  // namespace
}  // namespace canvoy::agent
